// Scan 2: PSU totals of the linearised variable and their spread within strata.
#include <algorithm>
#include <cmath>
#include <utility>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"
#include "steppe/pps_variance.hpp"

namespace steppe {

namespace {

/// Sums of w * (value) over the rows of one group (a psu2 unit or a PSU), per cell,
/// for the domains the group touches. Dense arrays, reset through the touched list.
class GroupSums {
 public:
  GroupSums(int64_t domains, int32_t cells)
      : a_(static_cast<size_t>(domains * cells), 0.0),
        b_(static_cast<size_t>(domains), 0.0),
        mark_(static_cast<size_t>(domains), 0),
        cells_(cells) {}

  void add_level(int32_t d, int32_t level, double w) {
    touch(d);
    a_[static_cast<size_t>(d) * static_cast<size_t>(cells_) + static_cast<size_t>(level)] += w;
    b_[static_cast<size_t>(d)] += w;
  }
  void add_value(int32_t d, double v) {
    touch(d);
    a_[static_cast<size_t>(d)] += v;
  }
  const std::vector<int32_t>& touched() const { return touched_; }
  bool marked(int32_t d) const { return mark_[static_cast<size_t>(d)] != 0; }
  /// z = (sum w*a - centre * sum w*b) / X: the group's total of the linearised variable.
  double z(const DomainPlan& plan, int32_t d, int32_t k) const {
    const size_t cell =
        static_cast<size_t>(d) * static_cast<size_t>(cells_) + static_cast<size_t>(k);
    return (a_[cell] - plan.center[cell] * b_[static_cast<size_t>(d)]) *
           plan.inv_x[static_cast<size_t>(d)];
  }
  void reset() {
    for (int32_t d : touched_) {
      const size_t base = static_cast<size_t>(d) * static_cast<size_t>(cells_);
      std::fill(a_.begin() + static_cast<std::ptrdiff_t>(base),
                a_.begin() + static_cast<std::ptrdiff_t>(base + static_cast<size_t>(cells_)), 0.0);
      b_[static_cast<size_t>(d)] = 0.0;
      mark_[static_cast<size_t>(d)] = 0;
    }
    touched_.clear();
  }

 private:
  void touch(int32_t d) {
    if (!mark_[static_cast<size_t>(d)]) {
      mark_[static_cast<size_t>(d)] = 1;
      touched_.push_back(d);
    }
  }
  std::vector<double> a_, b_;
  std::vector<uint8_t> mark_;
  std::vector<int32_t> touched_;
  int32_t cells_;
};

/// Running mean and sum of squared deviations of group totals, per cell
/// (Welford 1962), for the domains touched so far.
class RunningMoments {
 public:
  RunningMoments(int64_t domains, int32_t cells, bool covariance = false)
      : count_(static_cast<size_t>(domains), 0),
        real_(static_cast<size_t>(domains), 0),
        mean_(static_cast<size_t>(domains * cells), 0.0),
        m2_(static_cast<size_t>(domains * cells), 0.0),
        co_(covariance ? static_cast<size_t>(domains * cells * cells) : 0, 0.0),
        delta_(static_cast<size_t>(cells), 0.0),
        z_(static_cast<size_t>(cells), 0.0),
        cells_(cells) {}

  /// Adds one group's totals z[0..K) for domain d; `real` when the group has
  /// rows of the domain (after calibration every group has a z for every domain).
  template <class ZOf>
  void add(int32_t d, bool real, ZOf&& z_of) {
    const size_t di = static_cast<size_t>(d);
    if (count_[di] == 0) touched_.push_back(d);
    real_[di] += real;
    const double inv_n = 1.0 / static_cast<double>(++count_[di]);
    double* mean = mean_.data() + di * static_cast<size_t>(cells_);
    double* m2 = m2_.data() + di * static_cast<size_t>(cells_);
    if (co_.empty()) {
      for (int32_t k = 0; k < cells_; ++k) {
        const double z = z_of(k);
        const double delta = z - mean[k];
        mean[k] += delta * inv_n;
        m2[k] += delta * (z - mean[k]);
      }
      return;
    }
    // Co-moments too (Welford's update for a vector): C += delta (z - mean_new)'.
    const size_t K = static_cast<size_t>(cells_);
    double* co = co_.data() + di * K * K;
    for (size_t k = 0; k < K; ++k) {
      z_[k] = z_of(static_cast<int32_t>(k));
      delta_[k] = z_[k] - mean[k];
    }
    for (size_t k = 0; k < K; ++k) {
      mean[k] += delta_[k] * inv_n;
      m2[k] += delta_[k] * (z_[k] - mean[k]);
    }
    for (size_t k = 0; k < K; ++k) {
      for (size_t l = 0; l < K; ++l) co[k * K + l] += delta_[k] * (z_[l] - mean[l]);
    }
  }
  const std::vector<int32_t>& touched() const { return touched_; }
  int64_t count(int32_t d) const { return count_[static_cast<size_t>(d)]; }
  int64_t real(int32_t d) const { return real_[static_cast<size_t>(d)]; }
  double mean(int32_t d, int32_t k) const { return mean_[cell(d, k)]; }
  double m2(int32_t d, int32_t k) const { return m2_[cell(d, k)]; }
  /// Co-moment of cells k and l of domain d (covariance requests only).
  double co(int32_t d, int32_t k, int32_t l) const {
    return co_[cell(d, k) * static_cast<size_t>(cells_) + static_cast<size_t>(l)];
  }
  bool has_covariance() const { return !co_.empty(); }

  StratumMoments take(int32_t stratum) {
    StratumMoments m;
    m.stratum = stratum;
    std::sort(touched_.begin(), touched_.end());
    m.domain = touched_;
    m.count.reserve(touched_.size());
    m.touched.reserve(touched_.size());
    m.mean.reserve(touched_.size() * static_cast<size_t>(cells_));
    m.m2.reserve(touched_.size() * static_cast<size_t>(cells_));
    for (int32_t d : touched_) {
      m.count.push_back(count(d));
      m.touched.push_back(real(d));
      for (int32_t k = 0; k < cells_; ++k) {
        m.mean.push_back(mean(d, k));
        m.m2.push_back(m2(d, k));
      }
      if (!co_.empty()) {
        const size_t KK = static_cast<size_t>(cells_) * static_cast<size_t>(cells_);
        const auto* co = co_.data() + static_cast<size_t>(d) * KK;
        m.co.insert(m.co.end(), co, co + KK);
      }
    }
    reset();
    return m;
  }
  void reset() {
    for (int32_t d : touched_) {
      const size_t base = static_cast<size_t>(d) * static_cast<size_t>(cells_);
      count_[static_cast<size_t>(d)] = 0;
      real_[static_cast<size_t>(d)] = 0;
      if (!co_.empty()) {
        const size_t KK = static_cast<size_t>(cells_) * static_cast<size_t>(cells_);
        std::fill(co_.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(d) * KK),
                  co_.begin() + static_cast<std::ptrdiff_t>((static_cast<size_t>(d) + 1) * KK),
                  0.0);
      }
      for (int32_t k = 0; k < cells_; ++k) {
        mean_[base + static_cast<size_t>(k)] = 0.0;
        m2_[base + static_cast<size_t>(k)] = 0.0;
      }
    }
    touched_.clear();
  }

 private:
  size_t cell(int32_t d, int32_t k) const {
    return static_cast<size_t>(d) * static_cast<size_t>(cells_) + static_cast<size_t>(k);
  }
  std::vector<int64_t> count_, real_;
  std::vector<double> mean_, m2_;
  std::vector<double> co_;         ///< per domain K x K co-moments (covariance requests)
  std::vector<double> delta_, z_;  ///< scratch for one vector update
  std::vector<int32_t> touched_;
  int32_t cells_;
};

constexpr double kCertaintyFraction = 1e-7;  // R: all(f < 0.0000001) is a certainty stratum

/// 1 - n/N, the finite population correction (1 when N is infinite).
double fpc_factor(double n, double popsize) {
  return std::isinf(popsize) ? 1.0 : (popsize - n) / popsize;
}

}  // namespace

SpreadState::SpreadState(int64_t domains_, int32_t cells_)
    : domains(domains_),
      cells(cells_),
      variance(static_cast<size_t>(domains_ * cells_), 0.0),
      spread_sum(static_cast<size_t>(domains_), 0.0),
      psus(static_cast<size_t>(domains_), 0),
      strata_present(static_cast<size_t>(domains_), 0),
      strata_seen(static_cast<size_t>(domains_), 0),
      strata_ok(static_cast<size_t>(domains_), 0) {}

void StratumMoments::merge(const StratumMoments& o, int32_t cells) {
  StratumMoments out;
  out.stratum = stratum;
  size_t i = 0, j = 0;
  const size_t K = static_cast<size_t>(cells);
  const size_t KK = K * K;
  const bool with_co = !co.empty() || !o.co.empty();
  auto copy_from = [&](const StratumMoments& s, size_t idx) {
    if (with_co)
      out.co.insert(out.co.end(), s.co.begin() + static_cast<std::ptrdiff_t>(idx * KK),
                    s.co.begin() + static_cast<std::ptrdiff_t>((idx + 1) * KK));
    out.domain.push_back(s.domain[idx]);
    out.count.push_back(s.count[idx]);
    out.touched.push_back(s.touched[idx]);
    for (size_t k = 0; k < K; ++k) {
      out.mean.push_back(s.mean[idx * K + k]);
      out.m2.push_back(s.m2[idx * K + k]);
    }
  };
  while (i < domain.size() || j < o.domain.size()) {
    if (j == o.domain.size() || (i < domain.size() && domain[i] < o.domain[j])) {
      copy_from(*this, i++);
    } else if (i == domain.size() || o.domain[j] < domain[i]) {
      copy_from(o, j++);
    } else {
      const double na = static_cast<double>(count[i]), nb = static_cast<double>(o.count[j]);
      const double n = na + nb;
      out.domain.push_back(domain[i]);
      out.count.push_back(count[i] + o.count[j]);
      out.touched.push_back(touched[i] + o.touched[j]);
      for (size_t k = 0; k < K; ++k) {
        const double delta = o.mean[j * K + k] - mean[i * K + k];
        out.mean.push_back(mean[i * K + k] + delta * nb / n);
        out.m2.push_back(m2[i * K + k] + o.m2[j * K + k] + delta * delta * na * nb / n);
      }
      if (with_co) {
        for (size_t k = 0; k < K; ++k) {
          for (size_t l = 0; l < K; ++l) {
            const double dk = o.mean[j * K + k] - mean[i * K + k];
            const double dl = o.mean[j * K + l] - mean[i * K + l];
            out.co.push_back(co[i * KK + k * K + l] + o.co[j * KK + k * K + l] +
                             dk * dl * na * nb / n);
          }
        }
      }
      ++i;
      ++j;
    }
  }
  *this = std::move(out);
}

void SpreadState::merge(SpreadState&& o) {
  if (o.domains != domains || o.cells != cells) {
    throw InvalidInput("cannot merge spread states of different shapes");
  }
  if (o.plan_fingerprint != plan_fingerprint) {
    throw InvalidInput("cannot merge spread states scanned with different plans");
  }
  if (!covariance.empty() && !o.covariance.empty() && covariance.size() != o.covariance.size()) {
    throw InvalidInput("cannot merge spread states of different shapes");
  }
  for (size_t i = 0; i < variance.size(); ++i) variance[i] += o.variance[i];
  if (covariance.empty()) {
    covariance = std::move(o.covariance);
  } else if (!o.covariance.empty()) {
    for (size_t i = 0; i < covariance.size(); ++i) covariance[i] += o.covariance[i];
  }
  for (size_t d = 0; d < spread_sum.size(); ++d) {
    spread_sum[d] += o.spread_sum[d];
    psus[d] += o.psus[d];
    strata_present[d] += o.strata_present[d];
    strata_seen[d] += o.strata_seen[d];
    strata_ok[d] += o.strata_ok[d];
  }
  lonely_strata.insert(lonely_strata.end(), o.lonely_strata.begin(), o.lonely_strata.end());
  lonely_psus.insert(lonely_psus.end(), o.lonely_psus.begin(), o.lonely_psus.end());
  nan_stage2 += o.nan_stage2;
  for (auto& m : o.partial) partial.push_back(std::move(m));
  covered.insert(covered.end(), o.covered.begin(), o.covered.end());
}

namespace {

/// Adds scale * (co-moments + pad * mean mean') of touched domain i to domain d's
/// covariance matrix (the off-diagonal twin of the variance update).
void add_covariance(const StratumMoments& m, size_t i, size_t d, size_t K, double scale, double pad,
                    SpreadState& st) {
  if (m.co.empty()) return;
  const size_t KK = K * K;
  if (st.covariance.empty()) st.covariance.assign(static_cast<size_t>(st.domains) * KK, 0.0);
  for (size_t k = 0; k < K; ++k) {
    for (size_t l = 0; l < K; ++l) {
      st.covariance[d * KK + k * K + l] +=
          scale * (m.co[i * KK + k * K + l] + pad * m.mean[i * K + k] * m.mean[i * K + l]);
    }
  }
}

/// The second-stage twin of add_covariance: scale * (co-moments + pad * mean
/// mean') of the psu2 totals within one PSU, for domain d.
void add_within_covariance(const RunningMoments& within, int32_t d, int32_t K, double scale,
                           double pad, SpreadState& st) {
  if (!within.has_covariance()) return;
  const size_t Ks = static_cast<size_t>(K);
  if (st.covariance.empty()) st.covariance.assign(static_cast<size_t>(st.domains) * Ks * Ks, 0.0);
  double* out = st.covariance.data() + static_cast<size_t>(d) * Ks * Ks;
  for (int32_t k = 0; k < K; ++k) {
    for (int32_t l = 0; l < K; ++l) {
      out[static_cast<size_t>(k) * Ks + static_cast<size_t>(l)] +=
          scale * (within.co(d, k, l) + pad * within.mean(d, k) * within.mean(d, l));
    }
  }
}

}  // namespace

void finish_stratum(const Design& design, const StratumMoments& m, SpreadState& st) {
  const int32_t h = m.stratum;
  const int64_t n_h = design.stratum_psu_count(h);
  const double nh = static_cast<double>(n_h);
  const double f = fpc_factor(nh, design.stratum_popsize()[static_cast<size_t>(h)]);
  const size_t K = static_cast<size_t>(st.cells);
  bool lonely_recorded = false;
  for (size_t i = 0; i < m.domain.size(); ++i) {
    const size_t d = static_cast<size_t>(m.domain[i]);
    // degf counts PSUs and strata with rows of the domain; the "average" rule
    // counts strata whose rows reach the variance (all of them once calibrated).
    st.psus[d] += m.touched[i];
    st.strata_present[d] += m.touched[i] > 0;
    st.strata_seen[d] += 1;
    if (f < kCertaintyFraction) {  // self-representing stratum: no sampling variance
      st.strata_ok[d] += 1;
      continue;
    }
    const double c = static_cast<double>(m.count[i]);
    // R's survey.adjust.domain.lonely (onestrat): a domain with rows in one PSU of
    // a stratum of several is lonely there. "adjust" leaves that PSU's total
    // uncentred, scale * z^2 (the other PSUs' zeros add nothing); "average" gives
    // the stratum no variance (NA in R), so the others are scaled up in finalize;
    // the other rules keep the usual centred sum (R only warns). A calibrated
    // design keeps every row (a z in every PSU), so count is n_h there, as in R.
    if (n_h > 1 && m.count[i] == 1 && design.adjust_domain_lonely()) {
      const double scale = f * nh / (nh - 1);
      if (design.lonely_psu() == LonelyPsu::Adjust) {
        for (size_t k = 0; k < K; ++k) {
          const double z = m.mean[i * K + k];
          st.variance[d * K + k] += scale * z * z;
        }
        add_covariance(m, i, d, K, scale, 1.0, st);
        st.strata_ok[d] += 1;
        continue;
      }
      if (design.lonely_psu() == LonelyPsu::Average) continue;
    }
    if (n_h > 1) {
      // PSUs of the stratum that miss the domain have z = 0 (R pads them):
      // adding (n_h - c) zeros to c values raises M2 by mean^2 c (n_h - c) / n_h.
      const double scale = f * nh / (nh - 1);
      for (size_t k = 0; k < K; ++k) {
        const double mu = m.mean[i * K + k];
        st.variance[d * K + k] += scale * (m.m2[i * K + k] + mu * mu * c * (nh - c) / nh);
      }
      add_covariance(m, i, d, K, scale, c * (nh - c) / nh, st);
      st.strata_ok[d] += 1;
      continue;
    }
    switch (design.lonely_psu()) {
      case LonelyPsu::Fail:
        if (!lonely_recorded) st.lonely_strata.push_back(h);
        lonely_recorded = true;
        break;
      case LonelyPsu::Remove:
      case LonelyPsu::Certainty:
        st.strata_ok[d] += 1;  // centred on its own mean: contributes zero
        break;
      case LonelyPsu::Adjust:
        // R centres a lonely PSU's total at zero (the grand mean of z) instead.
        for (size_t k = 0; k < K; ++k) {
          const double mu = m.mean[i * K + k];
          st.variance[d * K + k] += f * (m.m2[i * K + k] + c * mu * mu);
        }
        add_covariance(m, i, d, K, f, c, st);
        st.strata_ok[d] += 1;
        break;
      case LonelyPsu::Average:
        break;  // rescaled in finalize by strata present / strata with a variance
    }
  }
}

SpreadState accumulate_spread(const Design& design, const EstimateRequest& req,
                              const DomainPlan& plan, std::span<const int32_t> cell_of_row,
                              int64_t psu_begin, int64_t psu_end, int64_t cells_first_row) {
  const int64_t D = plan.domains();
  const int32_t K = plan.cells;
  const size_t Ks = static_cast<size_t>(K);
  SpreadState st(D, K);
  if (psu_begin >= psu_end) return st;
  const bool categorical = plan.categorical;
  const bool ratio = plan.statistic == Statistic::Ratio;
  const bool stage2 = design.has_fpc() && !design.psu_popsize2().empty();
  const auto& order = design.order();
  const auto& weights = design.sorted_weights();
  const auto& spb = design.stratum_psu_begin();

  // PPS without replacement: the PSU totals are kept for the quadratic forms of
  // pps_variance.hpp, which pair PSUs (across strata, for a joint matrix).
  const bool pps = design.pps() != nullptr;
  if (pps && (psu_begin != 0 || psu_end != design.psus())) {
    throw InvalidInput("a PPS design's variance needs every PSU in one scan (PSUs " +
                       std::to_string(psu_begin) + " to " + std::to_string(psu_end) + " of " +
                       std::to_string(design.psus()) + " given)");
  }
  PpsTotals pps_totals;
  pps_totals.cells = K;

  GroupSums unit(D, K);                        // rows -> the innermost group's sums
  RunningMoments strat(D, K, req.covariance);  // PSU totals within the current stratum
  RunningMoments within(stage2 ? D : 0, K, req.covariance);  // psu2 totals within the current PSU
  std::vector<double> psu_z(stage2 ? static_cast<size_t>(D) * Ks : 0, 0.0);
  std::vector<uint8_t> psu_mark(stage2 ? static_cast<size_t>(D) : 0, 0);
  std::vector<uint8_t> psu_real(stage2 ? static_cast<size_t>(D) : 0, 0);
  std::vector<int32_t> psu_touched;

  // Calibration residuals (R's svyrecvar on greg_calibration / postStrata):
  // a group's z for cell c becomes z_c - S' beta_c with S = sum w_cal m over
  // ALL its rows, so every group has a z for every domain.
  // A chain of steps stacks their columns (see Calibration): indicator steps
  // touch one column per row (kept sparse), dense steps all of theirs.
  const Calibration& cal = design.calibration();
  const size_t P = static_cast<size_t>(cal.columns);
  std::vector<double> cal_sum(P, 0.0);
  std::vector<int32_t> cal_touched;  // stacked columns of indicator steps
  std::vector<std::pair<size_t, size_t>> dense_ranges;  // [begin, end) of dense steps
  for (size_t k = 0; k < cal.steps.size(); ++k) {
    if (!cal.steps[k].indicator) {
      const auto off = static_cast<size_t>(cal.offset[k]);
      dense_ranges.emplace_back(off, off + static_cast<size_t>(cal.steps[k].columns));
    }
  }
  auto add_cal_rows = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const size_t si = order.empty() ? static_cast<size_t>(s)
                                      : static_cast<size_t>(order[static_cast<size_t>(s)]);
      for (size_t k = 0; k < cal.steps.size(); ++k) {
        const CalibrationStep& step = cal.steps[k];
        const auto off = static_cast<size_t>(cal.offset[k]);
        const double wc = step.cal_weight[si];
        if (step.indicator) {
          const size_t c = off + static_cast<size_t>(step.cell[si]);
          if (cal_sum[c] == 0.0) cal_touched.push_back(static_cast<int32_t>(c));
          cal_sum[c] += wc;
        } else {
          const auto Ps = static_cast<size_t>(step.columns);
          const double* m = step.matrix.data() + si * Ps;
          for (size_t j = 0; j < Ps; ++j) cal_sum[off + j] += wc * m[j];
        }
      }
    }
  };
  auto cal_dot = [&](size_t cell) {
    const double* beta = plan.beta.data() + cell * P;
    double v = 0;
    for (int32_t c : cal_touched) v += cal_sum[static_cast<size_t>(c)] * beta[c];
    for (const auto& [b, e] : dense_ranges) {
      for (size_t j = b; j < e; ++j) v += cal_sum[j] * beta[j];
    }
    return v;
  };
  auto cal_reset = [&] {
    for (int32_t c : cal_touched) cal_sum[static_cast<size_t>(c)] = 0.0;
    cal_touched.clear();
    for (const auto& [b, e] : dense_ranges) {
      std::fill(cal_sum.begin() + static_cast<std::ptrdiff_t>(b),
                cal_sum.begin() + static_cast<std::ptrdiff_t>(e), 0.0);
    }
  };
  /// Calls fn(d, real, z_of) for each domain with a z in the group just read.
  auto for_each_group_z = [&](auto&& fn) {
    if (!cal.active()) {
      for (int32_t d : unit.touched()) {
        fn(d, true, [&](int32_t k) { return unit.z(plan, d, k); });
      }
      return;
    }
    for (int32_t d = 0; d < static_cast<int32_t>(D); ++d) {
      const size_t base = static_cast<size_t>(d) * Ks;
      fn(d, unit.marked(d),
         [&](int32_t k) { return unit.z(plan, d, k) - cal_dot(base + static_cast<size_t>(k)); });
    }
  };
  auto read_group = [&](int64_t s0, int64_t s1, auto& add_rows_fn) {
    add_rows_fn(s0, s1);
    if (cal.active()) add_cal_rows(s0, s1);
  };

  std::vector<int32_t> cell_domain, cell_level;
  if (categorical) {
    const size_t cells = plan.key_to_domain.size() * Ks;
    cell_domain.resize(cells);
    cell_level.resize(cells);
    for (size_t c = 0; c < cells; ++c) {
      cell_domain[c] = plan.key_to_domain[c / Ks];
      cell_level[c] = static_cast<int32_t>(c % Ks);
    }
  }
  auto add_rows = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const size_t si = static_cast<size_t>(s);
      const int32_t cell = cell_of_row[si - static_cast<size_t>(cells_first_row)];
      if (cell < 0) continue;
      const double w = weights[si];
      if (categorical) {
        // cell = key * K + level; tables instead of a division per row.
        const int32_t d = cell_domain[static_cast<size_t>(cell)];
        if (d < 0) continue;
        unit.add_level(d, cell_level[static_cast<size_t>(cell)], w);
      } else {
        const int32_t d = plan.key_to_domain[static_cast<size_t>(cell)];
        if (d < 0) continue;
        const size_t ri = order.empty() ? si : static_cast<size_t>(order[si]);
        const double y = req.values[ri];
        const double b = ratio ? req.denominator[ri] : 1.0;
        const size_t di = static_cast<size_t>(d);
        unit.add_value(d, w * (y - plan.center[di] * b));
        const double e = y - plan.spread_center[di] * b;
        st.spread_sum[di] += w * e * e;
      }
    }
  };

  int32_t h =
      static_cast<int32_t>(std::upper_bound(spb.begin(), spb.end(), psu_begin) - spb.begin()) - 1;
  for (; h < design.strata() && spb[static_cast<size_t>(h)] < psu_end; ++h) {
    const int64_t first = std::max(spb[static_cast<size_t>(h)], psu_begin);
    const int64_t last = std::min(spb[static_cast<size_t>(h) + 1], psu_end);
    const double n_h = static_cast<double>(design.stratum_psu_count(h));
    const double popsize1 = design.stratum_popsize()[static_cast<size_t>(h)];
    for (int64_t p = first; p < last; ++p) {
      if (!stage2) {
        read_group(design.psu_first_row(p), design.psu_first_row(p + 1), add_rows);
        if (pps) {
          for_each_group_z(
              [&](int32_t d, bool real, auto&& z_of) { pps_totals.add(p, d, real, z_of); });
        } else {
          for_each_group_z([&](int32_t d, bool real, auto&& z_of) { strat.add(d, real, z_of); });
        }
        unit.reset();
        cal_reset();
        continue;
      }
      // Two stages (R's multistage): the psu2 totals' spread within the PSU adds
      // f1 * (1 - m/M) m/(m-1) sum_j (z_ij - zbar_i)^2, with f1 = n_h / N_h.
      const auto& qb = design.psu_psu2_begin();
      const int64_t q0 = qb[static_cast<size_t>(p)], q1 = qb[static_cast<size_t>(p) + 1];
      for (int64_t q = q0; q < q1; ++q) {
        read_group(design.psu2_row_begin()[static_cast<size_t>(q)],
                   design.psu2_row_begin()[static_cast<size_t>(q) + 1], add_rows);
        for_each_group_z([&](int32_t d, bool real, auto&& z_of) {
          const size_t base = static_cast<size_t>(d) * Ks;
          within.add(d, real, [&](int32_t k) {
            const double z = z_of(k);
            psu_z[base + static_cast<size_t>(k)] += z;
            return z;
          });
          if (!psu_mark[static_cast<size_t>(d)]) {
            psu_mark[static_cast<size_t>(d)] = 1;
            psu_touched.push_back(d);
          }
          if (real) psu_real[static_cast<size_t>(d)] = 1;
        });
        unit.reset();
        cal_reset();
      }
      const double m = static_cast<double>(q1 - q0);
      const double popsize2 = design.psu_popsize2()[static_cast<size_t>(p)];
      // PPS (Brewer): R's multistage scales by n_h / popsize_i = pi_i of the PSU.
      const double f1 = pps                    ? design.pps()->pi[static_cast<size_t>(p)]
                        : std::isinf(popsize1) ? 0.0
                                               : n_h / popsize1;
      const double f2 = fpc_factor(m, popsize2);
      for (int32_t d : psu_touched) {
        const size_t di = static_cast<size_t>(d);
        if (f1 > 0 && f2 >= kCertaintyFraction) {
          const double c = static_cast<double>(within.count(d));
          if (q1 - q0 > 1) {
            const double scale = f1 * f2 * m / (m - 1);
            for (int32_t k = 0; k < K; ++k) {
              const double mu = within.mean(d, k);
              st.variance[di * Ks + static_cast<size_t>(k)] +=
                  scale * (within.m2(d, k) + mu * mu * c * (m - c) / m);
            }
            add_within_covariance(within, d, K, scale, c * (m - c) / m, st);
          } else {
            switch (design.lonely_psu()) {
              case LonelyPsu::Fail:
                if (st.lonely_psus.empty() || st.lonely_psus.back() != p)
                  st.lonely_psus.push_back(p);
                break;
              case LonelyPsu::Remove:
              case LonelyPsu::Certainty:
                break;
              case LonelyPsu::Adjust:
                for (int32_t k = 0; k < K; ++k) {
                  const double mu = within.mean(d, k);
                  st.variance[di * Ks + static_cast<size_t>(k)] +=
                      f1 * f2 * (within.m2(d, k) + c * mu * mu);
                }
                add_within_covariance(within, d, K, f1 * f2, c, st);
                break;
              case LonelyPsu::Average:
                st.nan_stage2 += 1;
                break;
            }
          }
        }
        auto psu_total = [&](int32_t k) { return psu_z[di * Ks + static_cast<size_t>(k)]; };
        if (pps) {
          pps_totals.add(p, d, psu_real[di] != 0, psu_total);
        } else {
          strat.add(d, psu_real[di] != 0, psu_total);
        }
        std::fill(psu_z.begin() + static_cast<std::ptrdiff_t>(di * Ks),
                  psu_z.begin() + static_cast<std::ptrdiff_t>((di + 1) * Ks), 0.0);
        psu_mark[di] = 0;
        psu_real[di] = 0;
      }
      psu_touched.clear();
      within.reset();
    }
    StratumMoments moments = strat.take(h);
    const bool whole =
        first == spb[static_cast<size_t>(h)] && last == spb[static_cast<size_t>(h) + 1];
    if (whole) {
      finish_stratum(design, moments, st);
    } else if (!moments.domain.empty()) {
      st.partial.push_back(std::move(moments));
    }
  }
  if (pps) pps_spread(design, pps_totals, req.covariance, st);
  return st;
}

}  // namespace steppe
