// Degrees of freedom of replicate designs, as R's degf(): the numerical rank of
// the replicate weights of a (domain's) rows minus 1, with R's qr(tol = 1e-5).
//
// The rank is taken over distinct row patterns: scaling a row or repeating it
// does not change the rank of a matrix, and under jackknife, BRR, Fay and
// bootstrap replicates every row of a PSU carries the PSU's multipliers times
// its own weight. So a design with 1M rows in 2,000 PSUs has 2,000 patterns,
// found once per design, and each domain's rank is that of the patterns its
// rows touch; domains touching the same patterns share one factorisation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "steppe/errors.hpp"
#include "steppe/parallel.hpp"
#include "steppe/replicate.hpp"

namespace steppe {

struct ReplicateVariance::RankCache {
  std::once_flag patterns_built;
  std::vector<int32_t> row_pattern;  ///< per row: its pattern (-1: all replicate weights 0)
  std::vector<double> patterns;      ///< pattern p's R values at p * R
  int32_t pattern_count = 0;
  std::mutex mutex;
  std::map<std::vector<int32_t>, int64_t> rank_of_set;
};

ReplicateVariance::ReplicateVariance() : cache_(std::make_unique<RankCache>()) {}
ReplicateVariance::ReplicateVariance(ReplicateVariance&&) noexcept = default;
ReplicateVariance& ReplicateVariance::operator=(ReplicateVariance&&) noexcept = default;
ReplicateVariance::~ReplicateVariance() = default;

void ReplicateVariance::validate() const {
  const size_t R = count();
  if (R < 2) throw InvalidInput("a replicate design needs at least two replicate weights");
  if (weights.size() != R * static_cast<size_t>(rows)) {
    throw InvalidInput("replicate weights: expected " + std::to_string(rows) + " rows x " +
                       std::to_string(R) + " replicates, got " + std::to_string(weights.size()) +
                       " values");
  }
  for (size_t r = 0; r < R && !values_checked; ++r) {
    const auto w = column(r);
    for (size_t i = 0; i < w.size(); ++i) {
      if (!std::isfinite(w[i])) {
        throw InvalidInput("replicate weight column " + std::to_string(r + 1) +
                           " is not finite in row " + std::to_string(i));
      }
    }
  }
  if (!(scale > 0) || !std::isfinite(scale)) throw InvalidInput("replicate scale must be > 0");
}

namespace {

/// sum of x[i] y[i] for i in [from, to), in four interleaved partial sums: the
/// compiler may not reorder one running sum, and four keep the FPU busy.
double dot_from(const double* x, const double* y, size_t from, size_t to) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = from;
  for (; i + 4 <= to; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < to; ++i) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}

/// Rank of an m x n column-major matrix as R's qr(x, tol)$rank (LINPACK dqrdc2:
/// Householder QR that moves a column to the end once its remaining norm falls
/// below tol times its original norm; Businger & Golub 1965, R's limited pivoting).
int64_t qr_rank(std::vector<double> a, size_t m, size_t n, double tol) {
  std::vector<double> original(n);
  std::vector<size_t> col(n);
  for (size_t j = 0; j < n; ++j) {
    col[j] = j;
    double s = 0;
    for (size_t i = 0; i < m; ++i) s += a[j * m + i] * a[j * m + i];
    original[j] = std::sqrt(s);
  }
  auto remaining = [&](size_t j, size_t from) {
    double s = 0;
    const double* c = a.data() + col[j] * m;
    for (size_t i = from; i < m; ++i) s += c[i] * c[i];
    return std::sqrt(s);
  };
  size_t k = n;  // columns still candidates
  size_t l = 0;
  const size_t steps = std::min(m, n);
  while (l < std::min(steps, k)) {
    // Limited pivoting: a column with (almost) nothing left goes to the end.
    while (l < k && remaining(l, l) < tol * original[col[l]]) {
      std::rotate(col.begin() + static_cast<std::ptrdiff_t>(l),
                  col.begin() + static_cast<std::ptrdiff_t>(l) + 1,
                  col.begin() + static_cast<std::ptrdiff_t>(k));
      --k;
    }
    if (l >= k || l >= steps) break;
    double* v = a.data() + col[l] * m;
    const double norm = remaining(l, l);
    if (norm == 0) {  // an all-zero column: nothing to eliminate
      ++l;
      continue;
    }
    const double alpha = v[l] > 0 ? -norm : norm;
    v[l] -= alpha;  // Householder vector v = x - alpha e_l, stored in place
    const double vnorm2 = [&] {
      double s = 0;
      for (size_t i = l; i < m; ++i) s += v[i] * v[i];
      return s;
    }();
    // Reflect the candidate columns (those moved past k are never read again).
    // Columns are independent: split them over threads when the step is large
    // (thousands of replicates), with the same arithmetic for any thread count.
    const size_t first = l + 1, count = k > first ? k - first : 0;
    const size_t work = count * (m - l);
    const size_t parts = work < (size_t{1} << 18) ? 1 : worker_count(0, count / 64);
    parallel_for(parts, parts, [&](size_t part) {
      for (size_t j = first + count * part / parts; j < first + count * (part + 1) / parts; ++j) {
        double* c = a.data() + col[j] * m;
        const double f = 2 * dot_from(v, c, l, m) / vnorm2;
        for (size_t i = l; i < m; ++i) c[i] -= f * v[i];
      }
    });
    ++l;
  }
  return static_cast<int64_t>(l);
}

/// v rounded to the nearest integer (ties to even) for |v| < 2^51, without a
/// libm call: adding and removing 1.5 * 2^52 leaves no fraction bits (IEEE
/// doubles, no -ffast-math: the compiler may not fold the two steps).
inline double round_whole(double v) {
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52
  return (v + kShift) - kShift;
}

/// Scale of a pattern: its values are whole numbers up to 1e12 (the largest
/// magnitude), i.e. rounded to 1e-12 relative; a uniform scale leaves ranks alone.
constexpr double kPatternScale = 1e12;

/// A row's replicate weights scaled to a largest magnitude of kPatternScale and
/// rounded to whole numbers, so the rows of one PSU (proportional rows) come out alike.
/// Returns false for a row that is in no replicate (all weights 0).
bool normalised_pattern(const ReplicateVariance& rv, size_t row, double* out) {
  const size_t R = rv.count();
  const size_t n = static_cast<size_t>(rv.rows);
  double peak = 0;
  for (size_t r = 0; r < R; ++r) peak = std::max(peak, std::abs(rv.weights[r * n + row]));
  if (peak == 0) return false;
  const double scale = kPatternScale / peak;
  for (size_t r = 0; r < R; ++r) out[r] = round_whole(rv.weights[r * n + row] * scale);
  return true;
}

/// normalised_pattern of rows [i0, i1) into `out` (R values per row, row after
/// row) and in_any[i - i0]: the matrix is column-major, so each replicate column
/// is read once for the block instead of striding across R columns per row.
/// Bit for bit the values normalised_pattern gives.
void normalised_block(const ReplicateVariance& rv, size_t i0, size_t i1, std::vector<double>& out,
                      std::vector<double>& peak, char* in_any) {
  const size_t R = rv.count();
  const size_t n = static_cast<size_t>(rv.rows);
  const size_t B = i1 - i0;
  out.resize(B * R);
  peak.assign(B, 0.0);
  for (size_t r = 0; r < R; ++r) {
    const double* w = rv.weights.data() + r * n + i0;
    for (size_t b = 0; b < B; ++b) {
      peak[b] = std::max(peak[b], std::abs(w[b]));
      out[b * R + r] = w[b];
    }
  }
  for (size_t b = 0; b < B; ++b) {
    in_any[b] = peak[b] == 0 ? 0 : 1;
    if (peak[b] == 0) continue;
    double* row = out.data() + b * R;
    const double scale = kPatternScale / peak[b];
    for (size_t r = 0; r < R; ++r) row[r] = round_whole(row[r] * scale);
  }
}

/// Rows per block of normalised_block: R doubles a row stay in cache.
constexpr size_t kPatternBlock = 256;

/// A 64-bit hash of the pattern, one multiply-xorshift step per value (a byte-wise
/// hash costs eight dependent multiplies per value, the bulk of the first df).
uint64_t pattern_hash(const double* p, size_t R) {
  uint64_t h = 0x243F6A8885A308D3ULL ^ R;
  for (size_t r = 0; r < R; ++r) {
    uint64_t bits;
    std::memcpy(&bits, p + r, sizeof bits);
    h = (h ^ bits) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  return h;
}

}  // namespace

std::span<const int32_t> ReplicateVariance::row_patterns() const {
  const size_t R = count();
  const size_t n = static_cast<size_t>(rows);
  RankCache& c = *cache_;
  std::call_once(c.patterns_built, [&] {
    // Normalise and hash rows in parallel blocks (the rows x R work), then give
    // patterns ids in row order in one sequential pass: the ids, and so every
    // rank, do not depend on the thread count.
    const size_t parts = worker_count(0, n / 4096);
    std::vector<uint64_t> hash(n);
    std::vector<char> in_any(n);
    parallel_for(parts, parts, [&](size_t part) {
      std::vector<double> block, peak;
      for (size_t i0 = n * part / parts, end = n * (part + 1) / parts; i0 < end;
           i0 += kPatternBlock) {
        const size_t i1 = std::min(end, i0 + kPatternBlock);
        normalised_block(*this, i0, i1, block, peak, in_any.data() + i0);
        for (size_t i = i0; i < i1; ++i) {
          hash[i] = in_any[i] ? pattern_hash(block.data() + (i - i0) * R, R) : 0;
        }
      }
    });
    // Ids by hash in row order; a new pattern's values are stored when first met.
    c.row_pattern.assign(n, -1);
    std::unordered_map<uint64_t, int32_t> ids;
    for (size_t i = 0; i < n; ++i) {
      if (!in_any[i]) continue;  // a row out of every replicate adds nothing to the rank
      auto [it, inserted] = ids.try_emplace(hash[i], c.pattern_count);
      if (inserted) {
        c.patterns.resize(c.patterns.size() + R);
        normalised_pattern(*this, i, c.patterns.data() + static_cast<size_t>(c.pattern_count) * R);
        ++c.pattern_count;
      }
      c.row_pattern[i] = it->second;
    }
    // Check every row against its pattern (in parallel): a 64-bit hash collision
    // would merge two patterns, so it is caught here and the row gets its own.
    std::vector<char> mismatch(n, 0);
    parallel_for(parts, parts, [&](size_t part) {
      std::vector<double> block, peak;
      std::vector<char> any(kPatternBlock);
      for (size_t i0 = n * part / parts, end = n * (part + 1) / parts; i0 < end;
           i0 += kPatternBlock) {
        const size_t i1 = std::min(end, i0 + kPatternBlock);
        normalised_block(*this, i0, i1, block, peak, any.data());
        for (size_t i = i0; i < i1; ++i) {
          if (c.row_pattern[i] < 0) continue;
          const double* known = c.patterns.data() + static_cast<size_t>(c.row_pattern[i]) * R;
          mismatch[i] =
              std::memcmp(known, block.data() + (i - i0) * R, R * sizeof(double)) != 0 ? 1 : 0;
        }
      }
    });
    for (size_t i = 0; i < n; ++i) {
      if (!mismatch[i]) continue;
      c.patterns.resize(c.patterns.size() + R);
      normalised_pattern(*this, i, c.patterns.data() + static_cast<size_t>(c.pattern_count) * R);
      c.row_pattern[i] = c.pattern_count++;
    }
  });
  return c.row_pattern;
}

int32_t ReplicateVariance::pattern_count() const {
  row_patterns();
  return cache_->pattern_count;
}

std::vector<double> ReplicateVariance::domain_df(std::span<const int32_t> domain_of_row,
                                                 int64_t domains) const {
  const size_t D = static_cast<size_t>(domains);
  if (!std::isnan(df)) return std::vector<double>(D, df);
  const std::span<const int32_t> row_pattern = row_patterns();
  // Each domain's set of patterns: one pass over the rows.
  const size_t P = static_cast<size_t>(cache_->pattern_count);
  std::vector<std::vector<int32_t>> sets(D);
  const bool dense = D * P <= (size_t{1} << 27);
  std::vector<bool> seen(dense ? D * P : 0);
  const size_t n = static_cast<size_t>(rows);
  for (size_t i = 0; i < n && i < domain_of_row.size(); ++i) {
    const int32_t d = domain_of_row[i];
    const int32_t p = row_pattern[i];
    if (d < 0 || p < 0) continue;
    const size_t slot = static_cast<size_t>(d) * P + static_cast<size_t>(p);
    if (dense) {
      if (seen[slot]) continue;
      seen[slot] = true;
    }
    sets[static_cast<size_t>(d)].push_back(p);
  }
  for (auto& s : sets) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  return pattern_df(sets);
}

std::vector<double> ReplicateVariance::pattern_df(
    const std::vector<std::vector<int32_t>>& sets) const {
  const size_t D = sets.size();
  if (!std::isnan(df)) return std::vector<double>(D, df);
  const size_t R = count();
  row_patterns();
  RankCache& c = *cache_;
  std::vector<double> out(D);
  for (size_t d = 0; d < D; ++d) {
    const auto& s = sets[d];
    for (int32_t p : s) {
      if (p < 0 || p >= c.pattern_count)
        throw InvalidInput("replicate-weight pattern out of range");
    }
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      auto it = c.rank_of_set.find(s);
      if (it != c.rank_of_set.end()) {
        out[d] = static_cast<double>(it->second - 1);
        continue;
      }
    }
    // Replicates are the columns, as R's qr(weights): m patterns x R replicates.
    const size_t m = s.size();
    std::vector<double> a(m * R);
    for (size_t i = 0; i < m; ++i) {
      const double* src = c.patterns.data() + static_cast<size_t>(s[i]) * R;
      for (size_t r = 0; r < R; ++r) a[r * m + i] = src[r];
    }
    const int64_t rank = m == 0 ? 0 : qr_rank(std::move(a), m, R, 1e-5);
    std::lock_guard<std::mutex> lock(c.mutex);
    c.rank_of_set.emplace(s, rank);
    out[d] = static_cast<double>(rank - 1);
  }
  return out;
}

}  // namespace steppe
