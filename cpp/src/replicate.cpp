#include "steppe/replicate.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <string>
#include <thread>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"

namespace steppe {

namespace {

/// Replicate r's estimate for every domain cell, from one pass over the rows.
void replicate_thetas(const EstimateRequest& req, const DomainPlan& plan,
                      std::span<const int32_t> cell_of_row, std::span<const double> w,
                      std::vector<double>& num, std::vector<double>& den, double* theta) {
  const size_t K = static_cast<size_t>(plan.cells);
  const bool categorical = plan.categorical;
  const bool ratio = plan.statistic == Statistic::Ratio;
  std::fill(num.begin(), num.end(), 0.0);
  std::fill(den.begin(), den.end(), 0.0);
  for (size_t r = 0; r < cell_of_row.size(); ++r) {
    const int32_t cell = cell_of_row[r];
    if (cell < 0) continue;
    const double wr = w[r];
    if (categorical) {
      num[static_cast<size_t>(cell)] += wr;
      den[static_cast<size_t>(cell) / K] += wr;
    } else {
      num[static_cast<size_t>(cell)] += wr * req.values[r];
      den[static_cast<size_t>(cell)] += wr * (ratio ? req.denominator[r] : 1.0);
    }
  }
  const size_t D = plan.domain_key.size();
  for (size_t d = 0; d < D; ++d) {
    const size_t key = static_cast<size_t>(plan.domain_key[d]);
    for (size_t k = 0; k < K; ++k) {
      const double n = num[key * K + k];
      theta[d * K + k] = plan.statistic == Statistic::Total ? n : n / den[key];
    }
  }
}

/// Each domain's K x K covariance, R's svrVar on its R x K replicate matrix:
/// replicates with any undefined cell in the domain are dropped (na.omit of the
/// rows), the centre is the column means over rscales > 0 or the estimates (mse).
void replicate_covariance(const std::vector<double>& thetas, size_t cells, size_t K,
                          const ReplicateSpec& spec, EstimateResult& res) {
  const size_t R = spec.weights.size();
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
      if (!use[r] || !(spec.rscales[r] > 0)) continue;
      for (size_t k = 0; k < K; ++k) centre[k] += thetas[r * cells + first + k];
      count += 1;
    }
    for (size_t k = 0; k < K; ++k)
      centre[k] = spec.mse ? res.estimate[first + k] : centre[k] / count;
    double* out = res.covariance.data() + d * K * K;
    for (size_t r = 0; r < R; ++r) {
      if (!use[r]) continue;
      for (size_t k = 0; k < K; ++k) dev[k] = thetas[r * cells + first + k] - centre[k];
      for (size_t i = 0; i < K; ++i) {
        for (size_t j = 0; j < K; ++j)
          out[i * K + j] += spec.scale * spec.rscales[r] * dev[i] * dev[j];
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

/// The replicate estimate; with `backend`, also each domain's design df when the
/// request needs it (R's degf of the domain subset).
EstimateResult replicate_estimate(const Design& design, const EstimateRequest& req,
                                  const ReplicateSpec& spec, const ReplicateVariance* backend) {
  validate_request(design, req);
  if (!design.order().empty()) {
    throw InvalidInput("a replicate-weight design has no strata or PSUs to sort by");
  }
  const size_t R = spec.weights.size();
  if (R < 2) throw InvalidInput("replicate designs need at least two replicate weight columns");
  if (spec.rscales.size() != R) throw InvalidInput("rscales must have one value per replicate");
  const size_t n = static_cast<size_t>(design.rows());
  for (size_t r = 0; r < R; ++r) {
    if (spec.weights[r].size() != n) {
      throw InvalidInput("replicate weight column " + std::to_string(r) + " has " +
                         std::to_string(spec.weights[r].size()) + " rows, not " +
                         std::to_string(n));
    }
  }

  std::vector<int32_t> cell_of_row(n);
  const DomainTotals totals = accumulate_totals(design, req, 0, design.rows(), cell_of_row);
  const DomainPlan plan = plan_domains(req, totals);
  if (plan.domains() == 0) {
    throw NotEstimable("no row has a valid value with a nonzero weight in the requested domain(s)");
  }
  const size_t K = static_cast<size_t>(plan.cells);
  const size_t cells = plan.domain_key.size() * K;
  std::vector<double> thetas(cells * R);  // replicate-major: r * cells + c

  // Replicates are independent passes: split them over the threads. Safe: each
  // thread writes its own replicates' rows of `thetas` and reads shared input.
  const size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t parts =
      std::clamp<size_t>(req.threads > 0 ? static_cast<size_t>(req.threads) : hw, 1, R);
  std::vector<std::exception_ptr> errors(parts);
  auto work = [&](size_t part) {
    try {
      std::vector<double> num(totals.numerator.size()), den(static_cast<size_t>(totals.key_space));
      for (size_t r = part; r < R; r += parts) {
        replicate_thetas(req, plan, cell_of_row, spec.weights[r], num, den,
                         thetas.data() + r * cells);
      }
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t p = 1; p < parts; ++p) pool.emplace_back(work, p);
  work(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }

  // A full-design result gives estimates, n and weight sums; the variance and
  // design effect are replaced.
  SpreadState none(plan.domains(), plan.cells);
  EstimateResult res = finalize(design, req, totals, plan, std::move(none));
  // Numeric variables: sum w (y - centre)^2 per domain for the SRS variance.
  std::vector<double> spread(plan.domain_key.size(), 0.0);
  if (!plan.categorical) {
    const auto& w = design.weights();
    const bool ratio = plan.statistic == Statistic::Ratio;
    for (size_t r = 0; r < n; ++r) {
      const int32_t cell = cell_of_row[r];
      if (cell < 0) continue;
      const int32_t d = plan.key_to_domain[static_cast<size_t>(cell)];
      if (d < 0) continue;
      const double e = req.values[r] - plan.spread_center[static_cast<size_t>(d)] *
                                           (ratio ? req.denominator[r] : 1.0);
      spread[static_cast<size_t>(d)] += w[r] * e * e;
    }
  }
  for (size_t c = 0; c < cells; ++c) {
    res.variance[c] = replicate_variance(thetas.data() + c, cells, res.estimate[c], spec.scale,
                                         spec.rscales, spec.mse);
    const size_t d = c / K;
    const size_t key = static_cast<size_t>(plan.domain_key[d]);
    const double p_or_spread =
        plan.categorical ? totals.numerator[key * K + c % K] / totals.weight_sum[key] : spread[d];
    const double x =
        req.statistic == Statistic::Ratio ? totals.denominator[key] : totals.weight_sum[key];
    // svrepdesign's deff counts every row of the domain (R: length(pweights)).
    res.deff[c] = design_effect(req.statistic, plan.categorical, res.variance[c], p_or_spread,
                                totals.weight_sum[key], x, totals.n[key], false);
  }
  if (req.covariance) replicate_covariance(thetas, cells, K, spec, res);
  res.design_df.assign(plan.domain_key.size(), std::numeric_limits<double>::quiet_NaN());
  if (backend != nullptr && req.need_design_df()) {
    std::vector<int32_t> domain_of_row(n, -1);
    for (size_t r = 0; r < n; ++r) {
      const int32_t cell = cell_of_row[r];
      if (cell < 0) continue;
      const size_t key = plan.categorical ? static_cast<size_t>(cell) / K : static_cast<size_t>(cell);
      domain_of_row[r] = plan.key_to_domain[key];
    }
    res.design_df = backend->domain_df(domain_of_row, plan.domains());
  }
  if (spec.keep_replicates) res.replicates = std::move(thetas);
  return res;
}

}  // namespace

EstimateResult estimate_replicates(const Design& design, const EstimateRequest& req,
                                   const ReplicateSpec& spec) {
  return replicate_estimate(design, req, spec, nullptr);
}

EstimateResult estimate_replicates(const Design& design, const EstimateRequest& req) {
  const ReplicateVariance* rv = design.replicates();
  if (rv == nullptr) throw InvalidInput("the design has no replicate weights");
  const bool share = req.levels > 0 && req.statistic == Statistic::Mean;
  const bool logit = share && req.ci == "logit";
  if (share && req.ci == "likelihood") {
    throw InvalidInput(
        "ci='likelihood' on a replicate design: R (survey 4.1.1) takes the profile's dispersion "
        "from svyvar of the Pearson residuals, which on replicate designs is about n times too "
        "large, and returns NA; use 'logit' (R's replicate-fit interval), 'xlogit', 'beta', "
        "'wilson', 'mean' or 'asin'");
  }
  ReplicateSpec spec;
  for (size_t r = 0; r < rv->count(); ++r) spec.weights.push_back(rv->column(r));
  spec.scale = rv->scale;
  spec.rscales = rv->rscales;
  spec.mse = rv->mse;
  spec.keep_replicates = logit || req.keep_replicates;
  EstimateResult res = replicate_estimate(design, req, spec, rv);
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

}  // namespace steppe
