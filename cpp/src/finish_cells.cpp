// Finishing each estimated cell: standard error, confidence interval (R's
// confint with df=, or svyciprop's methods for shares), degrees of freedom,
// effective sample size and the NCHS reliability flag. The engine's two scans
// give estimates and variances; everything a result row shows is made here.
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <string>

#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"
#include "steppe/interval.hpp"
#include "steppe/parallel.hpp"
#include "steppe/reliability.hpp"

namespace steppe {

namespace {

constexpr const char* kNoDfFlag =
    "suppress: no degrees of freedom (domain within one PSU per stratum)";

}  // namespace

void finish_cells(const Design& design, const EstimateRequest& req, EstimateResult& res,
                  const std::vector<double>& replicate_logit_var) {
  const size_t K = static_cast<size_t>(res.cells_per_domain);
  const size_t cells = res.estimate.size();
  const bool share = req.levels > 0 && req.statistic == Statistic::Mean;
  const bool wald = req.ci == "wald";
  CiMethod method = CiMethod::Mean;
  if (!wald) method = parse_ci_method(req.ci);
  res.ci_method = share || wald ? req.ci : "wald";
  res.se.resize(cells);
  res.ci_low.assign(cells, std::numeric_limits<double>::quiet_NaN());
  res.ci_high.assign(cells, std::numeric_limits<double>::quiet_NaN());
  res.df.resize(cells);
  res.n_eff.resize(cells);
  res.flag.assign(cells, std::string());
  // A calibrated design's domains keep every row (weight 0 outside), as R's `[`:
  // Korn-Graubard's df factor then counts all rows (R's nrow()).
  const bool all_rows = design.calibration().active();

  auto finish = [&](size_t c) {
    const size_t d = c / K;
    const double p = res.estimate[c];
    const double var = res.variance[c];
    const double n = static_cast<double>(res.n[d]);
    const double design_df = res.design_df[d];
    double df = req.df_design ? design_df : req.df_value;
    // Korn-Graubard's df adjustment uses the domain's design df whatever df=
    // says, as R's svyciprop(method = "beta") does.
    if (share && !wald && method == CiMethod::Beta) df = design_df;
    res.se[c] = std::sqrt(var);
    res.df[c] = df;
    const double n_rows = all_rows ? static_cast<double>(design.rows()) : n;
    const bool has_df = df > 0;  // false for NaN too
    double ci_var = var;
    if (share && !wald && method == CiMethod::Logit && !replicate_logit_var.empty() && p > 0 &&
        p < 1) {
      // R refits the logistic model to every replicate: the link-scale variance
      // is the replicates' variance of logit(p_r), here as a variance of p.
      ci_var = replicate_logit_var[c] * (p * (1 - p)) * (p * (1 - p));
    }
    if (has_df && std::isinf(ci_var)) {
      // A replicate share of 0 or 1 has an infinite logit: the interval is [0, 1].
      res.ci_low[c] = 0.0;
      res.ci_high[c] = 1.0;
    } else if (has_df) {
      const Interval ci = share && !wald
                              ? proportion_interval(method, {p, ci_var, df, n_rows, req.level})
                              : wald_interval(p, res.se[c], df, req.level);
      res.ci_low[c] = ci.low;
      res.ci_high[c] = ci.high;
    }
    if (share) {
      res.n_eff[c] = effective_sample_size(p, var, n);
      res.flag[c] = has_df ? reliability_flag({p, var, n, df}) : kNoDfFlag;
    } else {
      const double deff = res.deff[c];
      const bool good = std::isfinite(deff) && deff > 0;
      res.n_eff[c] = good ? n / deff : n;
      if (!has_df) res.flag[c] = kNoDfFlag;
    }
  };

  // Exact t and beta quantiles cost microseconds a cell: split cells over threads.
  const size_t parts = worker_count(req.threads, cells / 256);
  parallel_for(parts, parts, [&](size_t part) {
    for (size_t c = cells * part / parts; c < cells * (part + 1) / parts; ++c) {
      try {
        finish(c);
      } catch (const InvalidInput& e) {
        throw InvalidInput("cell " + std::to_string(c) + ": " + e.what());
      }
    }
  });
}

}  // namespace steppe
