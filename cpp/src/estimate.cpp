// Plans the domains from scan 1's totals, finalizes merged states into estimates,
// and runs estimate() (the scans and their threads: partial.cpp).
#include "steppe/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"
#include "steppe/interval.hpp"
#include "steppe/partial.hpp"
#include "steppe/replicate.hpp"

namespace steppe {

Statistic parse_statistic(std::string_view name) {
  if (name == "mean") return Statistic::Mean;
  if (name == "total") return Statistic::Total;
  if (name == "ratio") return Statistic::Ratio;
  throw InvalidInput("statistic must be 'mean', 'total' or 'ratio'; got '" + std::string(name) + "'");
}

namespace {

/// R's svyrecvar for a raked design: ten sweeps over the margins of
///   x <- x - w_m * ave(x / w_m, margin)   (w_m: weights after margin m's step)
/// on cell sums. With u = x / w_base and w_m = w_base * G_m(cell), every row of
/// a cell moves by the same amount, so the sweeps run on the cells: v[c] holds
/// sum_{rows of c} u; the result shift[c] is what each row's u lost.
void rake_shift(const CalibrationStep& cal, const double* v, double* shift) {
  const size_t C = static_cast<size_t>(cal.columns);
  std::fill(shift, shift + C, 0.0);
  std::vector<double> level_sum;
  for (int iteration = 0; iteration < 10; ++iteration) {
    for (size_t m = 0; m < cal.raking_levels.size(); ++m) {
      const auto& lev = cal.raking_levels[m];
      const auto& g = cal.raking_factors[m];
      const auto& rows = cal.raking_level_rows[m];
      level_sum.assign(rows.size(), 0.0);
      for (size_t c = 0; c < C; ++c) {
        level_sum[static_cast<size_t>(lev[c])] += (v[c] - cal.cell_rows[c] * shift[c]) / g[c];
      }
      for (size_t c = 0; c < C; ++c) {
        const size_t l = static_cast<size_t>(lev[c]);
        shift[c] += g[c] * level_sum[l] / rows[l];
      }
    }
  }
}

/// beta = Op(v) for one step: A^-1 v (GREG, post-strata: A diagonal) or the
/// raking sweeps.
void step_coefficients(const CalibrationStep& step, const double* v, double* beta) {
  const size_t P = static_cast<size_t>(step.columns);
  if (step.raking()) {
    rake_shift(step, v, beta);
    return;
  }
  const std::vector<double>& inverse = step.normal_inverse;
  if (inverse.size() == P) {
    for (size_t i = 0; i < P; ++i) beta[i] = inverse[i] * v[i];
    return;
  }
  for (size_t i = 0; i < P; ++i) {
    double acc = 0;
    for (size_t j = 0; j < P; ++j) acc += inverse[i * P + j] * v[j];
    beta[i] = acc;
  }
}

/// Per domain cell: v = sum omega m (a - R b) / X over every step's stacked
/// columns (the linearised variable divided by g), then each step's
/// coefficients in the order R's svyrecvar applies the steps: step k sees x
/// less the fits of the steps before it, beta_k = Op_k(v_k - sum_{j<k} C_kj
/// beta_j) (see Calibration).
void plan_calibration(const DomainTotals& t, DomainPlan& plan, const Calibration& cal) {
  const size_t K = static_cast<size_t>(t.cells);
  const size_t P = static_cast<size_t>(t.cal_columns);
  if (static_cast<size_t>(cal.columns) != P) {
    throw InvalidInput("the totals' calibration columns do not match the design's");
  }
  const size_t D = plan.domain_key.size();
  plan.beta.assign(D * K * P, 0.0);
  std::vector<double> v(P);
  for (size_t d = 0; d < D; ++d) {
    const size_t key = static_cast<size_t>(plan.domain_key[d]);
    for (size_t k = 0; k < K; ++k) {
      const size_t cell = d * K + k;
      const double* num = t.cal_numerator.data() + (key * K + k) * P;
      const double* den = t.cal_denominator.data() + key * P;
      for (size_t j = 0; j < P; ++j) {
        v[j] = (num[j] - plan.center[cell] * den[j]) * plan.inv_x[d];
      }
      double* beta = plan.beta.data() + cell * P;
      for (size_t s = 0; s < cal.steps.size(); ++s) {
        const auto off = static_cast<size_t>(cal.offset[s]);
        const auto Ps = static_cast<size_t>(cal.steps[s].columns);
        double* vs = v.data() + off;
        for (size_t j = 0; j < s; ++j) {
          const auto offj = static_cast<size_t>(cal.offset[j]);
          const auto Pj = static_cast<size_t>(cal.steps[j].columns);
          const std::vector<double>& c = cal.cross[s][j];
          for (size_t a = 0; a < Ps; ++a) {
            double acc = 0;
            for (size_t b = 0; b < Pj; ++b) acc += c[a * Pj + b] * beta[offj + b];
            vs[a] -= acc;
          }
        }
        step_coefficients(cal.steps[s], vs, beta + off);
      }
    }
  }
}

}  // namespace

DomainPlan plan_domains(const EstimateRequest& req, const DomainTotals& t,
                        const Calibration* calibration) {
  DomainPlan plan;
  plan.statistic = req.statistic;
  plan.categorical = req.levels > 0;
  plan.cells = t.cells;
  const size_t K = static_cast<size_t>(t.cells);
  int64_t space = 1;
  plan.by_stride.resize(req.by.size());
  for (size_t j = req.by.size(); j-- > 0;) {
    plan.by_stride[j] = space;
    space *= req.by_levels[j];
  }
  plan.key_to_domain.assign(static_cast<size_t>(t.key_space), -1);
  // A domain is a combination of by levels with a nonzero-weight row, as svyby.
  for (int64_t key = 0; key < t.key_space; ++key) {
    if (t.n_nonzero[static_cast<size_t>(key)] > 0) {
      plan.key_to_domain[static_cast<size_t>(key)] = static_cast<int32_t>(plan.domain_key.size());
      plan.domain_key.push_back(static_cast<int32_t>(key));
    }
  }
  const size_t D = plan.domain_key.size();
  plan.center.assign(D * K, 0.0);
  plan.inv_x.assign(D, 1.0);
  plan.spread_center.assign(D, 0.0);
  for (size_t d = 0; d < D; ++d) {
    const size_t key = static_cast<size_t>(plan.domain_key[d]);
    const double wsum = t.weight_sum[key];
    double x = wsum;
    if (req.statistic == Statistic::Ratio) {
      x = t.denominator[key];
      if (x == 0) throw NotEstimable("the denominator's weighted total is zero in a domain");
    }
    for (size_t k = 0; k < K; ++k) {
      const double y = t.numerator[key * K + k];
      if (req.statistic != Statistic::Total) plan.center[d * K + k] = y / x;
    }
    if (req.statistic != Statistic::Total) plan.inv_x[d] = 1.0 / x;
    // Centre of the SRS variance in the design effect: the estimate itself for
    // means and ratios, the weighted mean for totals (R's svyvar).
    plan.spread_center[d] = req.statistic == Statistic::Total
                                ? t.numerator[key * K] / wsum
                                : plan.center[d * K];
  }
  if (t.cal_columns > 0) {
    if (calibration == nullptr) {
      throw InvalidInput("calibrated totals need the design's calibration");
    }
    plan_calibration(t, plan, *calibration);
  }
  return plan;
}

namespace {

std::string lonely_message(const Design& design, const SpreadState& st) {
  std::ostringstream msg;
  if (!st.lonely_strata.empty()) {
    std::vector<int32_t> strata = st.lonely_strata;
    std::sort(strata.begin(), strata.end());
    strata.erase(std::unique(strata.begin(), strata.end()), strata.end());
    msg << strata.size() << " stratum/strata with a single PSU (lonely_psu='fail'): ";
    for (size_t i = 0; i < strata.size() && i < 20; ++i) {
      msg << (i ? ", " : "") << "'" << design.stratum_label(strata[i]) << "'";
    }
    if (strata.size() > 20) msg << ", ...";
  } else {
    std::vector<int64_t> psus = st.lonely_psus;
    std::sort(psus.begin(), psus.end());
    psus.erase(std::unique(psus.begin(), psus.end()), psus.end());
    msg << psus.size() << " PSU(s) with a single second-stage unit (lonely_psu='fail'): ";
    for (size_t i = 0; i < psus.size() && i < 20; ++i) {
      msg << (i ? ", " : "") << "'" << design.psu_label(psus[i]) << "'";
    }
    if (psus.size() > 20) msg << ", ...";
  }
  msg << ". Use lonely_psu='remove', 'certainty', 'adjust' or 'average' to estimate anyway.";
  return msg.str();
}

}  // namespace

/// R's deff=TRUE: variance over the variance of a simple random sample of the
/// same size without replacement, svyvar(x) * (N - n) / (N n) (times N^2 for totals);
/// deff="replace": with replacement, svyvar(x) / n (times N^2 for totals), as R's
/// svymean / svytotal (svyratio: svytotal's of the linearised ratio).
double design_effect(Statistic stat, bool categorical, double variance, double p_or_spread,
                     double wsum, double denominator, int64_t n_nonzero, bool guard, bool replace) {
  const double n = static_cast<double>(n_nonzero);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (n_nonzero < 2) return nan;
  // Weighted population variance of the analysis variable (categorical: p(1-p)).
  double s2 = categorical ? p_or_spread * (1 - p_or_spread) : p_or_spread / wsum;
  if (stat == Statistic::Ratio) s2 /= denominator * denominator;  // r = (y - R x) / X
  const double svyvar = s2 * n / (n - 1);
  double vsrs;
  if (replace) {
    vsrs = stat == Statistic::Mean ? svyvar / n : svyvar * wsum * wsum / n;
  } else if (stat == Statistic::Mean) {
    if (guard && wsum < n) return nan;  // R: "Sample size greater than population size"
    vsrs = svyvar * (wsum - n) / (wsum * n);
  } else {
    vsrs = svyvar * wsum * wsum * (wsum - n) / (wsum * n);
  }
  return variance / vsrs;
}

EstimateResult finalize(const Design& design, const EstimateRequest& req, const DomainTotals& t,
                        const DomainPlan& plan, SpreadState&& st) {
  // Strata split between states: merge their moments, then fold them in.
  std::sort(st.partial.begin(), st.partial.end(),
            [](const StratumMoments& a, const StratumMoments& b) { return a.stratum < b.stratum; });
  for (size_t i = 0; i < st.partial.size();) {
    StratumMoments m = st.partial[i];
    size_t j = i + 1;
    for (; j < st.partial.size() && st.partial[j].stratum == m.stratum; ++j) {
      m.merge(st.partial[j], st.cells);
    }
    finish_stratum(design, m, st);
    i = j;
  }
  st.partial.clear();
  if (!st.lonely_strata.empty() || !st.lonely_psus.empty()) {
    throw NotEstimable(lonely_message(design, st));
  }
  if (st.nan_stage2 > 0) {
    throw NotEstimable(
        "lonely_psu='average' met a PSU with a single second-stage unit; R's variance is NaN there");
  }

  const int64_t D = plan.domains();
  const int32_t K = plan.cells;
  const size_t Ks = static_cast<size_t>(K);
  EstimateResult res;
  res.domains = D;
  res.cells_per_domain = K;
  const size_t nby = req.by.size();
  res.domain_codes.resize(static_cast<size_t>(D) * nby);
  res.estimate.resize(static_cast<size_t>(D) * Ks);
  res.variance.resize(static_cast<size_t>(D) * Ks);
  res.deff.resize(static_cast<size_t>(D) * Ks);
  res.n.resize(static_cast<size_t>(D));
  res.n_nonzero.resize(static_cast<size_t>(D));
  res.weight_sum.resize(static_cast<size_t>(D));
  res.psus = st.psus;
  if (req.covariance) {
    res.covariance = st.covariance;
    res.covariance.resize(static_cast<size_t>(D) * Ks * Ks, 0.0);
  }
  res.strata = st.strata_present;
  for (int64_t d = 0; d < D; ++d) {
    const size_t di = static_cast<size_t>(d);
    const int64_t key = plan.domain_key[di];
    const size_t ki = static_cast<size_t>(key);
    for (size_t j = 0; j < nby; ++j) {
      res.domain_codes[di * nby + j] =
          static_cast<int32_t>((key / plan.by_stride[j]) % req.by_levels[j]);
    }
    res.n[di] = t.n[ki];
    res.n_nonzero[di] = t.n_nonzero[ki];
    res.weight_sum[di] = t.weight_sum[ki];
    // lonely_psu="average": strata without a variance get the others' average.
    double rescale = 1.0;
    if (st.strata_ok[di] != st.strata_seen[di]) {
      if (st.strata_ok[di] == 0 && design.adjust_domain_lonely()) {
        // R (survey.adjust.domain.lonely): 0 * strata / 0 strata with a variance, NaN.
        rescale = std::numeric_limits<double>::quiet_NaN();
      } else if (st.strata_ok[di] == 0) {
        throw NotEstimable("lonely_psu='average': every stratum of a domain has a single PSU");
      } else {
        rescale =
            static_cast<double>(st.strata_seen[di]) / static_cast<double>(st.strata_ok[di]);
      }
    }
    if (req.covariance) {
      for (size_t e = di * Ks * Ks; e < (di + 1) * Ks * Ks; ++e) res.covariance[e] *= rescale;
    }
    const double x = req.statistic == Statistic::Ratio ? t.denominator[ki] : t.weight_sum[ki];
    for (size_t k = 0; k < Ks; ++k) {
      const size_t c = di * Ks + k;
      const double total = t.numerator[ki * Ks + k];
      res.estimate[c] = req.statistic == Statistic::Total ? total : plan.center[c];
      res.variance[c] = st.variance[c] * rescale;
      const double spread =
          plan.categorical ? total / t.weight_sum[ki] : st.spread_sum[di];
      res.deff[c] = design_effect(req.statistic, plan.categorical, res.variance[c], spread,
                                  t.weight_sum[ki], x, t.n_nonzero[ki], true, req.deff_replace);
    }
  }
  return res;
}

EstimateResult estimate(const Design& design, const EstimateRequest& req) {
  validate_request(design, req);
  detail::check_finish_options(req);
  if (design.replicates() != nullptr) return estimate_replicates(design, req);
  // Taylor linearisation: the two scans over slices of the rows, merged, as any
  // caller of the partial states (partial.hpp) would run them.
  auto scanned = detail::scan_all(design, req, {}, nullptr);
  return detail::finish_estimate(design, req, scanned.totals, scanned.plan,
                                 std::move(scanned.spread));
}

}  // namespace steppe
