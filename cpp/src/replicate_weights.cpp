// Replicate weights from a design's strata and PSUs, as R survey's
// as.svrepdesign (jk1weights, jknweights, brrweights, bootweights).
#include "steppe/replicate_weights.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>

#include "steppe/errors.hpp"
#include "steppe/huge_pages.hpp"
#include "steppe/parallel.hpp"

namespace steppe {

ReplicateType parse_replicate_type(std::string_view name) {
  if (name == "JK1") return ReplicateType::JK1;
  if (name == "JKn") return ReplicateType::JKn;
  if (name == "BRR") return ReplicateType::BRR;
  if (name == "Fay") return ReplicateType::Fay;
  if (name == "bootstrap") return ReplicateType::Bootstrap;
  if (name == "subbootstrap") return ReplicateType::Subbootstrap;
  throw InvalidInput(
      "replicate type must be one of 'JK1', 'JKn', 'BRR', 'Fay', 'bootstrap', 'subbootstrap'; "
      "got '" +
      std::string(name) + "'");
}

std::string_view to_string(ReplicateType type) {
  switch (type) {
    case ReplicateType::JK1:
      return "JK1";
    case ReplicateType::JKn:
      return "JKn";
    case ReplicateType::BRR:
      return "BRR";
    case ReplicateType::Fay:
      return "Fay";
    case ReplicateType::Bootstrap:
      return "bootstrap";
    case ReplicateType::Subbootstrap:
      return "subbootstrap";
  }
  return "JK1";
}

namespace {

/// A stratum label as R's as.character() prints it: a number stored as a float
/// ("3.0") becomes "3".
std::string r_label(const std::string& label) {
  double x = 0;
  const char* end = label.data() + label.size();
  const auto [ptr, ec] = std::from_chars(label.data(), end, x);
  if (ec != std::errc() || ptr != end || !std::isfinite(x)) return label;
  if (x != std::floor(x) || std::fabs(x) >= 1e15) return label;
  return std::to_string(static_cast<int64_t>(x));
}

/// The design's stage-1 structure in R's terms: PSUs and strata in order of
/// first appearance in the rows (R's unique()).
struct Layout {
  int64_t psus = 0;
  std::vector<int32_t> stratum_of_psu;                ///< sorted PSU -> stratum
  std::vector<int64_t> first_row;                     ///< sorted PSU -> first original row
  std::vector<int32_t> strata_in_order;               ///< strata by first appearance
  std::vector<std::vector<int64_t>> stratum_members;  ///< per stratum: PSUs by appearance
  std::vector<std::string> labels;                    ///< per stratum: R's label
};

Layout layout_of(const Design& design) {
  Layout L;
  L.psus = design.psus();
  const size_t P = static_cast<size_t>(L.psus);
  const auto& order = design.order();
  const int32_t S = design.strata();
  L.stratum_of_psu.resize(P);
  L.first_row.resize(P);
  for (int32_t h = 0; h < S; ++h) {
    for (int64_t p = design.stratum_psu_begin()[static_cast<size_t>(h)];
         p < design.stratum_psu_begin()[static_cast<size_t>(h) + 1]; ++p) {
      L.stratum_of_psu[static_cast<size_t>(p)] = h;
    }
  }
  for (int64_t p = 0; p < L.psus; ++p) {
    int64_t first = std::numeric_limits<int64_t>::max();
    for (int64_t s = design.psu_first_row(p); s < design.psu_first_row(p + 1); ++s) {
      first = std::min<int64_t>(first, order.empty() ? s : order[static_cast<size_t>(s)]);
    }
    L.first_row[static_cast<size_t>(p)] = first;
  }
  std::vector<int64_t> appearance(P);
  std::iota(appearance.begin(), appearance.end(), 0);
  std::sort(appearance.begin(), appearance.end(), [&](int64_t a, int64_t b) {
    return L.first_row[static_cast<size_t>(a)] < L.first_row[static_cast<size_t>(b)];
  });
  L.stratum_members.resize(static_cast<size_t>(S));
  for (int64_t p : appearance) {
    const int32_t h = L.stratum_of_psu[static_cast<size_t>(p)];
    if (L.stratum_members[static_cast<size_t>(h)].empty()) L.strata_in_order.push_back(h);
    L.stratum_members[static_cast<size_t>(h)].push_back(p);
  }
  for (int32_t h = 0; h < S; ++h) L.labels.push_back(r_label(design.stratum_label(h)));
  return L;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

/// R's jk1weights factor for population size N and n PSUs: (N - n) / N, 1 without an FPC.
double fpc_factor(double popsize, int64_t n) {
  if (!std::isfinite(popsize)) return 1.0;
  return (popsize - static_cast<double>(n)) / popsize;
}

ReplicateMultipliers empty_result(const Layout& L, ReplicateType type) {
  ReplicateMultipliers m;
  m.psus = L.psus;
  m.type = type;
  return m;
}

/// Appends one replicate's multipliers, all `fill`, and returns them.
double* add_replicate(ReplicateMultipliers& m, double fill, double rscale) {
  m.multipliers.resize(m.multipliers.size() + static_cast<size_t>(m.psus), fill);
  m.rscales.push_back(rscale);
  return m.multipliers.data() + m.multipliers.size() - static_cast<size_t>(m.psus);
}

// Delete-one jackknife over all PSUs (R's jk1weights; Rust & Rao 1996): replicate
// j drops the j-th PSU and multiplies the others by n / (n - 1); the variance
// scale is (N - n) / N * (n - 1) / n.
ReplicateMultipliers jk1(const Design& design, const Layout& L) {
  ReplicateMultipliers m = empty_result(L, ReplicateType::JK1);
  const int64_t n = L.psus;
  const double f = fpc_factor(design.stratum_popsize()[0], n);
  if (f == 0) return m;  // sampled exhaustively: no replicates (survey.drop.replicates)
  const double keep = static_cast<double>(n) / static_cast<double>(n - 1);
  for (int64_t p : L.stratum_members[0]) {
    double* col = add_replicate(m, keep, 1.0);
    col[p] = 0.0;
  }
  m.scale = f * static_cast<double>(n - 1) / static_cast<double>(n);
  return m;
}

// Stratified delete-one jackknife (R's jknweights): one replicate per PSU of
// each stratum, strata and PSUs in order of appearance; replicate (h, j) drops
// PSU j, multiplies the rest of stratum h by n_h / (n_h - 1) and has rscale
// (N_h - n_h) / N_h * (n_h - 1) / n_h.
ReplicateMultipliers jkn(const Design& design, const Layout& L) {
  ReplicateMultipliers m = empty_result(L, ReplicateType::JKn);
  const LonelyPsu lonely = design.lonely_psu();
  const int64_t nstrat = static_cast<int64_t>(L.strata_in_order.size());
  for (int32_t h : L.strata_in_order) {
    const auto& members = L.stratum_members[static_cast<size_t>(h)];
    const int64_t n_h = static_cast<int64_t>(members.size());
    const double f = fpc_factor(design.stratum_popsize()[static_cast<size_t>(h)], n_h);
    if (f == 0) continue;  // exhaustively sampled: no replicates (survey.drop.replicates)
    if (n_h == 1) {
      switch (lonely) {
        case LonelyPsu::Fail:
          throw NotEstimable(
              "JKn: stratum " + quoted(L.labels[static_cast<size_t>(h)]) +
              " has only one PSU; set lonely_psu on the design ('remove', 'certainty', "
              "'average' or 'adjust') as R's survey.lonely.psu");
        case LonelyPsu::Adjust: {
          // R: the lonely stratum's PSU dropped, every other PSU times S / (S - 1).
          const double other = static_cast<double>(nstrat) / static_cast<double>(nstrat - 1);
          double* col = add_replicate(
              m, other, static_cast<double>(nstrat - 1) / static_cast<double>(nstrat));
          col[members[0]] = 0.0;
          continue;
        }
        case LonelyPsu::Remove:
        case LonelyPsu::Certainty:
        case LonelyPsu::Average:
          continue;  // the stratum gets no replicate
      }
    }
    const double keep = static_cast<double>(n_h) / static_cast<double>(n_h - 1);
    const double rscale = f * static_cast<double>(n_h - 1) / static_cast<double>(n_h);
    for (int64_t drop : members) {
      double* col = add_replicate(m, 1.0, rscale);
      for (int64_t p : members) col[p] = keep;
      col[drop] = 0.0;
    }
  }
  if (m.count() == 0) {
    throw NotEstimable(
        "JKn: every stratum was sampled exhaustively (or removed as a lonely PSU): no replicates");
  }
  m.scale = 1.0;
  if (static_cast<int64_t>(m.count()) < L.psus && lonely == LonelyPsu::Average) {
    m.scale = m.scale * static_cast<double>(L.psus) / static_cast<double>(m.count());
  }
  return m;
}

// Balanced repeated replication (R's brrweights, small = "fail", large =
// "split"; McCarthy 1969) and Fay's variant (Judkins 1990): the PSUs of each
// stratum form half-sample pairs, row k of R's Hadamard matrix picks which half
// of pair k is in replicate r, and that half gets 2 - rho, the other rho.
ReplicateMultipliers brr(const Layout& L, double rho) {
  ReplicateMultipliers m = empty_result(L, rho == 0 ? ReplicateType::BRR : ReplicateType::Fay);
  m.rho = rho;
  const size_t S = L.stratum_members.size();
  // R sorts strata by their labels (table(), order()): byte order here.
  std::vector<int32_t> by_label(S);
  std::iota(by_label.begin(), by_label.end(), 0);
  std::stable_sort(by_label.begin(), by_label.end(), [&](int32_t a, int32_t b) {
    return L.labels[static_cast<size_t>(a)] < L.labels[static_cast<size_t>(b)];
  });
  int64_t small = 0;
  int32_t first_small = -1;
  for (int32_t h : by_label) {
    if (L.stratum_members[static_cast<size_t>(h)].size() < 2) {
      if (small++ == 0) first_small = h;
    }
  }
  if (small > 0) {
    throw InvalidInput("BRR: " + std::to_string(small) + " strat" +
                       (small == 1 ? "um has" : "a have") + " fewer than 2 PSUs (first: stratum " +
                       quoted(L.labels[static_cast<size_t>(first_small)]) +
                       ", 1 PSU); BRR needs two PSUs per stratum, or an even number split into "
                       "pairs; use type 'JKn' or 'bootstrap', or merge strata");
  }
  for (int32_t h : by_label) {
    const size_t n_h = L.stratum_members[static_cast<size_t>(h)].size();
    if (n_h > 2 && n_h % 2 == 1) {
      throw InvalidInput("BRR: stratum " + quoted(L.labels[static_cast<size_t>(h)]) + " has " +
                         std::to_string(n_h) +
                         " PSUs; strata with more than two PSUs are split into pairs, which "
                         "needs an even number");
    }
  }
  // Per PSU: which half it is in when its pair's Hadamard entry is 0 (half0),
  // and its pair (1-based, R's weightstrata). Larger strata are split first
  // (each alone, pairs in order of appearance), then the two-PSU strata together.
  std::vector<uint8_t> half0(static_cast<size_t>(L.psus), 0);
  std::vector<int64_t> pair(static_cast<size_t>(L.psus), 0);
  int64_t upto = 0;
  auto assign = [&](const std::vector<int64_t>& psus) {
    for (size_t i = 0; i < psus.size(); ++i) {
      half0[static_cast<size_t>(psus[i])] = static_cast<uint8_t>(i % 2);
      pair[static_cast<size_t>(psus[i])] = upto + 1 + static_cast<int64_t>(i / 2);
    }
    upto += static_cast<int64_t>(psus.size() / 2);
  };
  for (int32_t h : by_label) {
    if (L.stratum_members[static_cast<size_t>(h)].size() > 2) {
      assign(L.stratum_members[static_cast<size_t>(h)]);
    }
  }
  std::vector<int64_t> pairs_of_two;
  for (int32_t h : by_label) {
    const auto& members = L.stratum_members[static_cast<size_t>(h)];
    if (members.size() == 2)
      pairs_of_two.insert(pairs_of_two.end(), members.begin(), members.end());
  }
  if (!pairs_of_two.empty()) assign(pairs_of_two);

  HadamardMatrix H;
  try {
    H = hadamard(upto);
  } catch (const InvalidInput& e) {
    throw InvalidInput("BRR with " + std::to_string(upto) + " pairs of PSUs: " + e.what() +
                       "; use type 'JKn' or 'bootstrap', or merge or split strata");
  }
  for (int64_t r = 0; r < H.size; ++r) {
    double* col = add_replicate(m, 0.0, 1.0);
    for (int64_t p = 0; p < L.psus; ++p) {
      // R: column h + 1 of the PSU's two half-weights (0/1) gets 2 - rho, the other rho.
      const uint8_t h = H(pair[static_cast<size_t>(p)], r);
      const double wa = h == 0 ? half0[static_cast<size_t>(p)] : 1 - half0[static_cast<size_t>(p)];
      const double wb = 1 - wa;
      col[p] = wa * (2 - rho) + wb * rho;
    }
  }
  // R: scale 1 / (R (1 - rho)^2)
  m.scale = 1.0 / (static_cast<double>(m.count()) * ((1 - rho) * (1 - rho)));
  return m;
}

/// Uniform integers from a 64-bit Mersenne twister, by rejection (no
/// implementation-defined std:: distribution: the same seed gives the same
/// replicates with any standard library).
class Draws {
 public:
  explicit Draws(uint64_t seed) : engine_(seed) {}
  /// Uniform on [0, n), n >= 1.
  uint64_t below(uint64_t n) {
    const uint64_t reject = (0 - n) % n;  // 2^64 mod n: the top values that would bias
    uint64_t x = engine_();
    while (x < reject) x = engine_();
    return x % n;
  }

 private:
  std::mt19937_64 engine_;
};

/// R's mean(): long-double sum, then the mean corrected by the mean residual.
double r_mean(const std::vector<double>& x) {
  long double s = 0;
  for (double v : x) s += v;
  s /= static_cast<long double>(x.size());
  long double t = 0;
  for (double v : x) t += v - s;
  return static_cast<double>(s + t / static_cast<long double>(x.size()));
}

// The with-replacement bootstrap (R's bootweights; Rao & Wu 1988 with m_h = n_h,
// Canty & Davison 1999): each replicate draws n_h of stratum h's PSUs with
// replacement, a PSU's multiplier being how often it is drawn. With an FPC the
// draw is without replacement from the PSUs, shuffled once per stratum and
// repeated up to the population size N_h (R's rep(sample(psus), length = N_h)).
// Scale: nbar / ((nbar - 1) (R - 1)), nbar the harmonic mean of n_h.
ReplicateMultipliers bootstrap(const Design& design, const Layout& L, int64_t replicates,
                               uint64_t seed) {
  ReplicateMultipliers m = empty_result(L, ReplicateType::Bootstrap);
  m.seed = seed;
  std::vector<double> inverse_n;
  for (int32_t h : L.strata_in_order) {
    inverse_n.push_back(1.0 /
                        static_cast<double>(L.stratum_members[static_cast<size_t>(h)].size()));
  }
  const double nbar = 1.0 / r_mean(inverse_n);
  if (!(nbar > 1)) throw NotEstimable("bootstrap: every stratum has a single PSU");
  const size_t P = static_cast<size_t>(L.psus);
  m.multipliers.assign(static_cast<size_t>(replicates) * P, 0.0);
  m.rscales.assign(static_cast<size_t>(replicates), 1.0);
  Draws draws(seed);
  std::unordered_set<int64_t> chosen;
  for (int32_t h : L.strata_in_order) {
    std::vector<int64_t> psus = L.stratum_members[static_cast<size_t>(h)];
    const int64_t n_h = static_cast<int64_t>(psus.size());
    const double popsize = design.stratum_popsize()[static_cast<size_t>(h)];
    // Shuffled once per stratum (Fisher-Yates), as R's sample(unique(psu)).
    for (int64_t i = n_h - 1; i > 0; --i) {
      std::swap(psus[static_cast<size_t>(i)],
                psus[static_cast<size_t>(draws.below(static_cast<uint64_t>(i + 1)))]);
    }
    for (int64_t r = 0; r < replicates; ++r) {
      double* col = m.multipliers.data() + static_cast<size_t>(r) * P;
      if (!std::isfinite(popsize)) {
        for (int64_t k = 0; k < n_h; ++k) {
          col[psus[static_cast<size_t>(draws.below(static_cast<uint64_t>(n_h)))]] += 1.0;
        }
        continue;
      }
      // n_h distinct positions of the pool 0 .. floor(N_h) - 1 (Floyd's
      // algorithm, Bentley 1987); position k holds PSU psus[k mod n_h].
      const int64_t pool = static_cast<int64_t>(std::floor(popsize));
      chosen.clear();
      for (int64_t j = pool - n_h; j < pool; ++j) {
        const int64_t t = static_cast<int64_t>(draws.below(static_cast<uint64_t>(j + 1)));
        const int64_t pos = chosen.insert(t).second ? t : j;
        if (pos == j) chosen.insert(j);
        col[psus[static_cast<size_t>(pos % n_h)]] += 1.0;
      }
    }
  }
  m.scale = nbar / ((nbar - 1) * static_cast<double>(replicates - 1));
  return m;
}

// The Rao-Wu rescaling bootstrap (R's subbootweights; Rao & Wu 1988 with
// m_h = n_h - 1): each replicate draws n_h - 1 of stratum h's PSUs with
// replacement; a PSU's multiplier is its number of draws times n_h / (n_h - 1),
// so that scale 1 / (R - 1) needs no finite-sample correction.
ReplicateMultipliers subbootstrap(const Layout& L, int64_t replicates, uint64_t seed) {
  ReplicateMultipliers m = empty_result(L, ReplicateType::Subbootstrap);
  m.seed = seed;
  for (int32_t h : L.strata_in_order) {
    if (L.stratum_members[static_cast<size_t>(h)].size() < 2) {
      throw NotEstimable("subbootstrap: stratum " + quoted(L.labels[static_cast<size_t>(h)]) +
                         " has only one PSU; the Rao-Wu bootstrap draws n_h - 1 = 0 of them");
    }
  }
  const size_t P = static_cast<size_t>(L.psus);
  m.multipliers.assign(static_cast<size_t>(replicates) * P, 0.0);
  m.rscales.assign(static_cast<size_t>(replicates), 1.0);
  Draws draws(seed);
  for (int32_t h : L.strata_in_order) {
    const auto& psus = L.stratum_members[static_cast<size_t>(h)];
    const int64_t n_h = static_cast<int64_t>(psus.size());
    // R: table(sample(psus, n_h - 1, replace = TRUE)) * n_h / (n_h - 1)
    const double n = static_cast<double>(n_h);
    for (int64_t r = 0; r < replicates; ++r) {
      double* col = m.multipliers.data() + static_cast<size_t>(r) * P;
      for (int64_t k = 0; k + 1 < n_h; ++k) {
        col[psus[static_cast<size_t>(draws.below(static_cast<uint64_t>(n_h)))]] += 1.0;
      }
      for (int64_t p : psus) col[p] = col[p] * n / (n - 1);
    }
  }
  m.scale = 1.0 / static_cast<double>(replicates - 1);
  return m;
}

}  // namespace

ReplicateMultipliers replicate_multipliers(const Design& design,
                                           const ReplicateWeightsOptions& options) {
  const double rho = options.rho;
  if (!(rho >= 0 && rho < 1)) {
    std::ostringstream msg;
    msg << "rho (Fay's coefficient) must be in [0, 1), got " << rho;
    throw InvalidInput(msg.str());
  }
  const bool stratified = design.has_strata();
  ReplicateType type = options.type.value_or(stratified ? ReplicateType::JKn : ReplicateType::JK1);
  if (type == ReplicateType::JK1 && stratified) {
    throw InvalidInput("Can't use JK1 for a stratified design (use JKn, BRR or bootstrap)");
  }
  if ((type == ReplicateType::JKn || type == ReplicateType::BRR || type == ReplicateType::Fay) &&
      !stratified) {
    throw InvalidInput("Must use JK1 or bootstrap for an unstratified design, not " +
                       std::string(to_string(type)));
  }
  if (type == ReplicateType::Fay && rho == 0) {
    throw InvalidInput("type 'Fay' needs rho in (0, 1); rho = 0 is BRR");
  }
  const Layout L = layout_of(design);
  ReplicateMultipliers m;
  switch (type) {
    case ReplicateType::JK1:
      m = jk1(design, L);
      break;
    case ReplicateType::JKn:
      m = jkn(design, L);
      break;
    case ReplicateType::BRR:
    case ReplicateType::Fay:
      m = brr(L, rho);
      break;
    case ReplicateType::Bootstrap:
    case ReplicateType::Subbootstrap: {
      if (options.replicates < 2) {
        throw InvalidInput(std::string(to_string(type)) + " needs replicates >= 2, got " +
                           std::to_string(options.replicates));
      }
      std::random_device device;
      const uint64_t seed =
          options.seed ? *options.seed
                       : (static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(device());
      m = type == ReplicateType::Bootstrap ? bootstrap(design, L, options.replicates, seed)
                                           : subbootstrap(L, options.replicates, seed);
      break;
    }
  }
  if (m.count() < 2) {
    throw NotEstimable(std::string(to_string(type)) + ": only " + std::to_string(m.count()) +
                       " replicate(s): every stratum is sampled exhaustively (population size = "
                       "sample size) or has a single PSU; there is no sampling variance to "
                       "replicate");
  }
  m.mse = options.mse;
  return m;
}

ReplicateWeights replicate_weights(const Design& design, const ReplicateWeightsOptions& options) {
  ReplicateMultipliers m = replicate_multipliers(design, options);
  const size_t n = static_cast<size_t>(design.rows());
  const size_t R = m.count();
  const size_t P = static_cast<size_t>(m.psus);
  if (R > std::numeric_limits<size_t>::max() / sizeof(double) / n) {
    throw InvalidInput("the replicate weights (" + std::to_string(n) + " rows x " +
                       std::to_string(R) + " replicates) do not fit in memory");
  }
  // Original row -> sorted PSU index.
  std::vector<int32_t> psu_of_row(n);
  const auto& order = design.order();
  for (int64_t p = 0; p < m.psus; ++p) {
    for (int64_t s = design.psu_first_row(p); s < design.psu_first_row(p + 1); ++s) {
      psu_of_row[order.empty() ? static_cast<size_t>(s)
                               : static_cast<size_t>(order[static_cast<size_t>(s)])] =
          static_cast<int32_t>(p);
    }
  }
  ReplicateWeights out;
  out.rows = design.rows();
  // Huge pages are asked for before the first touch (resize's zero-fill).
  out.weights.reserve(n * R);
  advise_huge_pages(out.weights.data(), n * R * sizeof(double));
  out.weights.resize(n * R);
  const auto& w = design.weights();
  // Replicates are independent columns: split them over the threads. Safe: each
  // thread writes its own columns and reads shared input.
  parallel_for(R, worker_count(options.threads, R), [&](size_t r) {
    const double* mult = m.multipliers.data() + r * P;
    double* col = out.weights.data() + r * n;
    // R: repweights[index, ] * pweights
    for (size_t i = 0; i < n; ++i) col[i] = mult[psu_of_row[i]] * w[i];
  });
  out.scale = m.scale;
  out.rscales = std::move(m.rscales);
  out.type = m.type;
  out.rho = m.rho;
  out.mse = m.mse;
  out.seed = m.seed;
  return out;
}

}  // namespace steppe
