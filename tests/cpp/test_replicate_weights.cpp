// Replicate-weight construction against R's as.svrepdesign and hadamard()
// (tests/golden/replicate_weights/*.json, made by make_replicate_weights_golden.R),
// and the bootstraps by their properties: R draws them with its own random
// stream, which cannot be reproduced, so the test checks what each replicate
// must be (n_h draws with replacement per stratum for R's bootweights, n_h - 1
// draws rescaled by n_h / (n_h - 1) for the Rao-Wu subbootstrap), that the
// replicate weights average to the weights over many replicates, and that a
// seed fixes the replicates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "golden_json.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/replicate_weights.hpp"

namespace steppe {
namespace {

using nlohmann::json;

/// Relative closeness (absolute near zero), the tolerance of the golden tests.
bool close(double got, double want, double rel = 1e-12) {
  return std::fabs(got - want) <= rel * std::max(1.0, std::fabs(want));
}

/// Design columns that outlive the Design built on them.
struct Columns {
  std::vector<double> weights, fpc;
  std::vector<int32_t> strata, psu;
  std::vector<std::string> labels;
  LonelyPsu lonely = LonelyPsu::Fail;

  Design design() const {
    DesignInput in;
    in.weights = weights;
    in.strata = strata;
    in.psu = psu;
    in.fpc = fpc;
    in.stratum_labels = labels;
    in.lonely_psu = lonely;
    return Design(in);
  }
};

Columns columns_of(const json& d) {
  Columns c;
  c.weights = d["weights"].get<std::vector<double>>();
  if (!d["strata"].is_null()) {
    c.strata = d["strata"].get<std::vector<int32_t>>();
    c.labels = d["stratum_labels"].get<std::vector<std::string>>();
  }
  if (!d["psu"].is_null()) c.psu = d["psu"].get<std::vector<int32_t>>();
  if (!d["fpc"].is_null()) c.fpc = d["fpc"].get<std::vector<double>>();
  c.lonely = parse_lonely_psu(d["lonely_psu"].get<std::string>());
  return c;
}

std::filesystem::path golden_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" /
         "replicate_weights";
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir())) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name != "hadamard.json") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The same design with stratum and PSU codes numbered backwards (labels moved
/// with them): R's replicates depend on the labels and the order of the rows,
/// never on how the caller numbered the codes.
Columns recoded(Columns c) {
  if (!c.strata.empty()) {
    const int32_t S = static_cast<int32_t>(c.labels.size());
    for (auto& h : c.strata) h = S - 1 - h;
    std::reverse(c.labels.begin(), c.labels.end());
  }
  if (!c.psu.empty()) {
    const int32_t P = *std::max_element(c.psu.begin(), c.psu.end()) + 1;
    for (auto& p : c.psu) p = P - 1 - p;
  }
  return c;
}

class ReplicateWeightsGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ReplicateWeightsGolden, MatchesR) {
  const json g = golden::read("replicate_weights/" + GetParam());
  const Columns cols = columns_of(g["design"]);
  const Columns backwards = recoded(cols);
  ReplicateWeightsOptions opt;
  if (!g["options"]["type"].is_null()) {
    opt.type = parse_replicate_type(g["options"]["type"].get<std::string>());
  }
  opt.rho = g["options"]["rho"].get<double>();
  opt.mse = g["options"]["mse"].get<bool>();
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads) + (threads == 3 ? ", codes backwards" : ""));
    opt.threads = threads;
    const ReplicateWeights rw = replicate_weights((threads == 3 ? backwards : cols).design(), opt);
    EXPECT_EQ(to_string(rw.type), g["type"].get<std::string>());
    EXPECT_EQ(rw.mse, g["mse"].get<bool>());
    EXPECT_TRUE(close(rw.rho, g["rho"].get<double>()));
    EXPECT_TRUE(close(rw.scale, g["scale"].get<double>())) << rw.scale;
    const auto rscales = g["rscales"].get<std::vector<double>>();
    ASSERT_EQ(rw.count(), rscales.size());
    for (size_t r = 0; r < rscales.size(); ++r) {
      EXPECT_TRUE(close(rw.rscales[r], rscales[r])) << "rscale " << r;
    }
    const auto want = g["weights"].get<std::vector<double>>();
    ASSERT_EQ(rw.rows, g["rows"].get<int64_t>());
    const auto& got = rw.weights;
    ASSERT_EQ(got.size(), want.size());
    size_t bad = 0;
    for (size_t k = 0; k < want.size(); ++k) {
      if (!close(got[k], want[k])) {
        if (bad++ < 5) {
          ADD_FAILURE() << "row " << k % static_cast<size_t>(rw.rows) << ", replicate "
                        << k / static_cast<size_t>(rw.rows) << ": " << got[k] << " vs R "
                        << want[k];
        }
      }
    }
    EXPECT_EQ(bad, 0u);
    // column(r) is the r-th column of the column-major matrix
    EXPECT_EQ(rw.column(rw.count() - 1).data(),
              got.data() + (rw.count() - 1) * static_cast<size_t>(rw.rows));
  }
}

INSTANTIATE_TEST_SUITE_P(R, ReplicateWeightsGolden, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

TEST(ReplicateWeightsGolden, CoversEveryType) {
  std::map<std::string, int> types;
  for (const auto& name : golden_cases()) {
    ++types[golden::read("replicate_weights/" + name)["type"].get<std::string>()];
  }
  for (const char* t : {"JK1", "JKn", "BRR", "Fay"}) EXPECT_GE(types[t], 2) << t;
}

// ---------------------------------------------------------------------------------- Hadamard
bool is_hadamard(const HadamardMatrix& h) {
  for (int64_t i = 0; i < h.size; ++i) {
    for (int64_t k = i; k < h.size; ++k) {
      int64_t dot = 0;
      for (int64_t j = 0; j < h.size; ++j) dot += (2 * h(i, j) - 1) * (2 * h(k, j) - 1);
      if (dot != (i == k ? h.size : 0)) return false;
    }
  }
  return true;
}

TEST(Hadamard, MatricesMatchR) {
  const json g = golden::read("replicate_weights/hadamard.json");
  std::map<std::string, int> paths;
  for (const auto& m : g["matrices"]) {
    const int64_t n = m["n"].get<int64_t>();
    SCOPED_TRACE("hadamard(" + std::to_string(n) + ") via " + m["path"].get<std::string>());
    ++paths[m["path"].get<std::string>()];
    const HadamardMatrix h = hadamard(n);
    ASSERT_EQ(h.size, m["size"].get<int64_t>());
    const auto rows = m["rows"].get<std::vector<std::string>>();
    for (int64_t i = 0; i < h.size; ++i) {
      std::string row;
      for (int64_t j = 0; j < h.size; ++j) row += h(i, j) ? '1' : '0';
      ASSERT_EQ(row, rows[static_cast<size_t>(i)]) << "row " << i;
    }
  }
  // every way R builds one: stored 4 and 16, 4 doubled, Paley (direct, doubled, recursive)
  EXPECT_GE(paths["stored 4"], 2);
  EXPECT_GE(paths["stored 16"], 1);
  EXPECT_GE(paths["stored 4 doubled"], 3);
  EXPECT_GE(paths["paley"], 5);
}

TEST(Hadamard, ChecksumsOfEverySizeUpTo300MatchR) {
  // replicate/replicate.json (make_replicate_golden.R): sum_ij H_ij ((i 131 + j 17) mod 1009)
  // over 1-based i, j for every n <= 300 whose matrix R does not build from its stored
  // 28 x 28 or 36 x 36 one, and the n that do (refused here).
  const json g = golden::read("replicate/replicate.json")["hadamard"];
  for (const auto& m : g["matrices"]) {
    const int64_t n = m["n"].get<int64_t>();
    const HadamardMatrix h = hadamard(n);
    ASSERT_EQ(h.size, m["nrow"].get<int64_t>()) << n;
    int64_t sum = 0;
    for (int64_t i = 0; i < h.size; ++i) {
      for (int64_t j = 0; j < h.size; ++j) sum += h(i, j) * (((i + 1) * 131 + (j + 1) * 17) % 1009);
    }
    EXPECT_EQ(sum, m["checksum"].get<int64_t>()) << n;
    if (n % 7 == 0) {
      EXPECT_TRUE(is_hadamard(h)) << n;
    }
  }
  ASSERT_FALSE(g["stored"].empty());
  for (const auto& s : g["stored"]) {
    const int64_t n = s.get<int64_t>();
    try {
      hadamard(n);
      ADD_FAILURE() << "hadamard(" << n << ") should be refused";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("stored"), std::string::npos) << e.what();
    }
  }
}

TEST(Hadamard, RefusesSizesItCannotBuild) {
  EXPECT_THROW(hadamard(-1), InvalidInput);
  EXPECT_THROW(hadamard(int64_t{1} << 40), InvalidInput);
}

// ------------------------------------------------------------------------------ bootstraps
/// Stratified cluster sample with rows shuffled; PSUs per stratum given.
Columns clustered(const std::vector<int>& psus_per_stratum, std::optional<double> popsize_factor,
                  unsigned seed) {
  std::mt19937_64 rng(seed);
  Columns c;
  int32_t psu = 0;
  for (size_t h = 0; h < psus_per_stratum.size(); ++h) {
    std::string label = "s";  // (not "s" + to_string: GCC 12 warns falsely, -Wrestrict)
    label += std::to_string(h);
    c.labels.push_back(label);
    for (int p = 0; p < psus_per_stratum[h]; ++p, ++psu) {
      const int rows = 1 + static_cast<int>(rng() % 4);
      for (int r = 0; r < rows; ++r) {
        c.strata.push_back(static_cast<int32_t>(h));
        c.psu.push_back(psu);
        c.weights.push_back(1.0 + static_cast<double>(rng() % 1000) / 100.0);
        if (popsize_factor) c.fpc.push_back(*popsize_factor * psus_per_stratum[h]);
      }
    }
  }
  std::vector<size_t> perm(c.weights.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  Columns s = c;
  for (size_t i = 0; i < perm.size(); ++i) {
    s.strata[i] = c.strata[perm[i]];
    s.psu[i] = c.psu[perm[i]];
    s.weights[i] = c.weights[perm[i]];
    if (!c.fpc.empty()) s.fpc[i] = c.fpc[perm[i]];
  }
  return s;
}

ReplicateWeightsOptions boot(ReplicateType type, int64_t replicates, uint64_t seed) {
  ReplicateWeightsOptions o;
  o.type = type;
  o.replicates = replicates;
  o.seed = seed;
  return o;
}

/// Per replicate and stratum, the PSUs' multipliers: checks they are constant
/// within each PSU of the expanded weights, and returns them.
void check_expansion(const Design& d, const ReplicateMultipliers& m, const ReplicateWeights& rw) {
  ASSERT_EQ(rw.count(), m.count());
  const auto& order = d.order();
  for (size_t r = 0; r < m.count(); ++r) {
    const auto mult = m.replicate(r);
    const auto col = rw.column(r);
    for (int64_t p = 0; p < d.psus(); ++p) {
      for (int64_t s = d.psu_first_row(p); s < d.psu_first_row(p + 1); ++s) {
        const size_t row = order.empty() ? static_cast<size_t>(s) : static_cast<size_t>(order[s]);
        ASSERT_EQ(col[row], mult[static_cast<size_t>(p)] * d.weights()[row]);
      }
    }
  }
}

TEST(Bootstrap, DrawsEachStratumsPsusWithReplacement) {
  const std::vector<int> sizes = {2, 5, 9, 3};
  const Columns cols = clustered(sizes, std::nullopt, 11);
  const Design d = cols.design();
  const int64_t R = 4000;
  const auto opt = boot(ReplicateType::Bootstrap, R, 20240611);
  const ReplicateMultipliers m = replicate_multipliers(d, opt);
  ASSERT_EQ(m.count(), static_cast<size_t>(R));
  EXPECT_EQ(m.type, ReplicateType::Bootstrap);
  EXPECT_EQ(m.seed, 20240611u);
  std::vector<double> mean(static_cast<size_t>(d.psus()), 0.0), sq(mean.size(), 0.0);
  for (size_t r = 0; r < m.count(); ++r) {
    const auto mult = m.replicate(r);
    for (int32_t h = 0; h < d.strata(); ++h) {
      double drawn = 0;
      for (int64_t p = d.stratum_psu_begin()[h]; p < d.stratum_psu_begin()[h + 1]; ++p) {
        const double x = mult[static_cast<size_t>(p)];
        ASSERT_EQ(x, std::round(x));  // times drawn
        ASSERT_GE(x, 0.0);
        drawn += x;
        mean[static_cast<size_t>(p)] += x / R;
        sq[static_cast<size_t>(p)] += (x - 1) * (x - 1) / R;
      }
      ASSERT_EQ(drawn, static_cast<double>(d.stratum_psu_count(h)));  // n_h draws
    }
  }
  // Multinomial(n_h, 1/n_h) counts: mean 1, variance (n_h - 1) / n_h.
  for (int32_t h = 0; h < d.strata(); ++h) {
    const double n_h = static_cast<double>(d.stratum_psu_count(h));
    for (int64_t p = d.stratum_psu_begin()[h]; p < d.stratum_psu_begin()[h + 1]; ++p) {
      EXPECT_NEAR(mean[static_cast<size_t>(p)], 1.0, 5 / std::sqrt(R)) << p;
      EXPECT_NEAR(sq[static_cast<size_t>(p)], (n_h - 1) / n_h, 0.1) << p;
    }
  }
  // R's scale: nbar / ((nbar - 1) (R - 1)), nbar the harmonic mean of the n_h.
  const double nbar = 4 / (1.0 / 2 + 1.0 / 5 + 1.0 / 9 + 1.0 / 3);
  EXPECT_TRUE(close(m.scale, nbar / ((nbar - 1) * (R - 1))));
  EXPECT_EQ(m.rscales, std::vector<double>(static_cast<size_t>(R), 1.0));

  // The weights: rows get their PSU's multiplier times their weight, and average
  // to the weights over the replicates.
  const ReplicateWeights rw = replicate_weights(d, opt);
  check_expansion(d, m, rw);
  for (int64_t i = 0; i < rw.rows; ++i) {
    double avg = 0;
    for (size_t r = 0; r < rw.count(); ++r) avg += rw.column(r)[static_cast<size_t>(i)] / R;
    EXPECT_NEAR(avg / d.weights()[static_cast<size_t>(i)], 1.0, 5 / std::sqrt(R));
  }
}

TEST(Bootstrap, WithFpcDrawsWithoutReplacementFromThePopulation) {
  // N_h = 3 n_h: the pool holds each PSU 3 times, so no PSU is drawn more than 3 times
  // and fewer repeats occur than with replacement.
  const Columns cols = clustered({4, 6}, 3.0, 5);
  const Design d = cols.design();
  const int64_t R = 3000;
  const ReplicateMultipliers m = replicate_multipliers(d, boot(ReplicateType::Bootstrap, R, 99));
  double var = 0;
  for (size_t r = 0; r < m.count(); ++r) {
    const auto mult = m.replicate(r);
    for (int32_t h = 0; h < d.strata(); ++h) {
      double drawn = 0;
      for (int64_t p = d.stratum_psu_begin()[h]; p < d.stratum_psu_begin()[h + 1]; ++p) {
        const double x = mult[static_cast<size_t>(p)];
        ASSERT_LE(x, 3.0);
        drawn += x;
        if (h == 1) var += (x - 1) * (x - 1) / (R * 6.0);
      }
      ASSERT_EQ(drawn, static_cast<double>(d.stratum_psu_count(h)));
    }
  }
  // Multivariate hypergeometric: variance (n - 1)/n (N - n)/(N - 1) = 5/6 * 12/17.
  EXPECT_NEAR(var, 5.0 / 6 * 12.0 / 17, 0.05);

  // N_h = n_h: every PSU drawn exactly once.
  const Columns whole = clustered({4, 6}, 1.0, 5);
  const ReplicateMultipliers all =
      replicate_multipliers(whole.design(), boot(ReplicateType::Bootstrap, 10, 1));
  for (double x : all.multipliers) ASSERT_EQ(x, 1.0);
}

TEST(Bootstrap, RaoWuSubbootstrapDrawsOneFewerAndRescales) {
  const Columns cols = clustered({3, 7}, std::nullopt, 3);
  const Design d = cols.design();
  const int64_t R = 3000;
  const auto opt = boot(ReplicateType::Subbootstrap, R, 7);
  const ReplicateMultipliers m = replicate_multipliers(d, opt);
  EXPECT_EQ(m.type, ReplicateType::Subbootstrap);
  EXPECT_TRUE(close(m.scale, 1.0 / (R - 1)));
  std::vector<double> mean(static_cast<size_t>(d.psus()), 0.0);
  for (size_t r = 0; r < m.count(); ++r) {
    const auto mult = m.replicate(r);
    for (int32_t h = 0; h < d.strata(); ++h) {
      const double n_h = static_cast<double>(d.stratum_psu_count(h));
      double drawn = 0;
      for (int64_t p = d.stratum_psu_begin()[h]; p < d.stratum_psu_begin()[h + 1]; ++p) {
        const double times = mult[static_cast<size_t>(p)] * (n_h - 1) / n_h;
        ASSERT_NEAR(times, std::round(times), 1e-12);
        drawn += std::round(times);
        mean[static_cast<size_t>(p)] += mult[static_cast<size_t>(p)] / R;
      }
      ASSERT_EQ(drawn, n_h - 1);  // n_h - 1 draws
    }
  }
  for (double x : mean) EXPECT_NEAR(x, 1.0, 0.1);
  check_expansion(d, m, replicate_weights(d, opt));

  // A stratum with one PSU has nothing to draw.
  const Columns lonely = clustered({1, 3}, std::nullopt, 3);
  EXPECT_THROW(replicate_multipliers(lonely.design(), opt), NotEstimable);
}

TEST(Bootstrap, SeedFixesTheReplicates) {
  const Columns cols = clustered({3, 4, 5}, 2.0, 8);
  const Design d = cols.design();
  for (ReplicateType type : {ReplicateType::Bootstrap, ReplicateType::Subbootstrap}) {
    auto opt = boot(type, 20, 7);
    const auto run = [&] { return replicate_weights(d, opt).weights; };
    const std::vector<double> a = run();
    opt.threads = 2;
    EXPECT_EQ(run(), a);
    opt.seed = 8;
    EXPECT_NE(run(), a);
    opt.seed.reset();  // drawn from std::random_device, and reported
    const ReplicateWeights c = replicate_weights(d, opt);
    opt.seed = c.seed;
    EXPECT_EQ(run(), c.weights);
  }
}

// ---------------------------------------------------------------------------------- errors
template <class E>
std::string message_of(const Design& d, const ReplicateWeightsOptions& o) {
  try {
    replicate_multipliers(d, o);
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

ReplicateWeightsOptions of_type(ReplicateType t, double rho = 0) {
  ReplicateWeightsOptions o;
  o.type = t;
  o.rho = rho;
  return o;
}

TEST(ReplicateWeightsErrors, TypeMustFitTheDesign) {
  const Columns strat = clustered({2, 2}, std::nullopt, 1);
  Columns clus = strat;
  clus.strata.clear();
  clus.labels.clear();
  EXPECT_NE(message_of<InvalidInput>(strat.design(), of_type(ReplicateType::JK1))
                .find("Can't use JK1 for a stratified design"),
            std::string::npos);
  for (auto t : {ReplicateType::JKn, ReplicateType::BRR}) {
    EXPECT_NE(message_of<InvalidInput>(clus.design(), of_type(t)).find("unstratified"),
              std::string::npos);
  }
  // auto: JK1 without strata, JKn with
  EXPECT_EQ(replicate_multipliers(clus.design(), {}).type, ReplicateType::JK1);
  EXPECT_EQ(replicate_multipliers(strat.design(), {}).type, ReplicateType::JKn);
  EXPECT_NE(message_of<InvalidInput>(strat.design(), of_type(ReplicateType::Fay)).find("rho"),
            std::string::npos);
  for (double rho : {-0.1, 1.0, std::nan("")}) {
    EXPECT_NE(
        message_of<InvalidInput>(strat.design(), of_type(ReplicateType::BRR, rho)).find("rho"),
        std::string::npos);
  }
  EXPECT_EQ(replicate_multipliers(strat.design(), of_type(ReplicateType::BRR, 0.3)).type,
            ReplicateType::Fay);
  auto b = of_type(ReplicateType::Bootstrap);
  b.replicates = 1;
  EXPECT_NE(message_of<InvalidInput>(clus.design(), b).find("replicates >= 2"), std::string::npos);
  EXPECT_THROW(parse_replicate_type("jackknife"), InvalidInput);
}

TEST(ReplicateWeightsErrors, BrrNamesTheStratum) {
  Columns one = clustered({2, 1, 2}, std::nullopt, 2);
  one.labels = {"north", "east", "south"};
  const std::string small = message_of<InvalidInput>(one.design(), of_type(ReplicateType::BRR));
  EXPECT_NE(small.find("fewer than 2 PSUs"), std::string::npos) << small;
  EXPECT_NE(small.find("'east'"), std::string::npos) << small;
  Columns odd = clustered({2, 3}, std::nullopt, 2);
  odd.labels = {"a", "b"};
  const std::string msg = message_of<InvalidInput>(odd.design(), of_type(ReplicateType::BRR));
  EXPECT_NE(msg.find("stratum 'b' has 3 PSUs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("even number"), std::string::npos) << msg;
  // 24 pairs: R takes its stored 28 x 28 matrix, not reproduced; 23 pairs: Paley 12 doubled.
  const Columns pairs24 = clustered(std::vector<int>(24, 2), std::nullopt, 2);
  const std::string stored =
      message_of<InvalidInput>(pairs24.design(), of_type(ReplicateType::BRR));
  EXPECT_NE(stored.find("BRR with 24 pairs of PSUs"), std::string::npos) << stored;
  EXPECT_NE(stored.find("28 x 28"), std::string::npos) << stored;
  const Columns pairs23 = clustered(std::vector<int>(23, 2), std::nullopt, 2);
  EXPECT_EQ(replicate_multipliers(pairs23.design(), of_type(ReplicateType::BRR)).count(), 24u);
}

TEST(ReplicateWeightsErrors, JackknifeWithoutReplicates) {
  Columns lonely = clustered({2, 1, 3}, std::nullopt, 4);
  lonely.labels = {"1", "3.0", "x"};  // a float label is named as R prints it
  const std::string msg = message_of<NotEstimable>(lonely.design(), of_type(ReplicateType::JKn));
  EXPECT_NE(msg.find("stratum '3' has only one PSU"), std::string::npos) << msg;
  // A sample of the whole population (N = n) has no replicates.
  Columns whole = clustered({4}, 1.0, 4);
  whole.strata.clear();
  whole.labels.clear();
  const std::string jk1 = message_of<NotEstimable>(whole.design(), of_type(ReplicateType::JK1));
  EXPECT_NE(jk1.find("exhaustively"), std::string::npos) << jk1;
  Columns strata = clustered({2, 3}, 1.0, 4);
  EXPECT_THROW(replicate_multipliers(strata.design(), of_type(ReplicateType::JKn)), NotEstimable);
}

}  // namespace
}  // namespace steppe
