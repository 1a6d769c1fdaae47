// Rows left out for missing values, said out loud: per-domain counts of rows
// missing the variable (or the denominator, or another variable of a
// complete-case call), the count of rows missing a by value, and the domains
// whose rows all miss a value, reported with n = 0 instead of vanishing.
//
// R's svymean(..., na.rm = TRUE) subsets the design to the complete cases
// (survey:::svymean.survey.design2: design[nas == 0, ]), which keeps the PSU
// structure: the variance is the domain estimator's over the complete cases,
// exactly what RowCells' kValueMissing rows give (they are outside every cell).
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "steppe/accumulate.hpp"
#include "steppe/estimate.hpp"

namespace steppe {

namespace {

constexpr const char* kAllMissingFlag = "suppress: no row with a value (all missing)";

/// Copies block `from` (of `width` entries) of `src` to the end of `dst`, or
/// appends `width` copies of `fill` when from < 0.
template <class T>
void take(std::vector<T>& dst, const std::vector<T>& src, int64_t from, size_t width, T fill) {
  if (from < 0) {
    dst.insert(dst.end(), width, fill);
  } else {
    const auto b = src.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(from) * width);
    dst.insert(dst.end(), b, b + static_cast<std::ptrdiff_t>(width));
  }
}

}  // namespace

void report_missing(const EstimateRequest& req, const DomainTotals& t, const DomainPlan& plan,
                    EstimateResult& res) {
  res.rows_missing_by = t.by_missing;
  res.rows_missing_value = 0;
  for (int64_t m : t.n_missing) res.rows_missing_value += m;
  const size_t D = plan.domain_key.size();
  // Domains with rows (nonzero weight, as svyby) whose every value is missing.
  std::vector<int32_t> empty;
  if (req.empty_domains) {
    for (int64_t key = 0; key < t.key_space; ++key) {
      const auto k = static_cast<size_t>(key);
      if (t.n_nonzero[k] == 0 && t.missing_nonzero[k] > 0) {
        empty.push_back(static_cast<int32_t>(key));
      }
    }
  }
  if (empty.empty()) {
    res.n_missing.resize(D);
    for (size_t d = 0; d < D; ++d) {
      res.n_missing[d] = t.n_missing[static_cast<size_t>(plan.domain_key[d])];
    }
    return;
  }
  // Merge the empty domains into the domains in key order: each per-domain and
  // per-cell column takes its block from the result (from >= 0) or a fill.
  const size_t K = static_cast<size_t>(res.cells_per_domain);
  const size_t nby = req.by.size();
  const size_t R = res.estimate.empty() ? 0 : res.replicates.size() / res.estimate.size();
  const size_t D2 = D + empty.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EstimateResult out;
  out.domains = static_cast<int64_t>(D2);
  out.cells_per_domain = res.cells_per_domain;
  out.ci_method = res.ci_method;
  out.rows_missing_by = res.rows_missing_by;
  out.rows_missing_value = res.rows_missing_value;
  std::vector<std::pair<int32_t, int64_t>> order;  // (key, domain in res or -1)
  order.reserve(D2);
  size_t i = 0, j = 0;
  while (i < D || j < empty.size()) {
    if (j == empty.size() || (i < D && plan.domain_key[i] < empty[j])) {
      order.emplace_back(plan.domain_key[i], static_cast<int64_t>(i));
      ++i;
    } else {
      order.emplace_back(empty[j], -1);
      ++j;
    }
  }
  for (const auto& [key, d] : order) {
    for (size_t b = 0; b < nby; ++b) {
      out.domain_codes.push_back(
          static_cast<int32_t>((key / plan.by_stride[b]) % req.by_levels[b]));
    }
    take(out.estimate, res.estimate, d, K, nan);
    take(out.variance, res.variance, d, K, nan);
    if (!res.covariance.empty()) take(out.covariance, res.covariance, d, K * K, nan);
    take(out.deff, res.deff, d, K, nan);
    take(out.n, res.n, d, 1, int64_t{0});
    take(out.n_nonzero, res.n_nonzero, d, 1, int64_t{0});
    take(out.weight_sum, res.weight_sum, d, 1, 0.0);
    take(out.psus, res.psus, d, 1, int64_t{0});
    take(out.strata, res.strata, d, 1, int64_t{0});
    take(out.design_df, res.design_df, d, 1, nan);
    take(out.se, res.se, d, K, nan);
    take(out.ci_low, res.ci_low, d, K, nan);
    take(out.ci_high, res.ci_high, d, K, nan);
    take(out.df, res.df, d, K, nan);
    take(out.n_eff, res.n_eff, d, K, nan);
    take(out.flag, res.flag, d, K, std::string(kAllMissingFlag));
    out.n_missing.push_back(t.n_missing[static_cast<size_t>(key)]);
  }
  if (R > 0) {  // replicate-major: r * cells + c
    const size_t cells = D * K;
    out.replicates.reserve(R * D2 * K);
    for (size_t r = 0; r < R; ++r) {
      const auto first = res.replicates.begin() + static_cast<std::ptrdiff_t>(r * cells);
      const std::vector<double> block(first, first + static_cast<std::ptrdiff_t>(cells));
      for (const auto& entry : order) take(out.replicates, block, entry.second, K, nan);
    }
  }
  res = std::move(out);
}

}  // namespace steppe
