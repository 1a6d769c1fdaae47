// Brent's method step by step: roots of smooth and step functions within R's
// tolerance, end-point roots, and the iteration cap.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "steppe/root_finding.hpp"

namespace steppe {
namespace {

double solve(BrentRoot& r, const std::function<double(double)>& f, int* evals = nullptr) {
  int n = 0;
  while (const auto x = r.next()) {
    r.report(f(*x));
    ++n;
  }
  if (evals) *evals = n;
  return r.root();
}

TEST(BrentRoot, FindsSmoothRoots) {
  auto f = [](double x) { return x * x - 2; };
  BrentRoot r(0, 2, f(0), f(2), 1e-12);
  EXPECT_NEAR(solve(r, f), std::sqrt(2.0), 1e-11);
  EXPECT_TRUE(r.converged());
  auto g = [](double x) { return std::cos(x) - x; };
  BrentRoot s(0, 1, g(0), g(1), 1e-10);
  EXPECT_NEAR(solve(s, g), 0.7390851332151607, 1e-9);
}

TEST(BrentRoot, StepFunctionsConvergeToTheJump) {
  auto f = [](double x) { return x < 3.25 ? 1.0 : -2.0; };
  BrentRoot r(0, 10, f(0), f(10), 1e-6);
  EXPECT_NEAR(solve(r, f), 3.25, 1e-6);
}

TEST(BrentRoot, EndPointRootsAndTheCap) {
  BrentRoot a(1, 2, 0.0, 5.0, 1e-8);
  EXPECT_FALSE(a.next().has_value());
  EXPECT_EQ(a.root(), 1.0);
  BrentRoot b(1, 2, -5.0, 0.0, 1e-8);
  EXPECT_FALSE(b.next().has_value());
  EXPECT_EQ(b.root(), 2.0);
  auto f = [](double x) { return x - 0.123456789; };
  BrentRoot c(0, 1, f(0), f(1), 0.0, 2);
  int evals = 0;
  solve(c, f, &evals);
  EXPECT_LE(evals, 3);
  auto inf = [](double x) { return x < 0.5 ? INFINITY : -INFINITY; };  // R: +-DBL_MAX
  BrentRoot d(0, 1, 1.0, -1.0, 1e-9);
  EXPECT_NEAR(solve(d, inf), 0.5, 1e-8);
}

}  // namespace
}  // namespace steppe
