// The design core: row order and groups, the PSU-in-stratum check and nest,
// finite population corrections (sizes, fractions, errors), weights derived
// from fpc and the lonely-PSU rules, against R's survey (tests/golden/design.json,
// written by tests/golden/make_design_golden.R) and against variances by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"

namespace steppe {
namespace {

using json = nlohmann::json;

const json& golden() {
  static const json data = golden::read("design.json");
  return data;
}

bool close(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b));
}

/// The message of the InvalidInput that `make` throws ("" when it does not throw).
std::string invalid_message(const std::function<void()>& make) {
  try {
    make();
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_HAS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "'" << (text) << "'"

template <class T>
std::vector<T> vec(const json& v) {
  std::vector<T> out;
  for (const auto& x : v) out.push_back(static_cast<T>(golden::number(x)));
  return out;
}

EstimateResult estimate_of(const Design& d, std::span<const double> y, Statistic stat) {
  EstimateRequest req;
  req.statistic = stat;
  req.values = y;
  return estimate(d, req);
}

// ------------------------------------------------------------------ sorting

TEST(DesignSort, StableByStratumThenPsuThenPsu2) {
  const std::vector<double> w{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<int32_t> strata{1, 0, 1, 0, 0, 1, 0, 1};
  const std::vector<int32_t> psu{3, 1, 2, 0, 1, 3, 0, 2};
  const std::vector<int32_t> psu2{0, 1, 1, 0, 0, 0, 0, 0};
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  in.psu = psu;
  in.psu2 = psu2;
  const Design d(in);
  // (0,0): rows 3, 6 (row order kept); (0,1): psu2 0 then 1 -> rows 4, 1;
  // (1,2): psu2 0 row 7 then psu2 1 row 2; (1,3): rows 0, 5.
  const std::vector<int32_t> want{3, 6, 4, 1, 7, 2, 0, 5};
  EXPECT_EQ(d.order(), want);
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(d.rank()[static_cast<size_t>(want[s])], static_cast<int32_t>(s));
    EXPECT_EQ(d.sorted_weights()[s], w[static_cast<size_t>(want[s])]);
  }
  EXPECT_EQ(d.weights(), w);  // original order kept alongside
  EXPECT_EQ(d.strata(), 2);
  EXPECT_EQ(d.psus(), 4);
  EXPECT_EQ(d.degf(), 2);
  EXPECT_EQ(d.stratum_psu_begin(), (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(d.psu_row_begin(), (std::vector<int64_t>{0, 2, 4, 6, 8}));
  // psu2 units per PSU: 1, 2, 2, 1; first sorted row of each.
  EXPECT_EQ(d.psu_psu2_begin(), (std::vector<int64_t>{0, 1, 3, 5, 6}));
  EXPECT_EQ(d.psu2_row_begin(), (std::vector<int64_t>{0, 2, 3, 4, 5, 6, 8}));
  EXPECT_TRUE(d.has_second_stage());
}

TEST(DesignSort, SortedInputKeepsNoPermutation) {
  const std::vector<double> w{1, 1, 1, 1};
  const std::vector<int32_t> strata{0, 0, 1, 1};
  const std::vector<int32_t> psu{0, 1, 2, 3};
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  in.psu = psu;
  const Design d(in);
  EXPECT_TRUE(d.order().empty());
  EXPECT_TRUE(d.rank().empty());
  EXPECT_EQ(d.psu_first_row(3), 3);
}

TEST(DesignSort, RowsArePsusWithoutPsuColumn) {
  const std::vector<double> w{1, 2, 3, 4, 5};
  const std::vector<int32_t> strata{1, 0, 1, 0, 1};
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  const Design d(in);
  EXPECT_TRUE(d.rows_are_psus());
  EXPECT_EQ(d.order(), (std::vector<int32_t>{1, 3, 0, 2, 4}));
  EXPECT_EQ(d.stratum_psu_count(0), 2);
  EXPECT_EQ(d.stratum_psu_count(1), 3);
  EXPECT_EQ(d.psu_label(0), "row 1");
}

// ------------------------------------------------------------------ nesting

TEST(DesignNesting, PsuInTwoStrataNamesColumnCountAndFirstRow) {
  const std::vector<double> w(8, 1.0);
  const std::vector<int32_t> strata{0, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<int32_t> psu{0, 0, 1, 2, 2, 3, 1, 1};  // ids 1 and 2 in both strata
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  in.psu = psu;
  in.stratum_labels = {"north", "south"};
  in.psu_labels = {"p0", "p1", "p2", "p3"};
  in.columns.psu = "district";
  in.columns.strata = "region";
  const std::string msg = invalid_message([&] { Design{in}; });
  EXPECT_HAS(msg, "psu column 'district'");
  EXPECT_HAS(msg, "2 PSU id(s)");
  EXPECT_HAS(msg, "strata column 'region'");
  // Row 4 is the first row of an id (p2) outside its first stratum.
  EXPECT_HAS(msg, "first: row 4");
  EXPECT_HAS(msg, "PSU 'p2' in stratum 'south' and 'north'");
  EXPECT_HAS(msg, "nest=True");
}

TEST(DesignNesting, NestMakesPsuIdsUniqueWithinStrata) {
  const std::vector<double> w{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> y{1, 4, 2, 8, 5, 7, 3, 6};
  const std::vector<int32_t> strata{0, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<int32_t> local{0, 0, 1, 1, 1, 0, 0, 1};   // ids repeat across strata
  const std::vector<int32_t> global{0, 0, 1, 1, 3, 2, 2, 3};  // the same PSUs, unique ids
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  in.psu = local;
  in.stratum_labels = {"a", "b"};
  in.psu_labels = {"x", "y"};
  EXPECT_THROW(Design{in}, InvalidInput);
  in.nest = true;
  const Design nested(in);
  in.nest = false;
  in.psu = global;
  in.psu_labels.clear();
  const Design unique(in);
  EXPECT_EQ(nested.psus(), 4);
  EXPECT_EQ(nested.order(), unique.order());
  EXPECT_EQ(nested.psu_row_begin(), unique.psu_row_begin());
  EXPECT_EQ(nested.psu_label(2), "b / x");
  const auto a = estimate_of(nested, y, Statistic::Mean);
  const auto b = estimate_of(unique, y, Statistic::Mean);
  EXPECT_EQ(a.estimate[0], b.estimate[0]);
  EXPECT_TRUE(close(a.variance[0], b.variance[0], 1e-14));
}

TEST(DesignNesting, Psu2IsNestedInPsus) {
  // psu2 codes 0 and 1 in every PSU (R's svydesign nests later stages).
  const std::vector<double> w{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<int32_t> psu{0, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<int32_t> local{0, 1, 0, 1, 1, 0, 1, 0};
  DesignInput in;
  in.weights = w;
  in.psu = psu;
  in.psu2 = local;
  const Design d(in);
  EXPECT_EQ(d.psu_psu2_begin(), (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(d.psu2_row_begin(), (std::vector<int64_t>{0, 2, 4, 6, 8}));
}

TEST(DesignNesting, StructuralErrors) {
  const std::vector<double> w(4, 1.0);
  const std::vector<int32_t> one{0, 0, 0, 0};
  const std::vector<int32_t> two{0, 0, 1, 1};
  const std::vector<int32_t> missing{0, -1, 1, -1};
  DesignInput in;
  in.weights = w;
  in.psu = one;
  EXPECT_HAS(invalid_message([&] { Design{in}; }), "only one primary sampling unit");
  in.psu = missing;
  in.columns.psu = "cluster";
  EXPECT_HAS(invalid_message([&] { Design{in}; }),
             "psu column 'cluster' is missing in 2 rows (first: row 1)");
  in.psu = {};
  in.psu2 = two;
  EXPECT_HAS(invalid_message([&] { Design{in}; }), "psu2 needs psu");
  in.psu2 = {};
  const std::vector<int32_t> short_strata{0, 1};
  in.strata = short_strata;
  EXPECT_HAS(invalid_message([&] { Design{in}; }), "strata has 2 rows but the design has 4");
}

// ---------------------------------------------------------------------- fpc

struct Fpc {
  std::vector<int32_t> strata{0, 0, 0, 1, 1};
  std::vector<int32_t> psu{0, 1, 2, 3, 4};
  std::vector<double> w{1, 1, 1, 1, 1};
  std::vector<double> fpc;
  DesignInput input() const {
    DesignInput in;
    in.weights = w;
    in.strata = strata;
    in.psu = psu;
    in.fpc = fpc;
    in.stratum_labels = {"a", "b"};
    in.columns.fpc = "N";
    return in;
  }
};

TEST(DesignFpc, SizeAndFractionGiveTheSamePopulation) {
  Fpc size;
  size.fpc = {30, 30, 30, 8, 8};
  Fpc fraction;
  fraction.fpc = {0.1, 0.1, 0.1, 0.25, 0.25};  // 3/30 and 2/8
  const Design a(size.input()), b(fraction.input());
  EXPECT_TRUE(a.has_fpc());
  EXPECT_EQ(a.stratum_popsize(), (std::vector<double>{30, 8}));
  EXPECT_TRUE(close(b.stratum_popsize()[0], 30, 1e-15));
  EXPECT_TRUE(close(b.stratum_popsize()[1], 8, 1e-15));
  Fpc none;
  const Design c(none.input());
  EXPECT_FALSE(c.has_fpc());
  EXPECT_TRUE(std::isinf(c.stratum_popsize()[0]));
}

TEST(DesignFpc, VaryingWithinStratumNamesColumnRowsAndStratum) {
  Fpc f;
  f.fpc = {30, 31, 32, 8, 8};
  const std::string msg = invalid_message([&] { Design{f.input()}; });
  EXPECT_HAS(msg, "fpc varies within stratum 'a'");
  EXPECT_HAS(msg, "fpc column 'N'");
  EXPECT_HAS(msg, "30 at row 0");
  EXPECT_HAS(msg, "2 rows (first: row 1)");
}

TEST(DesignFpc, BadValuesAreRefused) {
  Fpc f;
  f.fpc = {30, NAN, 30, -1, 8};
  EXPECT_HAS(invalid_message([&] { Design{f.input()}; }),
             "fpc column 'N' is missing or negative in 2 rows (first: row 1)");
  f.fpc = {30, 30, 30, 0.5, 0.5};  // sizes and fractions mixed
  const std::string mixed = invalid_message([&] { Design{f.input()}; });
  EXPECT_HAS(mixed, "all population sizes");
  EXPECT_HAS(mixed, "30 at row 0");
  EXPECT_HAS(mixed, "0.5 at row 3");
  f.fpc = {1, 1, 1, 1, 1};  // R's as.fpc cannot tell sizes from fractions
  EXPECT_HAS(invalid_message([&] { Design{f.input()}; }), "every value is 1");
  f.fpc = {2, 2, 2, 8, 8};  // 3 PSUs sampled of 2
  EXPECT_HAS(invalid_message([&] { Design{f.input()}; }), "more than 100% sampling in stratum 'a'");
  f.fpc = {};
  DesignInput in = f.input();
  const std::vector<double> fpc2{4, 4, 4, 4, 4};
  in.fpc2 = fpc2;
  EXPECT_HAS(invalid_message([&] { Design{in}; }), "fpc2 needs fpc");
}

TEST(DesignFpc, SecondStageConstantWithinPsu) {
  const std::vector<int32_t> psu{0, 0, 1, 1};
  const std::vector<int32_t> psu2{0, 1, 0, 1};
  const std::vector<double> fpc{10, 10, 10, 10};
  const std::vector<double> fpc2{4, 5, 4, 4};
  DesignInput in;
  in.psu = psu;
  in.psu2 = psu2;
  in.fpc = fpc;
  in.fpc2 = fpc2;
  in.columns.fpc2 = "M";
  const std::string msg = invalid_message([&] { Design{in}; });
  EXPECT_HAS(msg, "fpc2 varies within PSU '0'");
  EXPECT_HAS(msg, "fpc2 column 'M'");
  EXPECT_HAS(msg, "1 row (first: row 1)");
  in.fpc2 = {};
  EXPECT_HAS(invalid_message([&] { Design{in}; }), "psu2 with fpc needs fpc2");
}

// ------------------------------------------------------ weights from fpc (R)

TEST(DesignFpc, WeightsFromFpcMatchR) {
  for (const auto& c : golden()["fpc_weights"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto strata = vec<int32_t>(c["strata"]), psu = vec<int32_t>(c["psu"]),
               psu2 = vec<int32_t>(c["psu2"]);
    const auto fpc = vec<double>(c["fpc"]), fpc2 = vec<double>(c["fpc2"]);
    const auto y = vec<double>(c["y"]), want = vec<double>(c["weights"]);
    DesignInput in;  // no weights: R's svydesign derives them
    in.rows = static_cast<int64_t>(y.size());
    in.strata = strata;
    in.psu = psu;
    in.psu2 = psu2;
    in.fpc = fpc;
    in.fpc2 = fpc2;
    in.nest = c["nest"].get<bool>();
    const Design d(in);
    ASSERT_EQ(d.weights().size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(close(d.weights()[i], want[i], 1e-14)) << i << ": " << d.weights()[i];
    }
    const auto m = estimate_of(d, y, Statistic::Mean);
    const auto t = estimate_of(d, y, Statistic::Total);
    EXPECT_TRUE(close(m.estimate[0], golden::number(c["mean"]), 1e-12));
    EXPECT_TRUE(close(std::sqrt(m.variance[0]), golden::number(c["mean_se"]), 1e-9));
    EXPECT_TRUE(close(t.estimate[0], golden::number(c["total"]), 1e-12));
    EXPECT_TRUE(close(std::sqrt(t.variance[0]), golden::number(c["total_se"]), 1e-9));
  }
}

TEST(DesignFpc, NoWeightsFromAZeroFraction) {
  const std::vector<int32_t> psu{0, 1, 2};
  const std::vector<double> fraction{0.5, 0, 0.5};
  DesignInput in;
  in.psu = psu;
  in.fpc = fraction;
  EXPECT_HAS(invalid_message([&] { Design{in}; }), "fpc varies");
  const std::vector<double> zero{0, 0, 0};
  in.fpc = zero;
  EXPECT_HAS(invalid_message([&] { Design{in}; }),
             "fpc implies a population above 1e12 (or a sampling fraction of 0) in 3 rows");
  const std::vector<double> w{1, 1, 1};
  in.weights = w;  // with weights, a zero fraction is only "no finite population"
  EXPECT_NO_THROW(Design{in});
  DesignInput empty;
  EXPECT_HAS(invalid_message([&] { Design{empty}; }), "no rows");
}

// ----------------------------------------------------------------- lonely PSUs

/// The tiny design's variance by hand under R's rules (svyrecvar's onestrat):
/// PSU totals of z per stratum; a stratum of n_h > 1 PSUs adds n_h / (n_h - 1)
/// sum (t - tbar)^2; the lonely stratum adds 0 (remove, certainty), t^2 (adjust:
/// not centred) or nothing with the others scaled by strata / strata with a
/// variance (average).
double tiny_variance(const std::vector<int32_t>& strata, const std::vector<int32_t>& psu,
                     const std::vector<double>& z, LonelyPsu rule) {
  std::map<int32_t, std::map<int32_t, double>> totals;
  for (size_t i = 0; i < z.size(); ++i) totals[strata[i]][psu[i]] += z[i];
  double v = 0;
  int ok = 0;
  for (const auto& [h, t] : totals) {
    const double n = static_cast<double>(t.size());
    if (t.size() == 1) {
      if (rule == LonelyPsu::Adjust) v += t.begin()->second * t.begin()->second;
      if (rule != LonelyPsu::Average) ++ok;
      continue;
    }
    double mean = 0;
    for (const auto& [p, x] : t) mean += x / n;
    double ss = 0;
    for (const auto& [p, x] : t) ss += (x - mean) * (x - mean);
    v += n / (n - 1) * ss;
    ++ok;
  }
  return v * static_cast<double>(totals.size()) / ok;
}

TEST(DesignLonelyPsu, RulesMatchHandAndR) {
  for (const auto& c : golden()["lonely"]) {
    const std::string rule_name = c["rule"].get<std::string>();
    SCOPED_TRACE(rule_name);
    const LonelyPsu rule = parse_lonely_psu(rule_name);
    EXPECT_EQ(to_string(rule), rule_name);
    const auto strata = vec<int32_t>(c["strata"]), psu = vec<int32_t>(c["psu"]);
    const auto w = vec<double>(c["weights"]), y = vec<double>(c["y"]);
    DesignInput in;
    in.weights = w;
    in.strata = strata;
    in.psu = psu;
    in.lonely_psu = rule;
    in.stratum_labels = {"a", "b", "c"};
    const Design d(in);
    if (rule == LonelyPsu::Fail) {
      try {
        estimate_of(d, y, Statistic::Mean);
        FAIL() << "expected NotEstimable";
      } catch (const NotEstimable& e) {
        EXPECT_HAS(e.what(), "'b'");
      }
      EXPECT_TRUE(c["mean_se"].is_null());  // R stops too
      continue;
    }
    double W = 0, WY = 0;
    for (size_t i = 0; i < w.size(); ++i) W += w[i], WY += w[i] * y[i];
    std::vector<double> z_mean(w.size()), z_total(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      z_mean[i] = w[i] * (y[i] - WY / W) / W;  // the mean's linearised value
      z_total[i] = w[i] * y[i];
    }
    const auto m = estimate_of(d, y, Statistic::Mean);
    const auto t = estimate_of(d, y, Statistic::Total);
    EXPECT_TRUE(close(m.variance[0], tiny_variance(strata, psu, z_mean, rule), 1e-12));
    EXPECT_TRUE(close(t.variance[0], tiny_variance(strata, psu, z_total, rule), 1e-12));
    EXPECT_TRUE(close(m.estimate[0], golden::number(c["mean"]), 1e-14));
    EXPECT_TRUE(close(std::sqrt(m.variance[0]), golden::number(c["mean_se"]), 1e-9));
    EXPECT_TRUE(close(t.estimate[0], golden::number(c["total"]), 1e-14));
    EXPECT_TRUE(close(std::sqrt(t.variance[0]), golden::number(c["total_se"]), 1e-9));
  }
}

TEST(DesignLonelyPsu, RuleNamesInOnePlace) {
  for (const char* name : {"fail", "remove", "certainty", "adjust", "average"}) {
    EXPECT_EQ(to_string(parse_lonely_psu(name)), name);
  }
  const std::string msg = invalid_message([] { parse_lonely_psu("ignore"); });
  EXPECT_HAS(msg, "lonely_psu must be one of 'fail', 'remove', 'certainty', 'adjust', 'average'");
  EXPECT_HAS(msg, "got 'ignore'");
}

}  // namespace
}  // namespace steppe
