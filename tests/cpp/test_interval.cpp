// Proportion confidence intervals against R survey's svyciprop on the api data
// (tests/golden/distributions.json, made by tests/golden/make_distributions_golden.R).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "golden_json.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/interval.hpp"

namespace {

using nlohmann::json;
using steppe::CiMethod;
using steppe::Interval;
using steppe::ProportionCiInput;

constexpr double kInf = std::numeric_limits<double>::infinity();

const json& golden() {
  static const json data = steppe::golden::read("distributions.json");
  return data;
}

double num(const json& v) { return steppe::golden::number(v); }

double rel_err(double actual, double expected) {
  if (actual == expected) return 0.0;
  return std::abs(actual - expected) / std::max(std::abs(expected), 1e-300);
}

ProportionCiInput input_of(const json& c) {
  return {num(c["p"]), num(c["var"]), num(c["df"]), num(c["n_rows"]), num(c["level"])};
}

// Tolerances leave a margin over the measured agreement (printed by the test).
// "logit" and "likelihood" go through glm in R, whose IRLS stops early: its
// fitted mean differs from p in the ~8th digit and the last iteration's weights,
// which enter the design effect lambda of the likelihood method, in the ~4th.
// Against svyciprop itself they get looser tolerances; against the same R
// computation with glm run to convergence ("*_converged") the tight ones.
double tolerance(const std::string& method) {
  if (method == "logit") return 1e-6;
  if (method == "likelihood") return 3e-3;
  return 1e-9;
}
// "likelihood": R reads its limits off a profile on a coarse grid (spline plus
// linear inversion), up to ~1e-3 from the root of the profile equation that steppe
// solves exactly; exact roots are compared at 1e-9 in tests/python/test_golden.py
// and the equation itself in Interval.LikelihoodSolvesTheProfileEquation.
double tolerance_converged(const std::string& method) {
  return method == "likelihood" ? 3e-3 : 1e-9;
}

// True when R's asin interval folds: the angle interval crosses 0 (or pi/2) and
// R applies sin()^2 unclamped, where steppe clamps (documented in interval.hpp).
bool asin_folds(const ProportionCiInput& in) {
  const double theta = std::asin(std::sqrt(in.p));
  const double half =
      steppe::qt(1 - (1 - in.level) / 2, in.df) * std::sqrt(in.var / (4 * in.p * (1 - in.p)));
  return theta - half < 0 || theta + half > M_PI / 2;
}

TEST(Interval, MatchesSvyciprop) {
  std::map<std::string, double> worst;
  std::map<std::string, double> worst_converged;
  int compared = 0;
  int folded = 0;
  for (const json& c : golden().at("svyciprop")) {
    const std::string method = c["method"].get<std::string>();
    const ProportionCiInput in = input_of(c);
    if (c["low"].is_null() || in.var == 0.0) continue;  // R: NaN / error / [0.5, 0.5]
    const Interval ci = steppe::proportion_interval(steppe::parse_ci_method(method), in);
    if (method == "asin" && asin_folds(in)) {
      ++folded;
      EXPECT_EQ(ci.low, 0.0) << c.dump();
      EXPECT_LE(rel_err(ci.high, num(c["high"])), 1e-9) << c.dump();
      continue;
    }
    const double err = std::max(rel_err(ci.low, num(c["low"])), rel_err(ci.high, num(c["high"])));
    EXPECT_LE(err, tolerance(method)) << c.dump() << " got [" << ci.low << ", " << ci.high << "]";
    worst[method] = std::max(worst[method], err);
    if (!c["low_converged"].is_null()) {
      const double err_conv = std::max(rel_err(ci.low, num(c["low_converged"])),
                                       rel_err(ci.high, num(c["high_converged"])));
      EXPECT_LE(err_conv, tolerance_converged(method))
          << c.dump() << " got [" << ci.low << ", " << ci.high << "]";
      worst_converged[method] = std::max(worst_converged[method], err_conv);
    }
    ++compared;
  }
  EXPECT_GT(compared, 400);
  EXPECT_GT(folded, 0);
  for (const auto& [method, err] : worst) {
    std::cout << "[ max rel err ] svyciprop " << method << ": " << err << "\n";
  }
  for (const auto& [method, err] : worst_converged) {
    std::cout << "[ max rel err ] converged-glm " << method << ": " << err << "\n";
  }
}

TEST(Interval, ZeroVarianceInteriorGivesPointInterval) {
  for (const json& c : golden().at("svyciprop")) {
    const ProportionCiInput in = input_of(c);
    if (in.var != 0.0) continue;
    const Interval ci =
        steppe::proportion_interval(steppe::parse_ci_method(c["method"].get<std::string>()), in);
    EXPECT_EQ(ci.low, in.p);
    EXPECT_EQ(ci.high, in.p);
  }
}

// Wilson (1927) score interval with n_eff = p(1-p)/var and t quantiles, written
// out independently of interval.cpp.
TEST(Interval, WilsonMatchesFormula) {
  for (const json& c : golden().at("svyciprop")) {
    if (c["method"] != "mean") continue;
    const ProportionCiInput in = input_of(c);
    if (in.var == 0.0) continue;
    const double n = in.p * (1 - in.p) / in.var;
    const double z = steppe::qt(1 - (1 - in.level) / 2, in.df);
    const double lo =
        (in.p + z * z / (2 * n) - z * std::sqrt(in.p * (1 - in.p) / n + z * z / (4 * n * n))) /
        (1 + z * z / n);
    const double hi =
        (in.p + z * z / (2 * n) + z * std::sqrt(in.p * (1 - in.p) / n + z * z / (4 * n * n))) /
        (1 + z * z / n);
    const Interval ci = steppe::proportion_interval(CiMethod::Wilson, in);
    EXPECT_NEAR(ci.low, lo, 1e-13) << c.dump();
    EXPECT_NEAR(ci.high, hi, 1e-13) << c.dump();
    EXPECT_LT(ci.low, in.p);
    EXPECT_GT(ci.high, in.p);
  }
}

TEST(Interval, WaldMatchesFormula) {
  const Interval w = steppe::wald_interval(0.3, 0.02, 40.0, 0.95);
  const double t = steppe::qt(0.975, 40.0);
  EXPECT_NEAR(w.low, 0.3 - t * 0.02, 1e-15);
  EXPECT_NEAR(w.high, 0.3 + t * 0.02, 1e-15);
  const Interval n = steppe::wald_interval(1.0, 1.0, kInf, 0.95);
  EXPECT_NEAR(n.high, 1.0 + 1.959963984540054, 1e-14);
}

TEST(Interval, BoundaryProportionsUseKornGraubardWithDeffOne) {
  const double n_rows = 150;
  const double df = 14;
  for (const auto& [name, method] :
       std::map<std::string, CiMethod>{{"logit", CiMethod::Logit},
                                       {"xlogit", CiMethod::XLogit},
                                       {"beta", CiMethod::Beta},
                                       {"wilson", CiMethod::Wilson},
                                       {"mean", CiMethod::Mean},
                                       {"likelihood", CiMethod::Likelihood},
                                       {"asin", CiMethod::Asin}}) {
    for (double level : {0.95, 0.9}) {
      const double alpha = 1 - level;
      const double factor =
          std::pow(steppe::qt(alpha / 2, n_rows - 1) / steppe::qt(alpha / 2, df), 2);
      const double n_eff = n_rows * factor;
      // Clopper-Pearson with x = 0: upper = qbeta(1 - alpha/2, 1, n_eff).
      const double upper = steppe::qbeta(1 - alpha / 2, 1.0, n_eff);
      const Interval zero = steppe::proportion_interval(method, {0.0, 0.0, df, n_rows, level});
      EXPECT_EQ(zero.low, 0.0) << name;
      EXPECT_NEAR(zero.high, upper, 1e-14) << name;
      const Interval one = steppe::proportion_interval(method, {1.0, 0.0, df, n_rows, level});
      EXPECT_NEAR(one.low, 1.0 - upper, 1e-14) << name;
      EXPECT_EQ(one.high, 1.0) << name;
    }
  }
  // Normal quantiles (df = inf) still give a finite bound.
  const Interval z = steppe::proportion_interval(CiMethod::Logit, {0.0, 0.0, kInf, 30, 0.95});
  EXPECT_GT(z.high, 0.0);
  EXPECT_LT(z.high, 0.2);
}

TEST(Interval, NeverNaNOnValidInput) {
  for (double p : {0.0, 1e-9, 0.001, 0.2, 0.5, 0.999, 1.0}) {
    for (double var : {0.0, 1e-12, 1e-6, 1e-3, 0.2}) {
      for (double df : {1.0, 3.0, 50.0, kInf}) {
        for (const char* name :
             {"logit", "xlogit", "beta", "wilson", "mean", "likelihood", "asin"}) {
          const Interval ci =
              steppe::proportion_interval(steppe::parse_ci_method(name), {p, var, df, 40, 0.95});
          EXPECT_FALSE(std::isnan(ci.low) || std::isnan(ci.high))
              << name << " p=" << p << " var=" << var << " df=" << df;
          EXPECT_LE(ci.low, ci.high) << name << " p=" << p << " var=" << var << " df=" << df;
        }
      }
    }
  }
}

TEST(Interval, InvalidInputThrows) {
  const auto ci = [](ProportionCiInput in) {
    return steppe::proportion_interval(CiMethod::Beta, in);
  };
  EXPECT_THROW(ci({-0.1, 0.01, 10, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({1.1, 0.01, 10, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({std::nan(""), 0.01, 10, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, -0.01, 10, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, std::nan(""), 10, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, 0.01, 0, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, 0.01, -3, 100, 0.95}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, 0.01, 10, 100, 1.0}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, 0.01, 10, 100, 0.0}), steppe::InvalidInput);
  EXPECT_THROW(ci({0.5, 0.01, 10, 1, 0.95}), steppe::InvalidInput);  // beta needs n_rows >= 2
  EXPECT_THROW(steppe::parse_ci_method("clopper"), steppe::InvalidInput);
  try {
    steppe::parse_ci_method("Logit");
  } catch (const steppe::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("\"likelihood\""), std::string::npos);
  }
  EXPECT_EQ(steppe::ci_method_name(steppe::parse_ci_method("wilson")), "wilson");
}

TEST(Interval, LikelihoodSolvesTheProfileEquation) {
  // 2 (n - 1) KL(p, mu) = qt^2 * n var / (p (1 - p)) at both limits (see interval.cpp).
  const ProportionCiInput in{0.153637, 0.000823, 30.0, 200.0, 0.95};
  const Interval ci = proportion_interval(CiMethod::Likelihood, in);
  const double q = steppe::qt(0.025, in.df);
  const double target = q * q * in.n_rows * in.var / (in.p * (1 - in.p));
  for (double mu : {ci.low, ci.high}) {
    const double kl = in.p * std::log(in.p / mu) + (1 - in.p) * std::log((1 - in.p) / (1 - mu));
    EXPECT_NEAR(2 * (in.n_rows - 1) * kl, target, 1e-10 * target);
  }
  EXPECT_LT(ci.low, in.p);
  EXPECT_GT(ci.high, in.p);
}

}  // namespace
