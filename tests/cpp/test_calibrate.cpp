// Weighting against R's survey (tests/golden/weights.json, written by
// tests/golden/make_weights_golden.R): postStratify, rake, calibrate and
// trimWeights, plus the cell table's sparsity and the errors it promises.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/calibrate.hpp"
#include "steppe/errors.hpp"

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

double max_rel_diff(const std::vector<double>& got, const std::vector<double>& want) {
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double scale = std::max(std::abs(got[i]), std::abs(want[i]));
    const double d = got[i] == want[i] ? 0 : std::abs(got[i] - want[i]) / scale;
    worst = std::max(worst, std::isnan(d) ? kInf : d);
  }
  return worst;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                  const std::string& what, double tol = kTol) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double d = max_rel_diff(got, want);
  EXPECT_LE(d, tol) << what;
  ::testing::Test::RecordProperty(what, std::to_string(d));
  std::printf("  %-45s max rel diff vs R %.2e\n", what.c_str(), d);
}

// ---------------------------------------------------------------------------
// Golden: R's postStratify.
// ---------------------------------------------------------------------------
TEST(CalibrateGolden, PostStratify) {
  for (const auto& c : golden()["poststratify"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    std::vector<std::vector<int32_t>> vars, pop_levels;
    for (const auto& v : c["vars"]) vars.push_back(ints(v));
    for (const auto& v : c["pop_levels"]) pop_levels.push_back(ints(v));
    const auto counts = doubles(c["pop_counts"]);
    const std::vector<std::span<const int32_t>> var_spans(vars.begin(), vars.end());
    const CellTable cells = build_cells(w, var_spans, ints(c["levels"]));
    PopulationCells pop;
    pop.levels.assign(pop_levels.begin(), pop_levels.end());
    pop.counts = counts;
    const PostStratifyResult r = post_stratify(cells, w, pop);
    expect_close(r.weights, doubles(c["expected"]), "poststratify " + name);
  }
}

// ---------------------------------------------------------------------------
// Golden: R's rake, final weights and the per-margin weights of the last pass.
// ---------------------------------------------------------------------------
TEST(CalibrateGolden, Rake) {
  for (const auto& c : golden()["rake"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    std::vector<std::vector<int32_t>> margins;
    for (const auto& v : c["margins"]) margins.push_back(ints(v));
    std::vector<std::vector<double>> totals;
    for (const auto& t : c["totals"]) totals.push_back(doubles(t));
    const CellTable cells =
        build_cells(w, std::vector<std::span<const int32_t>>(margins.begin(), margins.end()),
                    ints(c["levels"]));
    RakeOptions opt;
    opt.maxit = c["maxit"];
    opt.epsilon = c["epsilon"];
    const RakeResult r =
        rake(cells, w, std::vector<std::span<const double>>(totals.begin(), totals.end()), opt);
    expect_close(r.weights, doubles(c["expected"]), "rake " + name);
    EXPECT_EQ(r.converged, c["converged"].get<bool>()) << name;
    EXPECT_EQ(r.passes, c["passes"].get<int32_t>()) << name;
    ASSERT_EQ(r.margin_g.size(), c["margin_weights"].size()) << name;
    for (size_t m = 0; m < r.margin_g.size(); ++m) {
      expect_close(apply_factors(cells, w, r.margin_g[m]), doubles(c["margin_weights"][m]),
                   "rake " + name + " margin " + std::to_string(m));
    }
    // The last margin's weights are the final weights.
    EXPECT_EQ(r.margin_g.back(), r.g);
    if (r.converged) {
      for (const double e : r.margin_error) EXPECT_LT(e, r.tolerance + 1e-6) << name;
    }
  }
}

// ---------------------------------------------------------------------------
// Golden: R's calibrate (regcalibrate and grake), by row and, where every
// auxiliary is categorical, by cell.
// ---------------------------------------------------------------------------
TEST(CalibrateGolden, Calibrate) {
  for (const auto& c : golden()["calibrate"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    const auto matrix = doubles(c["matrix"]);
    const auto columns = c["columns"].get<int32_t>();
    const auto totals = doubles(c["totals"]);
    CalibrateOptions opt;
    opt.calfun = parse_calfun(c["calfun"].get<std::string>());
    opt.lower = bound(c["lower"], -kInf);
    opt.upper = bound(c["upper"], kInf);
    opt.maxit = c["maxit"];
    opt.epsilon = {c["epsilon"].get<double>()};
    opt.trim_lower = bound(c["trim_lower"], std::nan(""));
    opt.trim_upper = bound(c["trim_upper"], std::nan(""));
    const auto expected = doubles(c["expected"]);

    const CalibrateResult r = calibrate(matrix, columns, w, {}, totals, opt);
    expect_close(r.weights, expected, "calibrate " + name);
    if (opt.calfun == CalFun::Linear && opt.lower == -kInf && opt.upper == kInf) {
      // R's regcalibrate path and grake's Newton step (finite but vacuous
      // bounds force grake) give the same g.
      CalibrateOptions newton = opt;
      newton.lower = -1e300;
      newton.upper = 1e300;
      const CalibrateResult rn = calibrate(matrix, columns, w, {}, totals, newton);
      EXPECT_EQ(rn.iterations, 1) << name;
      expect_close(rn.weights, r.weights, "grake vs regcalibrate " + name, 1e-12);
    }
    EXPECT_EQ(r.converged, c["converged"].get<bool>()) << name;
    if (!c["r_iter"].is_null()) {
      EXPECT_EQ(r.iterations, c["r_iter"].get<int32_t>()) << name;
    }

    if (c["cell_vars"].empty()) continue;
    std::vector<std::vector<int32_t>> vars;
    std::vector<int32_t> levels;
    for (const auto& v : c["cell_vars"]) {
      vars.push_back(ints(v));
      levels.push_back(*std::max_element(vars.back().begin(), vars.back().end()) + 1);
    }
    const CellTable cells =
        build_cells(w, std::vector<std::span<const int32_t>>(vars.begin(), vars.end()), levels);
    const auto p = static_cast<size_t>(columns);
    std::vector<double> cell_matrix(cells.size() * p);
    for (size_t k = 0; k < cells.size(); ++k) {
      const auto i = static_cast<size_t>(cells.first_row[k]);
      std::copy_n(matrix.begin() + static_cast<std::ptrdiff_t>(i * p), p,
                  cell_matrix.begin() + static_cast<std::ptrdiff_t>(k * p));
    }
    const CalibrateResult rc = calibrate(cell_matrix, columns, w, cells.cell_of_row, totals, opt);
    expect_close(rc.weights, expected, "calibrate by cell " + name);
    EXPECT_EQ(rc.converged, r.converged) << name;
    EXPECT_EQ(rc.iterations, r.iterations) << name;
  }
}

// ---------------------------------------------------------------------------
// Golden: R's trimWeights.
// ---------------------------------------------------------------------------
TEST(CalibrateGolden, Trim) {
  for (const auto& c : golden()["trim"]) {
    const std::string name = c["name"];
    const auto w = doubles(c["weights"]);
    const double lower = bound(c["lower"], -kInf), upper = bound(c["upper"], kInf);
    const bool strict = c["strict"].get<bool>();
    if (c["r_error"].get<bool>()) {
      // R recurses until its stack runs out: the bounds cannot hold the total.
      EXPECT_THROW(trim_weights(w, lower, upper, strict), NotEstimable) << name;
      continue;
    }
    const TrimResult r = trim_weights(w, lower, upper, strict);
    expect_close(r.weights, doubles(c["expected"]), "trim " + name);
  }
}

// ---------------------------------------------------------------------------
// The cell table.
// ---------------------------------------------------------------------------
TEST(Cells, SparseCrossClassificationKeepsOnlyOccurringCells) {
  // 9 variables of 100000 levels: 1e45 possible combinations, overflowing any
  // mixed-radix key; only the (at most) 5000 that occur may be stored.
  std::mt19937 rng(7);
  const size_t n = 5000, vars = 9;
  const int32_t L = 100000;
  std::vector<std::vector<int32_t>> codes(vars, std::vector<int32_t>(n));
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) {
    w[i] = 1 + static_cast<double>(rng() % 10);
    for (size_t v = 0; v < vars; ++v) codes[v][i] = static_cast<int32_t>(rng() % (v < 3 ? 3 : L));
    if (i % 2 == 1) {  // duplicate the previous row's combination
      for (size_t v = 0; v < vars; ++v) codes[v][i] = codes[v][i - 1];
    }
  }
  const CellTable t =
      build_cells(w, std::vector<std::span<const int32_t>>(codes.begin(), codes.end()),
                  std::vector<int32_t>(vars, L));
  std::set<std::vector<int32_t>> distinct;
  for (size_t i = 0; i < n; ++i) {
    std::vector<int32_t> key(vars);
    for (size_t v = 0; v < vars; ++v) key[v] = codes[v][i];
    distinct.insert(key);
  }
  ASSERT_EQ(t.size(), distinct.size());
  // Cells in lexicographic order of their levels; each row's cell has its levels.
  auto it = distinct.begin();
  for (size_t c = 0; c < t.size(); ++c, ++it) {
    for (size_t v = 0; v < vars; ++v) EXPECT_EQ(t.level[v][c], (*it)[v]);
  }
  double total = 0;
  int64_t rows = 0;
  for (size_t c = 0; c < t.size(); ++c) {
    total += t.weight[c];
    rows += t.rows[c];
  }
  EXPECT_EQ(rows, static_cast<int64_t>(n));
  double wsum = 0;
  for (size_t i = 0; i < n; ++i) {
    wsum += w[i];
    const auto c = static_cast<size_t>(t.cell_of_row[i]);
    for (size_t v = 0; v < vars; ++v) ASSERT_EQ(t.level[v][c], codes[v][i]);
  }
  EXPECT_DOUBLE_EQ(total, wsum);
}

TEST(Cells, ReadsNarrowCodesAndNoVariables) {
  const std::vector<double> w{1, 2, 3, 4};
  const std::vector<int8_t> a{1, 0, 1, 0};
  const std::vector<int16_t> b{0, 0, 2, 2};
  const CellTable t = build_cells(
      w, std::vector<CodeColumn>{std::span<const int8_t>(a), std::span<const int16_t>(b)}, {2, 3});
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t.weight, (std::vector<double>{2, 4, 1, 3}));  // (0,0) (0,2) (1,0) (1,2)
  const CellTable one = build_cells(w, std::vector<CodeColumn>{}, {});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.weight[0], 10);
}

TEST(Cells, MissingOrBadCodesAreErrors) {
  const std::vector<double> w{1, 1, 1};
  const std::vector<int32_t> a{0, -1, -1}, b{0, 1, 5};
  try {
    build_cells(w, std::vector<std::span<const int32_t>>{b, a}, {6, 2});
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(
        std::string(e.what()).find("weighting variable 1: 2 missing value(s) (first at row 1)"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(build_cells(w, std::vector<std::span<const int32_t>>{b}, {3}), InvalidInput);
  EXPECT_THROW(
      build_cells(std::vector<double>{1, -1, 1}, std::vector<std::span<const int32_t>>{b}, {6}),
      InvalidInput);
}

// ---------------------------------------------------------------------------
// Post-stratification errors, with labels.
// ---------------------------------------------------------------------------
struct Small {
  std::vector<double> w{10, 10, 20, 20, 5};
  std::vector<int32_t> x{0, 0, 1, 1, 2};
  CellTable cells = build_cells(w, std::vector<std::span<const int32_t>>{x}, {3});
  LevelLabels labels{{"E", "H", "M"}};
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

TEST(PostStratify, Errors) {
  Small s;
  const std::vector<int32_t> two{0, 1}, four{0, 1, 2, 3}, dup{0, 1, 1};
  const std::vector<double> c2{100, 200}, c4{100, 200, 50, 7}, neg{100, -1, 3}, dupc{1, 2, 3},
      zero{1, 2, 0};
  const std::vector<int32_t> three{0, 1, 2};
  auto ps = [&](const std::vector<int32_t>& l, const std::vector<double>& c) {
    return [&s, &l, &c] {
      PopulationCells p;
      p.levels = {l};
      p.counts = c;
      post_stratify(s.cells, s.w, p, s.labels);
    };
  };
  EXPECT_NE(error_of(ps(two, c2)).find("absent from the population (or with count 0): (M)"),
            std::string::npos);
  EXPECT_NE(error_of(ps(three, zero)).find("absent from the population"), std::string::npos);
  EXPECT_NE(error_of(ps(four, c4)).find("have no sample: (3)"), std::string::npos);
  EXPECT_NE(error_of(ps(three, neg)).find("counts must be finite and >= 0"), std::string::npos);
  EXPECT_NE(error_of(ps(dup, dupc)).find("twice"), std::string::npos);
  // A population cell with count 0 and no sample is fine (R drops it).
  const std::vector<double> ok{100, 200, 50, 0};
  PopulationCells p;
  p.levels = {four};
  p.counts = ok;
  const auto r = post_stratify(s.cells, s.w, p, s.labels);
  EXPECT_EQ(r.g, (std::vector<double>{5, 5, 10}));
  EXPECT_EQ(r.weights, (std::vector<double>{50, 50, 100, 100, 50}));
}

TEST(Rake, Errors) {
  Small s;
  const std::vector<double> short_total{20, 40}, extra{20, 40, 5, 3}, zero{20, 40, 0};
  auto rk = [&](const std::vector<double>& t) {
    return [&s, &t] { rake(s.cells, s.w, {t}, {}, s.labels); };
  };
  EXPECT_NE(error_of(rk(short_total)).find("level(s) M are in the sample"), std::string::npos);
  EXPECT_NE(error_of(rk(zero)).find("level(s) M are in the sample"), std::string::npos);
  EXPECT_NE(error_of(rk(extra)).find("level(s) 3 have a population count > 0 but no sample"),
            std::string::npos);
  RakeOptions bad;
  bad.maxit = 0;
  EXPECT_THROW(rake(s.cells, s.w, {std::span<const double>(zero)}, bad), InvalidInput);
}

TEST(Rake, InconsistentMarginsConvergeAsInRButShowInTheMarginErrors) {
  // Margins whose totals disagree (20 vs 60) can never both hold, yet R's test
  // (the crossed table stops moving between passes) is met on the second pass:
  // only the margin errors tell.
  const std::vector<double> w{1, 1, 1, 1};
  const std::vector<int32_t> a{0, 0, 1, 1}, b{0, 1, 0, 1};
  const CellTable t = build_cells(w, std::vector<std::span<const int32_t>>{a, b}, {2, 2});
  const std::vector<double> ta{10, 10}, tb{30, 30};
  const RakeResult r = rake(t, w, {ta, tb}, {});
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.passes, 2);
  EXPECT_NEAR(r.margin_error[0], 20, 1e-9);
  EXPECT_NEAR(r.margin_error[1], 0, 1e-9);
}

TEST(Rake, ReportsNonConvergenceInsteadOfWarning) {
  const std::vector<double> w{1, 2, 3, 4, 5, 6};
  const std::vector<int32_t> a{0, 0, 1, 1, 1, 0}, b{0, 1, 0, 1, 1, 1};
  const CellTable t = build_cells(w, std::vector<std::span<const int32_t>>{a, b}, {2, 2});
  const std::vector<double> ta{30, 70}, tb{20, 80};
  RakeOptions opt;
  opt.maxit = 2;
  opt.epsilon = 1e-12;
  const RakeResult r = rake(t, w, {ta, tb}, opt);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.passes, 2);
  EXPECT_GE(r.change, r.tolerance);
  EXPECT_DOUBLE_EQ(r.tolerance, 21e-12);
}

// ---------------------------------------------------------------------------
// Calibration.
// ---------------------------------------------------------------------------
TEST(Calibrate, ByCellEqualsByRowOnRandomData) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> unif(0, 1);
  const size_t n = 2000;
  std::vector<int32_t> a(n), b(n);
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = static_cast<int32_t>(rng() % 4);
    b[i] = static_cast<int32_t>(rng() % 3);
    w[i] = 5 + 20 * unif(rng);
  }
  // Treatment-coded model matrix: intercept, a1..a3, b1..b2.
  auto xrow = [](int32_t ai, int32_t bi) {
    return std::vector<double>{1,
                               ai == 1 ? 1.0 : 0,
                               ai == 2 ? 1.0 : 0,
                               ai == 3 ? 1.0 : 0,
                               bi == 1 ? 1.0 : 0,
                               bi == 2 ? 1.0 : 0};
  };
  std::vector<double> m;
  std::vector<double> totals(6, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto x = xrow(a[i], b[i]);
    m.insert(m.end(), x.begin(), x.end());
    for (size_t j = 0; j < 6; ++j) totals[j] += 1.1 * x[j] * w[i] * (j == 4 ? 1.2 : 1.0);
  }
  const CellTable t = build_cells(w, std::vector<std::span<const int32_t>>{a, b}, {4, 3});
  std::vector<double> cm;
  for (size_t c = 0; c < t.size(); ++c) {
    const auto x = xrow(t.level[0][c], t.level[1][c]);
    cm.insert(cm.end(), x.begin(), x.end());
  }
  for (const char* f : {"linear", "raking", "logit"}) {
    CalibrateOptions opt;
    opt.calfun = parse_calfun(f);
    if (opt.calfun == CalFun::Logit) {
      opt.lower = 0.5;
      opt.upper = 3;
    }
    const auto by_row = calibrate(m, 6, w, {}, totals, opt);
    const auto by_cell = calibrate(cm, 6, w, t.cell_of_row, totals, opt);
    ASSERT_TRUE(by_row.converged) << f;
    EXPECT_LE(max_rel_diff(by_cell.weights, by_row.weights), 1e-12) << f;
    // The totals are met.
    std::vector<double> got(6, 0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < 6; ++j) got[j] += m[i * 6 + j] * by_row.weights[i];
    }
    for (size_t j = 0; j < 6; ++j) EXPECT_NEAR(got[j], totals[j], 1e-6 * totals[j]) << f;
  }
}

TEST(Calibrate, Errors) {
  const std::vector<double> w{1, 2, 3};
  const std::vector<double> collinear{1, 2, 1, 2, 1, 2};  // column 2 = 2 * column 1
  const std::vector<double> totals{10, 20};
  EXPECT_NE(error_of([&] { calibrate(collinear, 2, w, {}, totals); }).find("collinear"),
            std::string::npos);
  CalibrateOptions logit;
  logit.calfun = CalFun::Logit;
  EXPECT_NE(error_of([&] { calibrate(collinear, 2, w, {}, totals, logit); }).find("finite bounds"),
            std::string::npos);
  EXPECT_THROW(calibrate(collinear, 2, w, {}, std::vector<double>{1}), InvalidInput);
  EXPECT_THROW(parse_calfun("probit"), InvalidInput);
  // grake on the collinear model: the generalised inverse copes, as in R.
  CalibrateOptions raking;
  raking.calfun = CalFun::Raking;
  const auto r = calibrate(collinear, 2, w, {}, totals, raking);
  EXPECT_TRUE(r.converged);
  double total = 0;
  for (const double x : r.weights) total += x;
  EXPECT_NEAR(total, 10, 1e-6);
}

TEST(Calibrate, DropsZeroColumnsWithZeroTotalAsR) {
  const std::vector<double> w{1, 2, 3};
  const std::vector<double> m{1, 0, 1, 0, 1, 0};
  const auto r = calibrate(m, 2, w, {}, std::vector<double>{12, 0});
  EXPECT_EQ(r.kept_columns, (std::vector<int32_t>{0}));
  EXPECT_DOUBLE_EQ(r.weights[2], 6);
}

TEST(Calibrate, ReportsFailureInsteadOfStopping) {
  // Totals out of reach of g in [0.9, 1.1]: R stops with "Calibration failed".
  const std::vector<double> w{1, 1, 1, 1};
  const std::vector<double> m{1, 1, 1, 1};
  CalibrateOptions opt;
  opt.lower = 0.9;
  opt.upper = 1.1;
  const auto r = calibrate(m, 1, w, {}, std::vector<double>{8}, opt);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 51);
  EXPECT_GT(r.achieved, 1e-7);
}

// ---------------------------------------------------------------------------
// Trimming.
// ---------------------------------------------------------------------------
TEST(Trim, SharesTheTrimmedAmountAmongTheInside) {
  const std::vector<double> w{1, 2, 3, 10};
  const auto r = trim_weights(w, -kInf, 6, false);
  EXPECT_EQ(r.weights, (std::vector<double>{1 + 4.0 / 3, 2 + 4.0 / 3, 3 + 4.0 / 3, 6}));
  EXPECT_EQ(r.rounds, 1);
  // Every weight outside: clamped, nothing shared (R's sum(!outside) == 0).
  const auto all = trim_weights(w, 20, 30, true);
  EXPECT_EQ(all.weights, (std::vector<double>{20, 20, 20, 20}));
  EXPECT_THROW(trim_weights(w, 3, 2, false), InvalidInput);
  EXPECT_EQ(trim_weights(w, 0, 100, true).rounds, 0);
}

}  // namespace
}  // namespace steppe
