// Factorising string columns: each thread hashes a chunk of rows into its own
// table (codes local to the chunk), one serial pass merges the chunks' distinct
// values, they are sorted, and each thread renumbers its chunk's codes to the
// sorted positions. Only the sort decides a code, so the result does not depend
// on how the rows were split.
#include "steppe/factorize.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <exception>
#include <limits>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "steppe/errors.hpp"

namespace steppe {
namespace {

// Below this many rows per chunk a thread costs more than it saves.
constexpr size_t kMinRowsPerChunk = 1 << 16;
// Below this many distinct values the sort is not split across threads.
constexpr size_t kMinParallelSort = 1 << 16;
constexpr size_t kMaxLevels = static_cast<size_t>(std::numeric_limits<int32_t>::max());

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio, odd

/// splitmix64's output mixer (Steele, Lea & Flood 2014, "Fast splittable
/// pseudorandom number generators", OOPSLA): every input bit reaches every output bit.
uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

uint64_t load4(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

/// Hash of a byte string: its 8-byte words folded in by multiply-xorshift, the
/// short tail read as overlapping words (the length is hashed first, so overlaps
/// of different lengths do not collide systematically), then mixed.
uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t h = (n + 1) * kGolden;
  auto fold = [&h](uint64_t w) {
    h = (h ^ w) * kGolden;
    h ^= h >> 32;
  };
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) fold(load8(p + i));
    if (i < n) fold(load8(p + n - 8));
  } else if (n >= 4) {
    fold(load4(p) | (load4(p + n - 4) << 32));
  } else if (n > 0) {
    const auto byte = [p](size_t i) {
      return static_cast<uint64_t>(static_cast<unsigned char>(p[i]));
    };
    fold(byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16));
  }
  return mix(h);
}

/// Byte equality, without a call to memcmp for strings of up to 16 bytes (most
/// category labels): overlapping word loads as in hash_bytes.
bool same_bytes(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n > 16) return std::memcmp(x, y, n) == 0;
  if (n >= 8) return load8(x) == load8(y) && load8(x + n - 8) == load8(y + n - 8);
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  if (n == 0) return true;
  return x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1];
}

/// Open-addressing hash set of strings with linear probing; ids in insertion order.
class LevelTable {
 public:
  explicit LevelTable(size_t expected) {
    const size_t capacity = std::bit_ceil(std::max<size_t>(64, 2 * expected));
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }

  /// The id of `s` (hash `h`), inserted with first row `row` when new.
  [[gnu::always_inline]] uint32_t find_or_insert(std::string_view s, uint64_t h, size_t row) {
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot slot = slots_[i];
      if (slot.id_plus_one == 0) return insert(i, s, h, row);
      if (slot.tag == tag && same_bytes(keys[slot.id_plus_one - 1], s)) {
        return slot.id_plus_one - 1;
      }
    }
  }

  std::vector<std::string_view> keys;
  std::vector<uint64_t> hashes;
  std::vector<size_t> first_row;

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t id_plus_one = 0;  // 0 = empty
  };

  [[gnu::noinline]] uint32_t insert(size_t i, std::string_view s, uint64_t h, size_t row) {
    if (keys.size() >= kMaxLevels) {
      throw InvalidInput("factorize: more than 2^31 - 1 distinct values do not fit int32 codes");
    }
    const auto id = static_cast<uint32_t>(keys.size());
    slots_[i] = Slot{static_cast<uint32_t>(h >> 32), id + 1};
    keys.push_back(s);
    hashes.push_back(h);
    first_row.push_back(row);
    if (2 * keys.size() > slots_.size()) grow();  // load factor <= 1/2
    return id;
  }

  void grow() {
    std::vector<Slot> bigger(2 * slots_.size());
    mask_ = bigger.size() - 1;
    for (uint32_t id = 0; id < keys.size(); ++id) {
      size_t i = hashes[id] & mask_;
      while (bigger[i].id_plus_one != 0) i = (i + 1) & mask_;
      bigger[i] = Slot{static_cast<uint32_t>(hashes[id] >> 32), id + 1};
    }
    slots_ = std::move(bigger);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

/// Codes of recently seen strings by address. Text read from a file repeats one
/// object per distinct value (pandas' CSV reader shares them), and the same
/// address and length are the same bytes, so a hit skips hashing the bytes.
/// Direct-mapped; switches itself off when it rarely hits (one object per row).
class AddressCache {
 public:
  /// The code remembered for s's address and length, or -1.
  int32_t find(std::string_view s) {
    if (!on_) return -1;
    const Entry& e = entries_[slot(s.data())];
    const bool hit = e.data == s.data() && e.size == s.size();
    hits_ += hit ? 1 : 0;
    if (++lookups_ == kProbe) {  // judge every kProbe lookups
      on_ = hits_ * 4 >= lookups_;
      hits_ = lookups_ = 0;
    }
    return hit ? e.code : -1;
  }

  void remember(std::string_view s, int32_t code) {
    if (on_) entries_[slot(s.data())] = Entry{s.data(), s.size(), code};
  }

 private:
  static constexpr unsigned kBits = 12;
  static constexpr size_t kProbe = 1 << 13;
  struct Entry {
    const char* data = nullptr;
    size_t size = 0;
    int32_t code = -1;
  };
  static size_t slot(const char* p) {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(p) * kGolden) >> (64 - kBits));
  }
  std::vector<Entry> entries_ = std::vector<Entry>(size_t{1} << kBits);
  size_t hits_ = 0;
  size_t lookups_ = 0;
  bool on_ = true;
};

/// Runs work(part) for part in [0, parts), each on its own thread (part 0 on the
/// caller's); the first exception is rethrown after all have joined.
template <class Work>
void run_parts(size_t parts, Work&& work) {
  if (parts == 1) {
    work(size_t{0});
    return;
  }
  std::vector<std::exception_ptr> errors(parts);
  auto guarded = [&](size_t part) {
    try {
      work(part);
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(parts - 1);
  for (size_t part = 1; part < parts; ++part) pool.emplace_back(guarded, part);
  guarded(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

/// Sorts `order` by `less`: `parts` runs sorted on their own threads, then merged
/// pairwise. Keys are distinct, so the result is the one sorted order.
template <class Less>
void sort_parallel(std::vector<uint32_t>& order, size_t parts, Less less) {
  parts = std::min(parts, std::max<size_t>(1, order.size() / kMinParallelSort));
  std::vector<size_t> cut(parts + 1);
  for (size_t p = 0; p <= parts; ++p) cut[p] = order.size() * p / parts;
  run_parts(parts, [&](size_t p) {
    std::sort(order.begin() + static_cast<ptrdiff_t>(cut[p]),
              order.begin() + static_cast<ptrdiff_t>(cut[p + 1]), less);
  });
  while (cut.size() > 2) {
    const size_t pairs = (cut.size() - 1) / 2;
    run_parts(pairs, [&](size_t q) {
      const auto at = [&](size_t k) { return order.begin() + static_cast<ptrdiff_t>(cut[k]); };
      std::inplace_merge(at(2 * q), at(2 * q + 1), at(2 * q + 2), less);
    });
    std::vector<size_t> merged;
    for (size_t k = 0; k < cut.size(); k += 2) merged.push_back(cut[k]);
    if (merged.back() != cut.back()) merged.push_back(cut.back());
    cut = std::move(merged);
  }
}

}  // namespace

StringLevels factorize_strings(std::span<const std::string_view> values,
                               std::span<const uint8_t> missing, std::span<int32_t> codes,
                               unsigned threads) {
  const size_t n = values.size();
  if (!missing.empty() && missing.size() != n) {
    throw InvalidInput("factorize: " + std::to_string(missing.size()) + " missing flags for " +
                       std::to_string(n) + " values");
  }
  if (codes.size() != n) {
    throw InvalidInput("factorize: " + std::to_string(codes.size()) + " codes for " +
                       std::to_string(n) + " values");
  }
  const size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t workers = threads > 0 ? threads : hw;
  const size_t parts = std::clamp<size_t>(n / kMinRowsPerChunk, 1, workers);
  const auto begin = [&](size_t p) { return n * p / parts; };

  // 1. Each chunk's distinct values, in the order first seen; codes local to the chunk.
  std::vector<LevelTable> local;
  local.reserve(parts);
  for (size_t p = 0; p < parts; ++p) local.emplace_back(1024);
  run_parts(parts, [&](size_t p) {
    LevelTable& table = local[p];
    AddressCache cache;
    const size_t end = begin(p + 1);
    for (size_t i = begin(p); i < end; ++i) {
      if (i + 16 < end) __builtin_prefetch(values[i + 16].data());
      if (!missing.empty() && missing[i] != 0) {
        codes[i] = -1;
        continue;
      }
      const std::string_view s = values[i];
      int32_t code = cache.find(s);
      if (code < 0) {
        code = static_cast<int32_t>(table.find_or_insert(s, hash_bytes(s), i));
        cache.remember(s, code);
      }
      codes[i] = code;
    }
  });

  // 2. Merge in chunk order: a value's first row is its first chunk's first row.
  size_t distinct_bound = 0;
  for (const auto& t : local) distinct_bound += t.keys.size();
  LevelTable all(parts == 1 ? 0 : distinct_bound);
  std::vector<std::vector<uint32_t>> to_all(parts);
  if (parts == 1) {
    all = std::move(local[0]);
  } else {
    for (size_t p = 0; p < parts; ++p) {
      const LevelTable& t = local[p];
      to_all[p].resize(t.keys.size());
      for (size_t j = 0; j < t.keys.size(); ++j) {
        to_all[p][j] = all.find_or_insert(t.keys[j], t.hashes[j], t.first_row[j]);
      }
    }
  }

  // 3. Sort the distinct values bytewise (char_traits<char> compares as unsigned char).
  const size_t K = all.keys.size();
  std::vector<uint32_t> order(K);
  std::iota(order.begin(), order.end(), uint32_t{0});
  sort_parallel(order, workers,
                [&keys = all.keys](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  StringLevels out;
  out.uniques.resize(K);
  out.first_row.resize(K);
  std::vector<int32_t> rank(K);
  for (size_t r = 0; r < K; ++r) {
    out.uniques[r] = all.keys[order[r]];
    out.first_row[r] = all.first_row[order[r]];
    rank[order[r]] = static_cast<int32_t>(r);
  }

  // 4. Each chunk's local codes -> sorted positions.
  run_parts(parts, [&](size_t p) {
    std::vector<int32_t> composed;
    if (parts > 1) {
      composed.resize(to_all[p].size());
      for (size_t j = 0; j < composed.size(); ++j) composed[j] = rank[to_all[p][j]];
    }
    const std::vector<int32_t>& remap = parts > 1 ? composed : rank;  // one chunk: local = all
    for (size_t i = begin(p); i < begin(p + 1); ++i) {
      const int32_t c = codes[i];
      if (c >= 0) codes[i] = remap[static_cast<size_t>(c)];
    }
  });
  return out;
}

StringFactors factorize_strings(std::span<const std::string_view> values,
                                std::span<const uint8_t> missing, unsigned threads) {
  StringFactors out;
  out.codes.resize(values.size());
  out.levels = factorize_strings(values, missing, out.codes, threads);
  return out;
}

}  // namespace steppe
