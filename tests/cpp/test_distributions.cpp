// Distribution functions against values computed by R (tests/golden/distributions.json,
// made by tests/golden/make_distributions_golden.R).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "golden_json.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"

namespace {

using nlohmann::json;

const json& golden() {
  static const json data = steppe::golden::read("distributions.json");
  return data;
}

double num(const json& v) { return steppe::golden::number(v); }

// Relative error, with values below 1e-300 (R's subnormal tails) compared absolutely.
double rel_err(double actual, double expected) {
  if (actual == expected) return 0.0;
  if (std::isinf(expected) || std::isinf(actual)) return std::numeric_limits<double>::infinity();
  const double scale = std::max(std::abs(expected), 1e-300);
  return std::abs(actual - expected) / scale;
}

std::string describe(const json& c) { return c.dump(); }

// Runs `fn` on every case of `section`; reports the worst relative error.
template <class Fn, class Tol>
void check_section(const char* section, Fn fn, Tol tolerance) {
  double worst = 0.0;
  std::string worst_case;
  for (const json& c : golden().at(section)) {
    const double expected = num(c.at("value"));
    const double actual = fn(c);
    const double err = rel_err(actual, expected);
    const double tol = tolerance(c);
    EXPECT_LE(err, tol) << section << " " << describe(c) << " got " << actual;
    if (std::isfinite(tol) && err > worst) {
      worst = err;
      worst_case = describe(c);
    }
  }
  std::cout << "[ max rel err ] " << section << ": " << worst << "  at " << worst_case << "\n";
}

constexpr double kTol = 1e-12;

TEST(Distributions, PnormMatchesR) {
  check_section(
      "pnorm", [](const json& c) { return steppe::pnorm(num(c["x"]), c["lower"].get<bool>()); },
      [](const json&) { return kTol; });
}

TEST(Distributions, QnormMatchesR) {
  check_section(
      "qnorm", [](const json& c) { return steppe::qnorm(num(c["p"]), c["lower"].get<bool>()); },
      [](const json&) { return kTol; });
}

TEST(Distributions, PtMatchesR) {
  check_section(
      "pt",
      [](const json& c) { return steppe::pt(num(c["x"]), num(c["df"]), c["lower"].get<bool>()); },
      [](const json& c) {
        // R's pt switches to a normal approximation for df > 4e5 (error O(1/df^2)).
        const double df = num(c["df"]);
        return (df > 4e5 && std::isfinite(df)) ? 1e-9 : kTol;
      });
}

TEST(Distributions, QtMatchesR) {
  check_section(
      "qt",
      [](const json& c) { return steppe::qt(num(c["p"]), num(c["df"]), c["lower"].get<bool>()); },
      [](const json& c) {
        // At p = 1/2 R returns rounding noise (2.6e-16 for df = 0.5); steppe gives 0
        // exactly (checked in SpecialValues). R's qt polishes with its pt, which
        // is a normal approximation for df > 4e5.
        // For df < 1 and quantiles beyond 1e8, R's qt loses digits (see
        // QtHeavyTailAgainstMpmath for 50-digit references).
        const double df = num(c["df"]);
        if (num(c["p"]) == 0.5) return std::numeric_limits<double>::infinity();
        if (df < 1.0 && std::abs(num(c["value"])) > 1e8) return 1e-5;
        return (df > 4e5 && std::isfinite(df)) ? 1e-9 : kTol;
      });
}

TEST(Distributions, PbetaMatchesR) {
  check_section(
      "pbeta",
      [](const json& c) {
        return steppe::pbeta(num(c["x"]), num(c["a"]), num(c["b"]), c["lower"].get<bool>());
      },
      [](const json&) { return kTol; });
}

TEST(Distributions, QbetaMatchesR) {
  check_section(
      "qbeta",
      [](const json& c) {
        return steppe::qbeta(num(c["p"]), num(c["a"]), num(c["b"]), c["lower"].get<bool>());
      },
      [](const json&) { return kTol; });
}

TEST(Distributions, PchisqMatchesR) {
  check_section(
      "pchisq",
      [](const json& c) {
        return steppe::pchisq(num(c["x"]), num(c["df"]), c["lower"].get<bool>());
      },
      [](const json&) { return kTol; });
}

TEST(Distributions, QchisqMatchesR) {
  check_section(
      "qchisq",
      [](const json& c) {
        return steppe::qchisq(num(c["p"]), num(c["df"]), c["lower"].get<bool>());
      },
      [](const json&) { return kTol; });
}

TEST(Distributions, PfMatchesR) {
  check_section(
      "pf",
      [](const json& c) {
        return steppe::pf(num(c["x"]), num(c["df1"]), num(c["df2"]), c["lower"].get<bool>());
      },
      [](const json&) { return kTol; });
}

TEST(Distributions, QfMatchesR) {
  check_section(
      "qf",
      [](const json& c) {
        return steppe::qf(num(c["p"]), num(c["df1"]), num(c["df2"]), c["lower"].get<bool>());
      },
      [](const json&) { return kTol; });
}

TEST(Distributions, QtHeavyTailAgainstMpmath) {
  // mpmath (50 digits): t with P(T > t) = p for df = 1/2, via the incomplete beta.
  EXPECT_NEAR(steppe::qt(1e-10, 0.5, false), 10284911563163400118.0, 1e-13 * 1.03e19);
  EXPECT_NEAR(steppe::qt(1e-5, 0.5, false), 1028491156.3163400117, 1e-13 * 1.03e9);
  EXPECT_NEAR(steppe::qt(0.9999999, 0.5), 10284911573990.446818, 1e-13 * 1.03e13);
}

TEST(Distributions, RoundTrips) {
  for (double df : {0.7, 1.0, 2.0, 3.5, 8.0, 57.0, 1e4}) {
    for (double p : {1e-12, 1e-4, 0.01, 0.2, 0.5, 0.8, 0.999}) {
      EXPECT_NEAR(steppe::pt(steppe::qt(p, df), df), p, 1e-12 * p) << df << " " << p;
    }
  }
  for (double a : {0.05, 0.5, 3.0, 40.0, 2e4}) {
    for (double b : {0.05, 0.5, 3.0, 40.0, 2e4}) {
      for (double p : {1e-12, 1e-4, 0.01, 0.2, 0.5, 0.8, 0.999}) {
        const double x = steppe::qbeta(p, a, b);
        // Skip x within 1e-3 of 1: rounding x itself there moves pbeta by more
        // than the tolerance (ill-conditioned, not an error of either function).
        if (x > 0.0 && x < 1.0 - 1e-3) {
          EXPECT_NEAR(steppe::pbeta(x, a, b), p, 1e-11 * p) << a << " " << b << " " << p;
        }
      }
    }
  }
}

TEST(Distributions, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(steppe::qnorm(0.0), -inf);
  EXPECT_EQ(steppe::qnorm(1.0), inf);
  EXPECT_EQ(steppe::qnorm(0.5), 0.0);
  EXPECT_EQ(steppe::qt(0.5, 3.0), 0.0);
  EXPECT_EQ(steppe::qt(0.0, 3.0), -inf);
  EXPECT_EQ(steppe::pt(inf, 3.0), 1.0);
  EXPECT_EQ(steppe::qbeta(0.0, 2.0, 3.0), 0.0);
  EXPECT_EQ(steppe::qbeta(1.0, 2.0, 3.0), 1.0);
  EXPECT_EQ(steppe::pbeta(-1.0, 2.0, 3.0), 0.0);
  EXPECT_EQ(steppe::pbeta(2.0, 2.0, 3.0), 1.0);
  EXPECT_EQ(steppe::pchisq(0.0, 3.0), 0.0);
  EXPECT_EQ(steppe::qchisq(0.0, 3.0), 0.0);
  EXPECT_EQ(steppe::qf(1.0, 3.0, 4.0), inf);
  // df = 1: Cauchy, qt = tan(pi (p - 1/2)).
  EXPECT_NEAR(steppe::qt(0.9, 1.0), std::tan(M_PI * 0.4), 1e-14 * std::tan(M_PI * 0.4));
  // df = 2: closed form t = (2p - 1) / sqrt(2 p (1 - p)).
  const double p = 0.975;
  EXPECT_NEAR(steppe::qt(p, 2.0), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-14 * 4.3);
}

TEST(Distributions, InvalidArgumentsThrow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(steppe::qnorm(1.5), steppe::InvalidInput);
  EXPECT_THROW(steppe::qnorm(nan), steppe::InvalidInput);
  EXPECT_THROW(steppe::qt(0.5, 0.0), steppe::InvalidInput);
  EXPECT_THROW(steppe::qt(0.5, -1.0), steppe::InvalidInput);
  EXPECT_THROW(steppe::pt(nan, 3.0), steppe::InvalidInput);
  EXPECT_THROW(steppe::qbeta(0.5, 0.0, 1.0), steppe::InvalidInput);
  EXPECT_THROW(steppe::pbeta(0.5, 1.0, std::numeric_limits<double>::infinity()),
               steppe::InvalidInput);
  EXPECT_THROW(steppe::qchisq(-0.1, 2.0), steppe::InvalidInput);
  EXPECT_THROW(steppe::pf(1.0, 0.0, 2.0), steppe::InvalidInput);
}

}  // namespace
