// Confidence intervals for proportions (see interval.hpp).
#include "steppe/interval.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <array>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"

namespace steppe {
namespace {

constexpr std::array<std::pair<std::string_view, CiMethod>, 7> kMethods{{
    {"logit", CiMethod::Logit},
    {"xlogit", CiMethod::XLogit},
    {"beta", CiMethod::Beta},
    {"wilson", CiMethod::Wilson},
    {"mean", CiMethod::Mean},
    {"likelihood", CiMethod::Likelihood},
    {"asin", CiMethod::Asin},
}};

double logit(double p) { return std::log(p / (1.0 - p)); }

// 1 / (1 + exp(-x)), without overflow for large |x|.
double expit(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// t quantile, or the normal quantile when df is infinite (R's qt does the same).
// Vectorised callers ask for the same few t quantiles (a domain's df, the
// level) thousands of times, and qt inverts an incomplete beta each time:
// remember them per thread (the function is pure, so caching is exact).
double t_quantile(double prob, double df) {
  struct Key {
    double prob, df;
    bool operator==(const Key& o) const { return prob == o.prob && df == o.df; }
  };
  struct Hash {
    size_t operator()(const Key& k) const {
      return std::hash<double>()(k.prob) * 31u ^ std::hash<double>()(k.df);
    }
  };
  thread_local std::unordered_map<Key, double, Hash> cache;
  const Key key{prob, df};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() > 4096) cache.clear();
  const double q = qt(prob, df);
  cache.emplace(key, q);
  return q;
}

void validate(const ProportionCiInput& in) {
  if (!(in.p >= 0.0 && in.p <= 1.0)) {
    throw InvalidInput("proportion_interval: p must be in [0, 1], got " + std::to_string(in.p));
  }
  if (!(in.var >= 0.0) || std::isinf(in.var)) {
    throw InvalidInput("proportion_interval: var must be finite and >= 0, got " +
                       std::to_string(in.var));
  }
  if (!(in.level > 0.0 && in.level < 1.0)) {
    throw InvalidInput("proportion_interval: level must be in (0, 1), got " +
                       std::to_string(in.level));
  }
  if (!(in.df > 0.0)) {
    throw InvalidInput("proportion_interval: df must be > 0, got " + std::to_string(in.df));
  }
}

void require_rows(const ProportionCiInput& in, const char* why) {
  if (!(in.n_rows >= 2.0) || std::isinf(in.n_rows)) {
    throw InvalidInput(std::string("proportion_interval: n_rows must be finite and >= 2 ") + why +
                       ", got " + std::to_string(in.n_rows));
  }
}

// Korn & Graubard (1998) degrees-of-freedom adjustment of the effective sample
// size, as in R's svyciprop(method = "beta"): (qt(alpha/2, n - 1) / qt(alpha/2, df))^2.
double kg_df_factor(double alpha, double n_rows, double df) {
  const double ratio = t_quantile(alpha / 2.0, n_rows - 1.0) / t_quantile(alpha / 2.0, df);
  return ratio * ratio;
}

// Korn & Graubard (1998) interval: the Clopper & Pearson (1934) exact binomial
// interval with the effective sample size in place of n,
// [qbeta(alpha/2, n p, n (1-p) + 1), qbeta(1 - alpha/2, n p + 1, n (1-p))].
Interval korn_graubard(double p, double n_eff, double alpha) {
  return {qbeta(alpha / 2.0, n_eff * p, n_eff * (1.0 - p) + 1.0),
          qbeta(alpha / 2.0, n_eff * p + 1.0, n_eff * (1.0 - p), false)};
}

// p = 0 or 1: Clopper-Pearson bounds with n_eff = n_rows * df factor, in closed
// form: qbeta(1 - alpha/2, 1, n) = 1 - (alpha/2)^(1/n) and qbeta(alpha/2, n, 1) =
// (alpha/2)^(1/n) (the Beta(1, n) distribution function is 1 - (1-x)^n).
Interval boundary_interval(const ProportionCiInput& in) {
  require_rows(in, "when p is 0 or 1");
  const double alpha = 1.0 - in.level;
  const double n_eff = in.n_rows * kg_df_factor(alpha, in.n_rows, in.df);
  const double log_half_alpha = std::log(alpha / 2.0);
  if (in.p == 0.0) return {0.0, -std::expm1(log_half_alpha / n_eff)};
  return {std::exp(log_half_alpha / n_eff), 1.0};
}

// ------------------------------------------------------- likelihood (profile)

// Kullback-Leibler divergence of Bernoulli(mu) from Bernoulli(p), mu = expit(b):
// p log(p/mu) + (1-p) log((1-p)/(1-mu)). For a quasibinomial intercept-only fit
// with rescaled weights summing to N, deviance(b) - deviance(b_hat) = 2 N KL
// (McCullagh & Nelder 1989, binomial deviance).
double bernoulli_kl(double p, double b) {
  // log mu = -log(1 + e^-b), log(1 - mu) = -log(1 + e^b)
  auto softplus = [](double v) {
    return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
  };
  const double log_mu = -softplus(-b);
  const double log_1mu = -softplus(b);
  double kl = 0.0;
  if (p > 0.0) kl += p * (std::log(p) - log_mu);
  if (p < 1.0) kl += (1.0 - p) * (std::log1p(-p) - log_1mu);
  return std::max(kl, 0.0);
}

// Root of the signed profile statistic z(b) = cutoff on one side of b_hat,
// z(b)^2 = 2 N KL(p, expit(b)) / phi, by bisection (monotone on each side).
double exact_profile_root(double p, double b_hat, double scale, double cutoff, double step) {
  const double sgn = cutoff < 0 ? -1.0 : 1.0;
  const double target = cutoff * cutoff;
  auto g = [&](double b) { return scale * bernoulli_kl(p, b) - target; };
  double inner = b_hat;
  double outer = b_hat + sgn * step;
  for (int k = 0; k < 200 && g(outer) < 0.0; ++k) {
    inner = outer;
    outer = b_hat + sgn * step * std::ldexp(1.0, k + 1);
  }
  for (int k = 0; k < 200; ++k) {
    const double mid = 0.5 * (inner + outer);
    if (mid == inner || mid == outer) break;
    if (g(mid) < 0.0) {
      inner = mid;
    } else {
      outer = mid;
    }
  }
  return 0.5 * (inner + outer);
}

// R survey 4.1.1: svyciprop(method = "likelihood") -> confint.svyglm(method =
// "likelihood"), the Rao-Scott-scaled profile likelihood of y ~ 1 with family
// quasibinomial and weights rescaled to mean 1 over the N = n_rows rows:
//   b_hat = logit(p), se = sqrt(var) / (p (1-p))                (sandwich SE)
//   lambda = cov.unscaled / naive.cov = N var / (p (1-p))       (Rao & Scott 1984 deff)
//   phi = svyvar(Pearson residuals) = N / (N - 1)               (dispersion)
//   z(b)^2 = 2 N KL(p, expit(b)) / phi                          (scaled deviance)
// and the limits solve z(b)^2 = qt((1-level)/2, df)^2 lambda on each side of
// b_hat. R finds them approximately (a profile on a coarse grid, an FMM spline
// and linear inversion), so its limits move with glm's convergence and the
// grid by up to ~1e-8 (converged) to ~1e-4 (R's default glm tolerance); steppe
// solves the equation to machine precision.
Interval likelihood_interval(const ProportionCiInput& in) {
  require_rows(in, "for method \"likelihood\"");
  const double p = in.p;
  const double n = in.n_rows;
  const double b_hat = logit(p);
  const double pq = p * (1.0 - p);
  const double se = std::sqrt(in.var) / pq;
  const double lambda = n * in.var / pq;
  const double phi = n / (n - 1.0);
  const double scale = 2.0 * n / phi;  // z^2 = scale * KL
  const double cut = std::abs(t_quantile((1.0 - in.level) / 2.0, in.df)) * std::sqrt(lambda);
  const double low = exact_profile_root(p, b_hat, scale, -cut, se);
  const double high = exact_profile_root(p, b_hat, scale, cut, se);
  return {expit(low), expit(high)};
}

}  // namespace

CiMethod parse_ci_method(std::string_view name) {
  for (const auto& [key, method] : kMethods) {
    if (key == name) return method;
  }
  std::string valid;
  for (const auto& [key, method] : kMethods) {
    if (!valid.empty()) valid += ", ";
    valid.append("\"").append(key).append("\"");
  }
  throw InvalidInput("unknown confidence-interval method \"" + std::string(name) +
                     "\"; valid methods: " + valid);
}

std::string_view ci_method_name(CiMethod method) {
  for (const auto& [key, m] : kMethods) {
    if (m == method) return key;
  }
  return "unknown";
}

Interval wald_interval(double estimate, double se, double df, double level) {
  if (std::isnan(estimate) || !(se >= 0.0) || std::isinf(se)) {
    throw InvalidInput("wald_interval: estimate must not be NaN and se must be finite and >= 0");
  }
  if (!(level > 0.0 && level < 1.0)) {
    throw InvalidInput("wald_interval: level must be in (0, 1), got " + std::to_string(level));
  }
  if (!(df > 0.0)) throw InvalidInput("wald_interval: df must be > 0, got " + std::to_string(df));
  // R's tconfint: a = (1 - level)/2; est + se * qt(c(a, 1 - a), df).
  const double a = (1.0 - level) / 2.0;
  return {estimate + se * t_quantile(a, df), estimate + se * t_quantile(1.0 - a, df)};
}

Interval proportion_interval(CiMethod method, const ProportionCiInput& in) {
  validate(in);
  const double p = in.p;
  if (p == 0.0 || p == 1.0) return boundary_interval(in);
  if (in.var == 0.0) {
    if (method == CiMethod::Likelihood || method == CiMethod::Beta) {
      require_rows(in, "for methods \"beta\" and \"likelihood\"");
    }
    return {p, p};  // every interval's limit as var -> 0
  }
  const double alpha = 1.0 - in.level;
  const double se = std::sqrt(in.var);
  const double pq = p * (1.0 - p);
  switch (method) {
    case CiMethod::Mean:
      return wald_interval(p, se, in.df, in.level);
    case CiMethod::Logit:  // Wald on the link scale of svyglm(y ~ 1, quasibinomial)
    case CiMethod::XLogit: {
      // Delta method: d logit(p) / dp = 1 / (p (1-p)).
      const Interval w = wald_interval(logit(p), se / pq, in.df, in.level);
      return {expit(w.low), expit(w.high)};
    }
    case CiMethod::Asin: {
      // Delta method: d asin(sqrt p) / dp = 1 / (2 sqrt(p (1-p))).
      const Interval w =
          wald_interval(std::asin(std::sqrt(p)), se / (2.0 * std::sqrt(pq)), in.df, in.level);
      const double lo = std::clamp(w.low, 0.0, std::numbers::pi / 2.0);
      const double hi = std::clamp(w.high, 0.0, std::numbers::pi / 2.0);
      return {std::pow(std::sin(lo), 2.0), std::pow(std::sin(hi), 2.0)};
    }
    case CiMethod::Beta: {
      require_rows(in, "for method \"beta\"");
      // Korn & Graubard 1998: n_eff = p (1-p) / var, times the df factor.
      const double n_eff = pq / in.var * kg_df_factor(alpha, in.n_rows, in.df);
      return korn_graubard(p, n_eff, alpha);
    }
    case CiMethod::Wilson: {
      // Wilson 1927 score interval with n = n_eff = p (1-p) / var, t for z:
      // (p + t^2/(2n) +- t sqrt(p(1-p)/n + t^2/(4n^2))) / (1 + t^2/n).
      const double t = t_quantile(1.0 - alpha / 2.0, in.df);
      const double n_eff = pq / in.var;
      const double t2n = t * t / n_eff;
      const double centre = (p + t2n / 2.0) / (1.0 + t2n);
      const double half = t * std::sqrt(in.var + t2n / (4.0 * n_eff)) / (1.0 + t2n);
      return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
    }
    case CiMethod::Likelihood:
      return likelihood_interval(in);
  }
  throw InvalidInput("proportion_interval: unknown method");
}

}  // namespace steppe
