// NCHS presentation standard for proportions (Parker et al. 2017).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/reliability.hpp"

namespace {

using steppe::reliability_flag;
using steppe::ReliabilityInput;

// Simple-random-sampling variance p (1-p) / n times a design effect.
ReliabilityInput srs(double p, double n, double df, double deff = 1.0) {
  return {p, deff * p * (1 - p) / n, n, df};
}

// Korn-Graubard 95% interval written out independently: Clopper-Pearson with
// n_eff = n / max(deff, 1) scaled by (qt(.025, n-1) / qt(.025, df))^2.
double kg_width(double p, double n, double df, double deff) {
  const double factor = std::pow(steppe::qt(0.025, n - 1) / steppe::qt(0.025, df), 2);
  const double ne = n / std::max(deff, 1.0) * factor;
  const double lo = steppe::qbeta(0.025, ne * p, ne * (1 - p) + 1);
  const double hi = steppe::qbeta(0.975, ne * p + 1, ne * (1 - p));
  return hi - lo;
}

TEST(Reliability, EffectiveSampleSize) {
  EXPECT_DOUBLE_EQ(steppe::effective_sample_size(0.3, 0.21 / 100 * 2.0, 100), 50.0);
  EXPECT_DOUBLE_EQ(steppe::effective_sample_size(0.3, 0.21 / 100 * 0.5, 100),
                   100.0);  // deff floored
  EXPECT_DOUBLE_EQ(steppe::effective_sample_size(0.0, 0.0, 80), 80.0);
  EXPECT_DOUBLE_EQ(steppe::effective_sample_size(1.0, 0.0, 80), 80.0);
  EXPECT_DOUBLE_EQ(steppe::effective_sample_size(0.4, 0.0, 80), 80.0);
  EXPECT_THROW(steppe::effective_sample_size(-0.1, 0.01, 80), steppe::InvalidInput);
  EXPECT_THROW(steppe::effective_sample_size(0.1, -0.01, 80), steppe::InvalidInput);
  EXPECT_THROW(steppe::effective_sample_size(0.1, 0.01, std::nan("")), steppe::InvalidInput);
}

TEST(Reliability, PresentableEstimates) {
  ASSERT_LE(kg_width(0.3, 2000, 100, 1), 0.05);
  EXPECT_EQ(reliability_flag(srs(0.3, 2000, 100)), "");
  // Wider than 0.05 but relative width below 130%.
  const double w = kg_width(0.3, 400, 100, 1.5);
  ASSERT_GT(w, 0.05);
  ASSERT_LT(w / 0.3, 1.3);
  EXPECT_EQ(reliability_flag(srs(0.3, 400, 100, 1.5)), "");
  // Narrow enough that the relative width is not looked at (0.05 / 0.01 = 500%).
  ASSERT_LE(kg_width(0.01, 5000, 200, 1), 0.05);
  EXPECT_EQ(reliability_flag(srs(0.01, 5000, 200)), "");
}

TEST(Reliability, SampleSizeRules) {
  EXPECT_EQ(reliability_flag(srs(0.5, 29, 100)).rfind("suppress: n < 30", 0), 0u);
  const std::string f = reliability_flag(srs(0.5, 100, 100, 4.0));  // n_eff = 25
  EXPECT_NE(f.find("suppress: n_eff < 30"), std::string::npos) << f;
  EXPECT_EQ(f.find("suppress: n < 30"), std::string::npos) << f;
}

TEST(Reliability, WidthRules) {
  ASSERT_GT(kg_width(0.5, 60, 50, 1.8), 0.30);
  EXPECT_EQ(reliability_flag(srs(0.5, 60, 50, 1.8)), "suppress: CI width > 0.30");
  const double w = kg_width(0.04, 100, 50, 1.0);
  ASSERT_GT(w, 0.05);
  ASSERT_LE(w, 0.30);
  ASSERT_GT(w / 0.04, 1.3);
  EXPECT_EQ(reliability_flag(srs(0.04, 100, 50)), "suppress: relative CI width > 130%");
}

TEST(Reliability, ReviewRules) {
  EXPECT_EQ(reliability_flag(srs(0.5, 3000, 5)), "review: df < 8");
  ASSERT_LE(
      1 - std::pow(0.025, 1 / (1000 * std::pow(steppe::qt(0.025, 999) / steppe::qt(0.025, 50), 2))),
      0.05);
  EXPECT_EQ(reliability_flag({0.0, 0.0, 1000, 50}), "review: p = 0 or 1");
  EXPECT_EQ(reliability_flag({1.0, 0.0, 1000, 50}), "review: p = 0 or 1");
}

TEST(Reliability, SeveralReasonsSuppressFirst) {
  EXPECT_EQ(reliability_flag({0.0, 0.0, 20, 3}),
            "suppress: n < 30; suppress: n_eff < 30; suppress: CI width > 0.30; review: df < 8; "
            "review: p = 0 or 1");
  EXPECT_EQ(reliability_flag({0.5, 0.25 / 1000, 1000, std::numeric_limits<double>::infinity()}),
            "");
}

TEST(Reliability, InvalidInputThrows) {
  EXPECT_THROW(reliability_flag({1.5, 0.01, 100, 10}), steppe::InvalidInput);
  EXPECT_THROW(reliability_flag({0.5, -1.0, 100, 10}), steppe::InvalidInput);
  EXPECT_THROW(reliability_flag({0.5, 0.01, 100, 0}), steppe::InvalidInput);
  EXPECT_THROW(reliability_flag({0.5, 0.01, std::nan(""), 10}), steppe::InvalidInput);
}

}  // namespace
