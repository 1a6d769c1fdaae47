// Brent's (1973) root finder as R's uniroot runs it (R's zeroin2: the caller
// supplies f at both ends), written as a resumable state machine so that many
// roots can advance in lockstep -- one function evaluation each per step, which
// lets one pass of the estimation engine serve every domain's root at once.
#pragma once

#include <optional>

namespace steppe {

/// One root of f on [lower, upper], found by Brent's method (inverse quadratic
/// interpolation, secant and bisection steps; Brent 1973, ch. 4), with R's
/// tolerance rule tol_act = 2 eps |b| + tol / 2 and its iteration cap.
class BrentRoot {
 public:
  /// f(lower) and f(upper) must not have the same sign (R's uniroot checks).
  BrentRoot(double lower, double upper, double f_lower, double f_upper, double tol,
            int max_iter = 1000);

  /// The next abscissa to evaluate, or nullopt once the root is found (or the
  /// iteration cap reached: converged() is then false).
  std::optional<double> next();
  /// Reports f at the abscissa next() returned.
  void report(double f_value);

  double root() const { return b_; }
  bool converged() const { return converged_; }

 private:
  double a_, b_, c_, fa_, fb_, fc_, tol_;
  int left_;
  bool done_ = false;
  bool converged_ = false;
};

}  // namespace steppe
