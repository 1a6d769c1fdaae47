// pfsum_saddlepoint / pfsum_exact against R (tests/golden/chisq_sum.json, made by
// tests/golden/make_chisq_sum_golden.R) and against identities that hold exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/chisq_sum.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"

namespace {

using nlohmann::json;
using steppe::pfsum_exact;
using steppe::pfsum_saddlepoint;

constexpr double kInf = std::numeric_limits<double>::infinity();

const json& golden() {
  static const json data = steppe::golden::read("chisq_sum.json");
  return data;
}

double num(const json& v) { return steppe::golden::number(v); }

std::vector<double> eigenvalues(const json& c) { return c.at("a").get<std::vector<double>>(); }

// Passes when within rel_tol relatively or abs_tol absolutely; returns the
// relative error for the report (0 when within abs_tol: Imhof's 1/2 + integral
// in R is only absolutely accurate, so small tails are judged absolutely).
double check(double actual, double expected, double rel_tol, double abs_tol,
             const std::string& what) {
  const double diff = std::abs(actual - expected);
  const double rel = diff / std::max(std::abs(expected), 1e-300);
  EXPECT_TRUE(rel <= rel_tol || diff <= abs_tol)
      << what << ": got " << actual << ", R " << expected << " (rel " << rel << ")";
  return diff <= abs_tol ? 0.0 : rel;
}

// Runs `ours` on every golden case against the field `<field>_upper/_lower`.
template <class Fn>
void check_golden(const char* field, Fn ours, double rel_tol, double abs_tol) {
  double worst = 0.0;
  int compared = 0;
  for (const json& c : golden().at("pfsum")) {
    for (const bool lower : {false, true}) {
      const json& expected = c.at(std::string(field) + (lower ? "_lower" : "_upper"));
      if (expected.is_null()) continue;  // R's uniroot failed
      const double got = ours(num(c.at("x")), eigenvalues(c), num(c.at("ddf")), lower);
      worst =
          std::max(worst, check(got, expected.get<double>(), rel_tol, abs_tol,
                                std::string(field) + (lower ? " lower " : " upper ") + c.dump()));
      ++compared;
    }
  }
  EXPECT_GT(compared, 60);
  std::cout << "[ max rel err ] " << field << ": " << worst << " over " << compared << "\n";
}

TEST(ChisqSum, SaddlepointMatchesSurveyWithPreciseRoot) {
  // Same formula, same root to double precision: only rounding differs.
  check_golden("saddle_precise", pfsum_saddlepoint, 1e-9, 1e-15);
}

TEST(ChisqSum, SaddlepointMatchesSurveyAsShipped) {
  // R's uniroot(tol = 1e-8) leaves the root ~1e-8 off, which moves the answer
  // by up to ~1e-7 relative in these cases.
  check_golden("saddle_r", pfsum_saddlepoint, 1e-6, 1e-12);
}

TEST(ChisqSum, ChisqSumSaddlepointMatchesSurvey) {
  // pchisqsum(method = "saddlepoint"): no denominator, the ddf column is unused.
  const auto ours = [](double x, const std::vector<double>& a, double, bool lower) {
    return steppe::pchisqsum_saddlepoint(x, a, lower);
  };
  check_golden("chisqsum_saddle_precise", ours, 1e-9, 1e-15);
  check_golden("chisqsum_saddle_r", ours, 1e-6, 1e-12);
}

TEST(ChisqSum, ChisqSumSaddlepointEqualEigenvaluesIsNearChisq) {
  // c chi2_k: the saddlepoint approximation of a single chi-square is within
  // a few percent of pchisq(x / c, k) in the body and has the right tails' order.
  for (const double x : {3.0, 8.0, 20.0}) {
    const std::vector<double> a(4, 1.5);
    const double want = steppe::pchisq(x / 1.5, 4.0, false);
    EXPECT_NEAR(steppe::pchisqsum_saddlepoint(x, a, false) / want, 1.0, 0.05) << x;
  }
  EXPECT_THROW(steppe::pchisqsum_saddlepoint(std::nan(""), {1.0}, true), steppe::InvalidInput);
}

TEST(ChisqSum, ExactMatchesIndependentReference) {
  // R: Imhof's integral on the real line (finite ddf), Ruben's series (ddf = Inf);
  // ours: the inversion integral along a contour through the saddlepoint.
  check_golden("exact", pfsum_exact, 1e-9, 1e-12);
}

TEST(ChisqSum, ExactFarTailsMatchConditionalReference) {
  // R: Ruben's series integrated over the chi2_floor(ddf) density, which keeps
  // relative accuracy where Imhof's 1/2 + integral cannot (tails < 1e-6).
  double worst = 0.0;
  int compared = 0;
  for (const json& c : golden().at("pfsum")) {
    const json& expected = c.at("exact_upper_conditional");
    if (expected.is_null()) continue;
    const double got = pfsum_exact(num(c.at("x")), eigenvalues(c), num(c.at("ddf")), false);
    worst = std::max(worst, check(got, expected.get<double>(), 1e-10, 0.0, c.dump()));
    ++compared;
  }
  EXPECT_GT(compared, 20);
  std::cout << "[ max rel err ] exact_upper_conditional: " << worst << " over " << compared << "\n";
}

// All a_j = c: sum_j a_j chi2_1 = c chi2_k, so with m = floor(ddf)
// P(c chi2_k > (x / ddf) chi2_m) = P(F(k, m) > x m / (ddf c k)).
TEST(ChisqSum, ExactEqualEigenvaluesIsF) {
  for (const double c : {0.37, 1.0, 2.6}) {
    for (const int k : {1, 2, 3, 6}) {
      for (const double ddf : {1.0, 2.5, 13.7, 150.2, 3000.5}) {
        for (const double x : {0.05, 0.9, 3.0, 12.0, 60.0}) {
          const std::vector<double> a(static_cast<std::size_t>(k), c);
          const double m = std::floor(ddf);
          const double f = x * m / (ddf * c * k);
          for (const bool lower : {false, true}) {
            const double expected = steppe::pf(f, k, m, lower);
            check(pfsum_exact(x, a, ddf, lower), expected, 1e-10, 1e-14,
                  "c=" + std::to_string(c) + " k=" + std::to_string(k) +
                      " ddf=" + std::to_string(ddf) + " x=" + std::to_string(x));
          }
        }
      }
    }
  }
}

// ddf = Inf: P(c chi2_k > x) = pchisq(x / c, k).
TEST(ChisqSum, ExactInfiniteDdfEqualEigenvaluesIsChisq) {
  for (const double c : {0.37, 1.0, 2.6}) {
    for (const int k : {1, 2, 5}) {
      for (const double x : {0.01, 0.7, 4.0, 25.0, 200.0}) {
        const std::vector<double> a(static_cast<std::size_t>(k), c);
        for (const bool lower : {false, true}) {
          check(pfsum_exact(x, a, kInf, lower), steppe::pchisq(x / c, k, lower), 1e-10, 1e-14,
                "c=" + std::to_string(c) + " k=" + std::to_string(k) + " x=" + std::to_string(x));
        }
      }
    }
  }
}

TEST(ChisqSum, ExactTailsAddToOne) {
  const std::vector<double> a{1.7, 1.2, 1.0, 0.6, 0.3, 0.05};
  for (const double ddf : {3.3, 48.3, kInf}) {
    for (const double x : {0.5, 5.0, 50.0}) {
      EXPECT_NEAR(pfsum_exact(x, a, ddf, true) + pfsum_exact(x, a, ddf, false), 1.0, 1e-14);
    }
  }
}

TEST(ChisqSum, MonotoneInX) {
  const std::vector<double> a{1.3, 1.1, 0.8, 0.3, 0.0};
  for (const double ddf : {1.6, 25.0, 3000.5, kInf}) {
    double exact_before = 1.0;
    double saddle_before = 1.0;
    for (double x = 0.05; x < 200.0; x *= 1.3) {
      const double exact = pfsum_exact(x, a, ddf, false);
      const double saddle = pfsum_saddlepoint(x, a, ddf, false);
      EXPECT_LT(exact, exact_before) << "ddf=" << ddf << " x=" << x;
      EXPECT_LE(saddle, saddle_before) << "ddf=" << ddf << " x=" << x;
      exact_before = exact;
      saddle_before = saddle;
    }
  }
}

// Zero eigenvalues and rounding noise around zero change nothing material.
TEST(ChisqSum, ZeroEigenvaluesAreNeutral) {
  const std::vector<double> a{1.4, 0.6};
  const std::vector<double> padded{1.4, 0.0, 0.6, -1e-17, 1e-16};
  for (const double ddf : {7.5, kInf}) {
    for (const double x : {1.5, 6.0, 30.0}) {
      EXPECT_NEAR(pfsum_exact(x, padded, ddf, false), pfsum_exact(x, a, ddf, false), 1e-14);
    }
  }
  for (const double x : {1.5, 6.0, 30.0}) {
    const double plain = pfsum_saddlepoint(x, a, 7.5, false);
    EXPECT_NEAR(pfsum_saddlepoint(x, {1.4, 0.0, 0.6}, 7.5, false), plain, 1e-15 * plain);
    EXPECT_NEAR(pfsum_saddlepoint(x, padded, 7.5, false), plain, 1e-12 * plain);
  }
}

// Far tails keep relative accuracy in the exact method (checked with equal
// eigenvalues, where the F distribution is exact).
TEST(ChisqSum, ExactFarTailIsRelativelyAccurate) {
  const std::vector<double> a(4, 0.8);
  const double p = pfsum_exact(300.0, a, 40.0, false);
  const double f = steppe::pf(300.0 / (0.8 * 4.0), 4.0, 40.0, false);
  EXPECT_LT(p, 1e-18);
  EXPECT_NEAR(p, f, 1e-10 * f);
  const double q = pfsum_exact(300.0, a, kInf, false);
  const double chi = steppe::pchisq(300.0 / 0.8, 4.0, false);
  EXPECT_LT(q, 1e-70);
  EXPECT_NEAR(q, chi, 1e-10 * chi);
}

// R quirks the functions mirror.
TEST(ChisqSum, SaddlepointFollowsR) {
  const std::vector<double> a{1.2, 0.9, 0.4};
  // ddf = Inf: pFsum returns pchisqsum's default, the Satterthwaite chi-square.
  const double scale = (1.2 * 1.2 + 0.9 * 0.9 + 0.4 * 0.4) / (1.2 + 0.9 + 0.4);
  const double ndf = 2.5 * 2.5 / (1.2 * 1.2 + 0.9 * 0.9 + 0.4 * 0.4);
  EXPECT_NEAR(pfsum_saddlepoint(3.0, a, kInf, false), steppe::pchisq(3.0 / scale, ndf, false),
              1e-14);
  // x <= 0 and x = Inf: the trivial probabilities.
  EXPECT_EQ(pfsum_saddlepoint(0.0, a, 10.0, false), 1.0);
  EXPECT_EQ(pfsum_saddlepoint(-2.0, a, 10.0, true), 0.0);
  EXPECT_EQ(pfsum_saddlepoint(kInf, a, 10.0, false), 0.0);
  EXPECT_EQ(pfsum_exact(0.0, a, 10.0, false), 1.0);
  EXPECT_EQ(pfsum_exact(kInf, a, kInf, true), 1.0);
  // Near the centre survey's saddle() returns NA (|root| < 1e-4): the
  // Satterthwaite F value is kept. Here the root is ~0 (x at the mean of Q).
  const double x_mean = 2.5 * 10.0 / 10.0;  // E[sum a chi2_1] = 2.5 = x E[chi2_10] / 10
  EXPECT_NEAR(pfsum_saddlepoint(x_mean, a, 10.0, false),
              steppe::pf(x_mean / ndf / scale, ndf, 10.0, false), 1e-15);
  // davies() truncates ddf < 1 to zero denominator chi-squares.
  EXPECT_EQ(pfsum_exact(3.0, a, 0.8, false), 1.0);
}

TEST(ChisqSum, RejectsBadInput) {
  const std::vector<double> a{1.0, 0.5};
  const double nan = std::nan("");
  for (const auto& fn : {pfsum_exact, pfsum_saddlepoint}) {
    EXPECT_THROW(fn(nan, a, 10.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, {}, 10.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, {1.0, nan}, 10.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, {1.0, kInf}, 10.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, {1.0, -0.2}, 10.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, {0.0, 0.0}, 10.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, a, 0.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, a, -3.0, false), steppe::InvalidInput);
    EXPECT_THROW(fn(1.0, a, nan, false), steppe::InvalidInput);
    EXPECT_NO_THROW(fn(1.0, {1.0, -1e-17}, 10.0, false));
  }
}

}  // namespace
