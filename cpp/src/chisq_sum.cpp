// Linear combinations of chi-squares over an F denominator (see chisq_sum.hpp).
//
// Both methods work with Q = sum_j lambda_j chi2_{h_j} (h_j = 1 for the
// eigenvalues, h = floor(ddf) for the denominator term) and its cumulant
// generating function K(z) = -1/2 sum_j h_j log(1 - 2 lambda_j z), defined for
// z between the poles 1 / (2 lambda_j) nearest to zero on either side.
//
// References:
//  - Kuonen (1999), "Saddlepoint approximations for distributions of quadratic
//    forms in normal variables", Biometrika 86(4): the Lugannani-Rice formula
//    that survey:::saddle implements.
//  - Imhof (1961), "Computing the distribution of quadratic forms in normal
//    variables", Biometrika 48: the inversion integral.
//  - Helstrom (1983) / Rice (1980), SIAM J. Sci. Stat. Comput. 1(4): taking the
//    inversion integral along a contour through the saddlepoint, so the
//    integrand neither oscillates nor cancels and small tails keep their
//    relative accuracy.
//  - Kronrod (1965); Gauss-Kronrod 7/15 nodes and weights as tabulated in
//    QUADPACK (Piessens et al. 1983).
#include "steppe/chisq_sum.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"

namespace steppe {
namespace {

using Complex = std::complex<double>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kPi = std::numbers::pi;
// Eigenvalues down to -kNegligible * max(a) are rounding noise around zero.
constexpr double kNegligible = 1e-10;

// ---------------------------------------------------------------- validation

void validate(const char* function, double x, const std::vector<double>& a, double ddf) {
  const auto fail = [&](const std::string& what) {
    throw InvalidInput(std::string(function) + ": " + what);
  };
  if (std::isnan(x)) fail("x is NaN");
  if (a.empty()) fail("a (the eigenvalues) is empty");
  for (const double v : a) {
    if (!std::isfinite(v)) fail("eigenvalues must be finite, got " + std::to_string(v));
  }
  const double amax = *std::max_element(a.begin(), a.end());
  if (!(amax > 0.0)) fail("needs a positive eigenvalue, largest is " + std::to_string(amax));
  for (const double v : a) {
    if (v < -kNegligible * amax) fail("eigenvalues must be >= 0, got " + std::to_string(v));
  }
  if (std::isnan(ddf) || !(ddf > 0.0)) fail("ddf must be > 0, got " + std::to_string(ddf));
}

// -------------------------------------------------- the combination and its CGF

// lambda * chi2_h; h counts copies (floor(ddf) may be in the thousands, so
// copies are never materialised: every sum multiplies by h instead).
struct Term {
  double lambda;
  double h;
};

// Derivatives of K at real z inside the domain.
double cgf_d1(const std::vector<Term>& terms, double z) {
  double s = 0.0;
  for (const Term& t : terms) s += t.h * t.lambda / (1.0 - 2.0 * t.lambda * z);
  return s;
}

double cgf_d2(const std::vector<Term>& terms, double z) {
  double s = 0.0;
  for (const Term& t : terms) {
    const double r = t.lambda / (1.0 - 2.0 * t.lambda * z);
    s += t.h * r * r;
  }
  return 2.0 * s;
}

double cgf(const std::vector<Term>& terms, double z) {
  double s = 0.0;
  for (const Term& t : terms) s += t.h * std::log1p(-2.0 * t.lambda * z);
  return -0.5 * s;
}

// The saddlepoint: the root of K'(z) = q, which is increasing on its domain.
// The caller guarantees a root exists (a positive lambda, and a negative lambda
// or q > 0). Safeguarded Newton on a bracket shrunk to a few ulps; this is
// where we differ from R, whose uniroot stops at tol = 1e-8.
double solve_saddlepoint(const std::vector<Term>& terms, double q) {
  double lam_max = 0.0;
  double lam_min = 0.0;
  double h_pos = 0.0;
  for (const Term& t : terms) {
    lam_max = std::max(lam_max, t.lambda);
    lam_min = std::min(lam_min, t.lambda);
    if (t.lambda > 0.0) h_pos += t.h;
  }
  const double z_hi = 0.5 / lam_max;
  const auto f = [&](double z) { return cgf_d1(terms, z) - q; };

  const double f0 = f(0.0);
  if (f0 == 0.0) return 0.0;
  double lo = 0.0;
  double hi = 0.0;
  if (f0 < 0.0) {
    // K' -> +inf at the pole z_hi: approach it geometrically.
    for (double gap = 0.5 * z_hi;; gap *= 0.5) {
      hi = z_hi - gap;
      if (f(hi) > 0.0 || gap < kEps * z_hi) break;
      lo = hi;
    }
  } else if (lam_min < 0.0) {
    // K' -> -inf at the negative pole z_lo.
    const double z_lo = 0.5 / lam_min;
    for (double gap = -0.5 * z_lo;; gap *= 0.5) {
      lo = z_lo + gap;
      if (f(lo) < 0.0 || gap < -kEps * z_lo) break;
      hi = lo;
    }
  } else {
    // No negative lambda: for z < 0, K'(z) < h_pos / (2 |z|), below q there.
    lo = -(h_pos / (2.0 * q)) * 1.01 - 1.0;
  }

  double z = 0.5 * (lo + hi);
  double step_before = hi - lo;
  double step = step_before;
  for (int iter = 0; iter < 500; ++iter) {
    const double fz = f(z);
    if (fz == 0.0) return z;
    (fz < 0.0 ? lo : hi) = z;
    const double newton = z - fz / cgf_d2(terms, z);
    const bool newton_ok = newton > lo && newton < hi && std::abs(newton - z) < 0.5 * step_before;
    step_before = step;
    const double next = newton_ok ? newton : 0.5 * (lo + hi);
    step = std::abs(next - z);
    z = next;
    const double scale = std::max(std::abs(lo), std::abs(hi));
    if (hi - lo <= 4.0 * kEps * scale || step <= kEps * std::abs(z) || hi - lo < 1e-300) break;
  }
  return z;
}

// ---------------------------------------------------------- saddlepoint (R)

// R's mean(): sum / n, then corrected by the mean of the residuals.
double r_mean(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  long double s = 0.0L;
  for (const double e : v) s += e;
  s /= n;
  long double t = 0.0L;
  for (const double e : v) t += e - s;
  return static_cast<double>(s + t / n);
}

// pFsum's moment matching: sum a_j chi2_1 ~ scale * chi2_ndf.
struct Satterthwaite {
  double scale;
  double ndf;
};

Satterthwaite satterthwaite(const std::vector<double>& a) {
  std::vector<double> sq(a.size());
  std::transform(a.begin(), a.end(), sq.begin(), [](double v) { return v * v; });
  const double tr = r_mean(a);
  const double tr2 = r_mean(sq) / (tr * tr);
  return {tr * tr2, static_cast<double>(a.size()) / tr2};
}

// survey:::saddle(q, lambda) as the normal deviate y of its answer
// pnorm(y, lower.tail = FALSE), for terms already divided by max(lambda) (q
// too); nullopt where saddle returns NA.
std::optional<double> saddle_deviate(const std::vector<Term>& terms, double q) {
  const double zeta = solve_saddlepoint(terms, q);
  if (std::abs(zeta) < 1e-4) return std::nullopt;  // R: NA, the caller's fallback kept
  const double w = (zeta > 0.0 ? 1.0 : -1.0) * std::sqrt(2.0 * (zeta * q - cgf(terms, zeta)));
  const double v = zeta * std::sqrt(cgf_d2(terms, zeta));
  const double y = w + std::log(v / w) / w;
  if (std::isnan(y)) return std::nullopt;
  return y;
}

// survey:::saddle(0, c(a, rep(-x / ddf, copies))) as a normal deviate (above).
std::optional<double> survey_saddle_deviate(double x, const std::vector<double>& a, double ddf) {
  const double copies = ddf > 1.0 ? std::floor(ddf) : 1.0;  // rep() only when df > 1
  const double denominator = -x / ddf;
  // saddle divides by max(lambda); the denominator coefficient is negative.
  const double d = *std::max_element(a.begin(), a.end());
  std::vector<Term> terms;
  terms.reserve(a.size() + 1);
  for (const double v : a) terms.push_back({v / d, 1.0});
  terms.push_back({denominator / d, copies});
  return saddle_deviate(terms, 0.0);
}

// ------------------------------------------------------ Gauss-Kronrod 7/15

constexpr double kKronrodNodes[8] = {
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0};
constexpr double kKronrodWeights[8] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
// Gauss weights for the nodes kKronrodNodes[1], [3], [5], [7].
constexpr double kGaussWeights[4] = {
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

struct Segment {
  double a;
  double b;
  double value;
  double error;
  bool operator<(const Segment& o) const { return error < o.error; }
};

template <class F>
Segment gauss_kronrod(const F& f, double a, double b) {
  const double mid = 0.5 * (a + b);
  const double half = 0.5 * (b - a);
  const double fc = f(mid);
  double kronrod = kKronrodWeights[7] * fc;
  double gauss = kGaussWeights[3] * fc;
  for (int i = 0; i < 7; ++i) {
    const double dx = half * kKronrodNodes[i];
    const double pair = f(mid - dx) + f(mid + dx);
    kronrod += kKronrodWeights[i] * pair;
    if (i % 2 == 1) gauss += kGaussWeights[i / 2] * pair;
  }
  return {a, b, kronrod * half, std::abs((kronrod - gauss) * half)};
}

// Global adaptive integration: split the segment with the largest error until
// the summed error is below max(abs_tol, rel_tol |integral|). The Kronrod
// minus Gauss difference overstates the Kronrod error on smooth integrands, so
// the result is usually far better than the tolerance.
template <class F>
double integrate(const F& f, double a, double b, double rel_tol, double abs_tol) {
  std::priority_queue<Segment> segments;
  segments.push(gauss_kronrod(f, a, b));
  double value = segments.top().value;
  double error = segments.top().error;
  constexpr int kMaxSegments = 1000;
  while (error > std::max(abs_tol, rel_tol * std::abs(value)) &&
         static_cast<int>(segments.size()) < kMaxSegments) {
    const Segment worst = segments.top();
    segments.pop();
    const double mid = 0.5 * (worst.a + worst.b);
    if (!(mid > worst.a && mid < worst.b)) {
      segments.push(worst);
      break;  // cannot split further in double precision
    }
    const Segment left = gauss_kronrod(f, worst.a, mid);
    const Segment right = gauss_kronrod(f, mid, worst.b);
    value += left.value + right.value - worst.value;
    error += left.error + right.error - worst.error;
    segments.push(left);
    segments.push(right);
  }
  // Re-add from the parts: the running sums above accumulate rounding.
  double total = 0.0;
  while (!segments.empty()) {
    total += segments.top().value;
    segments.pop();
  }
  return total;
}

// ------------------------------------------------------ exact by inversion

// log(1 + w) for complex w. Near w = 0 through log1p: the denominator term
// enters with weight floor(ddf)/2, which would magnify std::log's absolute error
// there; near w = -1 (the pole closest to the saddlepoint in far tails) that
// formula would cancel, and std::log is accurate.
Complex log1p(Complex w) {
  if (std::abs(w) > 0.5) return std::log(1.0 + w);
  const double u = w.real();
  const double v = w.imag();
  return {0.5 * std::log1p(u * (2.0 + u) + v * v), std::atan2(v, 1.0 + u)};
}

// For 0 < c < 1/(2 max lambda) (and c > 1/(2 min lambda)),
//   P(Q > q) = 1/(2 pi i) int_{c - i inf}^{c + i inf} M(z) exp(-q z) dz / z,
// M = exp(K); for c < 0 the same integral is P(Q > q) - 1 (it crosses the pole
// at 0). Instead of the vertical line, the contour leaves the point zeta on the
// real axis along the rays z = zeta + r i exp(-+i alpha): the region swept holds
// no singularity (all are on the real axis) and |exp(-q z)| now decays. By
// conjugate symmetry the integral is (1/pi) int_0^inf Re[exp(-i alpha) f(z(r))] dr
// with f = M(z) exp(-q z) / z. Through the saddlepoint the integrand is a
// Gaussian bump of the size of the answer, so small tails keep their relative
// accuracy; alpha > 0 bends the rays towards the decaying side of exp(-q z).
class InversionContour {
 public:
  InversionContour(std::vector<Term> terms, double q, double zeta)
      : terms_(std::move(terms)), q_(q), zeta_(zeta) {}

  double integrand(double r) const {
    const Complex z(zeta_ + r * kSin, r * kCos);
    Complex log_f = -q_ * z - std::log(z) - Complex(0.0, kAlpha);
    for (const Term& t : terms_) log_f -= 0.5 * t.h * log1p(-2.0 * t.lambda * z);
    return std::exp(log_f).real();
  }

  // A bound on int_r^inf |integrand|, or +inf if none is available yet. On the
  // ray |1 - 2 lambda z| >= max(rho cos(alpha), 2 |lambda| r - rho) with
  // rho = 1 - 2 lambda zeta > 0, |z| >= r - |zeta| and Re z = zeta + r sin(alpha):
  // every factor is non-increasing in r, the linear ones fall like 1/r.
  double tail_bound(double r) const {
    if (r < 2.0 * std::abs(zeta_)) return kInf;
    double log_bound = -q_ * (zeta_ + r * kSin) - std::log(r - std::abs(zeta_));
    double power = 0.0;  // sum of h over factors already falling like 1/r
    for (const Term& t : terms_) {
      const double rho = 1.0 - 2.0 * t.lambda * zeta_;
      const double linear = 2.0 * std::abs(t.lambda) * r - rho;
      if (linear >= rho * kCos) {
        log_bound -= 0.5 * t.h * std::log(linear);
        power += t.h;
      } else {
        log_bound -= 0.5 * t.h * std::log(rho * kCos);
      }
    }
    const double bound = std::exp(log_bound);
    double tail = power > 0.0 ? bound * r / (0.5 * power) : kInf;
    if (q_ > 0.0) tail = std::min(tail, bound / (q_ * kSin));
    return tail;
  }

 private:
  static constexpr double kAlpha = std::numbers::pi / 8.0;
  static inline const double kSin = std::sin(kAlpha);
  static inline const double kCos = std::cos(kAlpha);

  std::vector<Term> terms_;
  double q_;
  double zeta_;
};

struct Tails {
  double lower;
  double upper;
};

// P(Q <= q) and P(Q > q), the smaller one to near full relative precision.
Tails inversion_tails(const std::vector<Term>& terms, double q) {
  const double saddle = solve_saddlepoint(terms, q);
  // The pole of 1/z must not sit on the contour: near the centre of the
  // distribution step a little to the right of it (any zeta in the domain is
  // exact; the saddlepoint only makes the integrand well behaved).
  double width = 1.0 / std::sqrt(cgf_d2(terms, saddle));
  double zeta = saddle;
  if (std::abs(saddle) < 0.01 * width) {
    zeta = 0.01 * width;
    width = 1.0 / std::sqrt(cgf_d2(terms, zeta));
  }
  const InversionContour contour(terms, q, zeta);
  constexpr double kRelTol = 1e-14;

  // [0, width] directly, then e-folds [r, e r] in log r, where the integrand
  // is a smooth bump followed by an algebraic (or exponential) decay. Later
  // pieces need only be accurate relative to the running total: asking more
  // of them chases rounding noise where the integrand has died away.
  double total =
      integrate([&](double r) { return contour.integrand(r); }, 0.0, width, kRelTol, 0.0);
  double r = width;
  for (int fold = 0; fold < 400; ++fold) {
    const double tail = contour.tail_bound(r);
    if (tail <= 1e-16 * std::abs(total) || tail < 1e-300) break;
    const double r0 = r;
    total += integrate(
        [&](double s) {
          const double rs = r0 * std::exp(s);
          return contour.integrand(rs) * rs;
        },
        0.0, 1.0, kRelTol, 1e-15 * std::abs(total));
    r *= std::numbers::e;
  }
  const double part = std::clamp(total / kPi, -1.0, 1.0);
  if (zeta > 0.0) {
    const double upper = std::clamp(part, 0.0, 1.0);
    return {1.0 - upper, upper};
  }
  const double lower = std::clamp(-part, 0.0, 1.0);
  return {lower, 1.0 - lower};
}

}  // namespace

// ------------------------------------------------------------ public API

double pfsum_saddlepoint(double x, const std::vector<double>& a, double ddf, bool lower_tail) {
  validate("pfsum_saddlepoint", x, a, ddf);
  const Satterthwaite sat = satterthwaite(a);
  if (std::isinf(ddf)) {
    // pFsum: if (ddf == Inf) return(pchisqsum(x, df, a, lower.tail)), whose
    // default method is "satterthwaite" — no saddlepoint at all.
    if (std::isinf(x)) return lower_tail ? 1.0 : 0.0;
    return pchisq(x / sat.scale, sat.ndf, lower_tail);
  }
  const double satterthwaite_value = pf(x / sat.ndf / sat.scale, sat.ndf, ddf, lower_tail);
  // R's uniroot fails for x <= 0 and x = inf; the F value is exact there.
  if (!(x > 0.0) || std::isinf(x)) return satterthwaite_value;
  const std::optional<double> y = survey_saddle_deviate(x, a, ddf);
  if (!y) return satterthwaite_value;
  return pnorm(*y, lower_tail);
}

double pchisqsum_saddlepoint(double x, const std::vector<double>& a, bool lower_tail) {
  validate("pchisqsum_saddlepoint", x, a, kInf);
  const Satterthwaite sat = satterthwaite(a);
  const double satterthwaite_value =
      std::isinf(x) ? (lower_tail ? 1.0 : 0.0)
                    : pchisq(std::max(x, 0.0) / sat.scale, sat.ndf, lower_tail);
  // R's uniroot fails for x <= 0 and x = inf, where the chi-square value is exact.
  if (!(x > 0.0) || std::isinf(x)) return satterthwaite_value;
  const double d = *std::max_element(a.begin(), a.end());
  std::vector<Term> terms;
  terms.reserve(a.size());
  for (const double v : a) terms.push_back({v / d, 1.0});
  const std::optional<double> y = saddle_deviate(terms, x / d);
  if (!y) return satterthwaite_value;
  return pnorm(*y, lower_tail);
}

double pfsum_exact(double x, const std::vector<double>& a, double ddf, bool lower_tail) {
  validate("pfsum_exact", x, a, ddf);
  // Q > 0 almost surely when x <= 0: sum a_j chi2_1 > 0 and -x chi2 / ddf >= 0.
  if (!(x > 0.0)) return lower_tail ? 0.0 : 1.0;
  if (std::isinf(x)) return lower_tail ? 1.0 : 0.0;
  const double copies = std::floor(ddf);
  // davies() takes as.integer(ddf) chi-squares: none for ddf < 1.
  if (copies == 0.0) return lower_tail ? 0.0 : 1.0;

  // Dividing by max(a) leaves the probability unchanged and puts the nearest
  // pole at z = 1/2.
  const double scale = *std::max_element(a.begin(), a.end());
  std::vector<Term> terms;
  terms.reserve(a.size() + 1);
  for (const double v : a) {
    if (v != 0.0) terms.push_back({v / scale, 1.0});  // zero terms are log(1) = 0
  }
  double q = 0.0;
  if (std::isinf(ddf)) {
    q = x / scale;
  } else {
    terms.push_back({-(x / ddf) / scale, copies});
  }
  const Tails t = inversion_tails(terms, q);
  return lower_tail ? t.lower : t.upper;
}

}  // namespace steppe
