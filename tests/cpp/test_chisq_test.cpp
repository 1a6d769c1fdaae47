// R's svychisq against the core: every case of tests/golden/chisq/chisq.json (made
// by tests/golden/make_chisq_golden.R from R's api data and the simulated poll)
// recomputed from the CSV data, on linearisation designs (one and two stages) and
// jackknife replicate designs; plus the invariants the tests promise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/chisq_sum.hpp"
#include "steppe/chisq_test.hpp"
#include "steppe/design.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/replicate.hpp"

namespace steppe {
namespace {

using nlohmann::json;
constexpr double kTol = 1e-9;

bool close(double a, double b, double rel = kTol) {
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b)) + 1e-300;
}

// ---------------------------------------------------------------------------
// The golden cases' data: CSV files read as R's read.csv(na.strings = "").
// ---------------------------------------------------------------------------
struct Frame {
  std::map<std::string, std::vector<std::string>> columns;
  size_t rows = 0;
  const std::vector<std::string>& operator[](const std::string& name) const {
    const auto it = columns.find(name);
    if (it == columns.end()) throw std::runtime_error("no column " + name);
    return it->second;
  }
};

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(field);
      field.clear();
    } else if (ch != '\r') {
      field += ch;
    }
  }
  out.push_back(field);
  return out;
}

Frame read_csv(const std::string& data) {
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  const auto path = data == "kz_poll_simulated"
                        ? root / "python" / "steppe" / "datasets" / "data" / (data + ".csv")
                        : root / "tests" / "golden" / "data" / (data + ".csv");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::string line;
  std::getline(in, line);
  const auto names = split_csv_line(line);
  Frame f;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto fields = split_csv_line(line);
    if (fields.size() != names.size()) throw std::runtime_error("ragged row in " + path.string());
    for (size_t j = 0; j < names.size(); ++j) f.columns[names[j]].push_back(fields[j]);
    ++f.rows;
  }
  return f;
}

/// Codes of a column's distinct non-empty values (sorted), -1 for "" (NA).
std::vector<int32_t> factor(const std::vector<std::string>& col, int32_t* levels = nullptr) {
  std::set<std::string> distinct;
  for (const auto& s : col) {
    if (!s.empty()) distinct.insert(s);
  }
  const std::vector<std::string> labels(distinct.begin(), distinct.end());
  std::vector<int32_t> codes(col.size());
  for (size_t i = 0; i < col.size(); ++i) {
    codes[i] = col[i].empty()
                   ? -1
                   : static_cast<int32_t>(std::lower_bound(labels.begin(), labels.end(), col[i]) -
                                          labels.begin());
  }
  if (levels != nullptr) *levels = static_cast<int32_t>(labels.size());
  return codes;
}

std::vector<double> numeric(const std::vector<std::string>& col) {
  std::vector<double> out(col.size());
  for (size_t i = 0; i < col.size(); ++i) out[i] = std::stod(col[i]);
  return out;
}

std::optional<std::string> key(const json& spec, const char* name) {
  if (!spec.contains(name) || spec[name].is_null()) return std::nullopt;
  return spec[name].get<std::string>();
}

/// A golden case's design (and the columns it references), as the Python tests
/// build it from the same spec (tests/python/golden_compare.py).
struct GoldenDesign {
  std::vector<double> w, fpc, fpc2;
  std::vector<int32_t> strata, psu, psu2;
  Design make() const {
    DesignInput in;
    in.weights = w;
    in.strata = strata;
    in.psu = psu;
    in.psu2 = psu2;
    in.fpc = fpc;
    in.fpc2 = fpc2;
    return Design(in);
  }
};

GoldenDesign golden_design(const Frame& f, const json& spec) {
  GoldenDesign g;
  g.w = numeric(f[*key(spec, "weights")]);
  if (auto s = key(spec, "strata")) g.strata = factor(f[*s]);
  if (auto p = key(spec, "psu")) {
    g.psu = factor(f[*p]);
    if (auto p2 = key(spec, "psu2")) {
      std::vector<std::string> pair(f.rows);
      for (size_t i = 0; i < f.rows; ++i) pair[i] = f[*p][i] + "/" + f[*p2][i];
      g.psu2 = factor(pair);
    }
  }
  if (auto x = key(spec, "fpc")) g.fpc = numeric(f[*x]);
  if (auto x = key(spec, "fpc2")) g.fpc2 = numeric(f[*x]);
  return g;
}

/// R's as.svrepdesign(design, type = "JK1" | "JKn") (jk1weights / jknweights):
/// delete one PSU (of one stratum), the others of its stratum reweighted by
/// n_h / (n_h - 1); the FPC enters the scales as (N_h - n_h) / N_h.
struct Replicates {
  std::vector<std::vector<double>> columns;
  double scale = 1.0;
  std::vector<double> rscales;
  /// The core's replicate backend (R's svrepdesign) over these columns.
  std::shared_ptr<const ReplicateVariance> backend(const std::string& type) const {
    auto rv = std::make_shared<ReplicateVariance>();
    rv->type = type;
    rv->rows = static_cast<int64_t>(columns.front().size());
    for (const auto& c : columns) rv->weights.insert(rv->weights.end(), c.begin(), c.end());
    rv->scale = scale;
    rv->rscales = rscales;
    return rv;
  }
};

Replicates jackknife(const GoldenDesign& g, const std::string& type) {
  const size_t n = g.w.size();
  std::vector<int32_t> psu = g.psu, stratum = g.strata;
  if (psu.empty()) {
    psu.resize(n);
    for (size_t i = 0; i < n; ++i) psu[i] = static_cast<int32_t>(i);
  }
  if (stratum.empty()) stratum.assign(n, 0);
  std::map<int32_t, std::set<int32_t>> psus_of;  // stratum -> PSUs
  std::map<int32_t, double> popsize;
  for (size_t i = 0; i < n; ++i) {
    psus_of[stratum[i]].insert(psu[i]);
    if (!g.fpc.empty()) popsize[stratum[i]] = g.fpc[i];
  }
  if (type == "JK1" && psus_of.size() != 1) throw std::runtime_error("JK1 needs one stratum");
  Replicates out;
  for (const auto& [h, members] : psus_of) {
    const double nh = static_cast<double>(members.size());
    const double f = g.fpc.empty() ? 1.0 : (popsize[h] - nh) / popsize[h];
    for (int32_t j : members) {
      std::vector<double> col(n);
      for (size_t i = 0; i < n; ++i) {
        const double mult = stratum[i] != h ? 1.0 : psu[i] == j ? 0.0 : nh / (nh - 1);
        col[i] = g.w[i] * mult;
      }
      out.columns.push_back(std::move(col));
      if (type == "JK1") {
        out.rscales.push_back(1.0);
        out.scale = f * (nh - 1) / nh;
      } else {
        out.rscales.push_back(f * (nh - 1) / nh);
      }
    }
  }
  return out;
}

/// R's degf of a replicate design, qr(weights, tol = 1e-5)$rank - 1 over the rows
/// in the design: LINPACK's dqrdc2 rule (a column whose norm after removing the
/// earlier columns falls below 1e-5 of its own is dependent), by Gram-Schmidt.
double replicate_degf(const Replicates& reps, const std::vector<uint8_t>& subset) {
  std::vector<std::vector<double>> basis;
  for (const auto& col : reps.columns) {
    std::vector<double> v;
    for (size_t i = 0; i < col.size(); ++i) {
      if (subset.empty() || subset[i]) v.push_back(col[i]);
    }
    double norm0 = 0;
    for (double x : v) norm0 += x * x;
    for (int pass = 0; pass < 2; ++pass) {  // re-orthogonalised once, for accuracy
      for (const auto& q : basis) {
        double d = 0;
        for (size_t i = 0; i < v.size(); ++i) d += q[i] * v[i];
        for (size_t i = 0; i < v.size(); ++i) v[i] -= d * q[i];
      }
    }
    double norm = 0;
    for (double x : v) norm += x * x;
    if (norm0 == 0 || std::sqrt(norm) < 1e-5 * std::sqrt(norm0)) continue;
    for (double& x : v) x /= std::sqrt(norm);
    basis.push_back(std::move(v));
  }
  return static_cast<double>(basis.size()) - 1;
}

const json& golden() {
  static const json data = golden::read("chisq/chisq.json");
  return data;
}

/// One golden case, computed by the core.
ChisqResult run_case(const json& c, const std::string& statistic, int threads = 1) {
  static std::map<std::string, Frame> frames;
  const std::string data = c["data"];
  if (!frames.count(data)) frames.emplace(data, read_csv(data));
  const Frame& f = frames.at(data);
  const GoldenDesign g = golden_design(f, c["design"]);
  std::vector<uint8_t> subset;
  if (!c["subset"].is_null()) {
    const auto& col = f[c["subset"]["column"].get<std::string>()];
    const std::string equals = c["subset"]["equals"];
    subset.resize(f.rows);
    for (size_t i = 0; i < f.rows; ++i) subset[i] = col[i] == equals;
  }
  ChisqRequest req;
  const auto row = factor(f[c["row"].get<std::string>()], &req.row_levels);
  const auto col = factor(f[c["col"].get<std::string>()], &req.col_levels);
  req.row = row;
  req.col = col;
  req.row_name = c["row"];
  req.col_name = c["col"];
  req.subset = subset;
  req.statistic = parse_chisq_statistic(statistic);
  req.threads = threads;
  if (c["replicate"].is_null()) return chisq(g.make(), req);
  // R: as.svrepdesign on the whole design, then the subset; the replicate design
  // knows only its weights.
  const std::string type = c["replicate"];
  const Replicates reps = jackknife(g, type);
  GoldenDesign weights_only;
  weights_only.w = g.w;
  const ChisqResult r = chisq(weights_only.make().with_replicates(reps.backend(type)), req);
  // The core's replicate df (distinct replicate patterns) against R's QR rule.
  EXPECT_EQ(r.degf, replicate_degf(reps, subset)) << c["name"];
  return r;
}

TEST(ChisqGolden, EveryCaseMatchesR) {
  ASSERT_GE(golden().size(), 55u);
  double worst = 0;
  for (const auto& c : golden()) {
    const std::string name = c["name"];
    const ChisqResult r = run_case(c, c["statistic"]);
    const double p = c["p_value_precise"].is_null() ? c["p_value"].get<double>()
                                                    : c["p_value_precise"].get<double>();
    EXPECT_TRUE(close(r.statistic, c["value"].get<double>())) << name << " " << r.statistic;
    EXPECT_TRUE(close(r.p_value, p)) << name << " " << r.p_value << " vs " << p;
    if (!c["ndf"].is_null()) {
      EXPECT_TRUE(close(r.ndf, c["ndf"].get<double>())) << name;
    }
    if (!c["ddf"].is_null()) {
      EXPECT_TRUE(close(r.ddf, c["ddf"].get<double>())) << name;
    }
    worst = std::max({worst, std::fabs(r.statistic / c["value"].get<double>() - 1),
                      std::fabs(r.p_value / p - 1)});
    // R's names: F for "F", "Wald" and "adjWald"; X-squared otherwise.
    const std::string s = c["statistic"];
    EXPECT_EQ(r.statistic_name, s == "F" || s == "Wald" || s == "adjWald" ? "F" : "X-squared");
    EXPECT_EQ(r.parameter_names.size(), s == "saddlepoint" ? 0u : s == "Chisq" ? 1u : 2u);
  }
  std::printf("  chisq goldens: worst rel diff vs R %.2e\n", worst);
}

TEST(ChisqGolden, LincomIsTheExactLawTheSaddlepointApproximates) {
  for (const auto& c : golden()) {
    if (c["statistic"] != "saddlepoint") continue;
    const std::string name = c["name"];
    const ChisqResult exact = run_case(c, "lincom");
    const ChisqResult saddle = run_case(c, "saddlepoint");
    EXPECT_EQ(exact.statistic, saddle.statistic) << name;
    EXPECT_EQ(exact.method, "Pearson's X^2: asymptotic exact distribution");
    EXPECT_GT(exact.p_value, 0);
    EXPECT_LT(std::fabs(std::log(exact.p_value / saddle.p_value)), 0.25) << name;
    EXPECT_EQ(exact.design_effects, saddle.design_effects);
    if (exact.ndf == 1 && std::floor(exact.ddf) == exact.ddf) {
      // One design effect (a 2 x 2 table): X^2 / delta over chi2_ddf / ddf is exactly
      // F(1, ddf), so "lincom" gives R's "F" p-value.
      const ChisqResult f = run_case(c, "F");
      EXPECT_TRUE(close(exact.p_value, f.p_value)) << name << exact.p_value << " " << f.p_value;
      EXPECT_TRUE(close(f.statistic, exact.statistic / exact.design_effects[0])) << name;
    }
  }
}

TEST(ChisqGolden, SameForAnyThreadCountAndEitherOrientation) {
  for (const auto& c : golden()) {
    if (c["statistic"] != "F" && c["statistic"] != "Wald") continue;
    const std::string name = c["name"];
    const ChisqResult one = run_case(c, c["statistic"], 1);
    const ChisqResult two = run_case(c, c["statistic"], 2);
    EXPECT_TRUE(close(one.statistic, two.statistic, 1e-12)) << name;
    json t = c;
    t["row"] = c["col"];
    t["col"] = c["row"];
    const ChisqResult swapped = run_case(t, c["statistic"]);
    EXPECT_TRUE(close(one.statistic, swapped.statistic, 1e-11)) << name;
    EXPECT_TRUE(close(one.ndf, swapped.ndf, 1e-11)) << name;
    EXPECT_TRUE(close(one.pearson, swapped.pearson, 1e-11)) << name;
  }
}

// ---------------------------------------------------------------------------
// chisq_test alone: tables built by hand.
// ---------------------------------------------------------------------------

/// A table with the multinomial (simple random sample) covariance (D - p p') / N.
struct SrsTable {
  std::vector<double> p, cov;
  ChisqTable table;
  SrsTable(std::vector<double> shares, int32_t rows, int32_t cols, double n, double degf)
      : p(std::move(shares)) {
    const size_t K = p.size();
    cov.assign(K * K, 0.0);
    for (size_t i = 0; i < K; ++i) {
      for (size_t j = 0; j < K; ++j) cov[i * K + j] = ((i == j ? p[i] : 0.0) - p[i] * p[j]) / n;
    }
    table.rows = rows;
    table.cols = cols;
    table.estimate = p;
    table.covariance = cov;
    table.n_rows = n;
    table.degf = degf;
  }
};

TEST(ChisqTest, SimpleRandomSamplingHasUnitDesignEffects) {
  // Rao & Scott (1984): with the multinomial covariance every design effect is 1, so
  // "F" is X^2 / ((r-1)(c-1)) on ((r-1)(c-1), (r-1)(c-1) nu) df and "Chisq" is Pearson's test.
  const SrsTable t({0.10, 0.20, 0.05, 0.15, 0.30, 0.20}, 3, 2, 500, 40);
  const ChisqResult f = chisq_test(t.table, ChisqStatistic::F);
  EXPECT_TRUE(close(f.ndf, 2, 1e-12));
  EXPECT_TRUE(close(f.ddf, 80, 1e-12));
  EXPECT_TRUE(close(f.statistic, f.pearson / 2, 1e-12));
  for (double d : f.design_effects) EXPECT_TRUE(close(d, 1, 1e-12));
  const ChisqResult x = chisq_test(t.table, ChisqStatistic::Chisq);
  EXPECT_EQ(x.statistic, x.pearson);
  EXPECT_TRUE(close(x.p_value, pchisq(x.pearson, 2, false), 1e-12));
  EXPECT_TRUE(std::isnan(x.ddf));
  // Pearson's X^2 by hand: N sum (p_rc - p_r. p_.c)^2 / (p_r. p_.c).
  const double pr[3] = {0.25, 0.5, 0.25}, pc[2] = {0.35, 0.65};
  double x2 = 0;
  for (int c = 0; c < 2; ++c) {
    for (int r = 0; r < 3; ++r) {
      const double e = pr[r] * pc[c];
      x2 += 500 * (t.p[static_cast<size_t>(r + 3 * c)] - e) *
            (t.p[static_cast<size_t>(r + 3 * c)] - e) / e;
    }
  }
  EXPECT_TRUE(close(f.pearson, x2, 1e-12));
}

TEST(ChisqTest, ScalingTheCovarianceScalesTheDesignEffects) {
  // Twice the SRS variance: every design effect is 2, F halves, d0 and the p-value of
  // "Chisq" follow X^2 / 2.
  SrsTable t({0.1, 0.2, 0.3, 0.4}, 2, 2, 200, 30);
  for (double& v : t.cov) v *= 2;
  const ChisqResult f = chisq_test(t.table, ChisqStatistic::F);
  ASSERT_EQ(f.design_effects.size(), 1u);
  EXPECT_TRUE(close(f.design_effects[0], 2, 1e-12));
  EXPECT_TRUE(close(f.statistic, f.pearson / 2, 1e-12));
  EXPECT_TRUE(close(f.p_value, pf(f.pearson / 2, 1, 30, false), 1e-12));
  // One design effect and an integer ddf: the exact law of X^2 is delta F(1, ddf).
  const ChisqResult l = chisq_test(t.table, ChisqStatistic::Lincom);
  EXPECT_TRUE(close(l.p_value, f.p_value, 1e-9));
  EXPECT_EQ(l.ddf, 30);
}

TEST(ChisqTest, WaldOnTotalsIsInvariantToTheTablesScale) {
  // Totals N p with covariance N^2 V: the Wald statistic does not change.
  SrsTable t({0.1, 0.2, 0.05, 0.15, 0.3, 0.2}, 2, 3, 400, 25);
  std::vector<double> totals(t.p.size()), cov(t.cov.size());
  for (size_t i = 0; i < totals.size(); ++i) totals[i] = 1000 * t.p[i];
  for (size_t i = 0; i < cov.size(); ++i) cov[i] = 1e6 * t.cov[i];
  ChisqTable a = t.table, b = t.table;
  a.estimate = t.p;
  b.estimate = totals;
  b.covariance = cov;
  const ChisqResult wa = chisq_test(a, ChisqStatistic::Wald);
  const ChisqResult wb = chisq_test(b, ChisqStatistic::Wald);
  EXPECT_TRUE(close(wa.statistic, wb.statistic, 1e-12));
  EXPECT_EQ(wa.ndf, 2);
  EXPECT_EQ(wa.ddf, 25);
  const ChisqResult adj = chisq_test(b, ChisqStatistic::AdjWald);
  EXPECT_EQ(adj.ddf, 24);
  EXPECT_TRUE(close(adj.statistic, wb.statistic * 2 * 24 / (2 * 25), 1e-12));
  EXPECT_EQ(adj.method, "Design-based Wald test of association");
}

TEST(ChisqTest, ErrorsNameTheProblem) {
  SrsTable t({0.1, 0.2, 0.3, 0.4}, 2, 2, 200, 30);
  ChisqTable bad = t.table;
  bad.rows = 1;
  bad.cols = 4;
  EXPECT_THROW(chisq_test(bad, ChisqStatistic::F), NotEstimable);
  bad = t.table;
  bad.covariance = std::span<const double>(t.cov).subspan(0, 3);
  EXPECT_THROW(chisq_test(bad, ChisqStatistic::F), InvalidInput);
  // adjWald with fewer design df than the test's ndf: no F.
  SrsTable big({0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2}, 3, 3, 100, 2);
  EXPECT_THROW(chisq_test(big.table, ChisqStatistic::AdjWald), NotEstimable);
  // An empty row of the table: R's expected counts are 0 and its statistic NaN.
  SrsTable empty({0.3, 0.0, 0.3, 0.4, 0.0, 0.0}, 2, 3, 100, 10);
  EXPECT_THROW(chisq_test(empty.table, ChisqStatistic::F), NotEstimable);
  EXPECT_THROW(parse_chisq_statistic("davies"), InvalidInput);
  for (const char* s : {"F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint"}) {
    EXPECT_EQ(chisq_statistic_name(parse_chisq_statistic(s)), s);
  }
}

TEST(ChisqTest, DesignErrors) {
  const std::vector<double> w(6, 1.0);
  DesignInput in;
  in.weights = w;
  const Design d(in);
  const std::vector<int32_t> row = {0, 1, 0, 1, 0, 1}, same = {0, 0, 0, 0, 0, 0};
  ChisqRequest req;
  req.row = row;
  req.row_levels = 2;
  req.col = same;
  req.col_levels = 1;
  req.col_name = "k";
  try {
    chisq(d, req);
    FAIL() << "one level";
  } catch (const NotEstimable& e) {
    EXPECT_NE(std::string(e.what()).find("two levels"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'k'"), std::string::npos) << e.what();
  }
  const std::vector<int32_t> short_codes = {0, 1};
  req.col = short_codes;
  req.col_levels = 2;
  EXPECT_THROW(chisq(d, req), InvalidInput);
  const std::vector<int32_t> beyond = {0, 1, 2, 0, 1, 0};
  req.col = beyond;
  EXPECT_THROW(chisq(d, req), InvalidInput);
}

}  // namespace
}  // namespace steppe
