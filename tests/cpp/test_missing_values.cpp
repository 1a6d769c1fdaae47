// Rows left out for missing values: complete cases equal a subset to the
// complete rows (R's na.rm = TRUE), the counts per domain and for missing by
// values survive merges and bytes, and all-missing domains are reported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "steppe/accumulate.hpp"
#include "steppe/design.hpp"
#include "steppe/estimate.hpp"
#include "steppe/partial.hpp"

namespace steppe {
namespace {

/// 3 strata x 3 PSUs x 4 rows; y missing in every row of by level 2 and in a
/// few others, z missing in some rows, by missing in two rows.
struct Data {
  std::vector<double> w, y, z;
  std::vector<int32_t> strata, psu, by;
  std::vector<uint8_t> complete_mask;  // y and z both present
};

Data make_data() {
  Data d;
  int32_t p = 0;
  for (int32_t h = 0; h < 3; ++h) {
    for (int32_t j = 0; j < 3; ++j, ++p) {
      for (int32_t r = 0; r < 4; ++r) {
        const size_t i = d.w.size();
        d.strata.push_back(h);
        d.psu.push_back(p);
        d.w.push_back(1.0 + static_cast<double>((i * 7) % 5));
        const int32_t b = static_cast<int32_t>(i % 4 == 3 ? 2 : i % 2);
        d.by.push_back(i == 5 || i == 22 ? -1 : b);
        d.y.push_back(b == 2 || i % 9 == 4 ? std::nan("") : 10.0 + static_cast<double>(i % 6));
        d.z.push_back(i % 7 == 1 ? std::nan("") : static_cast<double>(i % 3));
      }
    }
  }
  for (size_t i = 0; i < d.w.size(); ++i) {
    d.complete_mask.push_back(!std::isnan(d.y[i]) && !std::isnan(d.z[i]) ? 1 : 0);
  }
  return d;
}

Design make_design(const Data& d) {
  DesignInput in;
  in.weights = d.w;
  in.strata = d.strata;
  in.psu = d.psu;
  return Design(in);
}

EstimateRequest base(const Data& d) {
  EstimateRequest req;
  req.statistic = Statistic::Mean;
  req.values = d.y;
  req.by = {d.by};
  req.by_levels = {3};
  return req;
}

TEST(MissingValues, CompleteCasesEqualTheSubsetOfCompleteRows) {
  const Data d = make_data();
  const Design design = make_design(d);
  EstimateRequest req = base(d);
  req.complete_values = {d.z};
  const EstimateResult got = estimate(design, req);
  EstimateRequest sub = base(d);
  sub.subset = d.complete_mask;
  const EstimateResult want = estimate(design, sub);
  ASSERT_EQ(got.domains, want.domains);
  for (size_t c = 0; c < got.estimate.size(); ++c) {
    EXPECT_DOUBLE_EQ(got.estimate[c], want.estimate[c]);
    EXPECT_DOUBLE_EQ(got.variance[c], want.variance[c]);
    EXPECT_EQ(got.n[c], want.n[c]);
  }
  // Counts: rows in the domain (by present) missing y or z.
  int64_t missing_by = 0;
  std::vector<int64_t> missing(3, 0);
  for (size_t i = 0; i < d.w.size(); ++i) {
    if (d.by[i] < 0) {
      ++missing_by;
    } else if (!d.complete_mask[i]) {
      ++missing[static_cast<size_t>(d.by[i])];
    }
  }
  EXPECT_EQ(got.rows_missing_by, missing_by);
  EXPECT_EQ(got.rows_missing_value, missing[0] + missing[1] + missing[2]);
  ASSERT_EQ(got.n_missing.size(), 2u);  // level 2 has no value: not reported unless asked
  EXPECT_EQ(got.n_missing[0], missing[0]);
  EXPECT_EQ(got.n_missing[1], missing[1]);
  // Complete-case codes: -1 leaves the row out the same way.
  std::vector<int32_t> z_codes;
  for (double v : d.z) z_codes.push_back(std::isnan(v) ? -1 : static_cast<int32_t>(v));
  EstimateRequest coded = base(d);
  coded.complete_codes = {CodeColumn(z_codes)};
  const EstimateResult same = estimate(design, coded);
  for (size_t c = 0; c < got.estimate.size(); ++c) {
    EXPECT_DOUBLE_EQ(same.estimate[c], got.estimate[c]);
  }
}

TEST(MissingValues, AllMissingDomainIsReportedInKeyOrder) {
  const Data d = make_data();
  const Design design = make_design(d);
  EstimateRequest req = base(d);
  req.empty_domains = true;
  req.ci = "wald";
  const EstimateResult res = estimate(design, req);
  ASSERT_EQ(res.domains, 3);
  ASSERT_EQ(res.domain_codes, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(res.n[2], 0);
  EXPECT_EQ(res.weight_sum[2], 0.0);
  for (double v : {res.estimate[2], res.variance[2], res.se[2], res.ci_low[2], res.ci_high[2],
                   res.df[2], res.design_df[2], res.deff[2]}) {
    EXPECT_TRUE(std::isnan(v));
  }
  EXPECT_EQ(res.flag[2], "suppress: no row with a value (all missing)");
  int64_t rows2 = 0;
  for (size_t i = 0; i < d.w.size(); ++i) rows2 += d.by[i] == 2;
  EXPECT_EQ(res.n_missing[2], rows2);
  // The other domains are unchanged by the insertion.
  req.empty_domains = false;
  const EstimateResult plain = estimate(design, req);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(res.estimate[c], plain.estimate[c]);
    EXPECT_EQ(res.se[c], plain.se[c]);
  }
}

TEST(MissingValues, CountsSurviveMergeAndBytes) {
  const Data d = make_data();
  const Design design = make_design(d);
  EstimateRequest req = base(d);
  req.complete_values = {d.z};
  req.empty_domains = true;
  const EstimateResult whole = estimate(design, req);
  const int64_t half = design.rows() / 2;
  TotalsState a = scan_totals(design, req, 0, half);
  a = TotalsState::from_bytes(a.to_bytes());
  a.merge(TotalsState::from_bytes(scan_totals(design, req, half, design.rows()).to_bytes()));
  const DomainPlan plan = plan_estimate(design, req, a);
  SpreadState s = scan_spread(design, req, plan, 0, design.psus());
  const EstimateResult res = finish_estimate(design, req, a, std::move(s));
  EXPECT_EQ(res.n_missing, whole.n_missing);
  EXPECT_EQ(res.rows_missing_by, whole.rows_missing_by);
  EXPECT_EQ(res.rows_missing_value, whole.rows_missing_value);
  EXPECT_EQ(res.domains, 3);
}

}  // namespace
}  // namespace steppe
