// Two-way tables: the cells' covariance against the delta method for row shares
// (the same linearised variable, so equal to rounding), shares that add up, the
// replicate covariance against svrVar written out, thread-count invariance and
// the errors the request promises.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "steppe/crosstab.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/replicate.hpp"

namespace steppe {
namespace {

bool close(double a, double b, double rel) {
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b)) + 1e-300;
}

struct Sample {
  std::vector<double> w, fpc;
  std::vector<int32_t> strata, psu, row, col, by;
  static constexpr int32_t R = 3, C = 4, B = 2;
};

/// A stratified cluster sample with an FPC and missing codes, rows in random order.
Sample make_sample(unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0, 1);
  Sample s;
  int32_t psu_id = 0;
  for (int h = 0; h < 6; ++h) {
    const int n_psu = 2 + static_cast<int>(rng() % 4);
    for (int p = 0; p < n_psu; ++p, ++psu_id) {
      const int rows = 5 + static_cast<int>(rng() % 20);
      for (int r = 0; r < rows; ++r) {
        s.strata.push_back(h);
        s.psu.push_back(psu_id);
        s.fpc.push_back(10.0 * n_psu);
        s.w.push_back(1 + 9 * unif(rng));
        s.row.push_back(unif(rng) < 0.04 ? -1 : static_cast<int32_t>(rng() % Sample::R));
        s.col.push_back(unif(rng) < 0.04 ? -1 : static_cast<int32_t>(rng() % Sample::C));
        s.by.push_back(static_cast<int32_t>(rng() % Sample::B));
      }
    }
  }
  std::vector<size_t> perm(s.w.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  Sample t = s;
  for (size_t i = 0; i < perm.size(); ++i) {
    t.w[i] = s.w[perm[i]];
    t.fpc[i] = s.fpc[perm[i]];
    t.strata[i] = s.strata[perm[i]];
    t.psu[i] = s.psu[perm[i]];
    t.row[i] = s.row[perm[i]];
    t.col[i] = s.col[perm[i]];
    t.by[i] = s.by[perm[i]];
  }
  return t;
}

Design make_design(const Sample& s) {
  DesignInput in;
  in.weights = s.w;
  in.strata = s.strata;
  in.psu = s.psu;
  in.fpc = s.fpc;
  return Design(in);
}

CrosstabRequest make_request(const Sample& s, int threads = 1) {
  CrosstabRequest req;
  req.row = s.row;
  req.row_levels = Sample::R;
  req.col = s.col;
  req.col_levels = Sample::C;
  req.common.by = {s.by};
  req.common.by_levels = {Sample::B};
  req.common.threads = threads;
  return req;
}

TEST(Crosstab, SharesAddUpAndMarginsAreRatiosOfCells) {
  const Sample s = make_sample(3);
  const CrosstabResult t = crosstab(make_design(s), make_request(s));
  constexpr size_t R = Sample::R, C = Sample::C, K = R * C;
  ASSERT_EQ(t.cells.domains, 2);
  ASSERT_EQ(t.cells.cells_per_domain, static_cast<int32_t>(K));
  ASSERT_EQ(t.rows.domains, 2 * static_cast<int64_t>(R));
  ASSERT_EQ(t.columns.domains, 2 * static_cast<int64_t>(C));
  for (size_t d = 0; d < 2; ++d) {
    const double* p = t.cells.estimate.data() + d * K;
    double sum = 0;
    for (size_t k = 0; k < K; ++k) sum += p[k];
    EXPECT_TRUE(close(sum, 1, 1e-13));
    for (size_t r = 0; r < R; ++r) {
      double margin = 0;
      for (size_t c = 0; c < C; ++c) margin += p[r + R * c];
      // rows: domains (by, row) in key order, by slowest.
      const size_t dom = d * R + r;
      ASSERT_EQ(t.rows.domain_codes[dom * 2], static_cast<int32_t>(d));
      ASSERT_EQ(t.rows.domain_codes[dom * 2 + 1], static_cast<int32_t>(r));
      for (size_t c = 0; c < C; ++c) {
        EXPECT_TRUE(close(t.rows.estimate[dom * C + c], p[r + R * c] / margin, 1e-12));
      }
    }
    for (size_t c = 0; c < C; ++c) {
      double margin = 0;
      for (size_t r = 0; r < R; ++r) margin += p[r + R * c];
      const size_t dom = d * C + c;
      for (size_t r = 0; r < R; ++r) {
        EXPECT_TRUE(close(t.columns.estimate[dom * R + r], p[r + R * c] / margin, 1e-12));
      }
    }
  }
}

TEST(Crosstab, CovarianceGivesTheRowSharesVarianceByTheDeltaMethod) {
  // The row share p_rc / p_r. linearises to sum_k g_k z_k with g the gradient below:
  // exactly the domain mean's linearised variable, so g' V g is its variance.
  const Sample s = make_sample(8);
  const CrosstabResult t = crosstab(make_design(s), make_request(s));
  constexpr size_t R = Sample::R, C = Sample::C, K = R * C;
  for (size_t d = 0; d < 2; ++d) {
    const double* p = t.cells.estimate.data() + d * K;
    const double* v = t.cells.covariance.data() + d * K * K;
    for (size_t k = 0; k < K; ++k) {
      EXPECT_TRUE(close(v[k * K + k], t.cells.variance[d * K + k], 1e-12));
      double row_sum = 0;
      for (size_t l = 0; l < K; ++l) row_sum += v[k * K + l];
      EXPECT_LT(std::fabs(row_sum), 1e-12 * v[k * K + k]);  // shares sum to 1
    }
    for (size_t r = 0; r < R; ++r) {
      double margin = 0;
      for (size_t c = 0; c < C; ++c) margin += p[r + R * c];
      for (size_t c = 0; c < C; ++c) {
        const double share = p[r + R * c] / margin;
        std::vector<double> g(K, 0.0);
        for (size_t c2 = 0; c2 < C; ++c2) g[r + R * c2] = ((c2 == c) - share) / margin;
        double var = 0;
        for (size_t a = 0; a < K; ++a) {
          for (size_t b = 0; b < K; ++b) var += g[a] * v[a * K + b] * g[b];
        }
        EXPECT_TRUE(close(var, t.rows.variance[(d * R + r) * C + c], 1e-9))
            << var << " vs " << t.rows.variance[(d * R + r) * C + c];
      }
    }
  }
}

TEST(Crosstab, TotalsAreSharesTimesTheWeightSumAndThreadsChangeNothing) {
  const Sample s = make_sample(21);
  const Design design = make_design(s);
  CrosstabRequest req = make_request(s, 1);
  const CrosstabResult one = crosstab(design, req);
  req.common.threads = 2;
  const CrosstabResult two = crosstab(design, req);
  for (size_t i = 0; i < one.cells.covariance.size(); ++i) {
    EXPECT_TRUE(close(one.cells.covariance[i], two.cells.covariance[i], 1e-12));
  }
  req.cells = Statistic::Total;
  req.margins = false;
  const CrosstabResult totals = crosstab(design, req);
  EXPECT_TRUE(totals.rows.estimate.empty());
  const size_t K = static_cast<size_t>(Sample::R * Sample::C);
  for (size_t c = 0; c < one.cells.estimate.size(); ++c) {
    EXPECT_TRUE(close(totals.cells.estimate[c], one.cells.estimate[c] * one.cells.weight_sum[c / K],
                      1e-12));
  }
}

TEST(Crosstab, ReplicateCovarianceIsSvrVarOfTheReplicateShares) {
  // A delete-one-PSU jackknife (JK1 over the PSUs, strata ignored): the covariance of
  // the cell shares is (R-1)/R sum_r (p_r - mean p)(p_r - mean p)'.
  const Sample s = make_sample(5);
  const int32_t n_psu = *std::max_element(s.psu.begin(), s.psu.end()) + 1;
  std::vector<std::vector<double>> cols(static_cast<size_t>(n_psu));
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = "JK1";
  rv->rows = static_cast<int64_t>(s.w.size());
  rv->scale = (n_psu - 1.0) / n_psu;
  for (int32_t j = 0; j < n_psu; ++j) {
    auto& col = cols[static_cast<size_t>(j)];
    for (size_t i = 0; i < s.w.size(); ++i) {
      col.push_back(s.psu[i] == j ? 0.0 : s.w[i] * n_psu / (n_psu - 1.0));
    }
    rv->weights.insert(rv->weights.end(), col.begin(), col.end());
    rv->rscales.push_back(1.0);
  }
  const double scale = rv->scale;
  DesignInput in;
  in.weights = s.w;
  const Design jackknife = Design(in).with_replicates(std::move(rv));
  CrosstabRequest req = make_request(s);
  req.common.by.clear();
  req.common.by_levels.clear();
  const CrosstabResult t = crosstab(jackknife, req);
  constexpr size_t K = Sample::R * Sample::C;
  std::vector<std::vector<double>> shares;
  for (const auto& col : cols) {
    std::vector<double> p(K, 0.0);
    double total = 0;
    for (size_t i = 0; i < s.w.size(); ++i) {
      if (s.row[i] < 0 || s.col[i] < 0) continue;
      p[static_cast<size_t>(s.row[i] + Sample::R * s.col[i])] += col[i];
      total += col[i];
    }
    for (double& x : p) x /= total;
    shares.push_back(p);
  }
  for (size_t a = 0; a < K; ++a) {
    for (size_t b = 0; b < K; ++b) {
      double ma = 0, mb = 0;
      for (const auto& p : shares) {
        ma += p[a] / n_psu;
        mb += p[b] / n_psu;
      }
      double cov = 0;
      for (const auto& p : shares) cov += (p[a] - ma) * (p[b] - mb);
      cov *= scale;
      EXPECT_TRUE(close(t.cells.covariance[a * K + b], cov, 1e-10)) << a << "," << b;
    }
  }
}

TEST(Crosstab, ErrorsNameTheVariable) {
  const Sample s = make_sample(1);
  const Design design = make_design(s);
  CrosstabRequest req = make_request(s);
  req.row_name = "region";
  std::vector<int32_t> bad = s.row;
  bad[4] = Sample::R;  // beyond the levels
  req.row = bad;
  try {
    crosstab(design, req);
    FAIL() << "code beyond the levels";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("region"), std::string::npos) << e.what();
  }
  req = make_request(s);
  req.col_levels = 0;
  EXPECT_THROW(crosstab(design, req), InvalidInput);
  std::vector<uint8_t> none(s.w.size(), 0);
  req = make_request(s);
  req.common.subset = none;
  EXPECT_THROW(crosstab(design, req), NotEstimable);
}

}  // namespace
}  // namespace steppe
