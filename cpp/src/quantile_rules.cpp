// The weighted quantile rules of R survey's svyquantile (qrule = "math",
// "school", "shahvaish", "hf1" ... "hf9"; survey 4.x's qrule_* functions), with
// R's arithmetic where it decides ties: cumsum() and sum() accumulate in long
// double, mean() adds a second correcting pass, approx() sorts its knots and
// averages the values at tied knots.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "steppe/errors.hpp"
#include "steppe/quantile.hpp"

namespace steppe {

namespace {

constexpr std::pair<std::string_view, QuantileRule> kRules[] = {
    {"hf1", QuantileRule::Hf1},       {"hf2", QuantileRule::Hf2},
    {"hf3", QuantileRule::Hf3},       {"hf4", QuantileRule::Hf4},
    {"hf5", QuantileRule::Hf5},       {"hf6", QuantileRule::Hf6},
    {"hf7", QuantileRule::Hf7},       {"hf8", QuantileRule::Hf8},
    {"hf9", QuantileRule::Hf9},       {"math", QuantileRule::Math},
    {"school", QuantileRule::School}, {"shahvaish", QuantileRule::ShahVaish},
};

/// R's cumsum(): a long double running sum, each value stored as double.
std::vector<double> r_cumsum(const std::vector<double>& w) {
  std::vector<double> out(w.size());
  long double acc = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    acc += w[i];
    out[i] = static_cast<double>(acc);
  }
  return out;
}

/// R's mean() of doubles: a long double mean, corrected by the mean deviation.
double r_mean(const double* x, size_t n) {
  long double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  s /= static_cast<long double>(n);
  if (std::isfinite(static_cast<double>(s))) {
    long double t = 0;
    for (size_t i = 0; i < n; ++i) t += x[i] - s;
    s += t / static_cast<long double>(n);
  }
  return static_cast<double>(s);
}

bool interpolating(QuantileRule rule) {
  switch (rule) {
    case QuantileRule::Hf5:
    case QuantileRule::Hf6:
    case QuantileRule::Hf7:
    case QuantileRule::Hf8:
    case QuantileRule::Hf9:
    case QuantileRule::ShahVaish:
      return true;
    default:
      return false;
  }
}

}  // namespace

QuantileRule parse_quantile_rule(std::string_view name) {
  for (const auto& [n, rule] : kRules) {
    if (n == name) return rule;
  }
  std::string names;
  for (const auto& [n, rule] : kRules)
    names += std::string(names.empty() ? "" : ", ") + "'" + std::string(n) + "'";
  throw InvalidInput("rule must be one of [" + names + "], got '" + std::string(name) + "'");
}

std::string_view quantile_rule_name(QuantileRule rule) {
  for (const auto& [n, r] : kRules) {
    if (r == rule) return n;
  }
  return "unknown";
}

QuantileCi parse_quantile_ci(std::string_view name) {
  if (name == "mean") return QuantileCi::Mean;
  if (name == "beta") return QuantileCi::Beta;
  if (name == "xlogit") return QuantileCi::XLogit;
  if (name == "asin") return QuantileCi::Asin;
  if (name == "quantile") return QuantileCi::Quantile;
  if (name == "score") return QuantileCi::Score;
  throw InvalidInput(
      "ci must be one of ('mean', 'beta', 'xlogit', 'asin', 'score') for quantiles, or "
      "'quantile' on replicate designs, got '" +
      std::string(name) + "'");
}

WeightedQuantile::WeightedQuantile(QuantileRule rule, std::vector<double> x, std::vector<double> w,
                                   double total)
    : rule_(rule), total_(total) {
  const size_t n = x.size();
  if (n == 0) return;
  if (rule == QuantileRule::Hf3) {
    // R: w <- rowsum(w, x); x <- sort(unique(x)) -- per distinct value, weights
    // summed in row order (a double sum), then qs() on the distinct values.
    std::vector<double> ux, uw;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && x[i] == x[i - 1]) {
        uw.back() += w[i];
      } else {
        ux.push_back(x[i]);
        uw.push_back(w[i]);
      }
    }
    x_ = std::move(ux);
    cumw_ = r_cumsum(uw);
    total_ = cumw_.back();  // sum(w) of the distinct values' weights, in the same order
    increasing_ = std::is_sorted(cumw_.begin(), cumw_.end());
    return;
  }
  if (!interpolating(rule)) {
    cumw_ = r_cumsum(w);
    x_ = std::move(x);
    increasing_ = std::is_sorted(cumw_.begin(), cumw_.end());
    return;
  }
  // Interpolation rules: plotting positions pk of the sorted values, then R's
  // approx(pk, x, p, rule = 2).
  std::vector<double> pk(n);
  if (rule == QuantileRule::ShahVaish) {
    // Shah & Vaish (2006): wbar = w / mean(w), S = cumsum(wbar),
    // pk = (S + 0.5 - w/2) / (n + 1), a left-continuous step function.
    const double wmean = r_mean(w.data(), n);
    std::vector<double> wbar(n);
    for (size_t i = 0; i < n; ++i) wbar[i] = w[i] / wmean;
    const std::vector<double> s = r_cumsum(wbar);
    for (size_t i = 0; i < n; ++i) {
      pk[i] = (s[i] + 0.5 - w[i] / 2) / static_cast<double>(n + 1);
    }
  } else {
    // Hyndman & Fan (1996) types 5-9 with weights: c = cumsum(w), c0 = c shifted
    // right with a leading 0, W = c[n].
    const std::vector<double> c = r_cumsum(w);
    const double last = c[n - 1], wn = w[n - 1];
    if (rule == QuantileRule::Hf7 && n < 2) return;  // R's cumw[n - 1] does not exist
    for (size_t i = 0; i < n; ++i) {
      const double c0 = i == 0 ? 0.0 : c[i - 1];
      switch (rule) {
        case QuantileRule::Hf5:  // (c - w/2) / W
          pk[i] = (c[i] - w[i] / 2) / last;
          break;
        case QuantileRule::Hf6:  // c / (W + w_n)
          pk[i] = c[i] / (last + wn);
          break;
        case QuantileRule::Hf7:  // c0 / c[n - 1]
          pk[i] = c0 / c[n - 2];
          break;
        case QuantileRule::Hf8:  // (c0 / 3 + 2 c / 3) / (W + w_n / 3)
          pk[i] = (c0 * 1 / 3 + c[i] * 2 / 3) / (last + wn / 3);
          break;
        default:  // Hf9: (3 c0 / 8 + 5 c / 8) / (W + w_n / 4)
          pk[i] = (c0 * 3 / 8 + c[i] * 5 / 8) / (last + wn / 4);
          break;
      }
    }
  }
  // approx()'s regularize.values: knots sorted (stably) when they are not, and
  // the values at tied knots replaced by their mean.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (!std::is_sorted(pk.begin(), pk.end())) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pk[a] < pk[b]; });
  }
  std::vector<double> tied;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && pk[order[j]] == pk[order[i]]) ++j;
    knots_.push_back(pk[order[i]]);
    if (j == i + 1) {
      values_.push_back(x[order[i]]);
    } else {
      tied.clear();
      for (size_t k = i; k < j; ++k) tied.push_back(x[order[k]]);
      values_.push_back(r_mean(tied.data(), tied.size()));
    }
    i = j;
  }
  x_ = std::move(x);
}

std::optional<double> WeightedQuantile::operator()(double p) const {
  if (x_.empty()) return std::nullopt;
  if (!interpolating(rule_)) return step(p);
  if (knots_.empty()) return std::nullopt;  // hf7 with a single row
  return interpolate(p);
}

double WeightedQuantile::step(double p) const {
  // R's qs(): the last position with cumw <= p W (the first when there is
  // none: survey's last() returns 1 for no TRUE), the next one, and
  // wlow = p - cumw/W there (negative in the no-position case, so the step
  // rules take the second value and hf4 extrapolates, as R).
  const double limit = p * total_;
  size_t pos = 0;
  if (increasing_) {
    const auto it = std::upper_bound(cumw_.begin(), cumw_.end(), limit);
    if (it != cumw_.begin()) pos = static_cast<size_t>(it - cumw_.begin()) - 1;
  } else {  // negative weights: cumw is not monotone, scan for the last one
    for (size_t i = cumw_.size(); i > 0; --i) {
      if (cumw_[i - 1] <= limit) {
        pos = i - 1;
        break;
      }
    }
  }
  const size_t next = pos + 1 == x_.size() ? pos : pos + 1;
  const double wlow = p - cumw_[pos] / total_;
  switch (rule_) {
    case QuantileRule::School:
    case QuantileRule::Hf2:  // the midpoint where the CDF is flat at p
      return wlow == 0 ? (x_[pos] + x_[next]) / 2 : x_[next];
    case QuantileRule::Hf3:  // R tests ilow %% 2 == 0 on its 1-based position
      return wlow == 0 && (pos + 1) % 2 == 0 ? x_[pos] : x_[next];
    case QuantileRule::Hf4: {  // linear interpolation of the CDF
      const double wup = cumw_[next] / total_ - p;
      const double gamma = wlow / (wup + wlow);
      return x_[pos] * (1 - gamma) + x_[next] * gamma;
    }
    default:  // Math, Hf1: the smallest x whose weighted CDF reaches p
      return wlow == 0 ? x_[pos] : x_[next];
  }
}

double WeightedQuantile::interpolate(double p) const {
  // R's approx1() with rule = 2: constant beyond the ends, exact at knots.
  const size_t n = knots_.size();
  if (n == 1 || p < knots_.front()) return values_.front();
  if (p > knots_.back()) return values_.back();
  size_t i = 0, j = n - 1;
  while (i + 1 < j) {
    const size_t mid = (i + j) / 2;
    if (p < knots_[mid]) {
      j = mid;
    } else {
      i = mid;
    }
  }
  if (p == knots_[j]) return values_[j];
  if (p == knots_[i]) return values_[i];
  if (rule_ == QuantileRule::ShahVaish) return values_[i];  // method = "constant", f = 0
  return values_[i] + (values_[j] - values_[i]) * ((p - knots_[i]) / (knots_[j] - knots_[i]));
}

std::optional<double> weighted_quantile(QuantileRule rule, std::span<const double> x,
                                        std::span<const double> w, double p) {
  if (x.size() != w.size()) throw InvalidInput("weighted_quantile: x and w differ in length");
  std::vector<size_t> keep;
  long double total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (w[i] != 0) {
      keep.push_back(i);
      total += w[i];
    }
  }
  std::stable_sort(keep.begin(), keep.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> xs(keep.size()), ws(keep.size());
  for (size_t i = 0; i < keep.size(); ++i) {
    xs[i] = x[keep[i]];
    ws[i] = w[keep[i]];
  }
  return WeightedQuantile(rule, std::move(xs), std::move(ws), static_cast<double>(total))(p);
}

}  // namespace steppe
