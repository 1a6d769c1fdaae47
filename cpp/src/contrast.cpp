// Contrasts of domain estimates: the domains' full covariance (linearised or
// from replicate weights), then each contrast's estimate, SE, t, df, p and CI.
#include "steppe/contrast.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>

#include "steppe/accumulate.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/parallel.hpp"

namespace steppe {

PAdjust parse_p_adjust(std::string_view name) {
  if (name == "none") return PAdjust::None;
  if (name == "holm") return PAdjust::Holm;
  if (name == "bonferroni") return PAdjust::Bonferroni;
  throw InvalidInput("adjust must be 'holm', 'bonferroni' or 'none', got '" + std::string(name) +
                     "'");
}

std::vector<double> adjust_p(std::span<const double> p, PAdjust method) {
  std::vector<double> out(p.begin(), p.end());
  std::vector<size_t> idx;  // the p-values that count (R: n = sum(!is.na(p)))
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isnan(p[i])) continue;
    if (p[i] < 0 || p[i] > 1) {
      throw InvalidInput("p-values must be in [0, 1]; got " + std::to_string(p[i]) +
                         " at position " + std::to_string(i));
    }
    idx.push_back(i);
  }
  const double m = static_cast<double>(idx.size());
  if (method == PAdjust::Bonferroni) {
    for (size_t i : idx) out[i] = std::min(1.0, m * p[i]);  // Bonferroni (1936)
  } else if (method == PAdjust::Holm) {
    // Holm (1979): the i-th smallest p (i = 0, 1, ...) times m - i, made
    // monotone by a running maximum and capped at 1 (R's p.adjust, ties in
    // input order as R's order()).
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
    double running = 0;
    for (size_t rank = 0; rank < idx.size(); ++rank) {
      running = std::max(running, std::min(1.0, (m - static_cast<double>(rank)) * p[idx[rank]]));
      out[idx[rank]] = running;
    }
  }
  return out;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kCertaintyFraction = 1e-7;  // R's onestrat: all(f < 0.0000001) is a certainty

/// 1 - n/N (1 when N is infinite).
double fpc_factor(double n, double popsize) {
  return std::isinf(popsize) ? 1.0 : (popsize - n) / popsize;
}

// ---------------------------------------------------------------- linearisation

/// Totals of the domains' linearised variables for a set of groups (the PSUs
/// of one stratum, or the psu2 units of one PSU), stored sparsely: a group lists the
/// domains it has a total for.
class GroupTotals {
 public:
  explicit GroupTotals(int64_t domains) : slot_(static_cast<size_t>(domains), -1) {}

  /// Adds z to domain d's total in the open group.
  void add(int32_t d, double z) {
    int32_t& s = slot_[static_cast<size_t>(d)];
    if (s < 0) {
      s = static_cast<int32_t>(dom_.size());
      dom_.push_back(d);
      val_.push_back(0.0);
    }
    val_[static_cast<size_t>(s)] += z;
  }
  /// Closes the open group (a group with no domain is not stored: it is a zero).
  void close() {
    for (size_t i = start_.back(); i < dom_.size(); ++i) slot_[static_cast<size_t>(dom_[i])] = -1;
    if (dom_.size() > start_.back()) start_.push_back(dom_.size());
  }
  bool empty() const { return dom_.empty(); }
  /// Adds every stored group's totals, summed per domain, as one group of `to`.
  void sum_into(GroupTotals& to) const {
    for (size_t i = 0; i < dom_.size(); ++i) to.add(dom_[i], val_[i]);
    to.close();
  }
  void clear() {
    dom_.clear();
    val_.clear();
    start_.assign(1, 0);
  }

  /// Adds scale * sum_g (Z_g - mean)(Z_g - mean)' over n groups (the stored ones
  /// padded with zero groups, as R's onestrat pads PSUs that miss a domain) to
  /// the D x D matrix cov; uncentred (mean = 0) when !centred (a lonely PSU
  /// under "adjust"). Two passes: the means, then centred products, so that
  /// large totals with a small spread keep their precision.
  void add_cross_products(double n, double scale, bool centred, int64_t D,
                          std::vector<double>& cov) {
    std::vector<int32_t> domains;  // local index -> domain
    for (int32_t d : dom_) {
      int32_t& l = slot_[static_cast<size_t>(d)];
      if (l < 0) {
        l = static_cast<int32_t>(domains.size());
        domains.push_back(d);
      }
    }
    const size_t T = domains.size();
    mean_.assign(T, 0.0);
    count_.assign(T, 0.0);
    for (size_t i = 0; i < dom_.size(); ++i) {
      const size_t l = static_cast<size_t>(slot_[static_cast<size_t>(dom_[i])]);
      if (centred) mean_[l] += val_[i];
      count_[l] += 1;
    }
    for (double& m : mean_) m /= n;
    // Over the groups that have both a and b: P = sum e_a e_b, Q(a, b) = sum e_a,
    // C = their count, with e = Z - mean. Then sum over all n groups of the
    // centred product is
    //   P_ab - m_b (Q_aa - Q_ab) - m_a (Q_bb - Q_ba) + (n - c_a - c_b + C_ab) m_a m_b,
    // the groups with a only, with b only, and with neither.
    prod_.assign(T * T, 0.0);
    part_.assign(T * T, 0.0);
    both_.assign(T * T, 0.0);
    for (size_t g = 0; g + 1 < start_.size(); ++g) {
      const size_t b0 = start_[g], b1 = start_[g + 1];
      for (size_t i = b0; i < b1; ++i) {
        const size_t a = static_cast<size_t>(slot_[static_cast<size_t>(dom_[i])]);
        const double ea = val_[i] - mean_[a];
        for (size_t j = b0; j < b1; ++j) {
          const size_t b = static_cast<size_t>(slot_[static_cast<size_t>(dom_[j])]);
          const double eb = val_[j] - mean_[b];
          prod_[a * T + b] += ea * eb;
          part_[a * T + b] += ea;
          both_[a * T + b] += 1;
        }
      }
    }
    const size_t Ds = static_cast<size_t>(D);
    for (size_t a = 0; a < T; ++a) {
      for (size_t b = 0; b < T; ++b) {
        const double ma = mean_[a], mb = mean_[b];
        const double v = prod_[a * T + b] - mb * (part_[a * T + a] - part_[a * T + b]) -
                         ma * (part_[b * T + b] - part_[b * T + a]) +
                         (n - count_[a] - count_[b] + both_[a * T + b]) * ma * mb;
        cov[static_cast<size_t>(domains[a]) * Ds + static_cast<size_t>(domains[b])] += scale * v;
      }
    }
    for (int32_t d : domains) slot_[static_cast<size_t>(d)] = -1;
  }

 private:
  std::vector<int32_t> slot_;  ///< per domain: its entry in the open group, or local index
  std::vector<int32_t> dom_;
  std::vector<double> val_;
  std::vector<size_t> start_{0};
  std::vector<double> mean_, count_, prod_, part_, both_;  // scratch
};

/// What the linearisation scan of a range of strata leaves.
struct LinearisedPart {
  std::vector<double> covariance;  ///< D x D
  /// Per PSU with rows in a domain: its stratum and the domains it has rows of
  /// (for the degrees of freedom), PSUs in design order.
  std::vector<int32_t> psu_stratum;
  std::vector<size_t> psu_start{0};
  std::vector<int32_t> psu_domain;
  int64_t strata_seen = 0;  ///< strata with a total for some domain
  int64_t strata_ok = 0;    ///< those with a variance (lonely "average" rescaling)
  std::vector<int32_t> lonely_strata;
  std::vector<int64_t> lonely_psus;
  int64_t nan_stage2 = 0;
};

/// Inputs of the linearisation scan, fixed by scan 1.
struct LinearisedPlan {
  const Design* design = nullptr;
  const EstimateRequest* request = nullptr;
  const DomainPlan* plan = nullptr;
  std::span<const int32_t> cell_of_row;
  int32_t category = 0;  ///< categorical variables: the level whose share is contrasted
};

/// svyrecvar of the rows x D matrix of the domains' linearised variables (z_g
/// = w 1[g] (y - theta_g x) / X_g; w 1[g] y for totals) over strata [h0, h1),
/// as R's svyby(covmat = TRUE) on linearised designs: its diagonal holds each
/// domain's own linearised variance (Woodruff 1971; Binder 1983).
LinearisedPart linearised_covariance(const LinearisedPlan& lp, int32_t h0, int32_t h1) {
  const Design& design = *lp.design;
  const EstimateRequest& req = *lp.request;
  const DomainPlan& plan = *lp.plan;
  const int64_t D = plan.domains();
  const size_t Ds = static_cast<size_t>(D);
  const size_t K = static_cast<size_t>(plan.cells);
  const size_t cat = static_cast<size_t>(lp.category);
  const bool categorical = plan.categorical;
  const bool ratio = plan.statistic == Statistic::Ratio;
  const bool stage2 = design.has_fpc() && !design.psu_popsize2().empty();
  const auto& order = design.order();
  const auto& weights = design.sorted_weights();
  const auto& spb = design.stratum_psu_begin();
  const Calibration& cal = design.calibration();
  const size_t P = static_cast<size_t>(cal.columns);

  LinearisedPart out;
  out.covariance.assign(Ds * Ds, 0.0);
  // One group's sums: a = sum w y' and b = sum w (categorical: y' = 1[level], b
  // the domain's weight), so z = (a - theta b) / X; numeric a = sum w (y - theta x).
  std::vector<double> a(Ds, 0.0), b(Ds, 0.0);
  std::vector<uint8_t> mark(Ds, 0);
  std::vector<int32_t> touched;
  std::vector<uint8_t> psu_mark(Ds, 0);
  std::vector<int32_t> psu_real;  // domains the current PSU has rows of
  std::vector<double> cal_sum(P, 0.0);
  GroupTotals strat(D), within(D);

  auto read_rows = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const size_t si = static_cast<size_t>(s);
      const size_t ri = order.empty() ? si : static_cast<size_t>(order[si]);
      if (P) {  // calibration sums run over every row of the group
        const double wc = cal.cal_weight[ri];
        if (cal.indicator) {
          cal_sum[static_cast<size_t>(cal.cell[ri])] += wc;
        } else {
          const double* m = cal.matrix.data() + ri * P;
          for (size_t j = 0; j < P; ++j) cal_sum[j] += wc * m[j];
        }
      }
      const int32_t cell = lp.cell_of_row[si];
      if (cell < 0) continue;
      const double w = weights[si];
      const size_t key = categorical ? static_cast<size_t>(cell) / K : static_cast<size_t>(cell);
      const int32_t d = plan.key_to_domain[key];
      if (d < 0) continue;
      const size_t di = static_cast<size_t>(d);
      if (!mark[di]) {
        mark[di] = 1;
        touched.push_back(d);
      }
      if (categorical) {
        if (static_cast<size_t>(cell) % K == cat) a[di] += w;
        b[di] += w;
      } else {
        const double x = ratio ? req.denominator[ri] : 1.0;
        a[di] += w * (req.values[ri] - plan.center[di] * x);
      }
    }
  };
  // The group's z per domain into `to`; calibrated designs: every domain, less
  // the calibration fit S' beta (R's svyrecvar on the calibration residuals).
  auto emit_group = [&](GroupTotals& to) {
    auto z = [&](size_t d) {
      const size_t c = d * K + (categorical ? cat : 0);
      return (a[d] - (categorical ? plan.center[c] * b[d] : 0.0)) * plan.inv_x[d];
    };
    if (P == 0) {
      for (int32_t d : touched) to.add(d, z(static_cast<size_t>(d)));
    } else {
      for (size_t d = 0; d < Ds; ++d) {
        const size_t c = d * K + (categorical ? cat : 0);
        const double* beta = plan.beta.data() + c * P;
        double fit = 0;
        for (size_t j = 0; j < P; ++j) fit += cal_sum[j] * beta[j];
        to.add(static_cast<int32_t>(d), z(d) - fit);
      }
      std::fill(cal_sum.begin(), cal_sum.end(), 0.0);
    }
    to.close();
    for (int32_t d : touched) {
      const size_t di = static_cast<size_t>(d);
      a[di] = b[di] = 0.0;
      mark[di] = 0;
      if (!psu_mark[di]) {
        psu_mark[di] = 1;
        psu_real.push_back(d);
      }
    }
    touched.clear();
  };

  for (int32_t h = h0; h < h1; ++h) {
    const int64_t n_h = design.stratum_psu_count(h);
    const double nh = static_cast<double>(n_h);
    const double popsize1 = design.stratum_popsize()[static_cast<size_t>(h)];
    const int64_t p0 = spb[static_cast<size_t>(h)], p1 = spb[static_cast<size_t>(h) + 1];
    for (int64_t p = p0; p < p1; ++p) {
      if (!stage2) {
        read_rows(design.psu_first_row(p), design.psu_first_row(p + 1));
        emit_group(strat);
      } else {
        // Two stages (R's multistage): the psu2 totals' spread within the PSU adds
        // f1 (1 - m/M) m/(m-1) sum_j (z_ij - zbar_i)(z_ij - zbar_i)', f1 = n_h / N_h.
        const auto& qb = design.psu_psu2_begin();
        const int64_t q0 = qb[static_cast<size_t>(p)], q1 = qb[static_cast<size_t>(p) + 1];
        for (int64_t q = q0; q < q1; ++q) {
          read_rows(design.psu2_row_begin()[static_cast<size_t>(q)],
                    design.psu2_row_begin()[static_cast<size_t>(q) + 1]);
          emit_group(within);
        }
        const double m = static_cast<double>(q1 - q0);
        const double f1 = std::isinf(popsize1) ? 0.0 : nh / popsize1;
        const double f2 = fpc_factor(m, design.psu_popsize2()[static_cast<size_t>(p)]);
        if (!within.empty() && f1 > 0 && f2 >= kCertaintyFraction) {
          if (q1 - q0 > 1) {
            within.add_cross_products(m, f1 * f2 * m / (m - 1), true, D, out.covariance);
          } else {
            switch (design.lonely_psu()) {
              case LonelyPsu::Fail:
                out.lonely_psus.push_back(p);
                break;
              case LonelyPsu::Remove:
              case LonelyPsu::Certainty:
                break;
              case LonelyPsu::Adjust:
                within.add_cross_products(1.0, f1 * f2, false, D, out.covariance);
                break;
              case LonelyPsu::Average:
                out.nan_stage2 += 1;
                break;
            }
          }
        }
        within.sum_into(strat);
        within.clear();
      }
      if (!psu_real.empty()) {
        std::sort(psu_real.begin(), psu_real.end());
        out.psu_stratum.push_back(h);
        out.psu_domain.insert(out.psu_domain.end(), psu_real.begin(), psu_real.end());
        out.psu_start.push_back(out.psu_domain.size());
        for (int32_t d : psu_real) psu_mark[static_cast<size_t>(d)] = 0;
        psu_real.clear();
      }
    }
    if (strat.empty()) continue;
    // Stage 1 (R's onestrat): f n_h / (n_h - 1) times the centred cross-products
    // of the n_h PSU totals; the lonely-PSU rules as the engine's finish_stratum.
    out.strata_seen += 1;
    const double f = fpc_factor(nh, popsize1);
    if (f < kCertaintyFraction) {
      out.strata_ok += 1;
    } else if (n_h > 1) {
      strat.add_cross_products(nh, f * nh / (nh - 1), true, D, out.covariance);
      out.strata_ok += 1;
    } else {
      switch (design.lonely_psu()) {
        case LonelyPsu::Fail:
          out.lonely_strata.push_back(h);
          break;
        case LonelyPsu::Remove:
        case LonelyPsu::Certainty:
          out.strata_ok += 1;
          break;
        case LonelyPsu::Adjust:  // centred at zero, the grand mean of z
          strat.add_cross_products(1.0, f, false, D, out.covariance);
          out.strata_ok += 1;
          break;
        case LonelyPsu::Average:
          break;
      }
    }
    strat.clear();
  }
  return out;
}

/// Stratum boundaries splitting the sorted rows into `parts` chunks of similar size.
std::vector<int32_t> strata_chunks(const Design& design, int parts) {
  const auto& spb = design.stratum_psu_begin();
  const int32_t H = design.strata();
  std::vector<int32_t> cut{0};
  for (int i = 1; i < parts; ++i) {
    const int64_t target = design.rows() * i / parts;
    int32_t h = cut.back();
    while (h < H && design.psu_first_row(spb[static_cast<size_t>(h)]) < target) ++h;
    if (h > cut.back() && h < H) cut.push_back(h);
  }
  cut.push_back(H);
  return cut;
}

std::string lonely_message(const Design& design, const LinearisedPart& part) {
  std::ostringstream msg;
  if (!part.lonely_strata.empty()) {
    msg << part.lonely_strata.size() << " stratum/strata with a single PSU (lonely_psu='fail'): ";
    for (size_t i = 0; i < part.lonely_strata.size() && i < 20; ++i) {
      msg << (i ? ", " : "") << "'" << design.stratum_label(part.lonely_strata[i]) << "'";
    }
    if (part.lonely_strata.size() > 20) msg << ", ...";
  } else {
    msg << part.lonely_psus.size()
        << " PSU(s) with a single second-stage unit (lonely_psu='fail'): ";
    for (size_t i = 0; i < part.lonely_psus.size() && i < 20; ++i) {
      msg << (i ? ", " : "") << "'" << design.psu_label(part.lonely_psus[i]) << "'";
    }
    if (part.lonely_psus.size() > 20) msg << ", ...";
  }
  msg << ". Use lonely_psu='remove', 'certainty', 'adjust' or 'average' to estimate anyway.";
  return msg.str();
}

EstimateRequest estimate_request(const ContrastRequest& req) {
  EstimateRequest e;
  e.statistic = req.statistic;
  e.values = req.values;
  e.codes = req.codes;
  e.levels = req.levels;
  e.denominator = req.denominator;
  e.by = req.by;
  e.by_levels = req.by_levels;
  e.subset = req.subset;
  e.threads = req.threads;
  return e;
}

/// The domains and their covariance, by either method, and what the degrees of
/// freedom need.
struct DomainCovariance {
  std::vector<int32_t> key_to_domain;  ///< -1: no domain
  std::vector<int64_t> domain_key;
  std::vector<double> estimate;    ///< per domain
  std::vector<double> covariance;  ///< D x D
  LinearisedPart part;             ///< linearisation: PSU lists for the df
  /// Replicate designs: replicate estimates of the replicates without an
  /// undefined domain (R's na.omit in svrVar), replicate-major, and their rscales.
  std::vector<double> thetas;
  std::vector<double> rscales;
  double design_df = kNaN;  ///< replicate designs: one df for every contrast
};

DomainCovariance linearised(const Design& design, const ContrastRequest& creq,
                            const EstimateRequest& req) {
  validate_request(design, req);
  const size_t parts_wanted = row_workers(req.threads, design.rows());
  // Scan 1 (original rows, any split): the domain estimates.
  std::vector<int32_t> cell_of_row(static_cast<size_t>(design.rows()));
  const size_t parts1 = parts_wanted;
  std::vector<DomainTotals> totals(parts1);
  const int64_t rows = design.rows();
  parallel_for(parts1, parts1, [&](size_t i) {
    const int64_t n = static_cast<int64_t>(parts1);
    const int64_t r0 = rows * static_cast<int64_t>(i) / n;
    const int64_t r1 = rows * static_cast<int64_t>(i + 1) / n;
    totals[i] = accumulate_totals(design, req, r0, r1, cell_of_row);
  });
  for (size_t i = 1; i < parts1; ++i) totals[0].merge(totals[i]);
  const DomainTotals& t = totals[0];
  const DomainPlan plan =
      plan_domains(req, t, design.calibration().normal_inverse, &design.calibration());
  if (plan.domains() == 0) {
    throw NotEstimable("no row has a valid value with a nonzero weight in the requested domain(s)");
  }
  const size_t D = static_cast<size_t>(plan.domains());
  const size_t K = static_cast<size_t>(plan.cells);
  const size_t cat = req.levels > 0 ? static_cast<size_t>(creq.category) : 0;

  DomainCovariance out;
  out.key_to_domain = plan.key_to_domain;
  out.domain_key.assign(plan.domain_key.begin(), plan.domain_key.end());
  out.estimate.resize(D);
  for (size_t d = 0; d < D; ++d) {
    const size_t key = static_cast<size_t>(plan.domain_key[d]);
    out.estimate[d] =
        req.statistic == Statistic::Total ? t.numerator[key * K + cat] : plan.center[d * K + cat];
  }

  // Scan 2 (sorted rows, whole strata per thread): the D x D covariance.
  LinearisedPlan lp{&design, &req, &plan, cell_of_row, static_cast<int32_t>(cat)};
  const auto cut = strata_chunks(design, static_cast<int>(parts_wanted));
  const size_t parts2 = cut.size() - 1;
  std::vector<LinearisedPart> part(parts2);
  parallel_for(parts2, parts2,
               [&](size_t i) { part[i] = linearised_covariance(lp, cut[i], cut[i + 1]); });
  LinearisedPart& all = part[0];
  for (size_t i = 1; i < parts2; ++i) {
    LinearisedPart& o = part[i];
    for (size_t e = 0; e < all.covariance.size(); ++e) all.covariance[e] += o.covariance[e];
    const size_t offset = all.psu_domain.size();
    all.psu_stratum.insert(all.psu_stratum.end(), o.psu_stratum.begin(), o.psu_stratum.end());
    all.psu_domain.insert(all.psu_domain.end(), o.psu_domain.begin(), o.psu_domain.end());
    for (size_t j = 1; j < o.psu_start.size(); ++j)
      all.psu_start.push_back(offset + o.psu_start[j]);
    all.strata_seen += o.strata_seen;
    all.strata_ok += o.strata_ok;
    all.lonely_strata.insert(all.lonely_strata.end(), o.lonely_strata.begin(),
                             o.lonely_strata.end());
    all.lonely_psus.insert(all.lonely_psus.end(), o.lonely_psus.begin(), o.lonely_psus.end());
    all.nan_stage2 += o.nan_stage2;
  }
  if (!all.lonely_strata.empty() || !all.lonely_psus.empty()) {
    throw NotEstimable(lonely_message(design, all));
  }
  if (all.nan_stage2 > 0) {
    throw NotEstimable(
        "lonely_psu='average' met a PSU with a single second-stage unit; R's variance is NaN "
        "there");
  }
  // lonely_psu="average" (R's onestage): the strata with a variance stand in for
  // all, nstrat / nokstrat.
  if (all.strata_ok != all.strata_seen) {
    if (all.strata_ok == 0) {
      throw NotEstimable("lonely_psu='average': every stratum of the domains has a single PSU");
    }
    const double rescale =
        static_cast<double>(all.strata_seen) / static_cast<double>(all.strata_ok);
    for (double& v : all.covariance) v *= rescale;
  }
  out.covariance = std::move(all.covariance);
  out.part = std::move(all);
  return out;
}

DomainCovariance replicated(const Design& design, const ContrastRequest& creq,
                            EstimateRequest req) {
  const ReplicateVariance& rv = *design.replicates();
  req.keep_replicates = true;
  req.df_design = false;  // one df for every contrast, below
  const EstimateResult res = estimate_replicates(design, req);
  const size_t D = static_cast<size_t>(res.domains);
  const size_t K = static_cast<size_t>(res.cells_per_domain);
  const size_t cells = D * K;
  const size_t cat = req.levels > 0 ? static_cast<size_t>(creq.category) : 0;
  const size_t R = rv.count();
  const size_t nby = req.by.size();

  DomainCovariance out;
  int64_t space = 1;
  std::vector<int64_t> stride(nby);
  for (size_t j = nby; j-- > 0;) {
    stride[j] = space;
    space *= req.by_levels[j];
  }
  out.key_to_domain.assign(static_cast<size_t>(space), -1);
  out.domain_key.resize(D);
  out.estimate.resize(D);
  for (size_t d = 0; d < D; ++d) {
    int64_t key = 0;
    for (size_t j = 0; j < nby; ++j) key += res.domain_codes[d * nby + j] * stride[j];
    out.domain_key[d] = key;
    out.key_to_domain[static_cast<size_t>(key)] = static_cast<int32_t>(d);
    out.estimate[d] = res.estimate[d * K + cat];
  }
  // R's svrVar on the replicates x D matrix: replicates with an undefined domain
  // estimate are dropped (na.omit); the centre is the mean of the replicates with
  // rscale > 0, or the full-sample estimates (mse).
  std::vector<double> centre(D, 0.0);
  double used = 0;
  for (size_t r = 0; r < R; ++r) {
    const double* th = res.replicates.data() + r * cells;
    bool complete = true;
    for (size_t d = 0; d < D && complete; ++d) complete = std::isfinite(th[d * K + cat]);
    if (!complete) continue;
    for (size_t d = 0; d < D; ++d) out.thetas.push_back(th[d * K + cat]);
    out.rscales.push_back(rv.rscales[r]);
    if (rv.rscales[r] > 0) {
      for (size_t d = 0; d < D; ++d) centre[d] += th[d * K + cat];
      used += 1;
    }
  }
  for (size_t d = 0; d < D; ++d) centre[d] = rv.mse ? out.estimate[d] : centre[d] / used;
  out.covariance.assign(D * D, 0.0);
  std::vector<double> dev(D);
  for (size_t r = 0; r < out.rscales.size(); ++r) {
    const double* th = out.thetas.data() + r * D;
    for (size_t d = 0; d < D; ++d) dev[d] = th[d] - centre[d];
    const double s = rv.scale * out.rscales[r];
    for (size_t i = 0; i < D; ++i) {
      for (size_t j = 0; j < D; ++j) out.covariance[i * D + j] += s * dev[i] * dev[j];
    }
  }
  if (std::isnan(creq.df)) {
    // R's degf of the subset design: the rank of its rows' replicate weights - 1
    // (or the design's fixed df).
    std::vector<int32_t> subset_rows(static_cast<size_t>(design.rows()), 0);
    for (size_t i = 0; i < req.subset.size(); ++i) subset_rows[i] = req.subset[i] ? 0 : -1;
    out.design_df = rv.domain_df(subset_rows, 1)[0];
  }
  return out;
}

/// One contrast as sparse coefficients on domains.
struct Coefficients {
  std::vector<int32_t> domain;
  std::vector<double> value;
  double estimate = 0;  ///< the contrast's value (a ratio for ratio contrasts)
};

std::string domain_label(const ContrastRequest& req, int64_t key) {
  if (static_cast<size_t>(key) < req.domain_labels.size()) {
    return req.domain_labels[static_cast<size_t>(key)];
  }
  return "key " + std::to_string(key);
}

std::vector<Coefficients> build_contrasts(const ContrastRequest& req, const DomainCovariance& dc,
                                          std::vector<int64_t>& pairs) {
  const size_t D = dc.domain_key.size();
  std::vector<Coefficients> out;
  if (req.pairwise) {
    for (size_t i = 0; i < D; ++i) {
      for (size_t j = i + 1; j < D; ++j) {
        Coefficients c;
        c.domain = {static_cast<int32_t>(i), static_cast<int32_t>(j)};
        c.value = {1.0, -1.0};
        c.estimate = dc.estimate[i] - dc.estimate[j];
        out.push_back(std::move(c));
        pairs.push_back(dc.domain_key[i]);
        pairs.push_back(dc.domain_key[j]);
      }
    }
    return out;
  }
  const size_t space = dc.key_to_domain.size();
  if (req.coefficients.size() % space != 0) {
    throw InvalidInput("contrast coefficients: expected contrasts x " + std::to_string(space) +
                       " values (one per by level), got " +
                       std::to_string(req.coefficients.size()));
  }
  const size_t C = req.coefficients.size() / space;
  if (!req.ratio.empty() && req.ratio.size() != 2 * C) {
    throw InvalidInput("ratio: expected 2 domain keys per contrast (-1, -1 for linear ones)");
  }
  if (!req.names.empty() && req.names.size() != C) {
    throw InvalidInput("names: expected one name per contrast");
  }
  auto name = [&](size_t c) {
    return "contrast '" + (req.names.empty() ? std::to_string(c) : req.names[c]) + "'";
  };
  auto domain_of = [&](size_t c, int64_t key) {
    if (key < 0 || static_cast<size_t>(key) >= space) {
      throw InvalidInput(name(c) + ": domain key " + std::to_string(key) + " is out of range");
    }
    const int32_t d = dc.key_to_domain[static_cast<size_t>(key)];
    if (d < 0) {
      throw InvalidInput(name(c) + ": '" + req.by_name + "' has no domain '" +
                         domain_label(req, key) + "' (no row with a nonzero weight)");
    }
    return d;
  };
  for (size_t c = 0; c < C; ++c) {
    Coefficients co;
    const double* row = req.coefficients.data() + c * space;
    const bool is_ratio =
        !req.ratio.empty() && (req.ratio[2 * c] >= 0 || req.ratio[2 * c + 1] >= 0);
    for (size_t k = 0; k < space; ++k) {
      if (row[k] == 0) continue;
      if (!std::isfinite(row[k])) throw InvalidInput(name(c) + ": coefficients must be finite");
      if (is_ratio) throw InvalidInput(name(c) + ": give either coefficients or a ratio");
      const int32_t d = domain_of(c, static_cast<int64_t>(k));
      co.domain.push_back(d);
      co.value.push_back(row[k]);
      co.estimate += row[k] * dc.estimate[static_cast<size_t>(d)];
    }
    if (is_ratio) {
      // theta_a / theta_b: the delta method's gradient (1 / theta_b, -theta_a /
      // theta_b^2) as the contrast (R's svycontrast of a quoted expression, nlcon).
      const int32_t a = domain_of(c, req.ratio[2 * c]);
      const int32_t b = domain_of(c, req.ratio[2 * c + 1]);
      const double ta = dc.estimate[static_cast<size_t>(a)];
      const double tb = dc.estimate[static_cast<size_t>(b)];
      if (tb == 0) throw NotEstimable(name(c) + ": the denominator estimate is 0");
      co.domain = {a, b};
      co.value = {1.0 / tb, -ta / (tb * tb)};
      co.estimate = ta / tb;
    } else if (co.domain.empty()) {
      throw InvalidInput(name(c) + " has no nonzero coefficient");
    }
    out.push_back(std::move(co));
  }
  return out;
}

/// PSUs minus strata with rows in any of the contrast's domains (R's degf of
/// that subset), from the PSUs' domain lists.
double linearised_df(const LinearisedPart& part, const Coefficients& co, size_t D,
                     std::vector<uint8_t>& in, const std::vector<int64_t>& psus_of,
                     const std::vector<int64_t>& strata_of) {
  if (co.domain.size() == 1 || (co.domain.size() == 2 && co.domain[0] == co.domain[1])) {
    const size_t d = static_cast<size_t>(co.domain[0]);
    return static_cast<double>(psus_of[d] - strata_of[d]);
  }
  in.assign(D, 0);
  for (int32_t d : co.domain) in[static_cast<size_t>(d)] = 1;
  int64_t psus = 0, strata = 0;
  int32_t last = -1;
  for (size_t p = 0; p + 1 < part.psu_start.size(); ++p) {
    bool hit = false;
    for (size_t e = part.psu_start[p]; e < part.psu_start[p + 1] && !hit; ++e) {
      hit = in[static_cast<size_t>(part.psu_domain[e])] != 0;
    }
    if (!hit) continue;
    psus += 1;
    if (part.psu_stratum[p] != last) {  // PSUs come stratum by stratum
      strata += 1;
      last = part.psu_stratum[p];
    }
  }
  return static_cast<double>(psus - strata);
}

}  // namespace

ContrastResult contrast(const Design& design, const ContrastRequest& req) {
  if (!(req.conf_level > 0 && req.conf_level < 1)) {
    throw InvalidInput("conf_level must be in (0, 1), got " + std::to_string(req.conf_level));
  }
  if (!std::isnan(req.df) && !(req.df > 0)) {
    throw InvalidInput("df must be positive (or infinite), got " + std::to_string(req.df));
  }
  if (req.levels > 0 && (req.category < 0 || req.category >= req.levels)) {
    throw InvalidInput("category must be a code of the variable (0.." +
                       std::to_string(req.levels - 1) + "), got " + std::to_string(req.category));
  }
  const ReplicateVariance* replicates = design.replicates();
  const EstimateRequest ereq = estimate_request(req);
  DomainCovariance dc =
      replicates == nullptr ? linearised(design, req, ereq) : replicated(design, req, ereq);
  const size_t D = dc.domain_key.size();

  ContrastResult res;
  res.domains = static_cast<int64_t>(D);
  const std::vector<Coefficients> cs = build_contrasts(req, dc, res.pairs);
  const size_t C = cs.size();
  res.contrasts = static_cast<int64_t>(C);
  res.domain_key = dc.domain_key;
  res.domain_estimate = dc.estimate;
  res.estimate.resize(C);
  res.se.resize(C);
  res.statistic.resize(C);
  res.df.resize(C);
  res.p_value.resize(C);
  res.ci_low.resize(C);
  res.ci_high.resize(C);

  // Per-domain PSU and stratum counts for one-domain contrasts (linearisation).
  std::vector<int64_t> psus_of(D, 0), strata_of(D, 0), last_stratum(D, -1);
  if (replicates == nullptr) {
    const auto& part = dc.part;
    for (size_t p = 0; p + 1 < part.psu_start.size(); ++p) {
      for (size_t e = part.psu_start[p]; e < part.psu_start[p + 1]; ++e) {
        const size_t d = static_cast<size_t>(part.psu_domain[e]);
        psus_of[d] += 1;
        if (last_stratum[d] != part.psu_stratum[p]) {
          strata_of[d] += 1;
          last_stratum[d] = part.psu_stratum[p];
        }
      }
    }
  }
  // Pairwise requests: PSUs and strata shared by two domains, so that each
  // pair's df is c_a + c_b - c_ab (PSUs) minus the same for strata.
  std::vector<int64_t> psus_both, strata_both;
  if (replicates == nullptr && req.pairwise && std::isnan(req.df)) {
    const auto& part = dc.part;
    psus_both.assign(D * D, 0);
    strata_both.assign(D * D, 0);
    std::vector<uint8_t> in_stratum(D, 0);
    std::vector<int32_t> stratum_domains;
    auto flush_stratum = [&] {
      for (int32_t a : stratum_domains) {
        for (int32_t b : stratum_domains) {
          strata_both[static_cast<size_t>(a) * D + static_cast<size_t>(b)] += 1;
        }
      }
      for (int32_t a : stratum_domains) in_stratum[static_cast<size_t>(a)] = 0;
      stratum_domains.clear();
    };
    for (size_t p = 0; p + 1 < part.psu_start.size(); ++p) {
      if (p > 0 && part.psu_stratum[p] != part.psu_stratum[p - 1]) flush_stratum();
      const size_t e0 = part.psu_start[p], e1 = part.psu_start[p + 1];
      for (size_t i = e0; i < e1; ++i) {
        const size_t a = static_cast<size_t>(part.psu_domain[i]);
        if (!in_stratum[a]) {
          in_stratum[a] = 1;
          stratum_domains.push_back(part.psu_domain[i]);
        }
        for (size_t j = e0; j < e1; ++j) {
          psus_both[a * D + static_cast<size_t>(part.psu_domain[j])] += 1;
        }
      }
    }
    flush_stratum();
  }

  std::vector<uint8_t> scratch;
  std::vector<double> lin;
  for (size_t c = 0; c < C; ++c) {
    const Coefficients& co = cs[c];
    double variance = 0;
    if (replicates == nullptr) {
      // c' V c over the contrast's domains.
      for (size_t i = 0; i < co.domain.size(); ++i) {
        const size_t a = static_cast<size_t>(co.domain[i]);
        for (size_t j = 0; j < co.domain.size(); ++j) {
          const size_t b = static_cast<size_t>(co.domain[j]);
          variance += co.value[i] * co.value[j] * dc.covariance[a * D + b];
        }
      }
    } else {
      // The same c' V c, as svrVar of the replicates' contrast sum_g c_g theta_g,r
      // (no cancellation between large covariance terms). Centre: the replicates'
      // mean over rscale > 0, or c' theta (mse).
      const size_t R = dc.rscales.size();
      lin.assign(R, 0.0);
      double full = 0;
      for (size_t i = 0; i < co.domain.size(); ++i) {
        full += co.value[i] * dc.estimate[static_cast<size_t>(co.domain[i])];
      }
      for (size_t r = 0; r < R; ++r) {
        for (size_t i = 0; i < co.domain.size(); ++i) {
          lin[r] += co.value[i] * dc.thetas[r * D + static_cast<size_t>(co.domain[i])];
        }
      }
      variance =
          replicate_variance(lin.data(), 1, full, replicates->scale, dc.rscales, replicates->mse);
    }
    double df = req.df;
    if (std::isnan(df)) {
      if (replicates != nullptr) {
        df = dc.design_df;
      } else if (!psus_both.empty()) {
        const size_t a = static_cast<size_t>(co.domain[0]), b = static_cast<size_t>(co.domain[1]);
        const int64_t psus = psus_of[a] + psus_of[b] - psus_both[a * D + b];
        const int64_t strata = strata_of[a] + strata_of[b] - strata_both[a * D + b];
        df = static_cast<double>(psus - strata);
      } else {
        df = linearised_df(dc.part, co, D, scratch, psus_of, strata_of);
      }
    }
    const double se = std::sqrt(std::max(variance, 0.0));
    const double est = co.estimate;
    const bool usable_df = df > 0;  // false for NaN and for no degrees of freedom
    const double t = se > 0 ? est / se : kNaN;
    res.estimate[c] = est;
    res.se[c] = se;
    res.statistic[c] = t;
    res.df[c] = df;
    res.p_value[c] = usable_df && !std::isnan(t) ? 2 * pt(-std::fabs(t), df) : kNaN;
    const double crit = usable_df ? qt(1 - (1 - req.conf_level) / 2, df) : kNaN;
    res.ci_low[c] = est - crit * se;
    res.ci_high[c] = est + crit * se;
  }
  res.covariance = std::move(dc.covariance);
  res.p_adjusted = adjust_p(res.p_value, req.adjust);
  return res;
}

}  // namespace steppe
