// Quantiles for every domain: rows grouped by domain in one pass, each
// domain's values sorted once, Woodruff intervals from the engine's CDF
// variance, replicate quantiles on replicate designs.
#include "steppe/quantile.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>

#include "steppe/accumulate.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"
#include "steppe/parallel.hpp"
#include "steppe/pps_variance.hpp"
#include "steppe/replicate.hpp"
#include "steppe/root_finding.hpp"

namespace steppe {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kNoLimit =
    "review: no quantile at a limit of the CDF interval (R gives NaN there)";
constexpr const char* kNoDf = "suppress: no degrees of freedom (domain within one PSU per stratum)";
constexpr const char* kNoRoot =
    "review: the score test has no root between min + IQR/100 and max - IQR/100 (R's uniroot "
    "stops with an error there)";

/// A double as Python's repr() writes it (shortest round trip), for messages.
std::string repr(double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

/// Rows grouped by domain: domain d's rows (original order) are
/// rows[begin[d] .. begin[d+1]); the same slice of `x_sorted` holds their values
/// sorted stably (R's order()), and slot[row] is a row's place in x_sorted.
/// A domain is a by combination with a nonzero-weight row (svyby).
struct Domains {
  std::vector<int64_t> key;
  std::vector<size_t> begin{0};
  std::vector<int32_t> rows;
  std::vector<double> x_sorted;
  std::vector<int64_t> slot;           ///< per row: index into x_sorted, -1 outside every domain
  std::vector<int32_t> domain_of_row;  ///< per row: its domain, -1 for none
  std::vector<uint8_t> valid;          ///< per row: in the subset, with a value and every by code
  size_t count() const { return key.size(); }
  size_t size(size_t d) const { return begin[d + 1] - begin[d]; }
  std::span<const int32_t> rows_of(size_t d) const { return {rows.data() + begin[d], size(d)}; }
};

/// The engine's request behind the quantiles: the variable's rows and the
/// domains (the CDF passes add the 0/1 codes, the interval and the df).
EstimateRequest domain_request(const QuantileRequest& req) {
  EstimateRequest er;
  er.statistic = Statistic::Mean;
  er.values = req.values;
  er.by = req.by;
  er.by_levels = req.by_levels;
  er.subset = req.subset;
  er.threads = req.threads;
  return er;
}

void check_request(const Design& design, const QuantileRequest& req, const EstimateRequest& er) {
  validate_request(design, er);  // lengths, by levels, the key space
  if (req.probs.empty()) throw InvalidInput("probs must be in [0, 1], got []");
  for (double p : req.probs) {
    if (!(p >= 0 && p <= 1)) throw InvalidInput("probs must be in [0, 1], got " + repr(p));
  }
  if (!(req.level > 0 && req.level < 1)) {
    throw InvalidInput("level must be in (0, 1), got " + repr(req.level));
  }
  if (req.df && !(*req.df > 0)) {
    throw InvalidInput("df must be 'design', a positive number or math.inf, got " + repr(*req.df));
  }
  const bool replicated = design.replicates() != nullptr;
  if (!replicated && req.ci == QuantileCi::Quantile) {
    throw InvalidInput(
        "ci must be one of ('mean', 'beta', 'xlogit', 'asin', 'score') for quantiles, got "
        "'quantile' (replicate quantiles need a replicate design)");
  }
  if (replicated && req.ci != QuantileCi::Mean && req.ci != QuantileCi::Quantile) {
    // survey 4.1.1's svyquantile.svyrep.design calls woodruffCI without its
    // interval.type: its Woodruff interval is always the Wald one.
    throw InvalidInput(
        "quantile() on a replicate design takes ci='mean' (Woodruff) or 'quantile' (replicate "
        "quantiles); R's replicate svyquantile ignores 'beta', 'xlogit' and 'asin' and has no "
        "'score'");
  }
}

/// One pass over the rows: each valid row's domain key (the engine's RowCells:
/// in the subset, a value, every by code), then the rows bucketed by key (a
/// counting sort when the key space is small, else a stable sort).
Domains group_rows(const Design& design, const EstimateRequest& er) {
  const size_t rows = static_cast<size_t>(design.rows());
  const auto& w = design.weights();
  const RowCells cell_of(er);
  const int64_t space = cell_of.key_space();
  Domains dom;
  dom.valid.assign(rows, 0);
  std::vector<std::pair<int64_t, int32_t>> keyed;  // (key, row), valid rows in row order
  keyed.reserve(rows);
  for (size_t r = 0; r < rows; ++r) {
    const int64_t key = cell_of(r);  // numeric variable: the cell is the domain key
    if (key < 0) continue;
    dom.valid[r] = 1;
    keyed.emplace_back(key, static_cast<int32_t>(r));
  }
  if (static_cast<double>(space) <= 4.0 * static_cast<double>(rows) + 1024) {
    std::vector<size_t> start(static_cast<size_t>(space) + 1, 0);
    for (const auto& kr : keyed) ++start[static_cast<size_t>(kr.first) + 1];
    for (size_t k = 0; k < static_cast<size_t>(space); ++k) start[k + 1] += start[k];
    std::vector<std::pair<int64_t, int32_t>> out(keyed.size());
    for (const auto& kr : keyed) out[start[static_cast<size_t>(kr.first)]++] = kr;
    keyed = std::move(out);
  } else {
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  dom.rows.reserve(keyed.size());
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    bool nonzero = false;
    for (; j < keyed.size() && keyed[j].first == keyed[i].first; ++j) {
      nonzero = nonzero || w[static_cast<size_t>(keyed[j].second)] != 0.0;
    }
    if (nonzero) {
      dom.key.push_back(keyed[i].first);
      for (size_t k = i; k < j; ++k) dom.rows.push_back(keyed[k].second);
      dom.begin.push_back(dom.rows.size());
    } else {
      for (size_t k = i; k < j; ++k) dom.valid[static_cast<size_t>(keyed[k].second)] = 0;
    }
    i = j;
  }
  return dom;
}

/// Domain d's values sorted stably by value (ties in row order, as R's order()).
void sort_domain(Domains& dom, std::span<const double> values, size_t d) {
  const auto rows = dom.rows_of(d);
  std::vector<int32_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  auto x = [&](int32_t i) { return values[static_cast<size_t>(rows[static_cast<size_t>(i)])]; };
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return x(a) < x(b); });
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t row = static_cast<size_t>(rows[static_cast<size_t>(order[k])]);
    dom.x_sorted[dom.begin[d] + k] = x(order[k]);
    dom.slot[row] = static_cast<int64_t>(dom.begin[d] + k);
    dom.domain_of_row[row] = static_cast<int32_t>(d);
  }
}

/// Every domain's quantile function under weights w (zero weights dropped, R's
/// sum(w) in row order), from one forward scan of w: use(d, quantile function).
template <class Use>
void domain_quantiles(QuantileRule rule, const Domains& dom, std::span<const double> w, Use&& use) {
  std::vector<double> by_value(dom.x_sorted.size());
  std::vector<long double> total(dom.count(), 0.0L);
  for (size_t row = 0; row < dom.slot.size(); ++row) {
    const int64_t s = dom.slot[row];
    if (s < 0) continue;
    const double wr = w[row];
    by_value[static_cast<size_t>(s)] = wr;
    total[static_cast<size_t>(dom.domain_of_row[row])] += wr;
  }
  std::vector<double> x, wx;
  for (size_t d = 0; d < dom.count(); ++d) {
    x.clear();
    wx.clear();
    for (size_t k = dom.begin[d]; k < dom.begin[d + 1]; ++k) {
      if (by_value[k] == 0.0) continue;
      x.push_back(dom.x_sorted[k]);
      wx.push_back(by_value[k]);
    }
    use(d, WeightedQuantile(rule, x, wx, static_cast<double>(total[d])));
  }
}

/// A CI limit: the quantile at the CDF's limit p; NaN, as R, if there is none.
double bound(const WeightedQuantile& q, double p) {
  if (!(p >= 0 && p <= 1)) return kNaN;
  return q(p).value_or(kNaN);
}

/// R's quantile(x, p, type = 7) of sorted values (Hyndman & Fan 1996, type 7).
double type7(std::span<const double> x, double p) {
  const double index = 1 + static_cast<double>(x.size() - 1) * p;  // 1-based, as R
  const double lo = std::floor(index), hi = std::ceil(index);
  const double qlo = x[static_cast<size_t>(lo) - 1], qhi = x[static_cast<size_t>(hi) - 1];
  if (!(index > lo && qhi != qlo)) return qlo;
  const double h = index - lo;
  return (1 - h) * qlo + h * qhi;
}

/// The score interval's limits for every (domain, probability) cell: R's
/// ffullerCI (survey 4.1.1; Francisco & Fuller 1991). For each limit it solves
/// mean(U) / SE(mean(U)) = +-t, U = (x > theta) - (1 - p), by Brent's method on
/// [min(x) + IQR(x)/100, max(x) - IQR(x)/100] with R's tolerance
/// 1 / (100 sqrt(rows)), every domain's root advancing in lockstep (one engine
/// pass per step gives each domain's design mean and SE). Each root theta is then
/// mapped, as R does, to the rule's weighted quantile at the UNWEIGHTED share of
/// the domain's values <= theta. x is the domain's rows with a value (R's svyby
/// subset, na.rm = TRUE). Limits are NaN where there is no root (flagged) or no df.
void score_limits(const Design& design, const QuantileRequest& req, const Domains& dom,
                  EstimateRequest er, const std::vector<WeightedQuantile>& qfun,
                  QuantileResult& res, std::vector<double>& df_design, std::vector<double>& low,
                  std::vector<double>& high) {
  const size_t D = dom.count(), P = req.probs.size();
  std::vector<int8_t> below(static_cast<size_t>(design.rows()), -1);
  er.values = {};
  er.codes = CodeColumn(std::span<const int8_t>(below));
  er.levels = 2;
  er.subset = dom.valid;
  er.ci = "wald";
  er.level = req.level;
  er.df_design = true;
  // The design share F(theta) = mean(x <= theta) of every domain and its variance.
  std::vector<double> share(D), var(D);
  auto evaluate = [&](const std::vector<double>& theta) {
    for (size_t d = 0; d < D; ++d) {
      for (int32_t r : dom.rows_of(d)) {
        below[static_cast<size_t>(r)] = req.values[static_cast<size_t>(r)] <= theta[d] ? 1 : 0;
      }
    }
    const EstimateResult e = estimate(design, er);
    if (static_cast<size_t>(e.domains) != D ||
        !std::equal(e.domain_codes.begin(), e.domain_codes.end(), res.domain_codes.begin())) {
      throw std::logic_error("quantile: the engine's domains differ from the grouped rows");
    }
    for (size_t d = 0; d < D; ++d) {
      share[d] = e.estimate[2 * d + 1];
      var[d] = e.variance[2 * d + 1];
      df_design[d] = e.design_df[d];
    }
  };
  // U's mean and its t statistic: R's svymean(U(theta)) / SE.
  auto score = [&](size_t d, double p) {
    const double umean = (1.0 - share[d]) - (1.0 - p);
    return umean / std::sqrt(var[d]);
  };

  std::vector<double> lower(D), upper(D), tol(D);
  for (size_t d = 0; d < D; ++d) {
    const std::span<const double> x(dom.x_sorted.data() + dom.begin[d], dom.size(d));
    const double iqr = type7(x, 0.75) - type7(x, 0.25);  // R's IQR(x)
    lower[d] = x.front() + iqr / 100;
    upper[d] = x.back() - iqr / 100;
    tol[d] = 1 / (100 * std::sqrt(static_cast<double>(x.size())));
  }
  std::vector<double> share_lo(D), var_lo(D), share_up(D), var_up(D);
  evaluate(lower);
  share_lo = share;
  var_lo = var;
  evaluate(upper);
  share_up = share;
  var_up = var;

  std::vector<double> theta(D);
  for (size_t j = 0; j < P; ++j) {
    const double p = req.probs[j];
    for (int side = 0; side < 2; ++side) {  // 0: lower limit (t), 1: upper (-t)
      std::vector<std::optional<BrentRoot>> roots(D);
      std::vector<uint8_t> active(D, 0);
      for (size_t d = 0; d < D; ++d) {
        const size_t c = d * P + j;
        res.df[c] = req.df ? *req.df : df_design[d];
        if (!(res.df[c] > 0)) continue;  // no df: NaN limits, flagged below
        if (!(lower[d] < upper[d])) {  // R's uniroot: "lower < upper is not fulfilled"
          res.flag[c] = kNoRoot;
          continue;
        }
        const double t = qt(1 - (1 - req.level) / 2, res.df[c]);
        const double qlimit = side == 0 ? t : -t;
        share = share_lo;
        var = var_lo;
        const double f_lo = score(d, p) - qlimit;
        share = share_up;
        var = var_up;
        const double f_up = score(d, p) - qlimit;
        // R's uniroot: NA at an end, or no sign change, is an error.
        if (std::isnan(f_lo) || std::isnan(f_up) || (f_lo > 0 && f_up > 0) ||
            (f_lo < 0 && f_up < 0)) {
          res.flag[c] = kNoRoot;
          continue;
        }
        roots[d].emplace(lower[d], upper[d], f_lo, f_up, tol[d]);
        active[d] = 1;
      }
      for (;;) {
        bool any = false;
        for (size_t d = 0; d < D; ++d) {
          if (!active[d]) continue;
          const auto x = roots[d]->next();
          if (!x) {
            active[d] = 0;
            continue;
          }
          theta[d] = *x;
          any = true;
        }
        if (!any) break;
        evaluate(theta);
        for (size_t d = 0; d < D; ++d) {
          if (!active[d]) continue;
          const double t = qt(1 - (1 - req.level) / 2, res.df[d * P + j]);
          const double f = score(d, p) - (side == 0 ? t : -t);
          if (std::isnan(f)) {  // R's zeroin2: "NA value" is an error
            active[d] = 0;
            roots[d].reset();
            res.flag[d * P + j] = kNoRoot;
            continue;
          }
          roots[d]->report(f);
        }
      }
      for (size_t d = 0; d < D; ++d) {
        const size_t c = d * P + j;
        std::vector<double>& out = side == 0 ? low : high;
        if (!roots[d]) {
          out[c] = kNaN;
          continue;
        }
        // R: qrule(x, w, mean(x <= root)), the share unweighted (a long double mean).
        const double root = roots[d]->root();
        const std::span<const double> x(dom.x_sorted.data() + dom.begin[d], dom.size(d));
        const auto count = std::upper_bound(x.begin(), x.end(), root) - x.begin();
        const long double frac =
            static_cast<long double>(count) / static_cast<long double>(x.size());
        out[c] = bound(qfun[d], static_cast<double>(frac));
      }
    }
  }
}

}  // namespace

QuantileResult quantile(const Design& design, const QuantileRequest& req) {
  // R 4.1.1 gives no interval for PPS designs (NaN); nothing to check against.
  require_not_pps(design, "quantile");
  EstimateRequest er = domain_request(req);
  check_request(design, req, er);
  const ReplicateVariance* rv = design.replicates();
  Domains dom = group_rows(design, er);
  const size_t D = dom.count();
  if (D == 0) {
    throw NotEstimable("column '" + req.variable +
                       "' has no non-missing values with a nonzero weight (empty domain)");
  }
  const size_t P = req.probs.size();
  const size_t cells = D * P;
  const auto& w = design.weights();
  const size_t parts = worker_count(req.threads, D);

  // Each domain's rows sorted by value (ties in row order, as R's order()),
  // and the full-sample quantile function.
  dom.x_sorted.resize(dom.rows.size());
  dom.slot.assign(w.size(), -1);
  dom.domain_of_row.assign(w.size(), -1);
  parallel_for(D, parts, [&](size_t d) { sort_domain(dom, req.values, d); });
  std::vector<WeightedQuantile> qfun;
  qfun.reserve(D);
  domain_quantiles(req.rule, dom, w,
                   [&](size_t, WeightedQuantile&& q) { qfun.push_back(std::move(q)); });

  QuantileResult res;
  res.domains = static_cast<int64_t>(D);
  res.probs = static_cast<int32_t>(P);
  res.by_count = static_cast<int32_t>(req.by.size());
  res.domain_codes.resize(D * req.by.size());
  const std::vector<int64_t> stride = RowCells(er).strides();
  for (size_t d = 0; d < D; ++d) {
    for (size_t j = 0; j < req.by.size(); ++j) {
      res.domain_codes[d * req.by.size() + j] =
          static_cast<int32_t>((dom.key[d] / stride[j]) % req.by_levels[j]);
    }
  }
  res.prob.resize(cells);
  res.estimate.resize(cells);
  res.se.resize(cells);
  res.ci_low.resize(cells);
  res.ci_high.resize(cells);
  res.df.resize(cells);
  res.n.resize(cells);
  res.weight_sum.resize(cells);
  res.flag.resize(cells);

  for (size_t d = 0; d < D; ++d) {
    double wsum = 0;
    for (int32_t r : dom.rows_of(d)) wsum += w[static_cast<size_t>(r)];
    for (size_t j = 0; j < P; ++j) {
      const size_t c = d * P + j;
      const double p = req.probs[j];
      res.prob[c] = p;
      res.n[c] = static_cast<int64_t>(dom.size(d));
      res.weight_sum[c] = wsum;
      const auto q = qfun[d](p);
      if (!q) {  // a domain has a row with nonzero weight: only hf7 can fail
        throw NotEstimable("quantile " + repr(p) +
                           ": rule 'hf7' needs two rows with a nonzero weight in every domain "
                           "(R's approx() fails)");
      }
      res.estimate[c] = *q;
    }
  }

  // The CDF at each domain's estimate, F = mean(x <= q), with its design
  // variance and interval (R's svyciprop methods on the 0/1 variable; "beta"
  // takes the domain's design df whatever df= says): one engine call per
  // probability over every domain.
  std::vector<double> cdf_low(cells), cdf_high(cells), df_design(D, kNaN);
  std::vector<double> score_low(cells, kNaN), score_high(cells, kNaN);
  if (req.ci == QuantileCi::Score) {
    // R's score interval reads every row of a calibrated design (its domains keep
    // the others with weight 0): only the whole sample matches there.
    int64_t valid = 0;
    for (uint8_t v : dom.valid) valid += v;
    if (design.calibration().active() && (D > 1 || valid < design.rows())) {
      throw InvalidInput(
          "ci='score' on a weighted (post-stratified, raked or calibrated) design works on the "
          "whole sample only: R's score interval (survey 4.1.1's ffullerCI) reads rows outside "
          "the domain there; use ci='mean' for domains or rows with missing values");
    }
    score_limits(design, req, dom, er, qfun, res, df_design, score_low, score_high);
  } else if (req.ci != QuantileCi::Quantile) {
    std::vector<int8_t> below(w.size(), -1);
    er.values = {};
    er.codes = CodeColumn(std::span<const int8_t>(below));
    er.levels = 2;
    er.subset = dom.valid;
    er.ci = req.ci == QuantileCi::Beta     ? "beta"
            : req.ci == QuantileCi::XLogit ? "xlogit"
            : req.ci == QuantileCi::Asin   ? "asin"
                                           : "wald";
    er.level = req.level;
    er.df_design = !req.df.has_value();
    er.df_value = req.df.value_or(std::numeric_limits<double>::infinity());
    for (size_t j = 0; j < P; ++j) {
      for (size_t d = 0; d < D; ++d) {
        const double q = res.estimate[d * P + j];
        for (int32_t r : dom.rows_of(d)) {
          below[static_cast<size_t>(r)] = req.values[static_cast<size_t>(r)] <= q ? 1 : 0;
        }
      }
      const EstimateResult e = estimate(design, er);
      if (static_cast<size_t>(e.domains) != D ||
          !std::equal(e.domain_codes.begin(), e.domain_codes.end(), res.domain_codes.begin())) {
        throw std::logic_error("quantile: the engine's domains differ from the grouped rows");
      }
      for (size_t d = 0; d < D; ++d) {
        cdf_low[d * P + j] = e.ci_low[2 * d + 1];
        cdf_high[d * P + j] = e.ci_high[2 * d + 1];
        df_design[d] = e.design_df[d];
      }
    }
  } else if (!req.df) {
    // Replicate quantiles: R's degf of each domain, the rank of its rows'
    // replicate weights minus 1 (or svrepdesign's degf=).
    df_design = rv->domain_df(dom.domain_of_row, static_cast<int64_t>(D));
  }
  for (size_t c = 0; c < cells; ++c) res.df[c] = req.df ? *req.df : df_design[c / P];

  // ci = "quantile" (R's repCI): the quantile under every replicate's weights.
  std::vector<double> rep_se;
  if (req.ci == QuantileCi::Quantile) {
    const size_t R = rv->count();
    std::vector<double> thetas(cells * R);  // cell-major: c * R + r
    // One forward scan of each replicate column serves every domain; threads
    // split the replicates (each writes its own thetas).
    parallel_for(R, worker_count(req.threads, R), [&](size_t r) {
      domain_quantiles(req.rule, dom, rv->column(r), [&](size_t d, WeightedQuantile&& q) {
        for (size_t j = 0; j < P; ++j) thetas[(d * P + j) * R + r] = bound(q, req.probs[j]);
      });
    });
    rep_se.resize(cells);
    for (size_t c = 0; c < cells; ++c) {
      rep_se[c] = std::sqrt(replicate_variance(thetas.data() + c * R, 1, res.estimate[c], rv->scale,
                                               rv->rscales, rv->mse));
    }
  }

  // Woodruff (1952): the CDF interval's limits mapped back through the rule;
  // se = (upper - lower) / (2 t) as R's svyquantile (survey 4.x).
  for (size_t c = 0; c < cells; ++c) {
    if (!(res.df[c] > 0)) {  // R: qt(, df = 0) is NaN, and so are the se and the limits
      res.se[c] = res.ci_low[c] = res.ci_high[c] = kNaN;
      res.flag[c] = kNoDf;
      continue;
    }
    const double crit = qt(1 - (1 - req.level) / 2, res.df[c]);
    double low, high, se;
    if (req.ci == QuantileCi::Quantile) {
      se = rep_se[c];
      low = res.estimate[c] - crit * se;
      high = res.estimate[c] + crit * se;
    } else if (req.ci == QuantileCi::Score) {
      low = score_low[c];
      high = score_high[c];
      se = (high - low) / (2 * crit);
    } else {
      low = bound(qfun[c / P], cdf_low[c]);
      high = bound(qfun[c / P], cdf_high[c]);
      se = (high - low) / (2 * crit);
    }
    res.se[c] = se;
    res.ci_low[c] = low;
    res.ci_high[c] = high;
    if (res.flag[c] != kNoRoot) {
      res.flag[c] = std::isfinite(low) && std::isfinite(high) ? "" : kNoLimit;
    }
  }
  return res;
}

}  // namespace steppe
