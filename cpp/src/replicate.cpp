#include "steppe/replicate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"
#include "steppe/huge_pages.hpp"
#include "steppe/parallel.hpp"
#include "steppe/partial.hpp"

namespace steppe {

namespace {

/// Each domain's K x K covariance, R's svrVar on its R x K replicate matrix:
/// replicates with any undefined cell in the domain are dropped (na.omit of the
/// rows), the centre is the column means over rscales > 0 or the estimates (mse).
void replicate_covariance(const std::vector<double>& thetas, size_t cells, size_t K, double scale,
                          std::span<const double> rscales, bool mse, EstimateResult& res) {
  const size_t R = rscales.size();
  const size_t D = cells / K;
  res.covariance.assign(D * K * K, 0.0);
  std::vector<char> use(R);
  std::vector<double> centre(K), dev(K);
  for (size_t d = 0; d < D; ++d) {
    const size_t first = d * K;
    std::fill(centre.begin(), centre.end(), 0.0);
    double count = 0;
    for (size_t r = 0; r < R; ++r) {
      bool defined = true;
      for (size_t k = 0; k < K; ++k)
        defined = defined && std::isfinite(thetas[r * cells + first + k]);
      use[r] = defined ? 1 : 0;
      if (!use[r] || !(rscales[r] > 0)) continue;
      for (size_t k = 0; k < K; ++k) centre[k] += thetas[r * cells + first + k];
      count += 1;
    }
    for (size_t k = 0; k < K; ++k) centre[k] = mse ? res.estimate[first + k] : centre[k] / count;
    double* out = res.covariance.data() + d * K * K;
    for (size_t r = 0; r < R; ++r) {
      if (!use[r]) continue;
      for (size_t k = 0; k < K; ++k) dev[k] = thetas[r * cells + first + k] - centre[k];
      for (size_t i = 0; i < K; ++i) {
        for (size_t j = 0; j < K; ++j) out[i * K + j] += scale * rscales[r] * dev[i] * dev[j];
      }
    }
  }
}

}  // namespace

double replicate_variance(const double* thetas, size_t stride, double estimate, double scale,
                          std::span<const double> rscales, bool mse) {
  double sum = 0, count = 0;
  for (size_t r = 0; r < rscales.size(); ++r) {
    const double t = thetas[r * stride];
    if (std::isfinite(t) && rscales[r] > 0) {
      sum += t;
      count += 1;
    }
  }
  const double centre = mse ? estimate : sum / count;
  double v = 0;
  for (size_t r = 0; r < rscales.size(); ++r) {
    const double t = thetas[r * stride];
    if (std::isfinite(t)) v += rscales[r] * (t - centre) * (t - centre);
  }
  return scale * v;
}

namespace {

void refuse_likelihood(const EstimateRequest& req) {
  if (req.levels > 0 && req.statistic == Statistic::Mean && req.ci == "likelihood") {
    throw InvalidInput(
        "ci='likelihood' on a replicate design: R (survey 4.1.1) takes the profile's dispersion "
        "from svyvar of the Pearson residuals, which on replicate designs is about n times too "
        "large, and returns NA; use 'logit' (R's replicate-fit interval), 'xlogit', 'beta', "
        "'wilson', 'mean' or 'asin'");
  }
}

}  // namespace

namespace detail {

EstimateResult replicate_result(const Design& design, const EstimateRequest& req,
                                const TotalsState& t, const DomainPlan& plan, SpreadState&& st,
                                double scale, std::span<const double> rscales, bool mse,
                                bool keep_replicates, const ReplicateVariance* backend) {
  const DomainTotals& totals = t.totals;
  const size_t R = rscales.size();
  if (static_cast<size_t>(t.replicates) != R) {
    throw InvalidInput("the totals state holds " + std::to_string(t.replicates) +
                       " replicates, the design " + std::to_string(R));
  }
  const size_t K = static_cast<size_t>(plan.cells);
  const size_t D = plan.domain_key.size();
  const size_t cells = D * K;
  const size_t ks = static_cast<size_t>(totals.key_space);
  const bool need_df = backend != nullptr && req.need_design_df() && std::isnan(backend->df);
  if (need_df && (!t.has_patterns || t.pattern_count != backend->pattern_count())) {
    throw InvalidInput(
        "the totals state holds no replicate-weight patterns for the design df: scan with the "
        "request that is finished (df='design' or ci='beta')");
  }
  // Replicate r's estimate of every domain cell from its merged sums.
  std::vector<double> thetas(cells * R);  // replicate-major: r * cells + c
  for (size_t r = 0; r < R; ++r) {
    const double* num = t.replicate_numerator.data() + r * ks * K;
    const double* den = plan.categorical ? nullptr : t.replicate_denominator.data() + r * ks;
    double* theta = thetas.data() + r * cells;
    for (size_t d = 0; d < D; ++d) {
      const size_t key = static_cast<size_t>(plan.domain_key[d]);
      double x = 0;
      if (plan.categorical) {
        for (size_t k = 0; k < K; ++k) x += num[key * K + k];
      } else {
        x = den[key];
      }
      for (size_t k = 0; k < K; ++k) {
        const double y = num[key * K + k];
        theta[d * K + k] = plan.statistic == Statistic::Total ? y : y / x;
      }
    }
  }

  // A full-design result gives estimates, n and weight sums; the variance and
  // design effect are replaced.
  std::vector<double> spread = st.spread_sum;  // numeric: sum w (y - centre)^2 per domain
  EstimateResult res = finalize(design, req, totals, plan, std::move(st));
  for (size_t c = 0; c < cells; ++c) {
    res.variance[c] =
        replicate_variance(thetas.data() + c, cells, res.estimate[c], scale, rscales, mse);
    const size_t d = c / K;
    const size_t key = static_cast<size_t>(plan.domain_key[d]);
    const double p_or_spread =
        plan.categorical ? totals.numerator[key * K + c % K] / totals.weight_sum[key] : spread[d];
    const double x =
        req.statistic == Statistic::Ratio ? totals.denominator[key] : totals.weight_sum[key];
    // svrepdesign's deff counts every row of the domain (R: length(pweights)).
    res.deff[c] = design_effect(req.statistic, plan.categorical, res.variance[c], p_or_spread,
                                totals.weight_sum[key], x, totals.n[key], false, req.deff_replace);
  }
  if (req.covariance) replicate_covariance(thetas, cells, K, scale, rscales, mse, res);
  res.design_df.assign(D, std::numeric_limits<double>::quiet_NaN());
  if (backend != nullptr && req.need_design_df()) {
    if (!std::isnan(backend->df)) {
      res.design_df.assign(D, backend->df);
    } else {
      std::vector<std::vector<int32_t>> sets(D);
      for (size_t d = 0; d < D; ++d) {
        const size_t key = static_cast<size_t>(plan.domain_key[d]);
        sets[d].assign(t.pattern_ids.begin() + t.pattern_begin[key],
                       t.pattern_ids.begin() + t.pattern_begin[key + 1]);
      }
      res.design_df = backend->pattern_df(sets);
    }
  }
  if (keep_replicates) res.replicates = std::move(thetas);
  return res;
}

EstimateResult finish_replicate_design(const Design& design, const EstimateRequest& req,
                                       const TotalsState& totals, const DomainPlan& plan,
                                       SpreadState&& spread) {
  const ReplicateVariance* rv = design.replicates();
  if (rv == nullptr) throw InvalidInput("the design has no replicate weights");
  const bool share = req.levels > 0 && req.statistic == Statistic::Mean;
  const bool logit = share && req.ci == "logit";
  refuse_likelihood(req);
  EstimateResult res = replicate_result(design, req, totals, plan, std::move(spread), rv->scale,
                                        rv->rscales, rv->mse, logit || req.keep_replicates, rv);
  std::vector<double> logit_var;
  if (logit) {
    // R's svyciprop(method = "logit") refits the logistic model under every
    // replicate: the link-scale variance is svrVar of logit(p_r), infinite when
    // a replicate share is 0 or 1.
    const size_t cells = res.estimate.size();
    const size_t R = rv->count();
    std::vector<double> logits(R * cells);
    logit_var.assign(cells, 0.0);
    for (size_t c = 0; c < cells; ++c) {
      bool infinite = false;
      for (size_t r = 0; r < R; ++r) {
        const double q = res.replicates[r * cells + c];
        const double l = std::log(q / (1 - q));
        infinite = infinite || std::isinf(l);
        logits[r * cells + c] = l;
      }
      const double p = res.estimate[c];
      logit_var[c] = infinite ? std::numeric_limits<double>::infinity()
                              : replicate_variance(logits.data() + c, cells, std::log(p / (1 - p)),
                                                   rv->scale, rv->rscales, rv->mse);
    }
    if (!req.keep_replicates) res.replicates.clear();
  }
  finish_cells(design, req, res, logit_var);
  return res;
}

}  // namespace detail

namespace {

void check_replicate_design(const Design& design, size_t R) {
  if (!design.order().empty()) {
    throw InvalidInput("a replicate-weight design has no strata or PSUs to sort by");
  }
  if (R < 2) throw InvalidInput("replicate designs need at least two replicate weight columns");
}

}  // namespace

EstimateResult estimate_replicates(const Design& design, const EstimateRequest& req,
                                   const ReplicateSpec& spec) {
  validate_request(design, req);
  const size_t R = spec.weights.size();
  check_replicate_design(design, R);
  if (spec.rscales.size() != R) throw InvalidInput("rscales must have one value per replicate");
  auto scanned = detail::scan_all(design, req, spec.weights, nullptr);
  return detail::replicate_result(design, req, scanned.totals, scanned.plan,
                                  std::move(scanned.spread), spec.scale, spec.rscales, spec.mse,
                                  spec.keep_replicates, nullptr);
}

EstimateResult estimate_replicates(const Design& design, const EstimateRequest& req) {
  const ReplicateVariance* rv = design.replicates();
  if (rv == nullptr) throw InvalidInput("the design has no replicate weights");
  validate_request(design, req);
  check_replicate_design(design, rv->count());
  refuse_likelihood(req);  // before any work
  std::vector<std::span<const double>> columns;
  for (size_t r = 0; r < rv->count(); ++r) columns.push_back(rv->column(r));
  auto scanned =
      detail::scan_all(design, req, columns, detail::needs_patterns(design, req) ? rv : nullptr);
  return detail::finish_estimate(design, req, scanned.totals, scanned.plan,
                                 std::move(scanned.spread));
}

void ReplicateVariance::assign_columns(std::span<const std::span<const double>> columns,
                                       std::span<const std::string> names,
                                       std::span<const double> multiply, int threads) {
  const size_t n = static_cast<size_t>(rows);
  const size_t R = columns.size();
  if (names.size() != R) throw InvalidInput("replicate weights: one name per column is needed");
  if (!multiply.empty() && multiply.size() != n) {
    throw InvalidInput("replicate weights: the sampling weights have " +
                       std::to_string(multiply.size()) + " rows, the replicates " +
                       std::to_string(n));
  }
  for (size_t r = 0; r < R; ++r) {
    if (columns[r].size() != n) {
      throw InvalidInput("replicate weights column '" + names[r] + "' has " +
                         std::to_string(columns[r].size()) + " rows, the design " +
                         std::to_string(n));
    }
  }
  // Appended column by column (memcpy speed, and no zero-filling pass over the
  // whole matrix first, as resize() would do); then each column is multiplied
  // and checked by one thread in its own slice: no shared writes, and the error
  // reported is the first bad column in order.
  weights.clear();
  weights.reserve(n * R);
  advise_huge_pages(weights.data(), n * R * sizeof(double));
  for (const auto& column : columns) weights.insert(weights.end(), column.begin(), column.end());
  std::vector<std::string> problems(R);
  parallel_for(R, worker_count(threads, R), [&](size_t r) {
    const double* src = columns[r].data();
    double* dst = weights.data() + r * n;
    if (!multiply.empty()) {
      for (size_t i = 0; i < n; ++i) dst[i] *= multiply[i];
    }
    // Counts and first rows of the three problems: missing, infinite, negative.
    size_t count[3] = {0, 0, 0}, first[3] = {n, n, n};
    for (size_t i = 0; i < n; ++i) {
      const double w = src[i];
      if (w >= 0 && w <= std::numeric_limits<double>::max()) continue;  // the usual case
      const size_t k = std::isnan(w) ? 0 : std::isinf(w) ? 1 : 2;
      if (count[k]++ == 0) first[k] = i;
    }
    static constexpr const char* kWhat[3] = {"missing (NaN)", "infinite", "negative"};
    for (size_t k = 0; k < 3; ++k) {
      if (count[k] == 0) continue;
      problems[r] = "replicate weights column '" + names[r] + "' is " + kWhat[k] + " in " +
                    std::to_string(count[k]) + (count[k] == 1 ? " row" : " rows") +
                    " (first: row position " + std::to_string(first[k]) + ")";
      return;
    }
  });
  for (const auto& problem : problems) {
    if (!problem.empty()) throw InvalidInput(problem);
  }
  values_checked = multiply.empty();  // a product of finite values may still overflow
}

}  // namespace steppe
