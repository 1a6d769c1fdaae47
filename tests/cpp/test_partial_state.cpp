// The mergeable state is real: for any split of the rows into slices (and of
// the PSUs into ranges), the slices' states, sent through bytes and merged in
// any order, finish to the very result estimate() gives in one pass (1e-12
// relative on every column), for every estimator and kind of design. And bytes
// that are not a state, or states that miss or repeat a slice, are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "steppe/accumulate.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"
#include "steppe/partial.hpp"
#include "steppe/replicate.hpp"

namespace steppe {
namespace {

// ----------------------------------------------------------------- data

/// Columns of a table: numbers (NaN = missing) and factorised strings.
struct Frame {
  size_t rows = 0;
  std::map<std::string, std::vector<double>> num;
  std::map<std::string, std::vector<int32_t>> codes;
  std::map<std::string, int32_t> levels;

  void add_codes(const std::string& name, std::vector<int32_t> c) {
    int32_t k = 0;
    for (int32_t v : c) k = std::max(k, v + 1);
    codes[name] = std::move(c);
    levels[name] = k;
  }
};

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

/// tests/golden/data/<name>.csv: numeric columns as doubles, others as codes
/// (levels in order of first appearance; empty = missing).
Frame read_csv(const std::string& name) {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" /
                    "data" / (name + ".csv");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::string line;
  std::getline(in, line);
  const auto header = split_csv_line(line);
  std::vector<std::vector<std::string>> cells(header.size());
  size_t rows = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = split_csv_line(line);
    for (size_t j = 0; j < header.size(); ++j) cells[j].push_back(j < f.size() ? f[j] : "");
    ++rows;
  }
  Frame fr;
  fr.rows = rows;
  for (size_t j = 0; j < header.size(); ++j) {
    bool numeric = true;
    std::vector<double> v(rows);
    for (size_t i = 0; i < rows && numeric; ++i) {
      const auto& s = cells[j][i];
      if (s.empty() || s == "NA") {
        v[i] = std::nan("");
        continue;
      }
      char* end = nullptr;
      v[i] = std::strtod(s.c_str(), &end);
      numeric = end != nullptr && *end == '\0';
    }
    if (numeric) {
      fr.num[header[j]] = std::move(v);
      continue;
    }
    std::map<std::string, int32_t> ids;
    std::vector<int32_t> c(rows);
    for (size_t i = 0; i < rows; ++i) {
      const auto& s = cells[j][i];
      if (s.empty() || s == "NA") {
        c[i] = -1;
        continue;
      }
      c[i] = ids.try_emplace(s, static_cast<int32_t>(ids.size())).first->second;
    }
    fr.add_codes(header[j], std::move(c));
  }
  return fr;
}

/// Dense 0-based codes of a numeric id column (PSU and stratum ids).
std::vector<int32_t> id_codes(const std::vector<double>& ids) {
  std::map<double, int32_t> m;
  std::vector<int32_t> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    out[i] = m.try_emplace(ids[i], static_cast<int32_t>(m.size())).first->second;
  }
  return out;
}

/// A stratified two-stage-free cluster sample with a numeric y, x, a 4-level
/// item, two by variables and post-strata; rows shuffled. `single` strata get
/// one PSU (lonely PSUs).
Frame generated(unsigned seed, int strata, int single) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> stratum, psu, w, y, x;
  std::vector<int32_t> item, by1, by2, post, keep;
  int p = 0;
  for (int h = 0; h < strata; ++h) {
    const int n_psu = h < single ? 1 : 2 + static_cast<int>(rng() % 4);
    for (int j = 0; j < n_psu; ++j, ++p) {
      const int rows = 1 + static_cast<int>(rng() % 12);
      for (int r = 0; r < rows; ++r) {
        stratum.push_back(h);
        psu.push_back(p);
        w.push_back(1 + 9 * u(rng));
        y.push_back(u(rng) < 0.05 ? std::nan("") : 50 + 10 * u(rng) + h);
        x.push_back(u(rng) < 0.03 ? std::nan("") : 1 + u(rng));
        item.push_back(u(rng) < 0.05 ? -1 : static_cast<int32_t>(rng() % 4));
        by1.push_back(u(rng) < 0.03 ? -1 : static_cast<int32_t>(rng() % 3));
        by2.push_back(static_cast<int32_t>(rng() % 2));
        post.push_back(static_cast<int32_t>(rng() % 3));
        keep.push_back(u(rng) < 0.8 ? 1 : 0);
      }
    }
  }
  std::vector<size_t> perm(w.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  auto pd = [&](const std::vector<double>& v) {
    std::vector<double> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = v[perm[i]];
    return o;
  };
  auto pc = [&](const std::vector<int32_t>& v) {
    std::vector<int32_t> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = v[perm[i]];
    return o;
  };
  Frame f;
  f.rows = w.size();
  f.num["stratum"] = pd(stratum);
  f.num["psu"] = pd(psu);
  f.num["w"] = pd(w);
  f.num["y"] = pd(y);
  f.num["x"] = pd(x);
  f.add_codes("item", pc(item));
  f.add_codes("by1", pc(by1));
  f.add_codes("by2", pc(by2));
  f.add_codes("post", pc(post));
  f.add_codes("keep", pc(keep));
  return f;
}

// ------------------------------------------------------------ requests

/// An estimate to run: statistic, variable, by variables, subset, options.
struct Ask {
  std::string name;
  Statistic statistic = Statistic::Mean;
  std::string variable;  // numeric column, or categorical when `categorical`
  bool categorical = false;
  std::string denominator;
  std::vector<std::string> by;
  std::string subset;  // a 0/1 codes column
  bool covariance = false;
  std::string ci = "wald";
  bool df_design = true;
  bool keep_replicates = false;
};

struct Built {
  EstimateRequest req;
  std::vector<uint8_t> subset;
};

std::unique_ptr<Built> build(const Frame& f, const Ask& a) {
  auto b = std::make_unique<Built>();
  EstimateRequest& r = b->req;
  r.statistic = a.statistic;
  if (a.categorical) {
    r.codes = f.codes.at(a.variable);
    r.levels = f.levels.at(a.variable);
  } else {
    r.values = f.num.at(a.variable);
  }
  if (!a.denominator.empty()) r.denominator = f.num.at(a.denominator);
  for (const auto& v : a.by) {
    r.by.emplace_back(std::span<const int32_t>(f.codes.at(v)));
    r.by_levels.push_back(f.levels.at(v));
  }
  if (!a.subset.empty()) {
    const auto& c = f.codes.at(a.subset);
    b->subset.resize(c.size());
    for (size_t i = 0; i < c.size(); ++i) b->subset[i] = c[i] == 1 ? 1 : 0;
    r.subset = b->subset;
  }
  r.covariance = a.covariance;
  r.ci = a.ci;
  r.df_design = a.df_design;
  r.keep_replicates = a.keep_replicates;
  r.threads = 1;
  return b;
}

/// Every estimator, with domains, a subset and covariances; categorical ones
/// on `item`, numeric ones on `y` (ratio: y / x).
std::vector<Ask> standard_asks(const std::string& item, const std::string& y, const std::string& x,
                               const std::vector<std::string>& by, const std::string& subset) {
  std::vector<Ask> asks;
  Ask a;
  a.name = "mean";
  a.variable = y;
  a.by = by;
  asks.push_back(a);
  a.name = "total, subset";
  a.statistic = Statistic::Total;
  a.subset = subset;
  asks.push_back(a);
  a = Ask{};
  a.name = "ratio";
  a.statistic = Statistic::Ratio;
  a.variable = y;
  a.denominator = x;
  a.by = {by.front()};
  asks.push_back(a);
  a = Ask{};
  a.name = "proportion, logit, covariance";
  a.variable = item;
  a.categorical = true;
  a.by = by;
  a.covariance = true;
  a.ci = "logit";
  asks.push_back(a);
  a.name = "proportion, beta, subset";
  a.ci = "beta";
  a.covariance = false;
  a.subset = subset;
  asks.push_back(a);
  a = Ask{};
  a.name = "total of levels, covariance, df inf";
  a.statistic = Statistic::Total;
  a.variable = item;
  a.categorical = true;
  a.covariance = true;
  a.df_design = false;
  a.keep_replicates = true;
  asks.push_back(a);
  return asks;
}

// ------------------------------------------------------------ comparing

bool same(double a, double b, double scale) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= 1e-12 * std::max({std::fabs(a), std::fabs(b), scale});
}

void expect_same(const std::vector<double>& a, const std::vector<double>& b, const char* what,
                 const std::string& where, double scale = 0) {
  ASSERT_EQ(a.size(), b.size()) << what << " " << where;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(same(a[i], b[i], scale))
        << what << "[" << i << "] " << where << ": " << a[i] << " vs " << b[i];
  }
}

/// Every column of two finished results, 1e-12 relative (counts exactly).
void expect_equal_results(const EstimateResult& a, const EstimateResult& b,
                          const std::string& where) {
  ASSERT_EQ(a.domains, b.domains) << where;
  ASSERT_EQ(a.cells_per_domain, b.cells_per_domain) << where;
  EXPECT_EQ(a.domain_codes, b.domain_codes) << where;
  expect_same(a.estimate, b.estimate, "estimate", where);
  expect_same(a.variance, b.variance, "variance", where);
  expect_same(a.se, b.se, "se", where);
  expect_same(a.ci_low, b.ci_low, "ci_low", where);
  expect_same(a.ci_high, b.ci_high, "ci_high", where);
  expect_same(a.deff, b.deff, "deff", where);
  expect_same(a.df, b.df, "df", where);
  expect_same(a.n_eff, b.n_eff, "n_eff", where);
  expect_same(a.weight_sum, b.weight_sum, "weight_sum", where);
  expect_same(a.design_df, b.design_df, "design_df", where);
  expect_same(a.replicates, b.replicates, "replicates", where);
  // Off-diagonal covariances may cancel to near zero: compare them on the
  // scale of the domain's largest variance.
  double cov_scale = 0;
  for (double v : a.covariance) cov_scale = std::max(cov_scale, std::fabs(v));
  expect_same(a.covariance, b.covariance, "covariance", where, cov_scale);
  EXPECT_EQ(a.n, b.n) << where;
  EXPECT_EQ(a.n_nonzero, b.n_nonzero) << where;
  EXPECT_EQ(a.psus, b.psus) << where;
  EXPECT_EQ(a.strata, b.strata) << where;
  EXPECT_EQ(a.flag, b.flag) << where;
  EXPECT_EQ(a.ci_method, b.ci_method) << where;
}

// ------------------------------------------------------------ slicing

/// `parts` ranges tiling [0, size): random cuts, one empty range among them
/// when parts >= 3.
std::vector<std::pair<int64_t, int64_t>> random_ranges(int64_t size, int parts,
                                                       std::mt19937_64& rng) {
  std::vector<int64_t> cuts{0, size};
  for (int i = 1; i < parts; ++i) {
    cuts.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(size + 1)));
  }
  if (parts >= 3) cuts[2] = cuts[3 % cuts.size()];  // a repeated cut: an empty range
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) out.emplace_back(cuts[i], cuts[i + 1]);
  return out;
}

/// The estimate from partial states: scan every slice, send each state
/// through bytes, merge in a shuffled order, plan, scan PSU ranges, finish.
EstimateResult sliced_estimate(const Design& design, const EstimateRequest& req, int parts,
                               std::mt19937_64& rng) {
  std::vector<TotalsState> totals;
  for (const auto& [b, e] : random_ranges(design.rows(), parts, rng)) {
    totals.push_back(TotalsState::from_bytes(scan_totals(design, req, b, e).to_bytes()));
  }
  std::shuffle(totals.begin(), totals.end(), rng);
  TotalsState merged = totals.front();
  for (size_t i = 1; i < totals.size(); ++i) merged.merge(totals[i]);
  // The plan travels to the workers of scan 2 as bytes too.
  const DomainPlan plan = DomainPlan::from_bytes(plan_estimate(design, req, merged).to_bytes());
  std::vector<SpreadState> spread;
  for (const auto& [b, e] : random_ranges(design.psus(), parts, rng)) {
    spread.push_back(SpreadState::from_bytes(scan_spread(design, req, plan, b, e).to_bytes()));
  }
  std::shuffle(spread.begin(), spread.end(), rng);
  SpreadState all = std::move(spread.front());
  for (size_t i = 1; i < spread.size(); ++i) all.merge(std::move(spread[i]));
  return finish_estimate(design, req, merged, std::move(all));
}

/// Every ask on the design, split into 1, 3 and 8 slices (several random
/// splits each), against estimate().
void check_design(const Design& design, const Frame& f, const std::vector<Ask>& asks,
                  const std::string& name, unsigned seed = 1) {
  std::mt19937_64 rng(seed);
  for (const auto& ask : asks) {
    const auto built = build(f, ask);
    const EstimateResult ref = estimate(design, built->req);
    for (int parts : {1, 3, 8}) {
      for (int trial = 0; trial < 3; ++trial) {
        const std::string where = name + " / " + ask.name + " / " + std::to_string(parts) +
                                  " slices #" + std::to_string(trial);
        const EstimateResult res = sliced_estimate(design, built->req, parts, rng);
        expect_equal_results(ref, res, where);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

Design taylor_design(const Frame& f, LonelyPsu rule = LonelyPsu::Fail) {
  DesignInput in;
  in.weights = f.num.at("w");
  static thread_local std::vector<int32_t> strata, psu;
  strata = id_codes(f.num.at("stratum"));
  psu = id_codes(f.num.at("psu"));
  in.strata = strata;
  in.psu = psu;
  in.lonely_psu = rule;
  return Design(in);
}

// ------------------------------------------------------------ the property

TEST(PartialState, StratifiedClusteredDesign) {
  const Frame f = generated(3, 12, 0);
  const Design design = taylor_design(f);
  check_design(design, f, standard_asks("item", "y", "x", {"by1", "by2"}, "keep"),
               "stratified clustered");
}

TEST(PartialState, StratifiedApistratWithFpc) {
  Frame f = read_csv("apistrat");
  DesignInput in;
  in.weights = f.num.at("pw");
  in.strata = f.codes.at("stype");
  in.fpc = f.num.at("fpc");
  const Design design(in);
  f.add_codes("yes", [&] {
    std::vector<int32_t> c = f.codes.at("sch.wide");
    return c;
  }());
  auto asks = standard_asks("api00_band", "api00", "api99", {"stype", "awards"}, "yes");
  Ask enroll;
  enroll.name = "total enroll by stype";
  enroll.statistic = Statistic::Total;
  enroll.variable = "enroll";
  enroll.by = {"stype"};
  asks.push_back(enroll);
  check_design(design, f, asks, "apistrat");
}

TEST(PartialState, TwoStageApiclus2WithFpc2) {
  Frame f = read_csv("apiclus2");
  DesignInput in;
  in.weights = f.num.at("pw");
  const auto psu = id_codes(f.num.at("dnum"));
  const auto psu2 = id_codes(f.num.at("snum"));
  in.psu = psu;
  in.psu2 = psu2;
  in.fpc = f.num.at("fpc1");
  in.fpc2 = f.num.at("fpc2");
  const Design design(in);
  ASSERT_TRUE(design.has_second_stage());
  std::vector<int32_t> enrolled(f.rows);
  for (size_t i = 0; i < f.rows; ++i) enrolled[i] = f.num.at("enroll")[i] > 400 ? 1 : 0;
  f.add_codes("big", enrolled);
  check_design(design, f, standard_asks("awards", "api00", "api99", {"stype"}, "big"),
               "apiclus2 two-stage");
}

TEST(PartialState, LonelyPsuRules) {
  const Frame f = generated(7, 10, 3);
  const auto asks = standard_asks("item", "y", "x", {"by1"}, "keep");
  for (LonelyPsu rule :
       {LonelyPsu::Remove, LonelyPsu::Certainty, LonelyPsu::Adjust, LonelyPsu::Average}) {
    check_design(taylor_design(f, rule), f, asks, "lonely " + std::string(to_string(rule)));
  }
  // "fail": both refuse, with the same message naming the strata.
  const Design design = taylor_design(f, LonelyPsu::Fail);
  const auto built = build(f, asks.front());
  std::string one_pass, sliced;
  try {
    estimate(design, built->req);
  } catch (const NotEstimable& e) {
    one_pass = e.what();
  }
  std::mt19937_64 rng(5);
  try {
    sliced_estimate(design, built->req, 8, rng);
  } catch (const NotEstimable& e) {
    sliced = e.what();
  }
  EXPECT_NE(one_pass.find("single PSU"), std::string::npos) << one_pass;
  EXPECT_EQ(one_pass, sliced);
}

TEST(PartialState, PostStratifiedAndGregCalibratedDesigns) {
  const Frame f = generated(11, 9, 0);
  const Design base = taylor_design(f);
  const auto& w = f.num.at("w");
  const auto& post = f.codes.at("post");
  // Post-stratified to made-up totals: w_cal = w * N_c / sum_c w.
  std::vector<double> sums(3, 0.0);
  for (size_t i = 0; i < f.rows; ++i) sums[static_cast<size_t>(post[i])] += w[i];
  const double target[3] = {500, 800, 650};
  std::vector<double> wcal(f.rows);
  for (size_t i = 0; i < f.rows; ++i) {
    const auto c = static_cast<size_t>(post[i]);
    wcal[i] = w[i] * target[c] / sums[c];
  }
  CalibrationInput cal;
  cal.cell = post;
  cal.columns = 3;
  cal.base_weights = w;
  cal.calibrated_weights = wcal;
  const Design poststratified = base.reweighted(wcal, cal, false);
  ASSERT_TRUE(poststratified.calibration().active());
  const auto asks = standard_asks("item", "y", "x", {"by1", "by2"}, "keep");
  check_design(poststratified, f, asks, "post-stratified");

  // GREG on an intercept and a covariate (dense model matrix).
  std::vector<double> m(f.rows * 2), wg(f.rows);
  for (size_t i = 0; i < f.rows; ++i) {
    const double z = static_cast<double>(post[i]) + 0.5;
    m[2 * i] = 1.0;
    m[2 * i + 1] = z;
    wg[i] = w[i] * (1.0 + 0.05 * (z - 1.5));
  }
  CalibrationInput greg;
  greg.matrix = m;
  greg.columns = 2;
  greg.base_weights = w;
  greg.calibrated_weights = wg;
  check_design(base.reweighted(wg, greg, false), f, asks, "GREG");
}

/// A replicate design over the frame's rows: JK1 weights from its PSUs.
Design jk1_design(const Frame& f, double fixed_df) {
  const auto& w = f.num.at("w");
  const auto psu = id_codes(f.num.at("psu"));
  int32_t P = 0;
  for (int32_t p : psu) P = std::max(P, p + 1);
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = "JK1";
  rv->rows = static_cast<int64_t>(f.rows);
  const size_t R = static_cast<size_t>(P);
  rv->weights.resize(R * f.rows);
  for (size_t r = 0; r < R; ++r) {
    for (size_t i = 0; i < f.rows; ++i) {
      rv->weights[r * f.rows + i] =
          psu[i] == static_cast<int32_t>(r) ? 0.0 : w[i] * static_cast<double>(P) / (P - 1);
    }
  }
  rv->scale = static_cast<double>(P - 1) / P;
  rv->rscales.assign(R, 1.0);
  rv->df = fixed_df;
  DesignInput in;
  in.weights = w;
  return Design(in).with_replicates(rv);
}

TEST(PartialState, ReplicateDesigns) {
  const Frame f = generated(13, 6, 0);
  const auto asks = standard_asks("item", "y", "x", {"by1", "by2"}, "keep");
  check_design(jk1_design(f, std::nan("")), f, asks, "JK1 (rank df)");
  check_design(jk1_design(f, 12.0), f, asks, "JK1 (fixed df)");

  // apistrat with R's BRR replicate multipliers (0 / 2) on its weights, mse.
  Frame a = read_csv("apistrat");
  const Frame reps = read_csv("rep_apistrat_brr");
  const auto& pw = a.num.at("pw");
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = "BRR";
  rv->rows = static_cast<int64_t>(a.rows);
  for (size_t r = 1; reps.num.count("rep" + std::to_string(r)); ++r) {
    const auto& m = reps.num.at("rep" + std::to_string(r));
    for (size_t i = 0; i < a.rows; ++i) rv->weights.push_back(pw[i] * m[i]);
    rv->rscales.push_back(1.0);
  }
  rv->scale = 1.0 / static_cast<double>(rv->rscales.size());
  rv->mse = true;
  DesignInput in;
  in.weights = pw;
  const Design brr = Design(in).with_replicates(rv);
  a.add_codes("yes", std::vector<int32_t>(a.codes.at("sch.wide")));
  check_design(brr, a, standard_asks("api00_band", "api00", "api99", {"stype", "awards"}, "yes"),
               "apistrat BRR");
}

// ------------------------------------------------------------ refusals

struct Fixture {
  Frame f = generated(17, 8, 0);
  Design design = taylor_design(f);
  std::unique_ptr<Built> built = build(f, standard_asks("item", "y", "x", {"by1"}, "keep")[3]);
  const EstimateRequest& req() const { return built->req; }
};

TEST(PartialState, StatesMissingOrRepeatingASliceAreRefused) {
  Fixture x;
  const int64_t n = x.design.rows(), half = n / 2;
  TotalsState a = scan_totals(x.design, x.req(), 0, half);
  const TotalsState b = scan_totals(x.design, x.req(), half, n);
  EXPECT_THROW(plan_estimate(x.design, x.req(), a), InvalidInput);  // rows missing
  TotalsState twice = a;
  twice.merge(a);
  twice.merge(b);
  EXPECT_THROW(plan_estimate(x.design, x.req(), twice), InvalidInput);  // rows twice
  a.merge(b);
  const DomainPlan plan = plan_estimate(x.design, x.req(), a);
  const int64_t P = x.design.psus();
  SpreadState s1 = scan_spread(x.design, x.req(), plan, 0, P / 2);
  EXPECT_THROW(finish_estimate(x.design, x.req(), a, s1), InvalidInput);  // PSUs missing
  s1.merge(scan_spread(x.design, x.req(), plan, P / 2, P));
  SpreadState extra = s1;
  extra.merge(scan_spread(x.design, x.req(), plan, 1, 2));
  EXPECT_THROW(finish_estimate(x.design, x.req(), a, extra), InvalidInput);  // a PSU twice
  EXPECT_NO_THROW(finish_estimate(x.design, x.req(), a, s1));
  EXPECT_THROW(scan_totals(x.design, x.req(), 5, 3), InvalidInput);
  EXPECT_THROW(scan_spread(x.design, x.req(), plan, 0, P + 1), InvalidInput);
}

TEST(PartialState, StatesOfAnotherRequestOrPlanAreRefused) {
  Fixture x;
  const int64_t n = x.design.rows();
  const TotalsState t = scan_totals(x.design, x.req(), 0, n);
  EstimateRequest other = x.req();
  other.statistic = Statistic::Total;
  TotalsState u = scan_totals(x.design, other, 0, n);
  EXPECT_THROW(u.merge(t), InvalidInput);
  EXPECT_THROW(plan_estimate(x.design, other, t), InvalidInput);
  EstimateRequest numeric;
  numeric.values = x.f.num.at("y");
  EXPECT_THROW(scan_spread(x.design, numeric, plan_estimate(x.design, x.req(), t), 0, 1),
               InvalidInput);
  // A spread scanned with a plan from other totals (a subset of the rows).
  TotalsState part = scan_totals(x.design, x.req(), 0, n / 2);
  TotalsState rest = scan_totals(x.design, x.req(), n / 2, n);
  DomainPlan skewed = plan_estimate(x.design, x.req(), t);
  skewed.center[0] += 0.25;
  SpreadState s = scan_spread(x.design, x.req(), skewed, 0, x.design.psus());
  part.merge(rest);
  EXPECT_THROW(finish_estimate(x.design, x.req(), part, std::move(s)), InvalidInput);
}

/// Positions to damage: every one of the first 96 bytes (header, sizes, first
/// arrays), then 300 drawn at random.
std::vector<size_t> positions(size_t size, std::mt19937_64& rng) {
  std::vector<size_t> out;
  for (size_t i = 0; i < std::min<size_t>(size, 96); ++i) out.push_back(i);
  for (int i = 0; i < 300 && size > 0; ++i) out.push_back(rng() % size);
  return out;
}

/// Prefixes and single-byte changes of valid bytes: read or refused with
/// InvalidInput, and a state that reads finishes or is refused, never a crash.
template <class State, class Use>
void fuzz(const std::string& bytes, Use&& use) {
  std::mt19937_64 rng(99);
  for (size_t len : positions(bytes.size(), rng)) {
    EXPECT_THROW(State::from_bytes(std::string_view(bytes).substr(0, len)), InvalidInput) << len;
  }
  for (size_t pos : positions(bytes.size(), rng)) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[pos] = static_cast<char>(static_cast<unsigned char>(bad[pos]) ^ flip);
      try {
        use(State::from_bytes(bad));
      } catch (const InvalidInput&) {
      } catch (const NotEstimable&) {
      }
    }
  }
  EXPECT_THROW(State::from_bytes(bytes + "x"), InvalidInput);
  EXPECT_THROW(State::from_bytes("not a state at all"), InvalidInput);
}

TEST(PartialState, CorruptOrShortBytesAreRefusedNeverACrash) {
  Fixture x;
  const int64_t n = x.design.rows(), P = x.design.psus();
  const TotalsState t0 = scan_totals(x.design, x.req(), 0, n / 3);
  const TotalsState t1 = scan_totals(x.design, x.req(), n / 3, n);
  TotalsState t = t0;
  t.merge(t1);
  const DomainPlan plan = plan_estimate(x.design, x.req(), t);
  const SpreadState s0 = scan_spread(x.design, x.req(), plan, 0, P / 3);
  const SpreadState s1 = scan_spread(x.design, x.req(), plan, P / 3, P);
  auto finish_with_spread = [&](SpreadState s) {
    s.merge(SpreadState(s1));
    finish_estimate(x.design, x.req(), t, std::move(s));
  };
  fuzz<TotalsState>(t0.to_bytes(), [&](TotalsState s) {
    s.merge(t1);
    const DomainPlan p = plan_estimate(x.design, x.req(), s);
    SpreadState all = scan_spread(x.design, x.req(), p, 0, P);
    finish_estimate(x.design, x.req(), s, std::move(all));
  });
  fuzz<SpreadState>(s0.to_bytes(), finish_with_spread);
  fuzz<DomainPlan>(plan.to_bytes(), [&](const DomainPlan& p) {
    SpreadState all = scan_spread(x.design, x.req(), p, 0, P);
    finish_estimate(x.design, x.req(), t, std::move(all));
  });
  // A replicate design's totals: replicate sums and pattern sets.
  const Design jk = jk1_design(x.f, std::nan(""));
  const TotalsState r0 = scan_totals(jk, x.req(), 0, n / 2);
  const TotalsState r1 = scan_totals(jk, x.req(), n / 2, n);
  ASSERT_TRUE(r0.has_patterns);
  fuzz<TotalsState>(r0.to_bytes(), [&](TotalsState s) {
    s.merge(r1);
    const DomainPlan p = plan_estimate(jk, x.req(), s);
    SpreadState all = scan_spread(jk, x.req(), p, 0, jk.psus());
    finish_estimate(jk, x.req(), s, std::move(all));
  });
  // The header names what is wrong.
  std::string v2 = t0.to_bytes();
  v2[4] = 99;
  try {
    TotalsState::from_bytes(v2);
    ADD_FAILURE() << "version 99 read";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("version"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SpreadState::from_bytes(t0.to_bytes()), InvalidInput);  // another kind of state
}

TEST(PartialState, ReplicateTotalsCarryWhatTheDesignDfNeeds) {
  const Frame f = generated(19, 5, 0);
  const Design design = jk1_design(f, std::nan(""));
  auto b = build(f, standard_asks("item", "y", "x", {"by1"}, "keep")[3]);
  EstimateRequest no_df = b->req;
  no_df.df_design = false;
  no_df.ci = "logit";
  // Scanned for df = inf, finished asking for the design df: refused, not guessed.
  const TotalsState t = scan_totals(design, no_df, 0, design.rows());
  EXPECT_FALSE(t.has_patterns);
  const DomainPlan plan = plan_estimate(design, no_df, t);
  SpreadState s = scan_spread(design, no_df, plan, 0, design.psus());
  EXPECT_THROW(finish_estimate(design, b->req, t, s), InvalidInput);
  const EstimateResult res = finish_estimate(design, no_df, t, std::move(s));
  expect_equal_results(estimate(design, no_df), res, "replicate, df inf");
}

}  // namespace
}  // namespace steppe
