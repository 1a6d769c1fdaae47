// The one-pass engine against a naive, obviously-correct reference that follows
// R's svyrecvar literally (per-row linearised values, rowsum by PSU, pad to the
// stratum's PSU count, centre, scale), plus the invariants the engine promises:
// merge order, thread count, byte round trips and clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "steppe/accumulate.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/estimate.hpp"

namespace steppe {
namespace {

struct Sample {
  std::vector<double> w, y, x, fpc;
  std::vector<int32_t> strata, psu, level, by;
  int32_t levels = 4, by_levels = 3;
};

/// Random stratified cluster sample; rows deliberately not in design order.
Sample make_sample(unsigned seed, int n_strata, bool fpc) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0, 1);
  Sample s;
  int32_t psu_id = 0;
  for (int h = 0; h < n_strata; ++h) {
    const int n_psu = 2 + static_cast<int>(rng() % 4);
    const double popsize = n_psu * (2 + static_cast<int>(rng() % 5));
    for (int p = 0; p < n_psu; ++p, ++psu_id) {
      const int rows = 1 + static_cast<int>(rng() % 15);
      for (int r = 0; r < rows; ++r) {
        s.strata.push_back(h);
        s.psu.push_back(psu_id);
        s.w.push_back(1 + 9 * unif(rng));
        s.y.push_back(unif(rng) < 0.05 ? std::nan("") : 100 + 10 * unif(rng) + h);
        s.x.push_back(1 + unif(rng));
        s.level.push_back(unif(rng) < 0.05 ? -1 : static_cast<int32_t>(rng() % 4));
        s.by.push_back(unif(rng) < 0.03 ? -1 : static_cast<int32_t>(rng() % 3));
        s.fpc.push_back(fpc ? popsize : 0);
      }
    }
  }
  // Shuffle rows so the design has to sort them.
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
    t.level[i] = s.level[perm[i]];
    t.by[i] = s.by[perm[i]];
    t.fpc[i] = s.fpc[perm[i]];
  }
  if (!fpc) t.fpc.clear();
  return t;
}

Design make_design(const Sample& s, LonelyPsu rule = LonelyPsu::Fail) {
  DesignInput in;
  in.weights = s.w;
  in.strata = s.strata;
  in.psu = s.psu;
  in.fpc = s.fpc;
  in.lonely_psu = rule;
  return Design(in);
}

/// R's onestage/onestrat, literally, for one linearised variable z (per row).
double naive_variance(const Sample& s, const std::vector<double>& z,
                      const std::vector<bool>& in_domain) {
  std::map<int32_t, std::map<int32_t, double>> totals;  // stratum -> psu -> sum z
  std::map<int32_t, std::set<int32_t>> all_psus;
  std::map<int32_t, double> popsize;
  for (size_t i = 0; i < z.size(); ++i) {
    all_psus[s.strata[i]].insert(s.psu[i]);
    if (!s.fpc.empty()) popsize[s.strata[i]] = s.fpc[i];
    if (in_domain[i]) totals[s.strata[i]][s.psu[i]] += z[i];
  }
  double v = 0;
  for (auto& [h, psus] : totals) {
    const double n = static_cast<double>(all_psus[h].size());
    const double f = s.fpc.empty() ? 1.0 : (popsize[h] - n) / popsize[h];
    double mean = 0;
    for (auto& [p, t] : psus) mean += t / n;  // padded PSUs add zeros
    double ss = (n - static_cast<double>(psus.size())) * mean * mean;
    for (auto& [p, t] : psus) ss += (t - mean) * (t - mean);
    v += f * n / (n - 1) * ss;
  }
  return v;
}

/// R's onestrat crossprod for two linearised variables: the covariance.
double naive_covariance(const Sample& s, const std::vector<double>& za,
                        const std::vector<double>& zb, const std::vector<bool>& in_domain) {
  std::map<int32_t, std::map<int32_t, std::pair<double, double>>> totals;
  std::map<int32_t, std::set<int32_t>> all_psus;
  std::map<int32_t, double> popsize;
  for (size_t i = 0; i < za.size(); ++i) {
    all_psus[s.strata[i]].insert(s.psu[i]);
    if (!s.fpc.empty()) popsize[s.strata[i]] = s.fpc[i];
    if (in_domain[i]) {
      totals[s.strata[i]][s.psu[i]].first += za[i];
      totals[s.strata[i]][s.psu[i]].second += zb[i];
    }
  }
  double v = 0;
  for (auto& [h, psus] : totals) {
    const double n = static_cast<double>(all_psus[h].size());
    const double f = s.fpc.empty() ? 1.0 : (popsize[h] - n) / popsize[h];
    double ma = 0, mb = 0;
    for (auto& [p, t] : psus) {
      ma += t.first / n;
      mb += t.second / n;
    }
    double ss = (n - static_cast<double>(psus.size())) * ma * mb;
    for (auto& [p, t] : psus) ss += (t.first - ma) * (t.second - mb);
    v += f * n / (n - 1) * ss;
  }
  return v;
}

bool close(double a, double b, double rel = 1e-9) {
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b)) + 1e-300;
}

TEST(Estimate, MeanByDomainMatchesNaiveReference) {
  for (bool fpc : {false, true}) {
    const Sample s = make_sample(11, 7, fpc);
    const Design design = make_design(s);
    EstimateRequest req;
    req.statistic = Statistic::Mean;
    req.values = s.y;
    req.by = {s.by};
    req.by_levels = {s.by_levels};
    const EstimateResult res = estimate(design, req);
    ASSERT_EQ(res.domains, 3);
    for (int32_t d = 0; d < 3; ++d) {
      std::vector<bool> in(s.w.size());
      double wy = 0, ws = 0;
      for (size_t i = 0; i < s.w.size(); ++i) {
        in[i] = s.by[i] == d && !std::isnan(s.y[i]);
        if (in[i]) {
          wy += s.w[i] * s.y[i];
          ws += s.w[i];
        }
      }
      const double mean = wy / ws;
      std::vector<double> z(s.w.size(), 0.0);
      for (size_t i = 0; i < s.w.size(); ++i) {
        if (in[i]) z[i] = s.w[i] * (s.y[i] - mean) / ws;
      }
      EXPECT_TRUE(close(res.estimate[static_cast<size_t>(d)], mean));
      EXPECT_TRUE(close(res.variance[static_cast<size_t>(d)], naive_variance(s, z, in)))
          << res.variance[static_cast<size_t>(d)] << " vs " << naive_variance(s, z, in);
    }
  }
}

TEST(Estimate, ProportionsTotalsAndRatiosMatchNaiveReference) {
  const Sample s = make_sample(5, 9, true);
  const Design design = make_design(s);
  EstimateRequest prop;
  prop.statistic = Statistic::Mean;
  prop.codes = s.level;
  prop.levels = s.levels;
  const EstimateResult p = estimate(design, prop);
  EstimateRequest tot = prop;
  tot.statistic = Statistic::Total;
  const EstimateResult t = estimate(design, tot);
  std::vector<bool> in(s.w.size());
  double ws = 0;
  for (size_t i = 0; i < s.w.size(); ++i) {
    in[i] = s.level[i] >= 0;
    if (in[i]) ws += s.w[i];
  }
  for (int32_t k = 0; k < s.levels; ++k) {
    double wk = 0;
    for (size_t i = 0; i < s.w.size(); ++i) wk += in[i] && s.level[i] == k ? s.w[i] : 0;
    std::vector<double> zp(s.w.size(), 0.0), zt(s.w.size(), 0.0);
    for (size_t i = 0; i < s.w.size(); ++i) {
      if (!in[i]) continue;
      const double ind = s.level[i] == k ? 1.0 : 0.0;
      zp[i] = s.w[i] * (ind - wk / ws) / ws;
      zt[i] = s.w[i] * ind;
    }
    const auto kk = static_cast<size_t>(k);
    EXPECT_TRUE(close(p.estimate[kk], wk / ws));
    EXPECT_TRUE(close(p.variance[kk], naive_variance(s, zp, in)));
    EXPECT_TRUE(close(t.estimate[kk], wk));
    EXPECT_TRUE(close(t.variance[kk], naive_variance(s, zt, in)));
  }

  EstimateRequest ratio;
  ratio.statistic = Statistic::Ratio;
  ratio.values = s.y;
  ratio.denominator = s.x;
  const EstimateResult r = estimate(design, ratio);
  double wy = 0, wx = 0;
  for (size_t i = 0; i < s.w.size(); ++i) {
    in[i] = !std::isnan(s.y[i]);
    if (in[i]) {
      wy += s.w[i] * s.y[i];
      wx += s.w[i] * s.x[i];
    }
  }
  std::vector<double> z(s.w.size(), 0.0);
  for (size_t i = 0; i < s.w.size(); ++i) {
    if (in[i]) z[i] = s.w[i] * (s.y[i] - wy / wx * s.x[i]) / wx;
  }
  EXPECT_TRUE(close(r.estimate[0], wy / wx));
  EXPECT_TRUE(close(r.variance[0], naive_variance(s, z, in)));
}

TEST(Estimate, ThreadCountDoesNotChangeResults) {
  const Sample s = make_sample(3, 400, true);  // large enough to use several threads
  Sample big = s;
  for (int rep = 0; rep < 8; ++rep) {  // repeat rows under new PSU ids to pass ~20k rows
    for (size_t i = 0; i < s.w.size(); ++i) {
      big.w.push_back(s.w[i]);
      big.y.push_back(s.y[i]);
      big.x.push_back(s.x[i]);
      big.strata.push_back(s.strata[i] + 400 * (rep + 1));
      big.psu.push_back(s.psu[i] + 100000 * (rep + 1));
      big.level.push_back(s.level[i]);
      big.by.push_back(s.by[i]);
      big.fpc.push_back(s.fpc[i]);
    }
  }
  const Design design = make_design(big);
  EstimateRequest req;
  req.statistic = Statistic::Mean;
  req.codes = big.level;
  req.levels = big.levels;
  req.by = {big.by};
  req.by_levels = {big.by_levels};
  req.threads = 1;
  const EstimateResult one = estimate(design, req);
  for (int threads : {2, 3, 7}) {
    req.threads = threads;
    const EstimateResult many = estimate(design, req);
    ASSERT_EQ(many.estimate.size(), one.estimate.size());
    for (size_t c = 0; c < one.estimate.size(); ++c) {
      EXPECT_TRUE(close(many.estimate[c], one.estimate[c], 1e-12));
      EXPECT_TRUE(close(many.variance[c], one.variance[c], 1e-12));
    }
  }
}

TEST(Estimate, MergedPartialStatesEqualOnePass) {
  const Sample s = make_sample(21, 6, true);
  const Design design = make_design(s);
  EstimateRequest req;
  req.statistic = Statistic::Mean;
  req.codes = s.level;
  req.levels = s.levels;
  req.by = {s.by};
  req.by_levels = {s.by_levels};
  const EstimateResult whole = estimate(design, req);

  // Cut inside a stratum so that one stratum is split between the two states,
  // and send both through bytes as a Dask worker would.
  const int64_t cut = design.stratum_psu_begin()[3] + 1;
  const int64_t cut_row = design.psu_first_row(cut);
  std::vector<int32_t> cells(static_cast<size_t>(design.rows()));
  DomainTotals a = accumulate_totals(design, req, 0, cut_row, cells);
  const DomainTotals b = accumulate_totals(design, req, cut_row, design.rows(), cells);
  a = DomainTotals::from_bytes(a.to_bytes());
  a.merge(DomainTotals::from_bytes(b.to_bytes()));
  const DomainPlan plan = plan_domains(req, a);
  SpreadState sa = accumulate_spread(design, req, plan, cells, 0, cut);
  SpreadState sb = accumulate_spread(design, req, plan, cells, cut, design.psus());
  EXPECT_EQ(sa.partial.size(), 1u);
  EXPECT_EQ(sb.partial.size(), 1u);
  SpreadState merged = SpreadState::from_bytes(sb.to_bytes());
  merged.merge(SpreadState::from_bytes(sa.to_bytes()));  // order must not matter
  const EstimateResult res = finalize(design, req, a, plan, std::move(merged));
  ASSERT_EQ(res.estimate.size(), whole.estimate.size());
  for (size_t c = 0; c < whole.estimate.size(); ++c) {
    EXPECT_TRUE(close(res.estimate[c], whole.estimate[c], 1e-12));
    EXPECT_TRUE(close(res.variance[c], whole.variance[c], 1e-12));
  }
}

TEST(Estimate, CovarianceMatrixOfProportions) {
  const Sample s = make_sample(17, 8, true);
  const Design design = make_design(s);
  EstimateRequest req;
  req.codes = s.level;
  req.levels = s.levels;
  req.covariance = true;
  req.threads = 1;
  const EstimateResult r = estimate(design, req);
  const size_t K = static_cast<size_t>(s.levels);
  ASSERT_EQ(r.covariance.size(), K * K);
  std::vector<bool> in(s.w.size());
  double ws = 0;
  for (size_t i = 0; i < s.w.size(); ++i) {
    in[i] = s.level[i] >= 0;
    if (in[i]) ws += s.w[i];
  }
  auto z_of = [&](int32_t k) {
    double wk = 0;
    for (size_t i = 0; i < s.w.size(); ++i) wk += in[i] && s.level[i] == k ? s.w[i] : 0;
    std::vector<double> z(s.w.size(), 0.0);
    for (size_t i = 0; i < s.w.size(); ++i) {
      if (in[i]) z[i] = s.w[i] * ((s.level[i] == k ? 1.0 : 0.0) - wk / ws) / ws;
    }
    return z;
  };
  for (size_t a = 0; a < K; ++a) {
    EXPECT_TRUE(close(r.covariance[a * K + a], r.variance[a], 1e-12));
    for (size_t b = 0; b < K; ++b) {
      const double want =
          naive_covariance(s, z_of(static_cast<int32_t>(a)), z_of(static_cast<int32_t>(b)), in);
      EXPECT_NEAR(r.covariance[a * K + b], want, 1e-9 * std::abs(r.variance[a]));
    }
  }
}

TEST(Estimate, LonelyPsuFailNamesTheStratum) {
  DesignInput in;
  const std::vector<double> w{1, 2, 3, 4, 5};
  const std::vector<int32_t> strata{0, 0, 1, 1, 1};
  const std::vector<int32_t> psu{0, 1, 2, 2, 2};
  in.weights = w;
  in.strata = strata;
  in.psu = psu;
  in.stratum_labels = {"north", "south"};
  const Design design(in);
  const std::vector<double> y{1, 2, 3, 4, 5};
  EstimateRequest req;
  req.values = y;
  try {
    estimate(design, req);
    FAIL() << "expected NotEstimable";
  } catch (const NotEstimable& e) {
    EXPECT_NE(std::string(e.what()).find("'south'"), std::string::npos) << e.what();
  }
  in.lonely_psu = LonelyPsu::Certainty;
  const Design certain(in);
  const EstimateResult r = estimate(certain, req);
  // Only stratum "north" contributes: PSU totals z = w (y - mean) / W.
  const double W = 15, mean = (1 + 4 + 9 + 16 + 25) / W;
  const double z0 = 1 * (1 - mean) / W, z1 = 2 * (2 - mean) / W, zbar = (z0 + z1) / 2;
  EXPECT_TRUE(close(r.variance[0], 2 * ((z0 - zbar) * (z0 - zbar) + (z1 - zbar) * (z1 - zbar))));
}

TEST(Estimate, BadInputIsRefused) {
  const std::vector<double> w{1, 2, -1};
  DesignInput in;
  in.weights = w;
  EXPECT_THROW(Design{in}, InvalidInput);
  const std::vector<double> ok{1, 2, 3};
  in.weights = ok;
  const Design design(in);
  const std::vector<double> short_y{1, 2};
  EstimateRequest req;
  req.values = short_y;
  EXPECT_THROW(estimate(design, req), InvalidInput);
  const std::vector<int32_t> codes{0, 5, 1};
  EstimateRequest bad_codes;
  bad_codes.codes = codes;
  bad_codes.levels = 2;
  EXPECT_THROW(estimate(design, bad_codes), InvalidInput);
  const std::vector<double> all_missing{std::nan(""), std::nan(""), std::nan("")};
  EstimateRequest empty;
  empty.values = all_missing;
  EXPECT_THROW(estimate(design, empty), NotEstimable);
}

TEST(Design, ClustersMustBeNestedInStrata) {
  const std::vector<double> w{1, 1, 1, 1};
  const std::vector<int32_t> strata{0, 0, 1, 1};
  const std::vector<int32_t> psu{0, 1, 1, 2};
  DesignInput in;
  in.weights = w;
  in.strata = strata;
  in.psu = psu;
  EXPECT_THROW(Design{in}, InvalidInput);
}

}  // namespace
}  // namespace steppe

// Design sorts rows by (stratum, psu, psu2), ties in row order: counting sorts for
// dense codes, a comparison sort for sparse ones; both must be that order.
TEST(DesignOrder, SortsLikeAStableLexicographicSort) {
  std::mt19937 rng(11);
  for (const int32_t spread : {7, 1 << 28}) {  // dense codes, then sparse ones
    const size_t n = 2000;
    std::uniform_int_distribution<int32_t> code(0, spread);
    std::vector<int32_t> strata(n), psu(n), psu2(n);
    for (size_t i = 0; i < n; ++i) {
      psu[i] = code(rng);
      strata[i] = psu[i] % 5;                // PSUs nested in strata
      psu2[i] = psu[i] * 3 + code(rng) % 3;  // and psu2 units in PSUs
    }
    const std::vector<double> w(n, 1.0);
    steppe::DesignInput in;
    in.weights = w;
    in.strata = strata;
    in.psu = psu;
    in.psu2 = psu2;
    const steppe::Design d(in);
    std::vector<int32_t> want(n);
    std::iota(want.begin(), want.end(), 0);
    std::stable_sort(want.begin(), want.end(), [&](int32_t a, int32_t b) {
      return std::tie(strata[a], psu[a], psu2[a]) < std::tie(strata[b], psu[b], psu2[b]);
    });
    EXPECT_EQ(d.order(), want) << "code spread " << spread;
    for (size_t s = 0; s < n; ++s)
      EXPECT_EQ(d.rank()[static_cast<size_t>(want[s])], static_cast<int32_t>(s));
  }
}
