// factorize_strings: codes and sorted levels against a std::map reference, code-point
// order of UTF-8, missing rows, and identical results for any thread count.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "steppe/errors.hpp"
#include "steppe/factorize.hpp"

namespace {

using steppe::factorize_strings;
using steppe::StringFactors;

std::vector<std::string_view> views(const std::vector<std::string>& s) {
  return {s.begin(), s.end()};
}

// The answer by definition: distinct values in a std::map (sorted bytewise).
StringFactors reference(const std::vector<std::string_view>& v,
                        const std::vector<uint8_t>& missing) {
  std::map<std::string_view, size_t> first;  // value -> first row
  for (size_t i = 0; i < v.size(); ++i) {
    if (missing.empty() || missing[i] == 0) first.emplace(v[i], i);
  }
  StringFactors out;
  std::map<std::string_view, int32_t> code;
  for (const auto& [s, row] : first) {
    code[s] = static_cast<int32_t>(out.levels.uniques.size());
    out.levels.uniques.push_back(s);
    out.levels.first_row.push_back(row);
  }
  for (size_t i = 0; i < v.size(); ++i) {
    out.codes.push_back(missing.empty() || missing[i] == 0 ? code[v[i]] : -1);
  }
  return out;
}

void expect_same(const StringFactors& got, const StringFactors& want) {
  EXPECT_EQ(got.codes, want.codes);
  EXPECT_EQ(got.levels.uniques, want.levels.uniques);
  EXPECT_EQ(got.levels.first_row, want.levels.first_row);
}

// Random words over a small alphabet with multi-byte UTF-8 letters and empty strings.
std::vector<std::string> random_words(size_t n, size_t domain, uint32_t seed) {
  const std::vector<std::string> letters = {
      "a", "b", "Z", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", std::string("\0", 1), " "};
  std::mt19937 rng(seed);
  std::vector<std::string> pool(domain);
  for (auto& w : pool) {
    const size_t len = rng() % 20;  // 0..19 letters: every hash tail length, empty too
    for (size_t k = 0; k < len; ++k) w += letters[rng() % letters.size()];
  }
  std::vector<std::string> out(n);
  for (auto& w : out) w = pool[rng() % domain];
  return out;
}

TEST(Factorize, SmallColumnWithMissing) {
  const std::vector<std::string> s = {"b", "a", "zzz", "c", "a", "", "b"};
  const std::vector<uint8_t> missing = {0, 0, 1, 0, 0, 0, 0};
  const auto got = factorize_strings(views(s), missing);
  EXPECT_EQ(got.codes, (std::vector<int32_t>{2, 1, -1, 3, 1, 0, 2}));
  EXPECT_EQ(got.levels.uniques, (std::vector<std::string_view>{"", "a", "b", "c"}));
  EXPECT_EQ(got.levels.first_row, (std::vector<size_t>{5, 1, 0, 3}));
}

TEST(Factorize, CodePointOrderOfUtf8) {
  // U+007A z < U+00E9 e-acute < U+FF41 fullwidth a < U+1F600 emoji; "a" < "a\0" < "ab".
  const std::vector<std::string> s = {
      "\xF0\x9F\x98\x80", "\xEF\xBD\x81", "\xC3\xA9", "z", "ab", std::string("a\0", 2), "a"};
  const auto got = factorize_strings(views(s));
  EXPECT_EQ(got.codes, (std::vector<int32_t>{6, 5, 4, 3, 2, 1, 0}));
}

TEST(Factorize, EmptyAndAllMissing) {
  const auto none = factorize_strings(std::span<const std::string_view>{});
  EXPECT_TRUE(none.codes.empty());
  EXPECT_TRUE(none.levels.uniques.empty());
  const std::vector<std::string> s = {"a", "b"};
  const std::vector<uint8_t> missing = {1, 1};
  const auto all = factorize_strings(views(s), missing);
  EXPECT_EQ(all.codes, (std::vector<int32_t>{-1, -1}));
  EXPECT_TRUE(all.levels.uniques.empty());
}

TEST(Factorize, RepeatedViewsAndEqualCopies) {
  // The same view repeated (one Python object on many rows) and equal strings at
  // different addresses get one code.
  const std::string x = "level", y = "level", z = "other";
  const std::vector<std::string_view> v = {x, x, y, z, x, z, y};
  const auto got = factorize_strings(v);
  EXPECT_EQ(got.codes, (std::vector<int32_t>{0, 0, 0, 1, 0, 1, 0}));
  EXPECT_EQ(got.levels.uniques.size(), 2u);
}

TEST(Factorize, MatchesReferenceForAnyThreadCount) {
  // 270k rows: up to 4 chunks of rows; 600 and 140k distinct values (the latter
  // grows the tables many times and sorts in parallel runs).
  for (const size_t domain : {size_t{600}, size_t{140000}}) {
    const auto s = random_words(270000, domain, static_cast<uint32_t>(domain));
    const auto v = views(s);
    std::vector<uint8_t> missing(v.size());
    std::mt19937 rng(7);
    for (auto& m : missing) m = rng() % 10 == 0 ? 1 : 0;
    const auto want = reference(v, missing);
    for (const unsigned threads : {1u, 2u, 3u, 4u, 7u}) {
      SCOPED_TRACE("domain " + std::to_string(domain) + ", threads " + std::to_string(threads));
      expect_same(factorize_strings(v, missing, threads), want);
    }
  }
}

TEST(Factorize, SharedAndDistinctAddressesAgree) {
  // Rows viewing one string per value (as Python shares one str object per value)
  // and rows viewing copies of their own, interleaved and in long runs: equal
  // values get one code whichever addresses they come from.
  const auto pool = random_words(700, 700, 11);
  const auto copies = random_words(120000, 700, 12);
  std::mt19937 rng(13);
  std::vector<std::string_view> interleaved, runs;
  for (size_t i = 0; i < copies.size(); ++i) {
    const std::string_view shared = pool[rng() % pool.size()];
    interleaved.push_back(i % 2 == 0 ? shared : std::string_view(copies[i]));
    runs.push_back(i < copies.size() / 2 ? std::string_view(copies[i]) : shared);
  }
  for (const auto* v : {&interleaved, &runs}) {
    expect_same(factorize_strings(*v, {}, 1), reference(*v, {}));
    expect_same(factorize_strings(*v, {}, 2), reference(*v, {}));
  }
}

TEST(Factorize, AllDistinct) {
  std::vector<std::string> s(140000);
  for (size_t i = 0; i < s.size(); ++i) s[i] = std::to_string((i * 7919) % s.size());
  const auto v = views(s);
  expect_same(factorize_strings(v, {}, 4), reference(v, {}));
}

TEST(Factorize, ConcurrentCallsAgree) {
  const auto s = random_words(100000, 1000, 3);
  const auto v = views(s);
  const auto want = reference(v, {});
  std::vector<StringFactors> got(4);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < got.size(); ++t) {
    pool.emplace_back([&, t] { got[t] = factorize_strings(v, {}, 2); });
  }
  for (auto& th : pool) th.join();
  for (const auto& g : got) expect_same(g, want);
}

TEST(Factorize, RefusesMismatchedLengths) {
  const std::vector<std::string> s = {"a", "b", "c"};
  const std::vector<uint8_t> missing = {0, 1};
  EXPECT_THROW(factorize_strings(views(s), missing), steppe::InvalidInput);
  std::vector<int32_t> codes(2);
  EXPECT_THROW(factorize_strings(views(s), {}, codes), steppe::InvalidInput);
}

}  // namespace
