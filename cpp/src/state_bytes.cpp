// Byte serialisation of the partial states, so that they can travel between
// processes (Dask workers) and be merged there. Native endianness; a magic tag
// and a version guard against reading something else.
#include <cstring>
#include <string>
#include <type_traits>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"

namespace steppe {

namespace {

constexpr uint32_t kTotalsMagic = 0x53545031;  // "STP1"
constexpr uint32_t kSpreadMagic = 0x53545032;  // "STP2"

class Writer {
 public:
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
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<uint64_t>();
    if (n > (in_.size() - pos_) / sizeof(T)) throw InvalidInput("truncated steppe state bytes");
    std::vector<T> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), in_.data() + pos_, static_cast<size_t>(n) * sizeof(T));
    pos_ += static_cast<size_t>(n) * sizeof(T);
    return v;
  }
  void expect_end() const {
    if (pos_ != in_.size()) throw InvalidInput("trailing bytes after a steppe state");
  }

 private:
  void need(size_t k) const {
    if (in_.size() - pos_ < k) throw InvalidInput("truncated steppe state bytes");
  }
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string DomainTotals::to_bytes() const {
  Writer w;
  w.put(kTotalsMagic);
  w.put(key_space);
  w.put(cells);
  w.put(n);
  w.put(n_nonzero);
  w.put(weight_sum);
  w.put(denominator);
  w.put(numerator);
  w.put(cal_columns);
  w.put(cal_numerator);
  w.put(cal_denominator);
  return w.take();
}

DomainTotals DomainTotals::from_bytes(std::string_view bytes) {
  Reader r(bytes);
  if (r.get<uint32_t>() != kTotalsMagic) throw InvalidInput("not a steppe DomainTotals state");
  DomainTotals t;
  t.key_space = r.get<int64_t>();
  t.cells = r.get<int32_t>();
  t.n = r.get_vector<int64_t>();
  t.n_nonzero = r.get_vector<int64_t>();
  t.weight_sum = r.get_vector<double>();
  t.denominator = r.get_vector<double>();
  t.numerator = r.get_vector<double>();
  t.cal_columns = r.get<int32_t>();
  t.cal_numerator = r.get_vector<double>();
  t.cal_denominator = r.get_vector<double>();
  r.expect_end();
  const auto ks = static_cast<size_t>(t.key_space);
  if (t.n.size() != ks || t.n_nonzero.size() != ks || t.weight_sum.size() != ks ||
      t.numerator.size() != ks * static_cast<size_t>(t.cells) ||
      (!t.denominator.empty() && t.denominator.size() != ks)) {
    throw InvalidInput("inconsistent steppe DomainTotals state");
  }
  return t;
}

std::string SpreadState::to_bytes() const {
  Writer w;
  w.put(kSpreadMagic);
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
  return w.take();
}

SpreadState SpreadState::from_bytes(std::string_view bytes) {
  Reader r(bytes);
  if (r.get<uint32_t>() != kSpreadMagic) throw InvalidInput("not a steppe SpreadState");
  SpreadState s;
  s.domains = r.get<int64_t>();
  s.cells = r.get<int32_t>();
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
    if (m.count.size() != m.domain.size() || m.touched.size() != m.domain.size() ||
        m.mean.size() != m.domain.size() * static_cast<size_t>(s.cells) || m.m2.size() != m.mean.size()) {
      throw InvalidInput("inconsistent steppe SpreadState");
    }
    s.partial.push_back(std::move(m));
  }
  r.expect_end();
  const auto D = static_cast<size_t>(s.domains);
  if (s.variance.size() != D * static_cast<size_t>(s.cells) || s.spread_sum.size() != D ||
      s.psus.size() != D || s.strata_present.size() != D || s.strata_seen.size() != D ||
      s.strata_ok.size() != D) {
    throw InvalidInput("inconsistent steppe SpreadState");
  }
  return s;
}

}  // namespace steppe
