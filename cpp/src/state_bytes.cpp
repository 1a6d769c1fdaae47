// Byte serialisation of the partial states and the plan, so that they can
// travel between processes (Dask workers) and be merged there.
//
// Layout: a header (4-byte tag, uint32 format version, uint32 byte-order mark),
// then fixed-size fields and length-prefixed arrays in native byte order. A
// reader checks the tag, the version and the byte order, never reads past the
// end, refuses trailing bytes, and checks every array length and every index
// it will later use, so corrupt or short bytes raise InvalidInput, never a crash.
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"
#include "steppe/partial.hpp"

namespace steppe {

namespace {

constexpr uint32_t kVersion = 2;  // 2: missing-value counts in DomainTotals
constexpr uint32_t kByteOrder = 0x01020304;
constexpr char kTotalsTag[4] = {'S', 'T', 'P', 'D'};       // DomainTotals
constexpr char kSpreadTag[4] = {'S', 'T', 'P', 'S'};       // SpreadState
constexpr char kPlanTag[4] = {'S', 'T', 'P', 'P'};         // DomainPlan
constexpr char kTotalsStateTag[4] = {'S', 'T', 'P', 'T'};  // TotalsState
// Bounds that keep products of sizes far from overflowing 64 bits.
constexpr int64_t kMaxCount = int64_t{1} << 40;

class Writer {
 public:
  explicit Writer(const char (&tag)[4]) {
    out_.append(tag, 4);
    put(kVersion);
    put(kByteOrder);
  }
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  template <class T>
  void put(const std::vector<T>& v) {
    put<uint64_t>(v.size());
    if (!v.empty()) out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(std::string_view in, const char (&tag)[4], const char* what) : in_(in), what_(what) {
    if (in_.size() < 4 || std::memcmp(in_.data(), tag, 4) != 0) fail("not a steppe ", "");
    pos_ = 4;
    const auto version = get<uint32_t>();
    if (get<uint32_t>() != kByteOrder) {
      fail("", " written on a machine of another byte order");
    }
    if (version != kVersion) {
      fail("", " of format version " + std::to_string(version) + "; this steppe reads version " +
                   std::to_string(kVersion));
    }
  }
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    if (in_.size() - pos_ < sizeof(T)) fail("truncated ", "");
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  bool get_bool() {
    const auto b = get<uint8_t>();
    if (b > 1) fail("corrupt ", "");
    return b == 1;
  }
  /// A count in [0, kMaxCount].
  int64_t get_count() {
    const auto n = get<int64_t>();
    if (n < 0 || n > kMaxCount) fail("corrupt ", "");
    return n;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<uint64_t>();
    if (n > (in_.size() - pos_) / sizeof(T)) fail("truncated ", "");
    std::vector<T> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), in_.data() + pos_, static_cast<size_t>(n) * sizeof(T));
    pos_ += static_cast<size_t>(n) * sizeof(T);
    return v;
  }
  void expect_end() const {
    if (pos_ != in_.size()) fail("trailing bytes after a ", "");
  }
  /// Throws unless `ok`: "inconsistent steppe <what>".
  void check(bool ok) const {
    if (!ok) fail("inconsistent ", "");
  }
  [[noreturn]] void fail(const std::string& before, const std::string& after) const {
    throw InvalidInput(before + (before.empty() ? "a steppe " : "steppe ") + what_ + after);
  }

 private:
  std::string_view in_;
  const char* what_;
  size_t pos_ = 0;
};

template <class T>
bool all_in(const std::vector<T>& v, T lo, T hi) {  // every value in [lo, hi)
  for (const T& x : v) {
    if (x < lo || x >= hi) return false;
  }
  return true;
}

/// Strictly increasing values in [lo, hi) over [begin, end).
template <class It, class T>
bool increasing_in(It begin, It end, T lo, T hi) {
  T prev = lo;
  bool first = true;
  for (It it = begin; it != end; ++it) {
    if (*it < lo || *it >= hi || (!first && *it <= prev)) return false;
    prev = *it;
    first = false;
  }
  return true;
}

void put_totals(Writer& w, const DomainTotals& t) {
  w.put(t.key_space);
  w.put(t.cells);
  w.put(t.n);
  w.put(t.n_nonzero);
  w.put(t.weight_sum);
  w.put(t.n_missing);
  w.put(t.missing_nonzero);
  w.put(t.by_missing);
  w.put(t.denominator);
  w.put(t.numerator);
  w.put(t.cal_columns);
  w.put(t.cal_numerator);
  w.put(t.cal_denominator);
}

DomainTotals get_totals(Reader& r) {
  DomainTotals t;
  t.key_space = r.get<int64_t>();
  t.cells = r.get<int32_t>();
  t.n = r.get_vector<int64_t>();
  t.n_nonzero = r.get_vector<int64_t>();
  t.weight_sum = r.get_vector<double>();
  t.n_missing = r.get_vector<int64_t>();
  t.missing_nonzero = r.get_vector<int64_t>();
  t.by_missing = r.get_count();
  t.denominator = r.get_vector<double>();
  t.numerator = r.get_vector<double>();
  t.cal_columns = r.get<int32_t>();
  t.cal_numerator = r.get_vector<double>();
  t.cal_denominator = r.get_vector<double>();
  // validate_request keeps key_space * K below 2^30; columns of m are bounded too.
  r.check(t.key_space >= 1 && t.cells >= 1 && t.key_space * t.cells <= (int64_t{1} << 30) &&
          t.cal_columns >= 0 && t.cal_columns <= (1 << 24));
  const auto ks = static_cast<size_t>(t.key_space);
  const auto K = static_cast<size_t>(t.cells);
  const auto P = static_cast<size_t>(t.cal_columns);
  r.check(t.n.size() == ks && t.n_nonzero.size() == ks && t.weight_sum.size() == ks &&
          t.n_missing.size() == ks && t.missing_nonzero.size() == ks &&
          t.numerator.size() == ks * K && (t.denominator.empty() || t.denominator.size() == ks) &&
          t.cal_numerator.size() == ks * K * P && t.cal_denominator.size() == ks * P);
  return t;
}

void put_ranges(Writer& w, const std::vector<int64_t>& covered) { w.put(covered); }

std::vector<int64_t> get_ranges(Reader& r) {
  auto covered = r.get_vector<int64_t>();
  r.check(covered.size() % 2 == 0);
  for (size_t i = 0; i < covered.size(); i += 2) {
    r.check(covered[i] >= 0 && covered[i] <= covered[i + 1]);
  }
  return covered;
}

}  // namespace

std::string DomainTotals::to_bytes() const {
  Writer w(kTotalsTag);
  put_totals(w, *this);
  return w.take();
}

DomainTotals DomainTotals::from_bytes(std::string_view bytes) {
  Reader r(bytes, kTotalsTag, "DomainTotals");
  DomainTotals t = get_totals(r);
  r.expect_end();
  return t;
}

std::string TotalsState::to_bytes() const {
  Writer w(kTotalsStateTag);
  w.put(design_rows);
  w.put(statistic);
  w.put(levels);
  put_totals(w, totals);
  w.put(replicates);
  w.put(replicate_numerator);
  w.put(replicate_denominator);
  w.put<uint8_t>(has_patterns ? 1 : 0);
  w.put(pattern_count);
  w.put(pattern_begin);
  w.put(pattern_ids);
  put_ranges(w, covered);
  return w.take();
}

TotalsState TotalsState::from_bytes(std::string_view bytes) {
  Reader r(bytes, kTotalsStateTag, "TotalsState");
  TotalsState s;
  s.design_rows = r.get_count();
  s.statistic = r.get<int32_t>();
  s.levels = r.get<int32_t>();
  s.totals = get_totals(r);
  s.replicates = r.get<int32_t>();
  s.replicate_numerator = r.get_vector<double>();
  s.replicate_denominator = r.get_vector<double>();
  s.has_patterns = r.get_bool();
  s.pattern_count = r.get<int32_t>();
  s.pattern_begin = r.get_vector<int64_t>();
  s.pattern_ids = r.get_vector<int32_t>();
  s.covered = get_ranges(r);
  r.expect_end();
  const auto ks = static_cast<size_t>(s.totals.key_space);
  const auto K = static_cast<size_t>(s.totals.cells);
  const auto R = static_cast<size_t>(s.replicates);
  r.check(s.statistic >= 0 && s.statistic <= static_cast<int32_t>(Statistic::Ratio) &&
          s.levels >= 0 && (s.levels == 0 || s.levels == s.totals.cells) && s.replicates >= 0 &&
          s.pattern_count >= 0);
  r.check(s.replicate_numerator.size() == R * ks * K &&
          s.replicate_denominator.size() == (s.levels > 0 ? 0 : R * ks));
  if (s.has_patterns) {
    r.check(s.pattern_begin.size() == ks + 1 && s.pattern_begin.front() == 0 &&
            s.pattern_begin.back() == static_cast<int64_t>(s.pattern_ids.size()));
    for (size_t k = 0; k < ks; ++k) {
      const int64_t b = s.pattern_begin[k], e = s.pattern_begin[k + 1];
      r.check(b <= e && e <= static_cast<int64_t>(s.pattern_ids.size()));
      r.check(increasing_in(s.pattern_ids.begin() + b, s.pattern_ids.begin() + e, int32_t{0},
                            s.pattern_count));
    }
  } else {
    r.check(s.pattern_begin.empty() && s.pattern_ids.empty() && s.pattern_count == 0);
  }
  return s;
}

std::string DomainPlan::to_bytes() const {
  Writer w(kPlanTag);
  w.put(static_cast<int32_t>(statistic));
  w.put<uint8_t>(categorical ? 1 : 0);
  w.put(cells);
  w.put(by_stride);
  w.put(key_to_domain);
  w.put(domain_key);
  w.put(center);
  w.put(inv_x);
  w.put(spread_center);
  w.put(beta);
  return w.take();
}

DomainPlan DomainPlan::from_bytes(std::string_view bytes) {
  Reader r(bytes, kPlanTag, "DomainPlan");
  DomainPlan p;
  const auto stat = r.get<int32_t>();
  r.check(stat >= 0 && stat <= static_cast<int32_t>(Statistic::Ratio));
  p.statistic = static_cast<Statistic>(stat);
  p.categorical = r.get_bool();
  p.cells = r.get<int32_t>();
  p.by_stride = r.get_vector<int64_t>();
  p.key_to_domain = r.get_vector<int32_t>();
  p.domain_key = r.get_vector<int32_t>();
  p.center = r.get_vector<double>();
  p.inv_x = r.get_vector<double>();
  p.spread_center = r.get_vector<double>();
  p.beta = r.get_vector<double>();
  r.expect_end();
  const size_t D = p.domain_key.size();
  r.check(p.cells >= 1 && p.center.size() == D * static_cast<size_t>(p.cells) &&
          p.inv_x.size() == D && p.spread_center.size() == D &&
          D <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  r.check(all_in(p.by_stride, int64_t{1}, kMaxCount));
  r.check(all_in(p.key_to_domain, int32_t{-1}, static_cast<int32_t>(D)));
  r.check(increasing_in(p.domain_key.begin(), p.domain_key.end(), int32_t{0},
                        static_cast<int32_t>(p.key_to_domain.size())));
  for (size_t d = 0; d < D; ++d) {
    r.check(p.key_to_domain[static_cast<size_t>(p.domain_key[d])] == static_cast<int32_t>(d));
  }
  return p;
}

std::string SpreadState::to_bytes() const {
  Writer w(kSpreadTag);
  w.put(domains);
  w.put(cells);
  w.put(variance);
  w.put(covariance);
  w.put(spread_sum);
  w.put(psus);
  w.put(strata_present);
  w.put(strata_seen);
  w.put(strata_ok);
  w.put(lonely_strata);
  w.put(lonely_psus);
  w.put(nan_stage2);
  w.put<uint64_t>(partial.size());
  for (const auto& m : partial) {
    w.put(m.stratum);
    w.put(m.domain);
    w.put(m.count);
    w.put(m.touched);
    w.put(m.mean);
    w.put(m.m2);
    w.put(m.co);
  }
  w.put(plan_fingerprint);
  put_ranges(w, covered);
  return w.take();
}

SpreadState SpreadState::from_bytes(std::string_view bytes) {
  Reader r(bytes, kSpreadTag, "SpreadState");
  SpreadState s;
  s.domains = r.get_count();
  s.cells = r.get<int32_t>();
  r.check(s.domains <= std::numeric_limits<int32_t>::max() && s.cells >= 1 && s.cells <= (1 << 30));
  const auto D = static_cast<size_t>(s.domains);
  const auto K = static_cast<size_t>(s.cells);
  s.variance = r.get_vector<double>();
  s.covariance = r.get_vector<double>();
  s.spread_sum = r.get_vector<double>();
  s.psus = r.get_vector<int64_t>();
  s.strata_present = r.get_vector<int64_t>();
  s.strata_seen = r.get_vector<int64_t>();
  s.strata_ok = r.get_vector<int64_t>();
  s.lonely_strata = r.get_vector<int32_t>();
  s.lonely_psus = r.get_vector<int64_t>();
  s.nan_stage2 = r.get<int64_t>();
  // D * K fits: variance holds that many doubles read from the bytes.
  r.check(s.variance.size() == D * K && s.spread_sum.size() == D && s.psus.size() == D &&
          s.strata_present.size() == D && s.strata_seen.size() == D && s.strata_ok.size() == D);
  r.check(s.covariance.empty() ||
          (s.covariance.size() / K == D * K && s.covariance.size() % K == 0));
  r.check(all_in(s.lonely_strata, int32_t{0}, std::numeric_limits<int32_t>::max()) &&
          all_in(s.lonely_psus, int64_t{0}, kMaxCount));
  const auto parts = r.get<uint64_t>();
  for (uint64_t i = 0; i < parts; ++i) {
    StratumMoments m;
    m.stratum = r.get<int32_t>();
    m.domain = r.get_vector<int32_t>();
    m.count = r.get_vector<int64_t>();
    m.touched = r.get_vector<int64_t>();
    m.mean = r.get_vector<double>();
    m.m2 = r.get_vector<double>();
    m.co = r.get_vector<double>();
    const size_t nd = m.domain.size();
    r.check(m.stratum >= 0 && m.count.size() == nd && m.touched.size() == nd &&
            m.mean.size() == nd * K && m.m2.size() == m.mean.size());
    r.check(m.co.empty() || (m.co.size() / K == nd * K && m.co.size() % K == 0));
    r.check(increasing_in(m.domain.begin(), m.domain.end(), int32_t{0},
                          static_cast<int32_t>(s.domains)));
    s.partial.push_back(std::move(m));
  }
  s.plan_fingerprint = r.get<uint64_t>();
  s.covered = get_ranges(r);
  r.expect_end();
  return s;
}

}  // namespace steppe
