// Brent's method, step by step: each call of next() is one pass of the loop of
// Brent (1973, ch. 4, procedure zero) as R's zeroin2 runs it, stopped where the
// loop evaluates f, so the caller can evaluate many functions at once.
#include "steppe/root_finding.hpp"

#include <cfloat>
#include <cmath>

namespace steppe {

BrentRoot::BrentRoot(double lower, double upper, double f_lower, double f_upper, double tol,
                     int max_iter)
    : a_(lower),
      b_(upper),
      c_(lower),
      fa_(f_lower),
      fb_(f_upper),
      fc_(f_lower),
      tol_(tol),
      left_(max_iter + 1) {
  // A root at an end point is returned as it is.
  if (f_lower == 0.0) {
    b_ = lower;
    done_ = converged_ = true;
  } else if (f_upper == 0.0) {
    done_ = converged_ = true;
  }
}

std::optional<double> BrentRoot::next() {
  if (done_) return std::nullopt;
  if (left_-- <= 0) {  // the iteration cap: R warns "_NOT_ converged"
    done_ = true;
    return std::nullopt;
  }
  const double prev_step = b_ - a_;
  // Keep b the best guess: |f(b)| <= |f(c)|, the root between b and c.
  if (std::fabs(fc_) < std::fabs(fb_)) {
    a_ = b_;
    b_ = c_;
    c_ = a_;
    fa_ = fb_;
    fb_ = fc_;
    fc_ = fa_;
  }
  const double tol_act = 2 * DBL_EPSILON * std::fabs(b_) + tol_ / 2;
  double step = (c_ - b_) / 2;  // bisection
  if (std::fabs(step) <= tol_act || fb_ == 0.0) {
    done_ = converged_ = true;
    return std::nullopt;
  }
  // Interpolate when the last step was large enough and reduced |f|.
  if (std::fabs(prev_step) >= tol_act && std::fabs(fa_) > std::fabs(fb_)) {
    const double cb = c_ - b_;
    double p, q;
    if (a_ == c_) {  // two points: the secant
      const double t1 = fb_ / fa_;
      p = cb * t1;
      q = 1.0 - t1;
    } else {  // three points: inverse quadratic interpolation
      const double qa = fa_ / fc_, t1 = fb_ / fc_, t2 = fb_ / fa_;
      p = t2 * (cb * qa * (qa - t1) - (b_ - a_) * (t1 - 1.0));
      q = (qa - 1.0) * (t1 - 1.0) * (t2 - 1.0);
    }
    if (p > 0) {
      q = -q;
    } else {
      p = -p;
    }
    // Accept the interpolated step only well inside [b, c] and shorter than
    // half the step before last; else bisect.
    if (p < (0.75 * cb * q - std::fabs(tol_act * q) / 2) && p < std::fabs(prev_step * q / 2)) {
      step = p / q;
    }
  }
  if (std::fabs(step) < tol_act) step = step > 0 ? tol_act : -tol_act;
  a_ = b_;
  fa_ = fb_;
  b_ += step;
  return b_;
}

void BrentRoot::report(double f_value) {
  // R's zeroin2 replaces +-Inf by +-DBL_MAX.
  if (std::isinf(f_value)) f_value = f_value > 0 ? DBL_MAX : -DBL_MAX;
  fb_ = f_value;
  if ((fb_ > 0 && fc_ > 0) || (fb_ < 0 && fc_ < 0)) {
    c_ = a_;
    fc_ = fa_;
  }
}

}  // namespace steppe
