// PPS variances without replacement (pps_variance.hpp): the O(n) centred forms
// against R's Dcheck matrices written out densely (overton2Dcheck, HRDcheck,
// Brewer's onestrat), the Yates-Grundy correction, the joint-probability form,
// and a design's variance of a total against z' Dcheck z by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"
#include "steppe/partial.hpp"
#include "steppe/pps_variance.hpp"

namespace steppe {
namespace {

bool close(double a, double b, double rel = 1e-12) {
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b)) + 1e-300;
}

/// a' D b with a, b zero outside `at` (dense D, n x n).
double dense_form(const std::vector<double>& D, size_t n, const std::vector<int64_t>& at,
                  const std::vector<double>& a, const std::vector<double>& b, bool yg) {
  std::vector<double> fa(n, 0.0), fb(n, 0.0);
  for (size_t i = 0; i < at.size(); ++i) {
    fa[static_cast<size_t>(at[i])] = a[i];
    fb[static_cast<size_t>(at[i])] = b[i];
  }
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) s += D[i * n + j] * fa[i] * fb[j];
  }
  if (yg) {  // R's ygvar.matrix: minus sum_j (sum_i D_ij) a_j b_j
    for (size_t j = 0; j < n; ++j) {
      double col = 0;
      for (size_t i = 0; i < n; ++i) col += D[i * n + j];
      s -= col * fa[j] * fb[j];
    }
  }
  return s;
}

/// One stratum holding every PSU.
PpsDesign one_stratum(PpsMethod method, const std::vector<double>& pi, PpsVariance variance,
                      std::vector<double> p2bar = {}) {
  PpsInput in;
  in.method = method;
  in.variance = variance;
  in.hr_p2bar = std::move(p2bar);
  const std::vector<int64_t> spb{0, static_cast<int64_t>(pi.size())};
  std::vector<int64_t> rows(pi.size());
  std::iota(rows.begin(), rows.end(), 0);
  return make_pps_design(in, pi, spb, rows, "fpc");
}

const std::vector<double> kPi{0.9, 0.05, 0.3, 0.12, 0.44, 0.7, 0.21};
const std::vector<double> kA{12.5, -3.0, 7.25, 0.5, 40.0, -8.0, 2.0};
const std::vector<double> kB{1.0, 2.0, -4.5, 9.0, 3.5, 0.25, -6.0};

void expect_matches_dense(PpsMethod method, const std::vector<double>& pi, double p2bar,
                          PpsVariance variance, std::vector<double> given_p2 = {}) {
  const PpsDesign pps = one_stratum(method, pi, variance, std::move(given_p2));
  const size_t n = pi.size();
  const std::vector<double> D = pps_stratum_dcheck(method, pi, p2bar);
  const bool yg = variance == PpsVariance::YatesGrundy;
  // Every PSU, then a domain touching only some of them (zeros elsewhere).
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  const std::vector<double> a(kA.begin(), kA.begin() + static_cast<long>(n));
  const std::vector<double> b(kB.begin(), kB.begin() + static_cast<long>(n));
  EXPECT_TRUE(
      close(pps_form(pps, 0, static_cast<int64_t>(n), all, a, b), dense_form(D, n, all, a, b, yg)));
  EXPECT_TRUE(
      close(pps_form(pps, 0, static_cast<int64_t>(n), all, a, a), dense_form(D, n, all, a, a, yg)));
  if (n >= 4) {
    const std::vector<int64_t> some{1, 3, static_cast<int64_t>(n) - 1};
    const std::vector<double> sa{kA[1], kA[3], kA[6]}, sb{kB[1], kB[3], kB[6]};
    EXPECT_TRUE(close(pps_form(pps, 0, static_cast<int64_t>(n), some, sa, sb),
                      dense_form(D, n, some, sa, sb, yg)));
  }
}

TEST(PpsVariance, OvertonMatchesRsDcheck) {
  expect_matches_dense(PpsMethod::Overton, kPi, 0, PpsVariance::HorvitzThompson);
  expect_matches_dense(PpsMethod::Overton, kPi, 0, PpsVariance::YatesGrundy);
}

TEST(PpsVariance, HartleyRaoMatchesRsDcheck) {
  const double mean_pi = std::accumulate(kPi.begin(), kPi.end(), 0.0) / 7;
  expect_matches_dense(PpsMethod::HartleyRao, kPi, mean_pi, PpsVariance::HorvitzThompson);
  expect_matches_dense(PpsMethod::HartleyRao, kPi, mean_pi, PpsVariance::YatesGrundy);
  // A population psum (R's HR(psum)).
  expect_matches_dense(PpsMethod::HartleyRao, kPi, 0.08, PpsVariance::HorvitzThompson, {0.08});
  expect_matches_dense(PpsMethod::HartleyRao, kPi, 0.08, PpsVariance::YatesGrundy, {0.08});
}

TEST(PpsVariance, HartleyRaoPairsAddingToOneAreZeroAsInR) {
  // 0.25 + 0.75 == 1 and 0.5 + 0.5 == 1 exactly: R's HRDcheck zeroes those pairs.
  const std::vector<double> pi{0.25, 0.75, 0.5, 0.5, 0.75, 0.1, 0.5};
  const double mean_pi = std::accumulate(pi.begin(), pi.end(), 0.0) / 7;
  expect_matches_dense(PpsMethod::HartleyRao, pi, mean_pi, PpsVariance::HorvitzThompson);
  expect_matches_dense(PpsMethod::HartleyRao, pi, mean_pi, PpsVariance::YatesGrundy);
  const std::vector<double> D = pps_stratum_dcheck(PpsMethod::HartleyRao, pi, mean_pi);
  EXPECT_EQ(D[0 * 7 + 1], 0.0);
  EXPECT_EQ(D[2 * 7 + 3], 0.0);
  EXPECT_NE(D[0 * 7 + 2], 0.0);
}

TEST(PpsVariance, BrewerIsTheCentredSumOfSquares) {
  expect_matches_dense(PpsMethod::Brewer, kPi, 0, PpsVariance::HorvitzThompson);
  // By hand: n/(n-1) sum (1 - pi_i)(a_i - abar)^2 for three PSUs.
  const std::vector<double> pi{0.2, 0.5, 0.8}, a{3.0, 5.0, 10.0};
  const PpsDesign pps = one_stratum(PpsMethod::Brewer, pi, PpsVariance::HorvitzThompson);
  const double abar = 6.0;
  double want = 0;
  for (size_t i = 0; i < 3; ++i) want += (1 - pi[i]) * (a[i] - abar) * (a[i] - abar);
  want *= 3.0 / 2.0;
  const std::vector<int64_t> all{0, 1, 2};
  EXPECT_TRUE(close(pps_form(pps, 0, 3, all, a, a), want, 1e-14));
}

TEST(PpsVariance, OvertonEqualsBrewerOnTotalsSummingToZero) {
  // Overton's row sums add to zero, so on centred totals (a mean's influence
  // values) its form is Brewer's: R's two designs give the same SE of a mean.
  std::vector<double> a(kA);
  const double mean = std::accumulate(a.begin(), a.end(), 0.0) / 7;
  for (double& x : a) x -= mean;
  std::vector<int64_t> all(7);
  std::iota(all.begin(), all.end(), 0);
  const auto overton = one_stratum(PpsMethod::Overton, kPi, PpsVariance::HorvitzThompson);
  const auto brewer = one_stratum(PpsMethod::Brewer, kPi, PpsVariance::HorvitzThompson);
  EXPECT_TRUE(close(pps_form(overton, 0, 7, all, a, a), pps_form(brewer, 0, 7, all, a, a)));
}

TEST(PpsVariance, JointProbabilitiesGiveTheHorvitzThompsonForm) {
  // A 3 x 3 joint matrix; Dcheck_ij = (pi_ij - pi_i pi_j) / pi_ij by hand.
  const std::vector<double> P{0.5, 0.2, 0.3,  //
                              0.2, 0.4, 0.1,  //
                              0.3, 0.1, 0.6};
  PpsInput in;
  in.method = PpsMethod::Joint;
  in.joint = P;
  const std::vector<int64_t> spb{0, 3}, rows{0, 1, 2};
  const PpsDesign ht = make_pps_design(in, {0.5, 0.4, 0.6}, spb, rows, "fpc");
  in.variance = PpsVariance::YatesGrundy;
  const PpsDesign yg = make_pps_design(in, {0.5, 0.4, 0.6}, spb, rows, "fpc");
  std::vector<double> D(9);
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      D[i * 3 + j] = (P[i * 3 + j] - P[i * 3 + i] * P[j * 3 + j]) / P[i * 3 + j];
    }
  }
  const std::vector<int64_t> all{0, 1, 2};
  const std::vector<double> z{10.0, -4.0, 7.0};
  EXPECT_TRUE(close(pps_form(ht, -1, 0, all, z, z), dense_form(D, 3, all, z, z, false)));
  EXPECT_TRUE(close(pps_form(yg, -1, 0, all, z, z), dense_form(D, 3, all, z, z, true)));
  // Yates-Grundy as -1/2 sum_ij Dcheck_ij (z_i - z_j)^2 for a symmetric Dcheck
  // with zero row sums is the textbook form; here the row sums are not zero, so
  // R's ygvar.matrix differs from HT by sum_j colsum_j z_j^2 only.
  double colsum_term = 0;
  for (size_t j = 0; j < 3; ++j) {
    colsum_term += (D[j] + D[3 + j] + D[6 + j]) * z[j] * z[j];
  }
  EXPECT_TRUE(close(pps_form(ht, -1, 0, all, z, z) - pps_form(yg, -1, 0, all, z, z), colsum_term));
}

TEST(PpsVariance, JointToleranceZeroesSmallEntries) {
  const std::vector<double> P{0.5, 0.25 * 1.00001, 0.25 * 1.00001, 0.5};
  PpsInput in;
  in.method = PpsMethod::Joint;
  in.joint = P;
  const PpsDesign pps = make_pps_design(in, {0.5, 0.5}, std::vector<int64_t>{0, 2},
                                        std::vector<int64_t>{0, 1}, "fpc");
  EXPECT_EQ(pps.dcheck[1], 0.0);  // |(pi_12 - pi_1 pi_2) / pi_12| ~ 1e-5 < 1e-4
  EXPECT_EQ(pps.dcheck[0], 0.5);
}

TEST(PpsVariance, DesignTotalVarianceIsTheFormOnWeightedValues) {
  // Five rows, each its own PSU, two strata; Overton. Var(total) = sum over
  // strata of z' Dcheck z with z_i = y_i / pi_i (R's htvar.matrix on x / prob).
  const std::vector<double> pi{0.2, 0.4, 0.6, 0.3, 0.5}, y{1.0, 3.0, 4.0, 2.0, 6.0};
  const std::vector<int32_t> strata{0, 0, 0, 1, 1};
  DesignInput in;
  in.fpc = pi;
  in.strata = strata;
  in.stratum_labels = {"a", "b"};
  in.pps.method = PpsMethod::Overton;
  const Design d(in);
  EstimateRequest req;
  req.statistic = Statistic::Total;
  req.values = y;
  const EstimateResult r = estimate(d, req);
  double want = 0;
  for (const auto& [lo, hi] : {std::pair<size_t, size_t>{0, 3}, {3, 5}}) {
    const std::vector<double> p(pi.begin() + static_cast<long>(lo),
                                pi.begin() + static_cast<long>(hi));
    const size_t n = hi - lo;
    const std::vector<double> D = pps_stratum_dcheck(PpsMethod::Overton, p, 0);
    std::vector<double> z;
    std::vector<int64_t> at;
    for (size_t i = lo; i < hi; ++i)
      z.push_back(y[i] / pi[i]), at.push_back(static_cast<int64_t>(i - lo));
    want += dense_form(D, n, at, z, z, false);
  }
  EXPECT_TRUE(close(r.variance[0], want, 1e-13));
  EXPECT_TRUE(close(r.estimate[0], 1 / 0.2 + 3 / 0.4 + 4 / 0.6 + 2 / 0.3 + 6 / 0.5, 1e-14));
  EXPECT_EQ(d.sorted_weights()[0], 1.0 / (1.0 / ((3.0 / 0.2) / 3.0)));
}

TEST(PpsVariance, BrewerLonelyPsuFollowsTheRule) {
  const std::vector<double> pi{0.2, 0.4, 0.6, 0.3}, y{1.0, 3.0, 4.0, 2.0};
  const std::vector<int32_t> strata{0, 0, 0, 1};
  DesignInput in;
  in.fpc = pi;
  in.strata = strata;
  in.stratum_labels = {"a", "lonely"};
  in.pps.method = PpsMethod::Brewer;
  EstimateRequest req;
  req.statistic = Statistic::Total;
  req.values = y;
  try {
    estimate(Design(in), req);
    ADD_FAILURE() << "expected NotEstimable";
  } catch (const NotEstimable& e) {
    EXPECT_NE(std::string(e.what()).find("'lonely'"), std::string::npos) << e.what();
  }
  in.lonely_psu = LonelyPsu::Adjust;
  const EstimateResult adjusted = estimate(Design(in), req);
  in.lonely_psu = LonelyPsu::Certainty;
  const EstimateResult certain = estimate(Design(in), req);
  // "adjust" adds f z^2 for the lonely PSU (f = 1 - pi, z = y / pi); "certainty" 0.
  const double z = 2.0 / 0.3, f = (1 / 0.3 - 1) / (1 / 0.3);
  EXPECT_TRUE(close(adjusted.variance[0] - certain.variance[0], f * z * z, 1e-12));
}

TEST(PpsVariance, PartialStatesNeedTheWholeDesignInOneScan) {
  // The forms pair PSUs, so scan 2 cannot be split (Dask partitions, threads).
  const std::vector<double> pi{0.2, 0.4, 0.6, 0.3}, y{1.0, 3.0, 4.0, 2.0};
  DesignInput in;
  in.fpc = pi;
  in.pps.method = PpsMethod::HartleyRao;
  const Design d(in);
  EstimateRequest req;
  req.statistic = Statistic::Total;
  req.values = y;
  const TotalsState totals = scan_totals(d, req, 0, 4);
  const DomainPlan plan = plan_estimate(d, req, totals);
  try {
    scan_spread(d, req, plan, 0, 2);
    ADD_FAILURE() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(std::string(e.what()),
              "a PPS design's variance needs every PSU in one scan (PSUs 0 to 2 of 4 given)");
  }
  const EstimateResult whole = finish_estimate(d, req, totals, scan_spread(d, req, plan, 0, 4));
  req.threads = 4;
  EXPECT_EQ(whole.variance[0], estimate(d, req).variance[0]);
}

TEST(PpsVariance, Errors) {
  auto message = [](const DesignInput& in) -> std::string {
    try {
      Design d(in);
    } catch (const InvalidInput& e) {
      return e.what();
    }
    return "";
  };
  const std::vector<double> pi{0.2, 0.4, 1.5};
  DesignInput in;
  in.fpc = pi;
  in.pps.method = PpsMethod::Overton;
  EXPECT_EQ(message(in),
            "fpc must hold inclusion probabilities in (0, 1] for a PPS design; row 2 has 1.5");
  in.fpc = {};
  in.rows = 3;
  EXPECT_EQ(message(in),
            "pps='overton' needs fpc: each row's PSU inclusion probability (R's fpc as sampling "
            "fractions)");
  EXPECT_THROW(parse_pps_method("HR"), InvalidInput);
  EXPECT_THROW(parse_pps_variance("ht"), InvalidInput);
  EXPECT_EQ(parse_pps_method("hartley-rao"), PpsMethod::HartleyRao);
}

}  // namespace
}  // namespace steppe
