// Contrasts of domain estimates against R's svycontrast(svyby(..., covmat = TRUE))
// (tests/golden/contrast/contrast.json, made by make_contrast_golden.R), R's
// p.adjust on hand-computed values, and the linearised covariance against the
// engine's variance of each contrast's own linearised variable on designs with
// everything the golden cases lack (lonely PSUs, calibration, many strata).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "golden_csv.hpp"
#include "golden_json.hpp"
#include "steppe/contrast.hpp"
#include "steppe/design.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"
#include "steppe/replicate.hpp"

namespace steppe {
namespace {

using nlohmann::json;
constexpr double kTol = 1e-9;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double rel_diff(double got, double want) {
  if (got == want) return 0;
  return std::fabs(got - want) / std::max(std::fabs(got), std::fabs(want));
}

// ------------------------------------------------------------------ golden cases

/// A golden case's design: the data, its design columns, and (for replicate
/// cases) the replicate weights R's as.svrepdesign builds from it.
struct GoldenCase {
  golden::Table data;
  std::vector<double> w, fpc, fpc2;
  std::vector<int32_t> strata, psu, psu2;
  std::unique_ptr<Design> design;                 ///< the design the contrast runs on
  std::shared_ptr<ReplicateVariance> replicates;  ///< replicate cases
  bool replicate = false;
};

std::string opt_string(const json& j, const char* key) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<std::string>() : "";
}

/// R's jk1weights / jknweights (as.svrepdesign types "JK1" and "JKn") from the
/// design's PSUs, strata and population sizes; the test's own construction.
void build_replicates(GoldenCase& g, const std::string& type) {
  const size_t n = g.w.size();
  std::vector<int32_t> psu = g.psu;
  if (psu.empty()) {
    psu.resize(n);
    for (size_t i = 0; i < n; ++i) psu[i] = static_cast<int32_t>(i);
  }
  std::vector<int32_t> strata = g.strata.empty() ? std::vector<int32_t>(n, 0) : g.strata;
  std::map<int32_t, std::set<int32_t>> psus_of;
  std::map<int32_t, double> popsize;
  for (size_t i = 0; i < n; ++i) {
    psus_of[strata[i]].insert(psu[i]);
    popsize[strata[i]] = g.fpc.empty() ? INFINITY : g.fpc[i];
  }
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = type;
  rv->rows = static_cast<int64_t>(n);
  auto add = [&](const std::vector<double>& mult, double rscale) {
    for (size_t i = 0; i < n; ++i) rv->weights.push_back(mult[i] * g.w[i]);
    rv->rscales.push_back(rscale);
  };
  if (type == "JK1") {
    ASSERT_EQ(psus_of.size(), 1u);
    const double k = static_cast<double>(psus_of.begin()->second.size());
    const double N = popsize.begin()->second;
    const double f = std::isinf(N) ? 1.0 : (N - k) / N;
    for (int32_t j : psus_of.begin()->second) {
      std::vector<double> mult(n);
      for (size_t i = 0; i < n; ++i) mult[i] = psu[i] == j ? 0.0 : k / (k - 1);
      add(mult, 1.0);
    }
    rv->scale = f * (k - 1) / k;
  } else {
    ASSERT_EQ(type, "JKn");
    for (const auto& [h, members] : psus_of) {
      const double k = static_cast<double>(members.size());
      ASSERT_GT(k, 1);
      const double N = popsize[h];
      const double f = std::isinf(N) ? 1.0 : (N - k) / N;
      if (f == 0) continue;
      for (int32_t j : members) {
        std::vector<double> mult(n);
        for (size_t i = 0; i < n; ++i) {
          mult[i] = strata[i] != h ? 1.0 : (psu[i] == j ? 0.0 : k / (k - 1));
        }
        add(mult, f * (k - 1) / k);
      }
    }
    rv->scale = 1.0;
  }
  g.replicates = rv;
}

std::unique_ptr<GoldenCase> load_case(const json& c) {
  auto g = std::make_unique<GoldenCase>();
  const json& s = c["design"];
  const std::string name = s["data"];
  g->data = golden::read_csv(name == "kz_poll_simulated"
                                 ? "python/steppe/datasets/data/kz_poll_simulated.csv"
                                 : "tests/golden/data/" + name + ".csv");
  g->w = g->data.numeric(s["weights"]);
  DesignInput in;
  in.weights = g->w;
  if (const auto st = opt_string(s, "strata"); !st.empty()) {
    g->strata = g->data.codes(st, &in.stratum_labels);
    in.strata = g->strata;
  }
  if (const auto p = opt_string(s, "psu"); !p.empty()) {
    g->psu = g->data.codes(p, nullptr);
    in.psu = g->psu;
  }
  if (const auto f = opt_string(s, "fpc"); !f.empty()) {
    g->fpc = g->data.numeric(f);
    in.fpc = g->fpc;
  }
  if (const auto p2 = opt_string(s, "psu2"); !p2.empty()) {
    const auto second = g->data.codes(p2, nullptr);
    std::map<std::pair<int32_t, int32_t>, int32_t> ids;  // psu2 ids unique across PSUs
    for (size_t i = 0; i < second.size(); ++i) {
      const auto key = std::make_pair(g->psu[i], second[i]);
      auto it = ids.emplace(key, static_cast<int32_t>(ids.size())).first;
      g->psu2.push_back(it->second);
    }
    in.psu2 = g->psu2;
  }
  if (const auto f2 = opt_string(s, "fpc2"); !f2.empty()) {
    g->fpc2 = g->data.numeric(f2);
    in.fpc2 = g->fpc2;
  }
  if (c.contains("replicate") && !c["replicate"].is_null()) {
    build_replicates(*g, c["replicate"]);
    g->replicate = true;
    DesignInput rin;  // the replicates carry the design: weights only
    rin.weights = g->w;
    g->design = std::make_unique<Design>(Design(rin).with_replicates(g->replicates));
  } else {
    g->design = std::make_unique<Design>(in);
  }
  return g;
}

struct CaseRequest {
  std::vector<double> values, denominator;
  std::vector<int32_t> codes, by;
  std::vector<std::string> by_labels;
  std::vector<uint8_t> subset;
  std::vector<double> coefficients;
  std::vector<int64_t> ratio;
  ContrastRequest req;
};

int64_t label_code(const std::vector<std::string>& labels, const std::string& l) {
  auto it = std::find(labels.begin(), labels.end(), l);
  if (it == labels.end()) throw std::runtime_error("no label " + l);
  return it - labels.begin();
}

void make_request(const json& c, const GoldenCase& g, CaseRequest& r) {
  ContrastRequest& req = r.req;
  req.statistic = parse_statistic(c["statistic"].get<std::string>());
  const std::string variable = c["variable"];
  if (!c["level"].is_null()) {
    std::vector<std::string> labels;
    r.codes = g.data.codes(variable, &labels);
    req.codes = CodeColumn(r.codes);
    req.levels = static_cast<int32_t>(labels.size());
    req.category = static_cast<int32_t>(label_code(labels, c["level"]));
  } else {
    r.values = g.data.numeric(variable);
    req.values = r.values;
  }
  if (const auto den = opt_string(c, "denominator"); !den.empty()) {
    r.denominator = g.data.numeric(den);
    req.denominator = r.denominator;
  }
  r.by = g.data.codes(c["by"], &r.by_labels);
  req.by = {CodeColumn(r.by)};
  req.by_levels = {static_cast<int32_t>(r.by_labels.size())};
  req.by_name = c["by"];
  req.domain_labels = r.by_labels;
  if (!c["subset"].is_null()) {
    const auto& col = g.data.column(c["subset"]["column"]);
    std::set<std::string> keep;
    const json& v = c["subset"]["values"];
    if (v.is_array()) {
      for (const auto& x : v) keep.insert(x.get<std::string>());
    } else {
      keep.insert(v.get<std::string>());
    }
    for (const auto& x : col) r.subset.push_back(x && keep.count(*x) ? 1 : 0);
    req.subset = r.subset;
  }
  const size_t space = r.by_labels.size();
  for (const auto& [name, spec] : c["contrasts"].items()) {
    req.names.push_back(name);
    std::vector<double> row(space, 0.0);
    if (spec.is_array()) {
      r.ratio.push_back(label_code(r.by_labels, spec[0]));
      r.ratio.push_back(label_code(r.by_labels, spec[1]));
    } else {
      r.ratio.push_back(-1);
      r.ratio.push_back(-1);
      for (const auto& [label, coef] : spec.items()) {
        row[static_cast<size_t>(label_code(r.by_labels, label))] = coef.get<double>();
      }
    }
    r.coefficients.insert(r.coefficients.end(), row.begin(), row.end());
  }
  req.coefficients = r.coefficients;
  req.ratio = r.ratio;
}

const json& cases() {
  static const json data = golden::read("contrast/contrast.json");
  return data;
}

TEST(ContrastGolden, MatchesSvycontrastOnSvyby) {
  ASSERT_GE(cases().size(), 13u);
  for (const json& c : cases()) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const auto g = load_case(c);
    CaseRequest r;
    make_request(c, *g, r);
    const ContrastResult res = contrast(*g->design, r.req);
    ASSERT_EQ(res.contrasts, static_cast<int64_t>(r.req.names.size()));
    double worst = 0;
    for (const json& row : c["rows"]) {
      const size_t i = static_cast<size_t>(
          std::find(r.req.names.begin(), r.req.names.end(), row["contrast"].get<std::string>()) -
          r.req.names.begin());
      ASSERT_LT(i, r.req.names.size());
      const double est = row["estimate"], se = row["se"];
      EXPECT_LE(rel_diff(res.estimate[i], est), kTol) << row["contrast"];
      EXPECT_LE(rel_diff(res.se[i], se), kTol) << row["contrast"];
      worst = std::max({worst, rel_diff(res.estimate[i], est), rel_diff(res.se[i], se)});
      // The rest follows from estimate, se and df.
      EXPECT_DOUBLE_EQ(res.statistic[i], res.estimate[i] / res.se[i]);
      EXPECT_GT(res.df[i], 0);
      EXPECT_NEAR(res.p_value[i], 2 * pt(-std::fabs(res.statistic[i]), res.df[i]), 1e-15);
      const double crit = qt(0.975, res.df[i]);
      EXPECT_NEAR(res.ci_low[i], res.estimate[i] - crit * res.se[i], 1e-9 * res.se[i]);
      EXPECT_NEAR(res.ci_high[i], res.estimate[i] + crit * res.se[i], 1e-9 * res.se[i]);
    }
    std::printf("  %-45s max rel diff vs R %.2e\n", name.c_str(), worst);
    // The covariance matrix is symmetric with the domains' variances on its diagonal.
    const size_t D = static_cast<size_t>(res.domains);
    for (size_t a = 0; a < D; ++a) {
      EXPECT_GE(res.covariance[a * D + a], 0);
      for (size_t b = 0; b < D; ++b) {
        EXPECT_LE(rel_diff(res.covariance[a * D + b], res.covariance[b * D + a]), 1e-12);
      }
    }
  }
}

TEST(ContrastGolden, OneDomainIsTheDomainEstimate) {
  // A contrast with one coefficient 1 is the domain's own estimate (R: svyratio
  // by domain), with the engine's variance, on both kinds of design.
  for (const json& c : cases()) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const auto g = load_case(c);
    CaseRequest r;
    make_request(c, *g, r);
    const size_t space = r.by_labels.size();
    r.coefficients.assign(space * space, 0.0);
    for (size_t k = 0; k < space; ++k) r.coefficients[k * space + k] = 1.0;
    r.ratio.clear();
    r.req.names.clear();
    r.req.coefficients = r.coefficients;
    r.req.ratio = {};

    EstimateRequest e;
    e.statistic = r.req.statistic;
    e.values = r.req.values;
    e.codes = r.req.codes;
    e.levels = r.req.levels;
    e.denominator = r.req.denominator;
    e.by = r.req.by;
    e.by_levels = r.req.by_levels;
    e.subset = r.req.subset;
    const EstimateResult want = estimate(*g->design, e);
    if (static_cast<size_t>(want.domains) != space) continue;  // an empty domain
    const ContrastResult res = contrast(*g->design, r.req);
    const size_t K = static_cast<size_t>(want.cells_per_domain);
    const size_t cat = r.req.levels > 0 ? static_cast<size_t>(r.req.category) : 0;
    for (size_t d = 0; d < space; ++d) {
      EXPECT_LE(rel_diff(res.estimate[d], want.estimate[d * K + cat]), 1e-12);
      EXPECT_LE(rel_diff(res.se[d] * res.se[d], want.variance[d * K + cat]), 1e-10);
      if (!g->replicate) {
        EXPECT_EQ(res.df[d], static_cast<double>(want.degf(static_cast<int64_t>(d))));
      }
    }
  }
}

TEST(ContrastGolden, PairwiseDifferencesWithHolm) {
  const json& c = cases()[0];
  ASSERT_EQ(c["name"], "apiclus1_api00_by_stype");
  const auto g = load_case(c);
  CaseRequest r;
  make_request(c, *g, r);
  r.req.pairwise = true;
  r.req.adjust = PAdjust::Holm;
  const ContrastResult res = contrast(*g->design, r.req);
  ASSERT_EQ(res.contrasts, 3);
  const std::vector<int64_t> want_pairs{0, 1, 0, 2, 1, 2};  // E-H, E-M, H-M
  EXPECT_EQ(res.pairs, want_pairs);
  for (const json& row : c["rows"]) {
    if (row["contrast"] != "E-H" && row["contrast"] != "E-M") continue;
    const size_t i = row["contrast"] == "E-H" ? 0 : 1;
    EXPECT_LE(rel_diff(res.estimate[i], row["estimate"].get<double>()), kTol);
    EXPECT_LE(rel_diff(res.se[i], row["se"].get<double>()), kTol);
  }
  EXPECT_EQ(res.p_adjusted, adjust_p(res.p_value, PAdjust::Holm));
  // The pairwise df (PSUs minus strata with rows of either domain) is the same
  // as for the explicit contrast.
  CaseRequest r2;
  make_request(c, *g, r2);
  const ContrastResult explicit_res = contrast(*g->design, r2.req);
  for (size_t i = 0; i < r2.req.names.size(); ++i) {
    if (r2.req.names[i] == "E-H") {
      EXPECT_EQ(explicit_res.df[i], res.df[0]);
    }
  }
}

// ------------------------------------------------------------------ p.adjust

TEST(AdjustP, HolmAndBonferroniAsR) {
  // R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") = 0.04 0.09 0.09 0.20
  const std::vector<double> p{0.01, 0.04, 0.03, 0.2};
  const auto holm = adjust_p(p, PAdjust::Holm);
  const std::vector<double> want{0.04, 0.09, 0.09, 0.2};
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(holm[i], want[i], 1e-15);
  // Bonferroni: m p capped at 1.
  const auto bonf = adjust_p(std::vector<double>{0.01, 0.4, 0.3}, PAdjust::Bonferroni);
  EXPECT_NEAR(bonf[0], 0.03, 1e-15);
  EXPECT_EQ(bonf[1], 1.0);
  EXPECT_NEAR(bonf[2], 0.9, 1e-15);
  // Holm caps at 1 and keeps the step-down monotone: 3 x 0.5 -> 1, then max(1, 2 x 0.6).
  const auto capped = adjust_p(std::vector<double>{0.6, 0.5, 0.7}, PAdjust::Holm);
  EXPECT_EQ(capped, (std::vector<double>{1.0, 1.0, 1.0}));
  // Ties keep input order; NaN stays NaN and does not count in m (R: n = sum(!is.na(p))).
  const auto ties = adjust_p(std::vector<double>{0.02, kNaN, 0.02}, PAdjust::Holm);
  EXPECT_NEAR(ties[0], 0.04, 1e-15);
  EXPECT_TRUE(std::isnan(ties[1]));
  EXPECT_NEAR(ties[2], 0.04, 1e-15);
  const auto none = adjust_p(p, PAdjust::None);
  EXPECT_EQ(none, p);
  EXPECT_TRUE(adjust_p(std::vector<double>{}, PAdjust::Holm).empty());
  EXPECT_THROW(parse_p_adjust("fdr"), InvalidInput);
  EXPECT_THROW(adjust_p(std::vector<double>{1.5}, PAdjust::Holm), InvalidInput);
}

// ------------------------------------------------------------------ linearisation

struct Sample {
  std::vector<double> w, y, x, fpc, fpc2;
  std::vector<int32_t> strata, psu, psu2, by, level;
};

/// Random stratified two-stage sample (rows shuffled); strata with `lonely`
/// single-PSU strata at the end.
Sample make_sample(unsigned seed, int n_strata, int lonely, bool stage2, int rows_per_psu2 = 4) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0, 1);
  Sample s;
  int32_t psu_id = 0, psu2_id = 0;
  for (int h = 0; h < n_strata + lonely; ++h) {
    const int n_psu = h < n_strata ? 2 + static_cast<int>(rng() % 4) : 1;
    const double popsize = n_psu * (2 + static_cast<int>(rng() % 5));
    for (int p = 0; p < n_psu; ++p, ++psu_id) {
      const int n_psu2 = 1 + static_cast<int>(rng() % 3);
      const double popsize2 = n_psu2 + static_cast<int>(rng() % 4);
      for (int q = 0; q < n_psu2; ++q, ++psu2_id) {
        const int rows = 1 + static_cast<int>(rng() % static_cast<unsigned>(rows_per_psu2));
        for (int r = 0; r < rows; ++r) {
          s.strata.push_back(h);
          s.psu.push_back(psu_id);
          s.psu2.push_back(psu2_id);
          s.w.push_back(1 + 9 * unif(rng));
          s.y.push_back(unif(rng) < 0.05 ? kNaN : 1000 + 10 * unif(rng) + 3 * h);
          s.x.push_back(1 + unif(rng));
          s.by.push_back(unif(rng) < 0.03 ? -1 : static_cast<int32_t>(rng() % 4));
          s.level.push_back(unif(rng) < 0.05 ? -1 : static_cast<int32_t>(rng() % 3));
          s.fpc.push_back(popsize);
          s.fpc2.push_back(popsize2);
        }
      }
    }
  }
  std::vector<size_t> perm(s.w.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  Sample t = s;
  for (size_t i = 0; i < perm.size(); ++i) {
    t.w[i] = s.w[perm[i]];
    t.y[i] = s.y[perm[i]];
    t.x[i] = s.x[perm[i]];
    t.strata[i] = s.strata[perm[i]];
    t.psu[i] = s.psu[perm[i]];
    t.psu2[i] = s.psu2[perm[i]];
    t.by[i] = s.by[perm[i]];
    t.level[i] = s.level[perm[i]];
    t.fpc[i] = s.fpc[perm[i]];
    t.fpc2[i] = s.fpc2[perm[i]];
  }
  if (!stage2) {
    t.psu2.clear();
    t.fpc2.clear();
  }
  return t;
}

/// The contrast's variance as steppe computed it before the core owned
/// contrasts: the engine's linearised variance of the total of the contrast's
/// linearised variable u = sum_g c_g z_g over the rows of its domains.
double variance_of_u(const Design& design, const Sample& s, Statistic stat, bool categorical,
                     const std::vector<double>& coef, const std::vector<uint8_t>& subset) {
  EstimateRequest e;
  e.statistic = stat;
  if (categorical) {
    e.codes = CodeColumn(s.level);
    e.levels = 3;
  } else {
    e.values = s.y;
  }
  if (stat == Statistic::Ratio) e.denominator = s.x;
  e.by = {CodeColumn(s.by)};
  e.by_levels = {4};
  e.subset = subset;
  const EstimateResult dom = estimate(design, e);
  std::vector<double> theta(4, 0.0), size(4, 0.0);
  const size_t K = static_cast<size_t>(dom.cells_per_domain);
  for (int64_t d = 0; d < dom.domains; ++d) {
    const size_t key = static_cast<size_t>(dom.domain_codes[static_cast<size_t>(d)]);
    theta[key] = dom.estimate[static_cast<size_t>(d) * K + (categorical ? 1 : 0)];
  }
  const size_t n = s.w.size();
  const auto& w = design.weights();
  for (size_t i = 0; i < n; ++i) {  // N_g or X_g over valid rows
    if (s.by[i] < 0 || (!subset.empty() && !subset[i])) continue;
    const bool valid = categorical ? s.level[i] >= 0 : !std::isnan(s.y[i]);
    if (valid)
      size[static_cast<size_t>(s.by[i])] += w[i] * (stat == Statistic::Ratio ? s.x[i] : 1.0);
  }
  std::vector<double> u(n, 0.0);
  std::vector<uint8_t> involved(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (s.by[i] < 0 || (!subset.empty() && !subset[i])) continue;
    const size_t g = static_cast<size_t>(s.by[i]);
    const bool valid = categorical ? s.level[i] >= 0 : !std::isnan(s.y[i]);
    if (!valid || coef[g] == 0) continue;
    const double y = categorical ? (s.level[i] == 1 ? 1.0 : 0.0) : s.y[i];
    involved[i] = 1;
    if (stat == Statistic::Total) {
      u[i] = coef[g] * y;
    } else {
      const double x = stat == Statistic::Ratio ? s.x[i] : 1.0;
      u[i] = coef[g] * (y - theta[g] * x) / size[g];
    }
  }
  EstimateRequest t;
  t.statistic = Statistic::Total;
  t.values = u;
  t.subset = involved;
  return estimate(design, t).variance[0];
}

ContrastRequest sample_request(const Sample& s, Statistic stat, bool categorical,
                               const std::vector<double>& coefficients,
                               const std::vector<uint8_t>& subset) {
  ContrastRequest req;
  req.statistic = stat;
  if (categorical) {
    req.codes = CodeColumn(s.level);
    req.levels = 3;
    req.category = 1;
  } else {
    req.values = s.y;
  }
  if (stat == Statistic::Ratio) req.denominator = s.x;
  req.by = {CodeColumn(s.by)};
  req.by_levels = {4};
  req.subset = subset;
  req.coefficients = coefficients;
  return req;
}

TEST(ContrastLinearised, EqualsTheVarianceOfTheContrastsLinearisedVariable) {
  const std::vector<std::vector<double>> contrasts{
      {1, -1, 0, 0}, {2, -1, -1, 0}, {0, 0, 1, 0}, {0.5, 0.25, -3, 1}};
  std::vector<double> matrix;
  for (const auto& c : contrasts) matrix.insert(matrix.end(), c.begin(), c.end());
  struct Variant {
    const char* what;
    bool stage2, fpc;
    int lonely;
    LonelyPsu rule;
    bool calibrated;
  };
  const std::vector<Variant> variants{
      {"one stage", false, false, 0, LonelyPsu::Fail, false},
      {"one stage fpc", false, true, 0, LonelyPsu::Fail, false},
      {"two stages fpc2", true, true, 0, LonelyPsu::Remove, false},
      {"lonely adjust", false, true, 2, LonelyPsu::Adjust, false},
      {"lonely remove", false, false, 2, LonelyPsu::Remove, false},
      {"two stages, lonely psu2 units adjust", true, true, 1, LonelyPsu::Adjust, false},
      {"post-stratified", false, true, 0, LonelyPsu::Fail, true},
      {"post-stratified two stages", true, true, 0, LonelyPsu::Adjust, true},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.what);
    const Sample s = make_sample(7, 9, v.lonely, v.stage2);
    DesignInput in;
    in.weights = s.w;
    in.strata = s.strata;
    in.psu = s.psu;
    in.psu2 = s.psu2;
    if (v.fpc) in.fpc = s.fpc;
    if (v.fpc) in.fpc2 = s.fpc2;
    if (!v.fpc) in.psu2 = {};
    in.lonely_psu = v.rule;
    // Post-stratification on the level code (cells 0..2 plus missing as 3).
    std::vector<int32_t> cell(s.w.size());
    std::vector<double> calibrated(s.w.size());
    if (v.calibrated) {
      std::vector<double> sum(4, 0.0);
      const std::vector<double> target{900, 1100, 1500, 300};
      for (size_t i = 0; i < cell.size(); ++i) {
        cell[i] = s.level[i] < 0 ? 3 : s.level[i];
        sum[static_cast<size_t>(cell[i])] += s.w[i];
      }
      for (size_t i = 0; i < cell.size(); ++i) {
        calibrated[i] =
            s.w[i] * target[static_cast<size_t>(cell[i])] / sum[static_cast<size_t>(cell[i])];
      }
      in.weights = calibrated;
      in.calibration.cell = cell;
      in.calibration.columns = 4;
      in.calibration.base_weights = s.w;
      in.calibration.calibrated_weights = calibrated;
    }
    const Design design(in);
    std::vector<uint8_t> subset(s.w.size());
    for (size_t i = 0; i < subset.size(); ++i) subset[i] = s.strata[i] % 4 != 1;
    for (const Statistic stat : {Statistic::Mean, Statistic::Total, Statistic::Ratio}) {
      for (const bool categorical : {false, true}) {
        if (categorical && stat == Statistic::Ratio) continue;
        for (const bool use_subset : {false, true}) {
          const std::vector<uint8_t> sub = use_subset ? subset : std::vector<uint8_t>{};
          const ContrastRequest req = sample_request(s, stat, categorical, matrix, sub);
          const ContrastResult res = contrast(design, req);
          ASSERT_EQ(res.domains, 4);
          for (size_t c = 0; c < contrasts.size(); ++c) {
            const double want = variance_of_u(design, s, stat, categorical, contrasts[c], sub);
            EXPECT_LE(rel_diff(res.se[c] * res.se[c], want), 1e-10)
                << "statistic " << static_cast<int>(stat) << " categorical " << categorical
                << " subset " << use_subset << " contrast " << c;
          }
        }
      }
    }
  }
}

TEST(ContrastLinearised, LargeTotalsKeepTheirPrecision) {
  // Totals of y ~ 1e9 + small noise: a one-pass sum of squares would lose every
  // digit of the spread; the centred cross-products keep it.
  Sample s = make_sample(3, 6, 0, false);
  for (double& y : s.y) {
    if (!std::isnan(y)) y += 1e9;
  }
  DesignInput in;
  in.weights = s.w;
  in.strata = s.strata;
  in.psu = s.psu;
  const Design design(in);
  const std::vector<double> coef{1, -1, 0, 0};
  const ContrastRequest req = sample_request(s, Statistic::Total, false, coef, {});
  const ContrastResult res = contrast(design, req);
  const double want = variance_of_u(design, s, Statistic::Total, false, coef, {});
  EXPECT_LE(rel_diff(res.se[0] * res.se[0], want), 1e-9);
}

TEST(ContrastLinearised, ThreadCountDoesNotChangeResults) {
  const Sample s = make_sample(11, 1500, 0, false, 40);  // ~ 100k rows
  ASSERT_GT(s.w.size(), 80000u);
  DesignInput in;
  in.weights = s.w;
  in.strata = s.strata;
  in.psu = s.psu;
  const Design design(in);
  ContrastRequest req = sample_request(s, Statistic::Mean, false, {}, {});
  req.pairwise = true;
  req.threads = 1;
  const ContrastResult one = contrast(design, req);
  req.threads = 4;
  const ContrastResult four = contrast(design, req);
  ASSERT_EQ(one.contrasts, 6);
  for (size_t i = 0; i < one.covariance.size(); ++i) {
    EXPECT_LE(rel_diff(one.covariance[i], four.covariance[i]), 1e-12);
  }
  for (size_t c = 0; c < 6; ++c) {
    EXPECT_LE(rel_diff(one.se[c], four.se[c]), 1e-12);
    EXPECT_EQ(one.df[c], four.df[c]);
  }
}

TEST(ContrastLinearised, DegreesOfFreedomCountTheContrastsDomains) {
  // Domains 0 and 1 only in strata 0-1, domain 2 only in stratum 2: the df of a
  // contrast is PSUs minus strata with rows of its domains.
  const std::vector<int32_t> strata{0, 0, 0, 1, 1, 2, 2, 2};
  const std::vector<int32_t> psu{0, 1, 2, 3, 4, 5, 6, 7};
  const std::vector<double> w(8, 1.0), y{1, 2, 3, 4, 5, 6, 7, 9};
  const std::vector<int32_t> by{0, 1, 0, 1, 0, 2, 2, 2};
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  in.psu = psu;
  const Design design(in);
  ContrastRequest req;
  req.values = y;
  req.by = {CodeColumn(by)};
  req.by_levels = {3};
  const std::vector<double> coef{1, -1, 0, 1, 0, -1, 1, 1, 1};
  req.coefficients = coef;
  const ContrastResult res = contrast(design, req);
  EXPECT_EQ(res.df, (std::vector<double>{5 - 2, 6 - 3, 8 - 3}));
  req.coefficients = {};
  req.pairwise = true;
  const ContrastResult pairs = contrast(design, req);
  EXPECT_EQ(pairs.df, (std::vector<double>{5 - 2, 6 - 3, 5 - 3}));
  req.df = INFINITY;  // a df given is used as is: normal quantiles
  const ContrastResult z = contrast(design, req);
  EXPECT_TRUE(std::isinf(z.df[0]));
  EXPECT_NEAR(z.ci_high[0] - z.estimate[0], qnorm(0.975) * z.se[0], 1e-12);
}

TEST(ContrastErrors, NameTheContrastAndTheDomain) {
  const std::vector<double> w(6, 1.0), y{1, 2, 3, 5, 6, 7};
  const std::vector<int32_t> strata{0, 0, 1, 1, 2, 2};
  const std::vector<int32_t> by{0, 0, 0, 1, 1, 1};
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  const Design design(in);
  ContrastRequest req;
  req.values = y;
  req.by = {CodeColumn(by)};
  req.by_levels = {3};
  req.names = {"b-c"};
  req.domain_labels = {"a", "b", "c"};
  req.by_name = "g";
  const std::vector<double> coef{0, 1, -1};
  req.coefficients = coef;
  try {
    contrast(design, req);
    FAIL() << "no error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("contrast 'b-c': 'g' has no domain 'c'"),
              std::string::npos)
        << e.what();
  }
  const std::vector<double> zero{0, 0, 0};
  req.coefficients = zero;
  EXPECT_THROW(contrast(design, req), InvalidInput);
  const std::vector<double> two{1, -1};
  req.coefficients = two;  // not one column per by level
  EXPECT_THROW(contrast(design, req), InvalidInput);
  const std::vector<double> ok{-1, 1, 0};
  req.coefficients = ok;
  req.conf_level = 1.5;
  EXPECT_THROW(contrast(design, req), InvalidInput);
  req.conf_level = 0.95;
  const ContrastResult res = contrast(design, req);
  EXPECT_DOUBLE_EQ(res.estimate[0], 4.0);  // the Design.contrast docstring's example
  // A ratio whose denominator estimate is 0.
  const std::vector<double> y0{0, 0, 0, 5, 6, 7};
  req.values = y0;
  const std::vector<double> none{0, 0, 0};
  const std::vector<int64_t> ratio{1, 0};
  req.coefficients = none;
  req.ratio = ratio;
  EXPECT_THROW(contrast(design, req), NotEstimable);
}

// ------------------------------------------------------------------ replicate df

TEST(ContrastReplicate, DegreesOfFreedomAreTheSubsetsRankMinusOne) {
  const json& c = cases()[7];
  ASSERT_EQ(c["name"], "apiclus1_jk1_api00_by_stype");
  const auto g = load_case(c);
  CaseRequest r;
  make_request(c, *g, r);
  // JK1 over 15 PSUs: 15 independent replicates, df 14 (R: degf = 14).
  const ContrastResult all = contrast(*g->design, r.req);
  for (double df : all.df) EXPECT_EQ(df, 14.0);
  // The rows of 3 PSUs span 3 replicates: R's degf of that subset is 2.
  std::vector<uint8_t> subset(g->w.size(), 0);
  std::set<int32_t> kept;
  for (size_t i = 0; i < subset.size(); ++i) {
    if (kept.size() < 3 || kept.count(g->psu[i])) {
      kept.insert(g->psu[i]);
      subset[i] = 1;
    }
  }
  ASSERT_EQ(kept.size(), 3u);
  r.req.subset = subset;
  r.req.pairwise = true;
  const ContrastResult part = contrast(*g->design, r.req);
  ASSERT_GT(part.contrasts, 0);
  for (double df : part.df) EXPECT_EQ(df, 2.0);
  // A fixed df (R's svrepdesign(degf =)) is used as given.
  auto fixed = std::make_shared<ReplicateVariance>();
  fixed->type = g->replicates->type;
  fixed->rows = g->replicates->rows;
  fixed->weights = g->replicates->weights;
  fixed->scale = g->replicates->scale;
  fixed->rscales = g->replicates->rscales;
  fixed->df = 30;
  DesignInput in;
  in.weights = g->w;
  const Design with_df = Design(in).with_replicates(fixed);
  for (double df : contrast(with_df, r.req).df) EXPECT_EQ(df, 30.0);
}

}  // namespace
}  // namespace steppe
