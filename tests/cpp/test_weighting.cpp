// Weighting whole designs (steppe/weighting.hpp): the design-level steps give
// R's weights (tests/golden/weights.json, written by make_weights_golden.R),
// keep inside the new design the calibration the variance needs (and a
// trimmed design the calibration it had), weight replicate columns exactly as
// the column-level arithmetic does for any thread count, and name the first
// failing replicate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"
#include "steppe/replicate.hpp"
#include "steppe/weighting.hpp"

namespace steppe {
namespace {

using nlohmann::json;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kTol = 1e-9;

const json& golden() {
  static const json data = steppe::golden::read("weights.json");
  return data;
}

std::vector<double> doubles(const json& j) {
  std::vector<double> v;
  for (const auto& x : j) v.push_back(x.is_null() ? std::nan("") : x.get<double>());
  return v;
}
std::vector<int32_t> ints(const json& j) { return j.get<std::vector<int32_t>>(); }
double bound(const json& j, double if_null) { return j.is_null() ? if_null : j.get<double>(); }

void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double scale = std::max(std::abs(got[i]), std::abs(want[i]));
    const double d = got[i] == want[i] ? 0 : std::abs(got[i] - want[i]) / scale;
    worst = std::max(worst, std::isnan(d) ? kInf : d);
  }
  EXPECT_LE(worst, kTol) << what;
}

/// A design with only weights (the weighting goldens have no strata or PSUs).
Design plain(const std::vector<double>& w) {
  DesignInput in;
  in.weights = w;
  return Design(in);
}

std::vector<CodeColumn> code_columns(const std::vector<std::vector<int32_t>>& codes) {
  return {codes.begin(), codes.end()};
}

template <class F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing \"" << fragment << "\"";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------
// Golden: the design-level steps give R's weights.
// ---------------------------------------------------------------------------
TEST(WeightingGolden, PostStratifyKeepsTheCellsForTheVariance) {
  for (const auto& c : golden()["poststratify"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    std::vector<std::vector<int32_t>> vars, pop_levels;
    for (const auto& v : c["vars"]) vars.push_back(ints(v));
    for (const auto& v : c["pop_levels"]) pop_levels.push_back(ints(v));
    const auto counts = doubles(c["pop_counts"]);
    PostStratifyInput in;
    in.variables = code_columns(vars);
    in.levels = ints(c["levels"]);
    in.population.levels.assign(pop_levels.begin(), pop_levels.end());
    in.population.counts = counts;
    const Weighted r = post_stratify(plain(w), in);
    expect_close(r.design.weights(), doubles(c["expected"]), "poststratify " + name);
    EXPECT_EQ(r.design.replicates(), nullptr);
    EXPECT_EQ(r.report.method, "poststratify");
    ASSERT_TRUE(r.design.calibration().active()) << name;
    ASSERT_EQ(r.design.calibration().steps.size(), 1u) << name;
    const CalibrationStep& cal = r.design.calibration().last();
    EXPECT_TRUE(cal.indicator && !cal.raking());
    EXPECT_EQ(cal.columns, r.report.cells);
    EXPECT_EQ(cal.cal_weight, r.design.weights());
  }
}

TEST(WeightingGolden, RakeReportsPassesAndKeepsTheRakingResiduals) {
  for (const auto& c : golden()["rake"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    std::vector<std::vector<int32_t>> margins;
    for (const auto& v : c["margins"]) margins.push_back(ints(v));
    std::vector<std::vector<double>> totals;
    for (const auto& t : c["totals"]) totals.push_back(doubles(t));
    RakeInput in;
    in.margins = code_columns(margins);
    in.levels = ints(c["levels"]);
    in.totals.assign(totals.begin(), totals.end());
    in.options.maxit = c["maxit"];
    in.options.epsilon = c["epsilon"];
    in.names = {"first", "second", "third"};
    // R warns "Raking did not converge" and keeps the last pass's weights, as steppe.
    const Weighted r = rake(plain(w), in);
    expect_close(r.design.weights(), doubles(c["expected"]), "rake " + name);
    EXPECT_EQ(r.report.iterations, c["passes"].get<int32_t>()) << name;
    EXPECT_EQ(r.report.converged, c["converged"].get<bool>()) << name;
    EXPECT_EQ(r.report.margin_errors.size(), margins.size());
    ASSERT_TRUE(r.design.calibration().active()) << name;
    EXPECT_TRUE(r.design.calibration().last().raking()) << name;
    EXPECT_EQ(r.design.calibration().last().raking_factors.size(), margins.size());
  }
}

TEST(WeightingGolden, CalibrateKeepsTheModelForTheVariance) {
  for (const auto& c : golden()["calibrate"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    const auto matrix = doubles(c["matrix"]);
    const auto totals = doubles(c["totals"]);
    CalibrateInput in;
    in.matrix = matrix;
    in.columns = c["columns"].get<int32_t>();
    in.totals = totals;
    in.options.calfun = parse_calfun(c["calfun"].get<std::string>());
    in.options.lower = bound(c["lower"], -kInf);
    in.options.upper = bound(c["upper"], kInf);
    in.options.maxit = c["maxit"];
    in.options.epsilon = {c["epsilon"].get<double>()};
    in.options.trim_lower = bound(c["trim_lower"], std::nan(""));
    in.options.trim_upper = bound(c["trim_upper"], std::nan(""));
    // Not converging keeps the last iterate, as R's calibrate(force = TRUE).
    const Weighted r = calibrate(plain(w), in);
    expect_close(r.design.weights(), doubles(c["expected"]), "calibrate " + name);
    EXPECT_EQ(r.report.converged, c["converged"].get<bool>()) << name;
    if (!c["r_iter"].is_null()) {
      EXPECT_EQ(r.report.iterations, c["r_iter"].get<int32_t>()) << name;
    }
    ASSERT_TRUE(r.design.calibration().active()) << name;
    const CalibrationStep& cal = r.design.calibration().last();
    EXPECT_FALSE(cal.indicator);
    EXPECT_EQ(static_cast<size_t>(cal.columns), r.report.kept_columns.size());
    EXPECT_EQ(cal.matrix.size(), w.size() * r.report.kept_columns.size());
  }
}

TEST(WeightingGolden, TrimAsRIncludingEveryWeightOutside) {
  for (const auto& c : golden()["trim"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    TrimInput in{bound(c["lower"], -kInf), bound(c["upper"], kInf), c["strict"].get<bool>()};
    if (c["r_error"].get<bool>()) {
      EXPECT_THROW(trim(plain(w), in), NotEstimable) << name;
      continue;
    }
    const Weighted r = trim(plain(w), in);
    const auto expected = doubles(c["expected"]);
    expect_close(r.design.weights(), expected, "trim " + name);
    int64_t outside = 0;
    for (const double x : w) outside += x < in.lower || x > in.upper;
    EXPECT_EQ(r.report.trimmed, outside) << name;
    EXPECT_EQ(r.report.iterations == 0, outside == 0) << name;
    EXPECT_FALSE(r.design.calibration().active());
  }
}

// ---------------------------------------------------------------------------
// Designs: chains of weighting steps, trimming a calibrated design.
// ---------------------------------------------------------------------------
struct Sample {
  std::vector<double> w;
  std::vector<std::vector<int32_t>> codes;  // two variables: 2 and 3 levels
  std::vector<double> matrix;               // intercept, x
  std::vector<std::vector<double>> reps;    // replicate columns
};

Sample sample(size_t n, size_t replicates, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(1, 4), f(0.5, 1.5), x(0, 10);
  Sample s;
  s.codes.assign(2, std::vector<int32_t>(n));
  for (size_t i = 0; i < n; ++i) {
    s.w.push_back(u(rng));
    s.codes[0][i] = static_cast<int32_t>(i % 2);
    s.codes[1][i] = static_cast<int32_t>((i / 2) % 3);
    s.matrix.push_back(1);
    s.matrix.push_back(x(rng));
  }
  for (size_t r = 0; r < replicates; ++r) {
    std::vector<double> col(n);
    for (size_t i = 0; i < n; ++i) col[i] = s.w[i] * f(rng);
    s.reps.push_back(std::move(col));
  }
  return s;
}

/// The sample as a replicate design (JK1 constants; the columns as given).
Design replicated(const Sample& s) {
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = "JK1";
  rv->rows = static_cast<int64_t>(s.w.size());
  for (const auto& col : s.reps) rv->weights.insert(rv->weights.end(), col.begin(), col.end());
  rv->rscales.assign(s.reps.size(), 1.0);
  rv->scale = static_cast<double>(s.reps.size() - 1) / static_cast<double>(s.reps.size());
  return plain(s.w).with_replicates(std::move(rv));
}

WeightingOptions threads(int n) {
  WeightingOptions opt;
  opt.threads = n;
  return opt;
}

const std::vector<double> kCellCounts{100, 200, 300, 150, 250, 350};  // 2 x 3 cells
const std::vector<std::vector<int32_t>> kCellLevels{{0, 0, 0, 1, 1, 1}, {0, 1, 2, 0, 1, 2}};
const std::vector<double> kSexTotals{600, 750}, kAgeTotals{250, 450, 650};
const std::vector<double> kCalTotals{1350, 6000};

PostStratifyInput ps_input(const Sample& s) {
  PostStratifyInput in;
  in.variables = code_columns(s.codes);
  in.levels = {2, 3};
  in.population.levels.assign(kCellLevels.begin(), kCellLevels.end());
  in.population.counts = kCellCounts;
  return in;
}

RakeInput rake_input(const Sample& s) {
  RakeInput in;
  in.margins = code_columns(s.codes);
  in.levels = {2, 3};
  in.totals = {kSexTotals, kAgeTotals};
  in.options.maxit = 50;
  in.options.epsilon = 1e-9;
  return in;
}

CalibrateInput cal_input(const Sample& s, CalFun f) {
  CalibrateInput in;
  in.matrix = s.matrix;
  in.columns = 2;
  in.totals = kCalTotals;
  in.options.calfun = f;
  if (f != CalFun::Linear) {
    in.options.lower = 0.2;
    in.options.upper = 5;
  }
  return in;
}

TEST(Weighting, StepsChainAsRsPostStrata) {
  const Sample s = sample(120, 0, 1);
  const Weighted ps = post_stratify(plain(s.w), ps_input(s));
  const Weighted cal = calibrate(ps.design, cal_input(s, CalFun::Linear));
  const Weighted rk = rake(cal.design, rake_input(s));
  const Calibration& chain = rk.design.calibration();
  ASSERT_EQ(chain.steps.size(), 3u);
  EXPECT_TRUE(chain.steps[0].indicator && !chain.steps[0].raking());
  EXPECT_FALSE(chain.steps[1].indicator);
  EXPECT_TRUE(chain.steps[2].raking());
  EXPECT_EQ(chain.offset, (std::vector<int32_t>{0, chain.steps[0].columns,
                                                chain.steps[0].columns + chain.steps[1].columns}));
  EXPECT_EQ(chain.columns, chain.offset[2] + chain.steps[2].columns);
  ASSERT_EQ(chain.cross.size(), 3u);
  EXPECT_TRUE(chain.cross[0].empty());
  ASSERT_EQ(chain.cross[2].size(), 2u);
  EXPECT_EQ(chain.cross[2][1].size(),
            static_cast<size_t>(chain.steps[2].columns * chain.steps[1].columns));
  // Each step starts from the weights the one before left.
  EXPECT_EQ(chain.steps[1].cal_weight, cal.design.weights());
  EXPECT_EQ(chain.steps[2].cal_weight, cal.design.weights());  // raking: w_base
  // C_10 = sum_i (w_base / w_cal)_1 m_1 (w_cal,0 m_0)': the intercept column sums
  // w_base,1 = w_cal,0 over each post-stratum.
  const auto& c10 = chain.cross[1][0];
  for (size_t cell = 0; cell < static_cast<size_t>(chain.steps[0].columns); ++cell) {
    double want = 0;
    for (size_t i = 0; i < s.w.size(); ++i) {
      if (static_cast<size_t>(chain.steps[0].cell[i]) == cell) {
        want += ps.design.weights()[i] * ps.design.weights()[i] / cal.design.weights()[i];
      }
    }
    EXPECT_NEAR(c10[cell], want, 1e-9 * want);
  }
}

// The variance of a chained design against R's svyrecvar written out per row:
// each step's residuals in turn (post-strata means, the GREG projection, ten
// raking sweeps per margin), then the with-replacement variance of the
// residual totals (rows are PSUs, one stratum, no fpc).
TEST(Weighting, ChainedVarianceIsEachStepsResidualsInTurn) {
  const Sample s = sample(150, 0, 11);
  const size_t n = s.w.size();
  const Weighted ps = post_stratify(plain(s.w), ps_input(s));
  const Weighted cal = calibrate(ps.design, cal_input(s, CalFun::Linear));
  const Weighted rk = rake(cal.design, rake_input(s));
  const Weighted tr = trim(rk.design, TrimInput{-kInf, 1e9, false});  // no-op, keeps steps
  const Design& d = tr.design;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = s.matrix[2 * i + 1] * s.matrix[2 * i + 1] + static_cast<double>(i % 7);
  }
  EstimateRequest req;
  req.statistic = Statistic::Total;
  req.values = y;
  const EstimateResult got = estimate(d, req);

  const std::vector<double>& w = d.weights();
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = w[i] * y[i];
  const Calibration& chain = d.calibration();
  ASSERT_EQ(chain.steps.size(), 3u);
  {  // post-strata: x -= psw * rowsum(x oldw / psw) / rowsum(oldw)
    const std::vector<double>& wb = s.w;
    const std::vector<double>& wc = ps.design.weights();
    const CalibrationStep& st = chain.steps[0];
    std::vector<double> num(static_cast<size_t>(st.columns), 0.0), den(num.size(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      num[static_cast<size_t>(st.cell[i])] += x[i] * wb[i] / wc[i];
      den[static_cast<size_t>(st.cell[i])] += wb[i];
    }
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<size_t>(st.cell[i]);
      x[i] -= num[c] / den[c] * wc[i];
    }
  }
  {  // GREG: beta = (M' Wb M)^-1 M' (x wb / wc); x -= wc M beta
    const std::vector<double>& wb = ps.design.weights();
    const std::vector<double>& wc = cal.design.weights();
    double a00 = 0, a01 = 0, a11 = 0, b0 = 0, b1 = 0;
    for (size_t i = 0; i < n; ++i) {
      const double m0 = s.matrix[2 * i], m1 = s.matrix[2 * i + 1];
      a00 += wb[i] * m0 * m0;
      a01 += wb[i] * m0 * m1;
      a11 += wb[i] * m1 * m1;
      b0 += m0 * x[i] * wb[i] / wc[i];
      b1 += m1 * x[i] * wb[i] / wc[i];
    }
    const double det = a00 * a11 - a01 * a01;
    const double beta0 = (a11 * b0 - a01 * b1) / det, beta1 = (a00 * b1 - a01 * b0) / det;
    for (size_t i = 0; i < n; ++i) {
      x[i] -= wc[i] * (s.matrix[2 * i] * beta0 + s.matrix[2 * i + 1] * beta1);
    }
  }
  {  // raking: ten sweeps of x -= psw_m * ave(x / psw_m, margin m)
    const CalibrationStep& st = chain.steps[2];
    for (int it = 0; it < 10; ++it) {
      for (size_t m = 0; m < st.raking_levels.size(); ++m) {
        std::vector<double> psw(n);
        std::vector<double> sum(6, 0.0), count(6, 0.0);
        for (size_t i = 0; i < n; ++i) {
          const auto c = static_cast<size_t>(st.cell[i]);
          psw[i] = st.cal_weight[i] * st.raking_factors[m][c];
          const auto l = static_cast<size_t>(st.raking_levels[m][c]);
          sum[l] += x[i] / psw[i];
          count[l] += 1;
        }
        for (size_t i = 0; i < n; ++i) {
          const auto l = static_cast<size_t>(st.raking_levels[m][static_cast<size_t>(st.cell[i])]);
          x[i] -= psw[i] * sum[l] / count[l];
        }
      }
    }
  }
  double mean = 0;
  for (const double v : x) mean += v / static_cast<double>(n);
  double want = 0;
  for (const double v : x) want += (v - mean) * (v - mean);
  want *= static_cast<double>(n) / static_cast<double>(n - 1);
  ASSERT_EQ(got.variance.size(), 1u);
  EXPECT_NEAR(got.variance[0], want, 1e-9 * want);
}

TEST(Weighting, TrimmingACalibratedDesignKeepsItsCalibration) {
  const Sample s = sample(120, 0, 2);
  const Weighted ps = post_stratify(plain(s.w), ps_input(s));
  const double top = *std::max_element(ps.design.weights().begin(), ps.design.weights().end());
  const Weighted t = trim(ps.design, TrimInput{-kInf, 0.9 * top, false});
  EXPECT_LE(*std::max_element(t.design.weights().begin(), t.design.weights().end()), 0.9 * top);
  EXPECT_NE(t.design.weights(), ps.design.weights());
  ASSERT_TRUE(t.design.calibration().active());
  ASSERT_EQ(t.design.calibration().steps.size(), 1u);  // trimming adds no step, as in R
  const CalibrationStep &before = ps.design.calibration().last(),
                        &after = t.design.calibration().last();
  EXPECT_EQ(after.cell, before.cell);
  EXPECT_EQ(after.cal_weight, before.cal_weight);  // the weights right after calibrating
  EXPECT_EQ(after.omega_factor, before.omega_factor);
  EXPECT_EQ(after.normal_inverse, before.normal_inverse);
  // The sort is reused: same order, new weights in sorted order.
  EXPECT_EQ(t.design.order(), ps.design.order());
  for (size_t k = 0; k < t.design.sorted_weights().size(); ++k) {
    const size_t i = t.design.order().empty() ? k : static_cast<size_t>(t.design.order()[k]);
    EXPECT_EQ(t.design.sorted_weights()[k], t.design.weights()[i]);
  }
}

// ---------------------------------------------------------------------------
// Replicate designs: every column weighted as the column-level arithmetic
// does, the same for any thread count.
// ---------------------------------------------------------------------------
void expect_replicates(const Weighted& one, const Weighted& two, const Sample& s,
                       const std::function<std::vector<double>(const std::vector<double>&)>& col,
                       const std::string& what) {
  const ReplicateVariance* a = one.design.replicates();
  const ReplicateVariance* b = two.design.replicates();
  ASSERT_TRUE(a != nullptr && b != nullptr) << what;
  ASSERT_EQ(a->count(), s.reps.size()) << what;
  EXPECT_EQ(a->weights, b->weights) << what << ": threads changed them";
  EXPECT_EQ(one.design.weights(), two.design.weights()) << what;
  EXPECT_FALSE(one.design.calibration().active()) << what;  // variance from the replicates
  EXPECT_EQ(a->type, "JK1");
  EXPECT_EQ(a->rscales, std::vector<double>(s.reps.size(), 1.0));
  for (size_t r = 0; r < s.reps.size(); ++r) {
    const auto got = a->column(r);
    EXPECT_EQ(std::vector<double>(got.begin(), got.end()), col(s.reps[r]))
        << what << " replicate " << r;
  }
}

TEST(WeightingReplicates, PostStratifyEveryColumn) {
  const Sample s = sample(300, 7, 3);
  const auto in = ps_input(s);
  const Weighted one = post_stratify(replicated(s), in, threads(1));
  const Weighted two = post_stratify(replicated(s), in, threads(2));
  EXPECT_EQ(one.design.weights(), post_stratify(plain(s.w), in).design.weights());
  expect_replicates(
      one, two, s,
      [&](const std::vector<double>& c) {
        return post_stratify(build_cells(c, in.variables, in.levels), c, in.population).weights;
      },
      "poststratify");
}

TEST(WeightingReplicates, RakeEveryColumnForTheFullSamplesPasses) {
  const Sample s = sample(300, 7, 4);
  const auto in = rake_input(s);
  const Weighted one = rake(replicated(s), in, threads(1));
  const Weighted two = rake(replicated(s), in, threads(3));
  ASSERT_GT(one.report.iterations, 1);
  RakeOptions same;
  same.maxit = one.report.iterations;
  same.epsilon = 1e-300;
  expect_replicates(
      one, two, s,
      [&](const std::vector<double>& c) {
        return rake(build_cells(c, in.margins, in.levels), c, in.totals, same).weights;
      },
      "rake");
}

TEST(WeightingReplicates, CalibrateEveryColumn) {
  const Sample s = sample(300, 7, 5);
  for (const CalFun f : {CalFun::Linear, CalFun::Raking, CalFun::Logit}) {
    const auto in = cal_input(s, f);
    const Weighted one = calibrate(replicated(s), in, threads(1));
    const Weighted two = calibrate(replicated(s), in, threads(2));
    expect_replicates(
        one, two, s,
        [&](const std::vector<double>& c) {
          return calibrate(in.matrix, in.columns, c, {}, in.totals, in.options).weights;
        },
        "calibrate " + std::string(to_string(f)));
  }
}

TEST(WeightingReplicates, TrimEveryColumnByTheSameRule) {
  const Sample s = sample(300, 7, 6);
  const TrimInput in{1.5, 3.5, true};
  const Weighted one = trim(replicated(s), in, threads(1));
  const Weighted two = trim(replicated(s), in, threads(2));
  EXPECT_EQ(one.design.weights(), trim_weights(s.w, 1.5, 3.5, true).weights);
  expect_replicates(
      one, two, s,
      [&](const std::vector<double>& c) { return trim_weights(c, 1.5, 3.5, true).weights; },
      "trim");
}

TEST(WeightingReplicates, TheFirstFailingReplicateIsNamedForAnyThreadCount) {
  Sample s = sample(60, 6, 7);
  // Replicates 2 and 5 (1-based) drop every row of cell (0, 0): no sample there.
  for (const size_t r : {size_t{1}, size_t{4}}) {
    for (size_t i = 0; i < s.w.size(); ++i) {
      if (s.codes[0][i] == 0 && s.codes[1][i] == 0) s.reps[r][i] = 0;
    }
  }
  for (const int n : {1, 2, 4}) {
    expect_error([&] { post_stratify(replicated(s), ps_input(s), threads(n)); },
                 "replicate 2: poststratify");
    EXPECT_THROW(post_stratify(replicated(s), ps_input(s), threads(n)), InvalidInput);
  }
  // Named by column when the names are given.
  WeightingOptions named = threads(2);
  named.replicate_names = {"wt1", "wt2", "wt3", "wt4", "wt5", "wt6"};
  expect_error([&] { post_stratify(replicated(s), ps_input(s), named); },
               "replicate 2 (wt2): poststratify");
  // Negative replicate weights: post-stratification and raking refuse them.
  Sample bad = sample(60, 3, 8);
  bad.reps[2][5] = -1;
  expect_error([&] { post_stratify(replicated(bad), ps_input(bad)); },
               "replicate 3: the weight at row 5 is -1");
  expect_error([&] { rake(replicated(bad), rake_input(bad)); },
               "replicate 3: the weight at row 5 is -1");
}

TEST(WeightingReplicates, ASingularReplicateCalibrationIsNamed) {
  // A replicate with every weight 0: its normal equations are singular.
  Sample s = sample(40, 2, 9);
  std::fill(s.reps[1].begin(), s.reps[1].end(), 0.0);
  expect_error([&] { calibrate(replicated(s), cal_input(s, CalFun::Linear), threads(2)); },
               "replicate 2: calibrate: the auxiliaries are collinear");
}

}  // namespace
}  // namespace steppe
