// Distribution functions: normal, t, beta, chi-square, F (see distributions.hpp).
//
// References for the formulas used here:
//  - DLMF = NIST Digital Library of Mathematical Functions, https://dlmf.nist.gov
//  - Abramowitz & Stegun (1964), Handbook of Mathematical Functions (A&S).
//  - DiDonato & Morris (1992), "Algorithm 708: significant digit computation of
//    the incomplete beta function ratios", ACM TOMS 18(3) — the idea of writing
//    the prefactor x^a y^b / B(a, b) through t - log(1 + t) to avoid cancellation.
//  - Lentz (1976) / Thompson & Barnett (1986), modified Lentz evaluation of
//    continued fractions.
#include "steppe/distributions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "steppe/errors.hpp"

namespace steppe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kTiny = 1e-300;  // keeps Lentz denominators away from zero
constexpr double kLog2Pi = 1.8378770664093454836;
// sqrt(2) split into a double and the rounding remainder (sqrt(2) - hi).
constexpr double kSqrt2Hi = 1.4142135623730951;
constexpr double kSqrt2Lo = -9.6672933134529135e-17;
constexpr double kLogSmallest = -745.0;  // log of the smallest subnormal, about -744.44

// ---------------------------------------------------------------- validation

void require(bool ok, const char* function, const std::string& what) {
  if (!ok) throw InvalidInput(std::string(function) + ": " + what);
}

void check_prob(const char* function, double p) {
  require(!std::isnan(p) && p >= 0.0 && p <= 1.0, function,
          "probability must be in [0, 1], got " + std::to_string(p));
}

void check_x(const char* function, double x) { require(!std::isnan(x), function, "x is NaN"); }

void check_df(const char* function, const char* name, double df, bool inf_ok) {
  require(!std::isnan(df) && df > 0.0 && (inf_ok || std::isfinite(df)), function,
          std::string(name) + " must be " + (inf_ok ? "> 0" : "finite and > 0") + ", got " +
              std::to_string(df));
}

// Both tails of a distribution function, each computed to full relative precision.
struct Tails {
  double lower;
  double upper;
};

// Probability p in the requested tail -> both tails. The tail that was given is
// exact; the other is 1 - p (exact whenever p >= 1/2, by Sterbenz' lemma).
Tails tails_from(double p, bool lower_tail) {
  return lower_tail ? Tails{p, 1.0 - p} : Tails{1.0 - p, p};
}

// --------------------------------------------------------------- helpers

// t - log(1 + t), accurate also for small |t| (series t^2/2 - t^3/3 + ..., from
// the Maclaurin series of log1p, A&S 4.1.24). Used as in DiDonato & Morris 1992.
double t_minus_log1p(double t) {
  if (std::abs(t) < 0.1) {
    double term = t * t;  // t^k, k = 2
    double sum = 0.0;
    for (int k = 2; k < 40; ++k) {
      const double add = ((k % 2 == 0) ? term : -term) / k;
      sum += add;
      if (std::abs(add) < kEps * 0.25 * sum) break;
      term *= t;
    }
    return sum;
  }
  if (t <= -1.0) return kInf;
  return t - std::log1p(t);
}

// (r - 1) - log r for a ratio r = 1 + t, given both forms: the series in t near
// r = 1, and r itself (computed without forming 1 + t) far from 1, where 1 + t
// would have lost the relative precision of a small r.
double ratio_term(double t, double r) {
  if (std::abs(t) < 0.1) return t_minus_log1p(t);
  if (r <= 0.0) return kInf;
  return (r - 1.0) - std::log(r);
}

// Remainder of Stirling's series: log Gamma(z) - [(z - 1/2) log z - z + log(2 pi)/2],
// for z >= 10 (DLMF 5.11.1, coefficients B_2k / (2k (2k - 1))).
double stirling_remainder(double z) {
  const double r = 1.0 / z;
  const double r2 = r * r;
  return r *
         (1.0 / 12 + r2 * (-1.0 / 360 +
                           r2 * (1.0 / 1260 +
                                 r2 * (-1.0 / 1680 +
                                       r2 * (1.0 / 1188 +
                                             r2 * (-691.0 / 360360 +
                                                   r2 * (1.0 / 156 + r2 * (-3617.0 / 122400))))))));
}

// Evaluates b0 + a1/(b1 + a2/(b2 + ...)) by the modified Lentz method
// (Thompson & Barnett 1986). `term(j, a_j, b_j)` supplies the j-th partial
// numerator and denominator (j >= 1). The recurrences run in long double: for
// the incomplete beta with a large shape and x near 1, 1 + a_j D nearly cancels
// at every step and double precision alone loses up to ~5 digits (measured
// against mpmath); the extended format on x86-64 keeps the result to ~1e-14.
template <class Term>
double lentz(double b0, Term term) {
  using Real = long double;
  constexpr Real kTinyL = 1e-300L;
  constexpr Real kTol = std::numeric_limits<Real>::epsilon();
  Real f = (b0 == 0.0) ? kTinyL : b0;
  Real c = f;
  Real d = 0.0L;
  for (long j = 1; j < 10'000'000; ++j) {
    Real aj = 0.0L;
    Real bj = 0.0L;
    term(j, aj, bj);
    d = bj + aj * d;
    if (std::abs(d) < kTinyL) d = kTinyL;
    c = bj + aj / c;
    if (std::abs(c) < kTinyL) c = kTinyL;
    d = 1.0L / d;
    const Real delta = c * d;
    f *= delta;
    if (std::abs(delta - 1.0L) <= kTol) break;
  }
  return static_cast<double>(f);
}

// ------------------------------------------------------------- incomplete beta

// log(x^a y^b / B(a, b)) with y = 1 - x supplied separately so that both x and y
// keep full relative precision.
double log_beta_prefactor(double x, double y, double a, double b) {
  if (a >= 10.0 && b >= 10.0) {
    // Stirling for all three Gamma functions, then with x0 = a/(a+b) and
    // e = x - x0: a log(x/x0) + b log(y/y0) = -a r(e/x0) - b r(-e/y0),
    // r(t) = t - log(1+t) (DiDonato & Morris 1992, their brcomp idea).
    const double x0 = a / (a + b);
    const double y0 = b / (a + b);
    const double e = (x <= y) ? x - x0 : y0 - y;
    return -a * ratio_term(e / x0, x * ((a + b) / a)) - b * ratio_term(-e / y0, y * ((a + b) / b)) +
           0.5 * (std::log(a) + std::log(b) - std::log(a + b) - kLog2Pi) +
           stirling_remainder(a + b) - stirling_remainder(a) - stirling_remainder(b);
  }
  const double log_x = (x <= y) ? std::log(x) : std::log1p(-y);
  const double log_y = (y <= x) ? std::log(y) : std::log1p(-x);
  double log_b = 0.0;
  if (a >= 10.0 || b >= 10.0) {
    // One small shape s and one large L: log B = lgamma(s) + [lgamma(L) -
    // lgamma(L + s)], the bracket from Stirling's series (DLMF 5.11.1) so that
    // no two large numbers are subtracted.
    const double s = std::min(a, b);
    const double big = std::max(a, b);
    const double diff = -(big - 0.5) * std::log1p(s / big) - s * std::log(big + s) + s +
                        stirling_remainder(big) - stirling_remainder(big + s);
    log_b = std::lgamma(s) + diff;
  } else {
    log_b = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  }
  return a * log_x + b * log_y - log_b;
}

// Continued fraction for I_x(a, b) (DLMF 8.17.22):
// I_x(a,b) = x^a y^b / (a B(a,b)) / (1 + d1/(1 + d2/(1 + ...))),
// d_{2k+1} = -(a+k)(a+b+k) x / ((a+2k)(a+2k+1)), d_{2k} = k(b-k) x / ((a+2k-1)(a+2k)).
double beta_cf(double x, double a, double b) {
  using Real = long double;
  const Real al = a;
  const Real bl = b;
  const Real xl = x;
  return lentz(1.0, [&](long j, Real& aj, Real& bj) {
    bj = 1.0L;
    if (j % 2 == 1) {
      const Real k = static_cast<Real>((j - 1) / 2);
      aj = -(al + k) * (al + bl + k) * xl / ((al + 2 * k) * (al + 2 * k + 1));
    } else {
      const Real k = static_cast<Real>(j / 2);
      aj = k * (bl - k) * xl / ((al + 2 * k - 1) * (al + 2 * k));
    }
  });
}

struct BetaEval {
  Tails tails;
  double prefactor;  // x^a y^b / B(a, b); the density is prefactor / (x y)
};

// I_x(a, b) and 1 - I_x(a, b), with y = 1 - x given. The continued fraction is
// used on the side where it converges fast, x < (a+1)/(a+b+2), and the
// symmetry I_x(a,b) = 1 - I_y(b,a) (DLMF 8.17.4) otherwise.
BetaEval beta_eval(double x, double y, double a, double b) {
  if (x <= 0.0) return {{0.0, 1.0}, 0.0};
  if (y <= 0.0) return {{1.0, 0.0}, 0.0};
  const double pref = std::exp(log_beta_prefactor(x, y, a, b));
  if (x < (a + 1.0) / (a + b + 2.0)) {
    const double lower = pref / (a * beta_cf(x, a, b));
    return {{lower, 1.0 - lower}, pref};
  }
  const double upper = pref / (b * beta_cf(y, b, a));
  return {{1.0 - upper, upper}, pref};
}

// ------------------------------------------------------------ incomplete gamma

// log(x^a e^-x / Gamma(a + 1)).
double log_gamma_prefactor(double a, double x) {
  if (a >= 10.0) {
    // Stirling: a log x - x - lgamma(a+1) = -a r((x-a)/a) - log(2 pi a)/2 - delta(a),
    // r(t) = t - log(1+t) (DLMF 5.11.1; same device as DiDonato & Morris 1992).
    return -a * ratio_term((x - a) / a, x / a) - 0.5 * (kLog2Pi + std::log(a)) -
           stirling_remainder(a);
  }
  return a * std::log(x) - x - std::lgamma(a + 1.0);
}

struct GammaEval {
  Tails tails;       // P(a, x), Q(a, x)
  double prefactor;  // x^a e^-x / Gamma(a); the density is prefactor / x
};

// Regularized incomplete gamma functions P(a, x) and Q(a, x): power series for
// x < a + 1 (DLMF 8.11.4 / 8.7.1), Legendre's continued fraction otherwise
// (DLMF 8.9.2, in its even contraction).
GammaEval gamma_eval(double a, double x) {
  if (x <= 0.0) return {{0.0, 1.0}, 0.0};
  if (std::isinf(x)) return {{1.0, 0.0}, 0.0};
  const double log_pref1 = log_gamma_prefactor(a, x);  // / Gamma(a + 1)
  const double pref = std::exp(log_pref1) * a;         // / Gamma(a)
  if (x < a + 1.0) {
    double term = 1.0;
    double sum = 1.0;
    for (long n = 1; n < 10'000'000; ++n) {
      term *= x / (a + static_cast<double>(n));
      sum += term;
      if (term <= kEps * 0.5 * sum) break;
    }
    const double lower = std::exp(log_pref1) * sum;
    return {{lower, 1.0 - lower}, pref};
  }
  using Real = long double;
  const double f = lentz(x + 1.0 - a, [&](long j, Real& aj, Real& bj) {
    const Real jd = static_cast<Real>(j);
    aj = -jd * (jd - a);
    bj = static_cast<Real>(x) + 2.0L * jd + 1.0L - a;
  });
  const double upper = pref / f;
  return {{1.0 - upper, upper}, pref};
}

// ------------------------------------------------------------- root finding

struct Step {
  double h;   // residual, increasing in u
  double dh;  // derivative dh/du
};

// Safeguarded Newton iteration for an increasing h on [lo, hi] with
// h(lo) <= 0 <= h(hi): Newton steps, falling back to bisection when a step
// leaves the bracket or does not halve the previous step (as in "rtsafe").
template <class F>
double solve_increasing(F f, double lo, double hi, double u) {
  double prev_step = hi - lo;
  for (int it = 0; it < 400; ++it) {
    const Step s = f(u);
    if (s.h == 0.0) return u;
    if (s.h < 0.0) {
      lo = u;
    } else {
      hi = u;
    }
    double next = u - s.h / s.dh;
    const bool newton_ok = std::isfinite(next) && next > lo && next < hi &&
                           std::abs(next - u) <= 0.5 * std::abs(prev_step);
    if (!newton_ok) next = 0.5 * (lo + hi);
    prev_step = next - u;
    const double tol = 4.0 * kEps * std::max(1.0, std::abs(u));
    u = next;
    if (std::abs(prev_step) <= tol || hi - lo <= tol) return u;
  }
  return u;
}

// Finds a bracket [lo, hi] around the root of an increasing h, starting at u0
// and stepping outwards by doubling steps within [min_u, max_u].
template <class F>
void bracket(F f, double u0, double min_u, double max_u, double& lo, double& hi) {
  double h0 = f(u0).h;
  lo = u0;
  hi = u0;
  double step = 1.0;
  if (h0 > 0.0) {
    while (lo > min_u) {
      hi = lo;
      lo = std::max(min_u, lo - step);
      step *= 2.0;
      if (f(lo).h <= 0.0) return;
    }
  } else {
    while (hi < max_u) {
      lo = hi;
      hi = std::min(max_u, hi + step);
      step *= 2.0;
      if (f(hi).h >= 0.0) return;
    }
  }
}

// Solves I_x(a, b) = t.lower (equivalently 1 - I_x = t.upper) for x known to be
// in (0, 1/2]. Newton on u = log x for the log of the smaller tail, then
// polishing steps on x itself so that tiny x keep full relative precision.
// Both shapes large: the normal start is within ~1e-3, so plain Newton on x
// (on the smaller tail) converges in a few steps; returns NaN when it does not,
// and the caller falls back to the bracketed solver.
double beta_inv_newton(double a, double b, Tails t) {
  const bool use_lower = t.lower <= t.upper;
  const double z = use_lower ? -qnorm(t.lower, true) : qnorm(t.upper, true);
  double x = a / (a + b) - z * std::sqrt(a * b / ((a + b) * (a + b) * (a + b + 1.0)));
  if (!(x > 0.0 && x < 1.0)) return std::nan("");
  for (int it = 0; it < 12; ++it) {
    const BetaEval e = beta_eval(x, 1.0 - x, a, b);
    const double density = e.prefactor / (x * (1.0 - x));
    if (!(density > 0.0)) return std::nan("");
    const double u =
        use_lower ? (e.tails.lower - t.lower) / density : -(e.tails.upper - t.upper) / density;
    // Halley's correction with the density's log-derivative (a-1)/x - (b-1)/(1-x):
    // cubic convergence from the ~1e-3 start.
    const double slope = (a - 1.0) / x - (b - 1.0) / (1.0 - x);
    const double denom = 1.0 - 0.5 * u * slope;
    const double dx = (denom > 0.5 && denom < 2.0) ? u / denom : u;
    const double next = x - dx;
    if (!(next > 0.0 && next < 1.0)) return std::nan("");
    x = next;
    // Cubic convergence: a step of 1e-7 x leaves an error far below rounding.
    if (std::abs(dx) <= 1e-7 * x) return x;
  }
  return std::nan("");
}

double beta_inv_small(double a, double b, Tails t) {
  if (a >= 5.0 && b >= 5.0) {
    const double x = beta_inv_newton(a, b, t);
    if (x > 0.0 && x <= 0.5) return x;
  }
  const bool use_lower = t.lower <= t.upper;
  const double log_target = std::log(use_lower ? t.lower : t.upper);
  auto f = [&](double u) -> Step {
    const double x = std::exp(u);
    const double y = -std::expm1(u);
    const BetaEval e = beta_eval(x, y, a, b);
    // d I / du = x * density = prefactor / y
    if (use_lower) return {std::log(e.tails.lower) - log_target, e.prefactor / (y * e.tails.lower)};
    return {log_target - std::log(e.tails.upper), e.prefactor / (y * e.tails.upper)};
  };
  const double max_u = std::log(0.5);
  // Starting value: normal approximation for large shapes, else the small-x
  // expansion I_x ~ x^a / (a B(a, b)) (DLMF 8.17.8 leading term).
  double u0 = 0.0;
  if (a >= 5.0 && b >= 5.0) {
    const double z = use_lower ? -qnorm(t.lower, true) : qnorm(t.upper, true);
    const double x0 = a / (a + b) - z * std::sqrt(a * b / ((a + b) * (a + b) * (a + b + 1.0)));
    u0 = std::log(std::clamp(x0, 1e-300, 0.5));
  } else {
    const double log_b = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
    u0 = (std::log(t.lower) + std::log(a) + log_b) / a;
  }
  if (!std::isfinite(u0)) u0 = max_u - 1.0;
  u0 = std::clamp(u0, kLogSmallest, max_u);
  double lo = 0.0;
  double hi = 0.0;
  bracket(f, u0, kLogSmallest, max_u, lo, hi);
  if (f(lo).h > 0.0) return 0.0;  // below the smallest representable x
  const double u = solve_increasing(f, lo, hi, std::clamp(u0, lo, hi));
  double x = std::exp(u);
  for (int it = 0; it < 3; ++it) {
    const BetaEval e = beta_eval(x, 1.0 - x, a, b);
    const double density = e.prefactor / (x * (1.0 - x));
    if (!(density > 0.0)) break;
    const double dx =
        use_lower ? (e.tails.lower - t.lower) / density : -(e.tails.upper - t.upper) / density;
    const double next = x - dx;
    if (!(next > 0.0 && next < 1.0) || std::abs(dx) > 1e-6 * x) break;
    x = next;
    if (std::abs(dx) <= kEps * x) break;
  }
  return x;
}

// Beta(a, b) quantile as the pair (x, 1 - x), each to full relative precision.
struct Pair {
  double x;
  double y;
};

Pair beta_inv(double a, double b, Tails t) {
  if (t.lower <= 0.0) return {0.0, 1.0};
  if (t.upper <= 0.0) return {1.0, 0.0};
  const BetaEval mid = beta_eval(0.5, 0.5, a, b);
  const bool x_small =
      (t.lower <= t.upper) ? t.lower <= mid.tails.lower : t.upper >= mid.tails.upper;
  if (x_small) {
    const double x = beta_inv_small(a, b, t);
    return {x, 1.0 - x};
  }
  // Symmetry I_x(a, b) = 1 - I_y(b, a) (DLMF 8.17.4): solve for y = 1 - x.
  const double y = beta_inv_small(b, a, Tails{t.upper, t.lower});
  return {1.0 - y, y};
}

// Inverse of the regularized incomplete gamma: x with P(a, x) = t.lower.
double gamma_inv(double a, Tails t) {
  if (t.lower <= 0.0) return 0.0;
  if (t.upper <= 0.0) return kInf;
  const bool use_lower = t.lower <= t.upper;
  const double log_target = std::log(use_lower ? t.lower : t.upper);
  auto f = [&](double u) -> Step {
    const GammaEval e = gamma_eval(a, std::exp(u));
    // dP/du = x * density = prefactor
    if (use_lower) return {std::log(e.tails.lower) - log_target, e.prefactor / e.tails.lower};
    return {log_target - std::log(e.tails.upper), e.prefactor / e.tails.upper};
  };
  // Start: Wilson & Hilferty (1931) cube-root normal approximation, or for small
  // x the leading term P ~ x^a / Gamma(a + 1) (DLMF 8.7.1).
  const double z = use_lower ? qnorm(t.lower, true) : -qnorm(t.upper, true);
  double x0 = a * std::pow(1.0 - 1.0 / (9.0 * a) + z / (3.0 * std::sqrt(a)), 3.0);
  double u0 =
      (x0 > 0.0 && a >= 1.0) ? std::log(x0) : (std::log(t.lower) + std::lgamma(a + 1.0)) / a;
  const double max_u = 709.0;
  if (!std::isfinite(u0)) u0 = 0.0;
  u0 = std::clamp(u0, kLogSmallest, max_u);
  double lo = 0.0;
  double hi = 0.0;
  bracket(f, u0, kLogSmallest, max_u, lo, hi);
  if (f(lo).h > 0.0) return 0.0;
  if (f(hi).h < 0.0) return kInf;
  const double u = solve_increasing(f, lo, hi, std::clamp(u0, lo, hi));
  double x = std::exp(u);
  for (int it = 0; it < 3; ++it) {
    const GammaEval e = gamma_eval(a, x);
    const double density = e.prefactor / x;
    if (!(density > 0.0)) break;
    const double dx =
        use_lower ? (e.tails.lower - t.lower) / density : -(e.tails.upper - t.upper) / density;
    const double next = x - dx;
    if (!(next > 0.0) || std::abs(dx) > 1e-6 * x) break;
    x = next;
    if (std::abs(dx) <= kEps * x) break;
  }
  return x;
}

// Standard normal lower tail Phi(x) = erfc(-x / sqrt 2) / 2 (DLMF 7.2.2, 7.18).
// The argument -x/sqrt(2) is rounded; in the tail erfc's relative sensitivity to
// its argument is about 2t, so the rounding remainder dt is added back to first
// order: erfc(t + dt) ~ erfc(t) - 2/sqrt(pi) exp(-t^2) dt (DLMF 7.10.1).
double phi_lower(double x) {
  const double t = -x / kSqrt2Hi;
  double e = std::erfc(t);
  if (std::abs(x) > 1.0 && e > 0.0) {
    const double r = std::fma(-t, kSqrt2Hi, -x) - t * kSqrt2Lo;  // -x - t sqrt(2)
    const double dt = r / kSqrt2Hi;
    e -= 2.0 / std::sqrt(std::numbers::pi) * std::exp(-t * t) * dt;
  }
  return 0.5 * e;
}

// Lower quantile of the standard normal for p in (0, 1/2]: x <= 0 with Phi(x) = p.
double qnorm_lower_half(double p) {
  if (p == 0.5) return 0.0;
  // Start: A&S 26.2.23 (|error| < 4.5e-4).
  const double t = std::sqrt(-2.0 * std::log(p));
  double x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) /
                       (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
  // Halley iteration on Phi(x) - p = 0, with Phi' = phi, Phi'' = -x phi:
  // x <- x - u / (1 + x u / 2), u = (Phi(x) - p) / phi(x).
  // Near the centre the residual is formed as erf(x/sqrt2)/2 + (1/2 - p), with
  // 1/2 - p exact, so that small quantiles keep full relative precision.
  const bool central = p >= 0.25;
  const double half_minus_p = 0.5 - p;
  for (int it = 0; it < 8; ++it) {
    const double resid = central ? 0.5 * std::erf(x / kSqrt2Hi) + half_minus_p : phi_lower(x) - p;
    const double density = std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
    if (!(density > 0.0)) break;
    const double u = resid / density;
    const double step = u / (1.0 + 0.5 * x * u);
    x -= step;
    if (std::abs(step) <= kEps * std::abs(x)) break;
  }
  return x;
}

}  // namespace

// ------------------------------------------------------------------- normal

double pnorm(double x, bool lower_tail) {
  check_x("pnorm", x);
  return phi_lower(lower_tail ? x : -x);
}

double qnorm(double p, bool lower_tail) {
  check_prob("qnorm", p);
  const Tails t = tails_from(p, lower_tail);
  if (t.lower == 0.0) return -kInf;
  if (t.upper == 0.0) return kInf;
  if (t.lower <= t.upper) return qnorm_lower_half(t.lower);
  return -qnorm_lower_half(t.upper);
}

// ------------------------------------------------------------------------ t

double pt(double x, double df, bool lower_tail) {
  check_x("pt", x);
  check_df("pt", "df", df, true);
  if (std::isinf(df)) return pnorm(x, lower_tail);
  if (std::isinf(x)) return ((x > 0) == lower_tail) ? 1.0 : 0.0;
  // P(T <= -|x|) = I_z(df/2, 1/2) / 2 with z = df / (df + x^2) (A&S 26.7.1,
  // DLMF 8.17.2 relation); 1 - z = x^2 / (df + x^2) computed directly.
  double z = 0.0;
  double y = 0.0;
  if (std::abs(x) < 1e150) {
    const double x2 = x * x;
    z = df / (df + x2);
    y = x2 / (df + x2);
  } else {
    const double r = std::sqrt(df) / std::abs(x);
    z = r * r / (1.0 + r * r);
    y = 1.0 / (1.0 + r * r);
  }
  const Tails b = beta_eval(z, y, 0.5 * df, 0.5).tails;
  const double tail = 0.5 * b.lower;        // P(T <= -|x|)
  const double body = 0.5 + 0.5 * b.upper;  // P(T <= |x|)
  const bool want_small = (x <= 0.0) == lower_tail;
  return want_small ? tail : body;
}

namespace {

// For df >= 3 and a tail probability that is not tiny: start from the
// Cornish-Fisher expansion of t in the normal quantile z (A&S 26.7.5, Hill
// 1970) and take Newton steps on P(T <= -q) = s with the t density. Returns NaN
// when it does not converge, and qt falls back to inverting the incomplete beta.
double qt_newton(double s, double df) {
  const double z = -qnorm(s, true);  // > 0
  const double z2 = z * z;
  double q = z + z * (z2 + 1) / (4 * df) + z * (5 * z2 * z2 + 16 * z2 + 3) / (96 * df * df);
  const double log_c = std::lgamma(0.5 * (df + 1)) - std::lgamma(0.5 * df) -
                       0.5 * std::log(df * std::numbers::pi);
  for (int it = 0; it < 12; ++it) {
    const double tail = pt(-q, df, true);
    const double density = std::exp(log_c - 0.5 * (df + 1) * std::log1p(q * q / df));
    if (!(density > 0.0)) return std::nan("");
    const double step = (s - tail) / density;  // tail decreases in q
    // Converged once the step is below pt's own last-digit noise (~1e-14 q).
    if (std::abs(step) <= 1e-13 * q) return q - step;
    q -= step;
    if (!(q > 0.0) || !std::isfinite(q)) return std::nan("");
  }
  return std::nan("");
}

}  // namespace

double qt(double p, double df, bool lower_tail) {
  check_prob("qt", p);
  check_df("qt", "df", df, true);
  if (std::isinf(df)) return qnorm(p, lower_tail);
  const Tails t = tails_from(p, lower_tail);
  if (t.lower == 0.0) return -kInf;
  if (t.upper == 0.0) return kInf;
  // The smaller tail probability s and the sign of the quantile.
  const bool negative = t.lower <= t.upper;
  const double s = negative ? t.lower : t.upper;
  if (s == 0.5) return 0.0;
  if (df >= 3.0 && s > 1e-12) {
    const double q = qt_newton(s, df);
    if (q > 0.0) return negative ? -q : q;
  }
  // 2 s = I_z(df/2, 1/2), t^2 = df (1 - z) / z (inverse of the relation in pt).
  const Pair zy = beta_inv(0.5 * df, 0.5, Tails{2.0 * s, 1.0 - 2.0 * s});
  const double q = std::sqrt(df * (zy.y / zy.x));
  return negative ? -q : q;
}

// --------------------------------------------------------------------- beta

double pbeta(double x, double a, double b, bool lower_tail) {
  check_x("pbeta", x);
  check_df("pbeta", "a", a, false);
  check_df("pbeta", "b", b, false);
  if (x <= 0.0) return lower_tail ? 0.0 : 1.0;
  if (x >= 1.0) return lower_tail ? 1.0 : 0.0;
  const Tails t = beta_eval(x, 1.0 - x, a, b).tails;
  return lower_tail ? t.lower : t.upper;
}

double qbeta(double p, double a, double b, bool lower_tail) {
  check_prob("qbeta", p);
  check_df("qbeta", "a", a, false);
  check_df("qbeta", "b", b, false);
  return beta_inv(a, b, tails_from(p, lower_tail)).x;
}

// --------------------------------------------------------------- chi-square

double pchisq(double x, double df, bool lower_tail) {
  check_x("pchisq", x);
  check_df("pchisq", "df", df, false);
  // P(chi2_k <= x) = P(k/2, x/2) (A&S 26.4.19).
  const Tails t = gamma_eval(0.5 * df, 0.5 * std::max(x, 0.0)).tails;
  return lower_tail ? t.lower : t.upper;
}

double qchisq(double p, double df, bool lower_tail) {
  check_prob("qchisq", p);
  check_df("qchisq", "df", df, false);
  return 2.0 * gamma_inv(0.5 * df, tails_from(p, lower_tail));
}

// ------------------------------------------------------------------------ F

double pf(double x, double df1, double df2, bool lower_tail) {
  check_x("pf", x);
  check_df("pf", "df1", df1, true);
  check_df("pf", "df2", df2, true);
  if (x <= 0.0) return lower_tail ? 0.0 : 1.0;
  if (std::isinf(x)) return lower_tail ? 1.0 : 0.0;
  if (std::isinf(df1) && std::isinf(df2)) return ((x >= 1.0) == lower_tail) ? 1.0 : 0.0;
  // F(d1, inf) = chi2_d1 / d1;  F(inf, d2) = d2 / chi2_d2 (limits of A&S 26.6.2).
  if (std::isinf(df2)) return pchisq(x * df1, df1, lower_tail);
  if (std::isinf(df1)) return pchisq(df2 / x, df2, !lower_tail);
  // P(F <= x) = I_z(d1/2, d2/2), z = d1 x / (d1 x + d2) (A&S 26.6.2).
  const double z = df1 * x / (df1 * x + df2);
  const double y = df2 / (df1 * x + df2);
  const Tails t = beta_eval(z, y, 0.5 * df1, 0.5 * df2).tails;
  return lower_tail ? t.lower : t.upper;
}

double qf(double p, double df1, double df2, bool lower_tail) {
  check_prob("qf", p);
  check_df("qf", "df1", df1, true);
  check_df("qf", "df2", df2, true);
  const Tails t = tails_from(p, lower_tail);
  if (t.lower == 0.0) return 0.0;
  if (t.upper == 0.0) return kInf;
  if (std::isinf(df1) && std::isinf(df2)) return 1.0;
  if (std::isinf(df2)) return qchisq(p, df1, lower_tail) / df1;
  if (std::isinf(df1)) return df2 / qchisq(p, df2, !lower_tail);
  const Pair zy = beta_inv(0.5 * df1, 0.5 * df2, t);
  return (df2 / df1) * (zy.x / zy.y);
}

}  // namespace steppe
