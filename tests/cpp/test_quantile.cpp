// Weighted quantile rules on samples small enough to work out by hand, and the
// Woodruff intervals of the core against R's svyquantile (tests/golden/*.json,
// made by make_golden.R and make_replicate_quantile_golden.R).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/quantile.hpp"
#include "steppe/replicate.hpp"

namespace steppe {
namespace {

using nlohmann::json;

double q(QuantileRule rule, const std::vector<double>& x, const std::vector<double>& w, double p) {
  const auto v = weighted_quantile(rule, x, w, p);
  EXPECT_TRUE(v.has_value()) << quantile_rule_name(rule) << " p=" << p;
  return v.value_or(std::nan(""));
}

// x = 1, 2, 3, 4 with unit weights: W = 4 and the cumulative weights are
// cumw = 1, 2, 3, 4, so qs() at p finds the last position with cumw <= 4p.
const std::vector<double> kX{1, 2, 3, 4};
const std::vector<double> kW{1, 1, 1, 1};

TEST(QuantileRules, StepRules) {
  // math: p = 0.5 -> cumw 2 <= 2 at position 2 (x = 2) with wlow = 0.5 - 2/4 = 0:
  // the CDF reaches p exactly at x = 2. p = 0.3 -> position 1, wlow = 0.05 > 0: the
  // next value, 2. p = 0.25 -> cumw 1 = 1, wlow = 0: x = 1.
  EXPECT_EQ(q(QuantileRule::Math, kX, kW, 0.5), 2.0);
  EXPECT_EQ(q(QuantileRule::Math, kX, kW, 0.3), 2.0);
  EXPECT_EQ(q(QuantileRule::Math, kX, kW, 0.25), 1.0);
  EXPECT_EQ(q(QuantileRule::Math, kX, kW, 1.0), 4.0);
  EXPECT_EQ(q(QuantileRule::Hf1, kX, kW, 0.5), 2.0);  // hf1 is math
  // school: where the CDF is flat at p (wlow = 0) the midpoint of x_pos and x_next.
  EXPECT_EQ(q(QuantileRule::School, kX, kW, 0.5), 2.5);
  EXPECT_EQ(q(QuantileRule::School, kX, kW, 0.3), 2.0);
  EXPECT_EQ(q(QuantileRule::Hf2, kX, kW, 0.75), 3.5);
  // hf4: linear in the CDF. p = 0.3: position 1 (x = 1), next x = 2,
  // wlow = 0.3 - 1/4 = 0.05, wup = 2/4 - 0.3 = 0.2, gamma = 0.05 / 0.25 = 0.2:
  // 1 * 0.8 + 2 * 0.2 = 1.2. p = 0.5: wlow = 0, so x = 2.
  EXPECT_NEAR(q(QuantileRule::Hf4, kX, kW, 0.3), 1.2, 1e-15);
  EXPECT_EQ(q(QuantileRule::Hf4, kX, kW, 0.5), 2.0);
}

TEST(QuantileRules, Hf3UsesDistinctValuesAndEvenPositions) {
  // Distinct x: p = 0.5 -> position 2 (1-based, even), wlow = 0: x_pos = 2.
  // p = 0.75 -> position 3 (odd), wlow = 0: the next value, 4.
  EXPECT_EQ(q(QuantileRule::Hf3, kX, kW, 0.5), 2.0);
  EXPECT_EQ(q(QuantileRule::Hf3, kX, kW, 0.75), 4.0);
  // x = 1, 2, 2, 3: distinct 1, 2, 3 with weights 1, 2, 1, cumw 1, 3, 4.
  // p = 0.75 -> cumw 3 <= 3 at distinct position 2 (even), wlow = 0: 2.
  // p = 0.5 -> cumw 1 <= 2 at position 1, wlow = 0.25: the next value, 2.
  const std::vector<double> x{2, 1, 3, 2};  // unsorted on purpose
  EXPECT_EQ(q(QuantileRule::Hf3, x, kW, 0.75), 2.0);
  EXPECT_EQ(q(QuantileRule::Hf3, x, kW, 0.5), 2.0);
  // math on the same data at p = 0.75: cumw 1, 2, 3, 4 over 1, 2, 2, 3 -> position
  // 3 (x = 2), wlow = 0: 2.
  EXPECT_EQ(q(QuantileRule::Math, x, kW, 0.75), 2.0);
}

TEST(QuantileRules, InterpolationRules) {
  // hf5: pk = (cumw - w/2) / W = 0.125, 0.375, 0.625, 0.875. p = 0.5 lies halfway
  // between 0.375 (x = 2) and 0.625 (x = 3): 2.5. Below the first knot: x_1.
  EXPECT_DOUBLE_EQ(q(QuantileRule::Hf5, kX, kW, 0.5), 2.5);
  EXPECT_EQ(q(QuantileRule::Hf5, kX, kW, 0.1), 1.0);
  EXPECT_EQ(q(QuantileRule::Hf5, kX, kW, 0.9), 4.0);
  // hf6: pk = cumw / (W + w_n) = 0.2, 0.4, 0.6, 0.8; p = 0.3 -> 1.5.
  EXPECT_DOUBLE_EQ(q(QuantileRule::Hf6, kX, kW, 0.3), 1.5);
  // hf7: pk = (0, cumw_1..cumw_{n-1}) / cumw_{n-1} = 0, 1/3, 2/3, 1: the usual
  // 1 + (n - 1) p for unit weights, p = 0.25 -> 1.75.
  EXPECT_DOUBLE_EQ(q(QuantileRule::Hf7, kX, kW, 0.25), 1.75);
  // hf8: pk = (c0/3 + 2c/3) / (W + w_n/3) = (2/3, 5/3, 8/3, 11/3) / (13/3)
  // = 2/13, 5/13, 8/13, 11/13. p = 0.25 = 3.25/13: 1 + 1.25/3 = 17/12.
  EXPECT_DOUBLE_EQ(q(QuantileRule::Hf8, kX, kW, 0.25), 17.0 / 12.0);
  // hf9: pk = (3c0/8 + 5c/8) / (W + w_n/4) = (5/8, 13/8, 21/8, 29/8) / (17/4)
  // = 5/34, 13/34, 21/34, 29/34. p = 0.25 = 8.5/34: 1 + 3.5/8 = 1.4375.
  EXPECT_DOUBLE_EQ(q(QuantileRule::Hf9, kX, kW, 0.25), 1.4375);
}

TEST(QuantileRules, ShahVaishIsALeftStepThroughSortedKnots) {
  // Unit weights: wbar = 1, S = 1..4, pk = (S + 0.5 - 1/2) / 5 = 0.2, 0.4, 0.6,
  // 0.8; approx(method = "constant", f = 0) takes the left knot's value.
  EXPECT_EQ(q(QuantileRule::ShahVaish, kX, kW, 0.5), 2.0);
  EXPECT_EQ(q(QuantileRule::ShahVaish, kX, kW, 0.6), 3.0);  // exactly at a knot
  EXPECT_EQ(q(QuantileRule::ShahVaish, kX, kW, 0.1), 1.0);  // rule = 2 below the first
  // x = 1, 2, 3 with w = 1, 10, 1: mean(w) = 4, wbar = 0.25, 2.5, 0.25, S = 0.25,
  // 2.75, 3; pk = (S + 0.5 - w/2) / 4 = 0.0625, -0.4375, 0.75 -- not monotone (R
  // subtracts the raw w/2). approx() sorts the knots: (-0.4375, 2), (0.0625, 1),
  // (0.75, 3). p = 0.5 -> the knot at 0.0625: 1; p = 0.05 -> the knot at -0.4375: 2.
  const std::vector<double> x{1, 2, 3}, w{1, 10, 1};
  EXPECT_EQ(q(QuantileRule::ShahVaish, x, w, 0.5), 1.0);
  EXPECT_EQ(q(QuantileRule::ShahVaish, x, w, 0.05), 2.0);
  EXPECT_EQ(q(QuantileRule::ShahVaish, x, w, 0.8), 3.0);
}

TEST(QuantileRules, ZeroWeightsDropTiesKeepRowOrderAndMissingQuantiles) {
  // A zero weight removes its row: math of (1, 100, 3) with w (1, 0, 1) at 0.75:
  // cumw 1, 2 over 1, 3 -> position 1, wlow = 0.25: 3.
  EXPECT_EQ(q(QuantileRule::Math, {1, 100, 3}, {1, 0, 1}, 0.75), 3.0);
  // No position with cumw <= p W: R's qs() takes the first one (survey's last()
  // returns 1 when nothing is TRUE), with wlow = p - 1/4 < 0, so the step rules
  // give the second value -- at p = 0 too -- and hf4 extrapolates: at p = 0.1,
  // wlow = -0.15, wup = 2/4 - 0.1 = 0.4, gamma = -0.15 / 0.25 = -0.6, so
  // 1 * 1.6 + 2 * (-0.6) = 0.4.
  EXPECT_EQ(q(QuantileRule::Math, kX, kW, 0.0), 2.0);
  EXPECT_EQ(q(QuantileRule::School, kX, kW, 0.1), 2.0);
  EXPECT_EQ(q(QuantileRule::Hf3, kX, kW, 0.1), 2.0);
  EXPECT_NEAR(q(QuantileRule::Hf4, kX, kW, 0.1), 0.4, 1e-15);
  // A single row: its value.
  const std::vector<double> five{5}, two{2}, zero{0};
  EXPECT_EQ(q(QuantileRule::Math, five, two, 0.1), 5.0);
  // hf7 needs two rows; every rule needs one.
  EXPECT_FALSE(weighted_quantile(QuantileRule::Hf7, five, two, 0.5).has_value());
  EXPECT_EQ(q(QuantileRule::Hf5, five, two, 0.5), 5.0);
  EXPECT_FALSE(weighted_quantile(QuantileRule::Hf5, five, zero, 0.5).has_value());
}

TEST(QuantileRules, NamesRoundTripAndBadNamesAreRefused) {
  for (const char* name : {"math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6",
                           "hf7", "hf8", "hf9"}) {
    EXPECT_EQ(quantile_rule_name(parse_quantile_rule(name)), name);
  }
  EXPECT_THROW(parse_quantile_rule("hf10"), InvalidInput);
  EXPECT_THROW(parse_quantile_ci("wilson"), InvalidInput);
}

// ------------------------------------------------------------ against R

/// A golden CSV (R's write.csv): quoted strings, empty fields missing.
struct Csv {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> column(const std::string& name) const {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) throw std::runtime_error("no column " + name);
    const size_t j = static_cast<size_t>(it - names.begin());
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[j]);
    return out;
  }
  std::vector<double> numbers(const std::string& name) const {
    std::vector<double> out;
    for (const auto& s : column(name)) out.push_back(s.empty() ? std::nan("") : std::stod(s));
    return out;
  }
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      out.emplace_back();
    } else if (ch != '\r') {
      out.back() += ch;
    }
  }
  return out;
}

Csv read_csv(const std::string& name) {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" /
                    "data" / (name + ".csv");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  Csv csv;
  std::string line;
  std::getline(in, line);
  csv.names = split(line);
  while (std::getline(in, line)) {
    if (!line.empty()) csv.rows.push_back(split(line));
  }
  return csv;
}

/// Codes of a column's labels in sorted order (as R's factor levels).
struct Factor {
  std::vector<int32_t> codes;
  std::vector<std::string> labels;
};

Factor factor(const std::vector<std::string>& values) {
  Factor f;
  f.labels = values;
  std::sort(f.labels.begin(), f.labels.end());
  f.labels.erase(std::unique(f.labels.begin(), f.labels.end()), f.labels.end());
  for (const auto& v : values) {
    f.codes.push_back(static_cast<int32_t>(std::lower_bound(f.labels.begin(), f.labels.end(), v) -
                                           f.labels.begin()));
  }
  return f;
}

bool close(double got, const json& want) {
  // make_golden.R writes an infinite df as "inf".
  const double w = want == "inf" ? std::numeric_limits<double>::infinity() : golden::number(want);
  if (std::isinf(w)) return got == w;
  return std::abs(got - w) <= 1e-9 * std::max(std::abs(got), std::abs(w)) + 1e-12;
}

/// Every field of R's rows, matched by (by label, probability); R's NA must be NaN.
/// df and n are checked where the rows have them.
void expect_rows(const QuantileResult& res, const std::vector<std::string>& labels,
                 const json& rows) {
  ASSERT_EQ(static_cast<size_t>(res.domains * res.probs), rows.size());
  for (const auto& row : rows) {
    const json& by = row["by"];
    std::string label;
    if (by.is_object() && !by.empty()) label = by.begin().value().get<std::string>();
    if (by.is_string()) label = by.get<std::string>();
    size_t cell = rows.size();
    for (size_t c = 0; c < res.prob.size(); ++c) {
      const size_t d = c / static_cast<size_t>(res.probs);
      const bool same_domain =
          res.by_count == 0 || labels[static_cast<size_t>(res.domain_codes[d])] == label;
      if (same_domain && res.prob[c] == row["level"].get<double>()) cell = c;
    }
    ASSERT_LT(cell, rows.size()) << row.dump();
    const std::map<std::string, double> got{{"estimate", res.estimate[cell]},
                                            {"se", res.se[cell]},
                                            {"ci_low", res.ci_low[cell]},
                                            {"ci_high", res.ci_high[cell]}};
    for (const auto& [field, value] : got) {
      if (row[field].is_null()) {
        EXPECT_TRUE(std::isnan(value)) << field << " " << row.dump();
        EXPECT_FALSE(res.flag[cell].empty());
      } else {
        EXPECT_TRUE(close(value, row[field])) << field << ": " << value << " vs " << row.dump();
      }
    }
    if (row.contains("df")) {
      EXPECT_TRUE(close(res.df[cell], row["df"])) << row.dump();
    }
    if (row.contains("n")) {
      EXPECT_EQ(res.n[cell], row["n"].get<int64_t>()) << row.dump();
    }
  }
}

QuantileRule rule_of(const json& call) {
  return parse_quantile_rule(call["rule"].get<std::string>());
}

std::vector<double> probs_of(const json& probs) {
  std::vector<double> out;
  for (const auto& p : probs) out.push_back(p.get<double>());
  return out;
}

TEST(QuantileGolden, WoodruffIntervalsMatchR) {
  int checked = 0;
  for (const std::string data : {"apistrat", "apiclus1"}) {
    const Csv csv = read_csv(data);
    for (const auto& c : golden::read(data + ".json")) {
      const json& call = c["call"];
      const json& spec = c["design"];
      if (call["stat"] != "quantile" || !spec["weighting"].is_null()) continue;
      SCOPED_TRACE(c["name"].get<std::string>());
      const std::vector<double> w = csv.numbers(spec["weights"].get<std::string>());
      const std::vector<double> fpc = csv.numbers(spec["fpc"].get<std::string>());
      Factor strata, psu;
      DesignInput in;
      in.weights = w;
      in.fpc = fpc;
      if (!spec["strata"].is_null()) {
        strata = factor(csv.column(spec["strata"].get<std::string>()));
        in.strata = strata.codes;
      }
      if (!spec["psu"].is_null()) {
        psu = factor(csv.column(spec["psu"].get<std::string>()));
        in.psu = psu.codes;
      }
      const Design design(in);
      const std::vector<double> values = csv.numbers(call["variable"].get<std::string>());
      QuantileRequest req;
      req.values = values;
      req.probs = probs_of(call["probs"]);
      req.rule = rule_of(call);
      req.ci = parse_quantile_ci(call["ci"].get<std::string>());
      req.level = call["level"].get<double>();
      if (call["df"] == "inf") req.df = std::numeric_limits<double>::infinity();
      Factor by;
      if (!call["by"].is_null()) {
        by = factor(csv.column(call["by"][0].get<std::string>()));
        req.by = {CodeColumn(by.codes)};
        req.by_levels = {static_cast<int32_t>(by.labels.size())};
      }
      for (int threads : {1, 2}) {
        req.threads = threads;
        expect_rows(quantile(design, req), by.labels, c["rows"]);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 10);  // every quantile case without a weighting step
}

TEST(QuantileGolden, EveryRuleUnderUnequalWeightsMatchesR) {
  // make_quantile_golden.R: apistrat's weights differ by stratum, so the rules'
  // tie handling and shahvaish's unsorted plotting positions are exercised.
  const json golden_file = golden::read("quantile/rules.json");
  const Csv csv = read_csv("apistrat");
  const std::vector<double> w = csv.numbers("pw"), fpc = csv.numbers("fpc");
  const Factor stype = factor(csv.column("stype"));
  DesignInput in;
  in.weights = w;
  in.fpc = fpc;
  in.strata = stype.codes;
  const Design design(in);
  const std::vector<double> api00 = csv.numbers("api00");
  std::map<std::pair<std::string, bool>, json> rows;  // (rule, by stype) -> R's rows
  for (const auto& row : golden_file["rows"]) {
    const bool by = !row["by"].get<std::string>().empty();
    json& list = rows[{row["rule"].get<std::string>(), by}];
    json copy = row;
    copy["by"] = by ? json(row["by"]) : json(nullptr);
    list.push_back(copy);
  }
  ASSERT_EQ(rows.size(), 24u);
  for (const auto& [key, want] : rows) {
    SCOPED_TRACE(key.first + (key.second ? " by stype" : ""));
    QuantileRequest req;
    req.values = api00;
    req.probs = probs_of(golden_file["probs"]);
    req.rule = parse_quantile_rule(key.first);
    if (key.second) {
      req.by = {CodeColumn(stype.codes)};
      req.by_levels = {static_cast<int32_t>(stype.labels.size())};
    }
    expect_rows(quantile(design, req), stype.labels, want);
  }
}

TEST(QuantileGolden, ReplicateQuantilesMatchR) {
  // apiclus1's JK1 replicates as R's as.svrepdesign made them (multipliers of pw,
  // make_replicate_golden.R), and the scale R used.
  const Csv csv = read_csv("apiclus1");
  const Csv reps = read_csv("rep_apiclus1_jk1");
  const json designs = golden::read("replicate/replicate.json")["designs"]["apiclus1_jk1"];
  double scale = 0;
  for (const auto& b : designs) {
    if (b["kind"] == "columns") scale = b["scale"].get<double>();
  }
  ASSERT_GT(scale, 0);
  const std::vector<double> w = csv.numbers("pw");
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = "JK1";
  rv->rows = static_cast<int64_t>(w.size());
  for (const auto& name : reps.names) {
    const std::vector<double> m = reps.numbers(name);
    for (size_t i = 0; i < m.size(); ++i) rv->weights.push_back(m[i] * w[i]);
  }
  rv->scale = scale;
  rv->rscales.assign(reps.names.size(), 1.0);
  DesignInput in;
  in.weights = w;
  const Design design = Design(in).with_replicates(rv);
  const std::vector<double> api00 = csv.numbers("api00");
  const Factor stype = factor(csv.column("stype"));
  int checked = 0;
  for (const auto& c : golden::read("replicate/quantile.json")) {
    if (c["data"] != "apiclus1") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    QuantileRequest req;
    req.values = api00;
    req.probs = probs_of(c["probs"]);
    req.rule = rule_of(c);
    req.ci = parse_quantile_ci(c["ci"].get<std::string>());
    if (!c["by"].is_null()) {
      req.by = {CodeColumn(stype.codes)};
      req.by_levels = {static_cast<int32_t>(stype.labels.size())};
    }
    for (int threads : {1, 2}) {
      req.threads = threads;
      expect_rows(quantile(design, req), stype.labels, c["rows"]);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(Quantile, ADomainWithoutDegreesOfFreedomHasNaNLimitsAsR) {
  // Domain 0 lies in PSU 0 alone: R's degf of the domain is 1 PSU - 1 stratum = 0,
  // qt(, 0) is NaN, so R's se and limits are NaN; domain 1 spans PSUs 1 and 2.
  const std::vector<double> w{1, 1, 1, 1, 1, 1}, x{1, 2, 3, 4, 5, 6};
  const std::vector<int32_t> psu{0, 0, 1, 1, 2, 2}, by{0, 0, 1, 1, 1, 1};
  DesignInput in;
  in.weights = w;
  in.psu = psu;
  const Design design(in);
  QuantileRequest req;
  req.values = x;
  req.probs = {0.5};
  req.by = {CodeColumn(by)};
  req.by_levels = {2};
  const QuantileResult res = quantile(design, req);
  ASSERT_EQ(res.domains, 2);
  EXPECT_EQ(res.estimate[0], 1.0);  // math: cumw 1, 2 of W = 2 reaches 0.5 at x = 1
  EXPECT_EQ(res.df[0], 0.0);
  EXPECT_TRUE(std::isnan(res.se[0]) && std::isnan(res.ci_low[0]) && std::isnan(res.ci_high[0]));
  EXPECT_EQ(res.flag[0].rfind("suppress", 0), 0u) << res.flag[0];
  EXPECT_EQ(res.df[1], 1.0);
  EXPECT_EQ(res.flag[1].rfind("suppress", 0), std::string::npos) << res.flag[1];
}

TEST(Quantile, ErrorsNameTheProblem) {
  const std::vector<double> w{1, 2, 1, 2}, x{1, 2, 3, 4};
  DesignInput in;
  in.weights = w;
  const Design design(in);
  QuantileRequest req;
  req.values = x;
  req.variable = "income";
  req.probs = {0.5};
  req.rule = QuantileRule::Hf7;                // hf7 needs two rows in every domain
  const std::vector<int32_t> own{0, 1, 2, 3};  // each row its own domain
  req.by = {CodeColumn(own)};
  req.by_levels = {4};
  EXPECT_THROW(quantile(design, req), NotEstimable);
  req.rule = QuantileRule::Math;
  req.by.clear();
  req.by_levels.clear();
  req.probs = {1.5};
  EXPECT_THROW(quantile(design, req), InvalidInput);
  req.probs = {0.5};
  req.ci = QuantileCi::Quantile;  // replicate quantiles need replicates
  EXPECT_THROW(quantile(design, req), InvalidInput);
  req.ci = QuantileCi::Mean;
  const std::vector<double> missing(4, std::nan(""));
  req.values = missing;
  try {
    quantile(design, req);
    FAIL() << "no error for an all-missing column";
  } catch (const NotEstimable& e) {
    EXPECT_NE(std::string(e.what()).find("'income'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace steppe
