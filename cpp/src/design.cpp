#include "steppe/design.hpp"

#include "steppe/replicate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "steppe/errors.hpp"

namespace steppe {

LonelyPsu parse_lonely_psu(std::string_view name) {
  if (name == "fail") return LonelyPsu::Fail;
  if (name == "remove") return LonelyPsu::Remove;
  if (name == "certainty") return LonelyPsu::Certainty;
  if (name == "adjust") return LonelyPsu::Adjust;
  if (name == "average") return LonelyPsu::Average;
  throw InvalidInput(
      "lonely_psu must be one of 'fail', 'remove', 'certainty', 'adjust', "
      "'average'; got '" +
      std::string(name) + "'");
}

std::string_view to_string(LonelyPsu rule) {
  switch (rule) {
    case LonelyPsu::Fail:
      return "fail";
    case LonelyPsu::Remove:
      return "remove";
    case LonelyPsu::Certainty:
      return "certainty";
    case LonelyPsu::Adjust:
      return "adjust";
    case LonelyPsu::Average:
      return "average";
  }
  return "fail";
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_length(std::span<const int32_t> codes, int64_t n, const char* what) {
  if (!codes.empty() && static_cast<int64_t>(codes.size()) != n) {
    std::ostringstream msg;
    msg << what << " has " << codes.size() << " rows but weights have " << n;
    throw InvalidInput(msg.str());
  }
}

void check_length(std::span<const double> values, int64_t n, const char* what) {
  if (!values.empty() && static_cast<int64_t>(values.size()) != n) {
    std::ostringstream msg;
    msg << what << " has " << values.size() << " rows but weights have " << n;
    throw InvalidInput(msg.str());
  }
}

void check_codes(std::span<const int32_t> codes, const char* what) {
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] < 0) {
      std::ostringstream msg;
      msg << what << " is missing at row " << i << " (design columns may not be missing)";
      throw InvalidInput(msg.str());
    }
  }
}

// One stable counting-sort pass: reorders `order` by codes[row] (0-based, dense
// after factorising), keeping the current order within equal codes.
void counting_pass(std::vector<int32_t>& order, std::vector<int32_t>& scratch,
                   std::span<const int32_t> codes) {
  if (codes.empty()) return;
  const int32_t levels = *std::max_element(codes.begin(), codes.end()) + 1;
  std::vector<int64_t> next(static_cast<size_t>(levels) + 1, 0);
  for (int32_t c : codes) ++next[static_cast<size_t>(c) + 1];
  for (size_t k = 1; k < next.size(); ++k) next[k] += next[k - 1];
  for (int32_t r : order) {
    scratch[static_cast<size_t>(next[static_cast<size_t>(codes[static_cast<size_t>(r)])]++)] = r;
  }
  order.swap(scratch);
}

int32_t code_at(std::span<const int32_t> codes, int64_t row) {
  return codes.empty() ? 0 : codes[static_cast<size_t>(row)];
}

}  // namespace

Design::Design(const DesignInput& in) : lonely_(in.lonely_psu) {
  rows_ = static_cast<int64_t>(in.weights.size());
  if (rows_ == 0) throw InvalidInput("the design has no rows");
  if (rows_ >= std::numeric_limits<int32_t>::max()) {
    throw InvalidInput("an in-memory Design holds at most 2^31 - 1 rows; use the Dask path");
  }
  check_length(in.strata, rows_, "strata");
  check_length(in.psu, rows_, "psu");
  check_length(in.ssu, rows_, "psu2");
  check_length(in.fpc, rows_, "fpc");
  check_length(in.fpc2, rows_, "fpc2");
  check_codes(in.strata, "strata");
  check_codes(in.psu, "psu");
  check_codes(in.ssu, "psu2");
  for (int64_t i = 0; i < rows_; ++i) {
    const double w = in.weights[static_cast<size_t>(i)];
    if (!std::isfinite(w) || (w < 0 && !in.allow_negative_weights)) {
      std::ostringstream msg;
      msg << "weights must be finite and >= 0; row " << i << " has " << w;
      throw InvalidInput(msg.str());
    }
  }
  if (!in.ssu.empty() && in.psu.empty()) throw InvalidInput("psu2 needs psu");

  // Sort rows by (stratum, psu, ssu) once; every estimate is then a sequential scan.
  auto less = [&](int64_t a, int64_t b) {
    const int32_t sa = code_at(in.strata, a), sb = code_at(in.strata, b);
    if (sa != sb) return sa < sb;
    const int32_t pa = code_at(in.psu, a), pb = code_at(in.psu, b);
    if (pa != pb) return pa < pb;
    return code_at(in.ssu, a) < code_at(in.ssu, b);
  };
  bool sorted = true;
  for (int64_t i = 1; i < rows_ && sorted; ++i) sorted = !less(i, i - 1);
  if (!sorted) {
    // The same order as std::stable_sort with `less`: stable counting sorts by
    // the least significant key first (ssu, then psu, then stratum), O(rows).
    order_.resize(static_cast<size_t>(rows_));
    std::iota(order_.begin(), order_.end(), 0);
    // (Codes from Python are dense; sparse codes from other callers would make
    // the count tables large, so they take the comparison sort.)
    const auto dense = [&](std::span<const int32_t> codes) {
      return codes.empty() || *std::max_element(codes.begin(), codes.end()) <= 2 * rows_ + 1024;
    };
    if (dense(in.ssu) && dense(in.psu) && dense(in.strata)) {
      std::vector<int32_t> scratch(order_.size());
      counting_pass(order_, scratch, in.ssu);
      counting_pass(order_, scratch, in.psu);
      counting_pass(order_, scratch, in.strata);
    } else {
      std::stable_sort(order_.begin(), order_.end(), less);
    }
    rank_.resize(order_.size());
    for (size_t s = 0; s < order_.size(); ++s)
      rank_[static_cast<size_t>(order_[s])] = static_cast<int32_t>(s);
  }
  auto original = [&](int64_t s) -> int64_t {
    return order_.empty() ? s : order_[static_cast<size_t>(s)];
  };

  weight_original_.assign(in.weights.begin(), in.weights.end());
  weight_sorted_.resize(static_cast<size_t>(rows_));
  for (int64_t s = 0; s < rows_; ++s) {
    weight_sorted_[static_cast<size_t>(s)] = in.weights[static_cast<size_t>(original(s))];
  }

  int32_t n_strata = 1;
  for (int32_t c : in.strata) n_strata = std::max(n_strata, c + 1);
  stratum_labels_ = in.stratum_labels;
  psu_labels_ = in.psu_labels;
  while (static_cast<int32_t>(stratum_labels_.size()) < n_strata) {
    stratum_labels_.push_back(std::to_string(stratum_labels_.size()));
  }

  // Group boundaries. PSU (and SSU) codes must not reappear in another group:
  // that would mean clusters are not nested in strata (R: "you may want nest=TRUE").
  std::vector<int64_t> stratum_first_psu(static_cast<size_t>(n_strata) + 1, -1);
  std::vector<uint8_t> psu_seen, ssu_seen;
  int32_t prev_h = -1, prev_p = -1, prev_q = -1;
  int64_t ssu_count = 0;
  for (int64_t s = 0; s < rows_; ++s) {
    const int64_t r = original(s);
    const int32_t h = code_at(in.strata, r);
    const bool new_stratum = h != prev_h;
    bool new_psu = new_stratum || in.psu.empty();
    if (!in.psu.empty()) {
      const int32_t p = in.psu[static_cast<size_t>(r)];
      new_psu = new_psu || p != prev_p;
      if (new_psu) {
        if (static_cast<size_t>(p) >= psu_seen.size())
          psu_seen.resize(static_cast<size_t>(p) + 1, 0);
        if (psu_seen[static_cast<size_t>(p)]) {
          std::ostringstream msg;
          msg << "PSU code " << p << " appears in more than one stratum (first conflict at row "
              << r
              << "): clusters are not nested in strata; pass nest=True if PSU ids repeat across "
                 "strata";
          throw InvalidInput(msg.str());
        }
        psu_seen[static_cast<size_t>(p)] = 1;
      }
      prev_p = p;
    }
    if (new_stratum) {
      stratum_first_psu[static_cast<size_t>(h)] = psu_count_;
      prev_h = h;
    }
    if (new_psu) {
      if (!in.psu.empty()) {
        psu_row_begin_.push_back(s);
        psu_code_.push_back(prev_p);
      }
      if (!in.ssu.empty()) psu_ssu_begin_.push_back(ssu_count);
      ++psu_count_;
    }
    if (!in.ssu.empty()) {
      const int32_t q = in.ssu[static_cast<size_t>(r)];
      if (new_psu || q != prev_q) {
        if (static_cast<size_t>(q) >= ssu_seen.size())
          ssu_seen.resize(static_cast<size_t>(q) + 1, 0);
        if (ssu_seen[static_cast<size_t>(q)]) {
          std::ostringstream msg;
          msg << "second-stage unit code " << q << " appears in more than one PSU (row " << r
              << ")";
          throw InvalidInput(msg.str());
        }
        ssu_seen[static_cast<size_t>(q)] = 1;
        ssu_row_begin_.push_back(s);
        ++ssu_count;
      }
      prev_q = q;
    }
  }
  if (!in.psu.empty()) psu_row_begin_.push_back(rows_);
  if (!in.ssu.empty()) {
    psu_ssu_begin_.push_back(ssu_count);
    ssu_row_begin_.push_back(rows_);
  }
  stratum_psu_begin_.assign(static_cast<size_t>(n_strata) + 1, 0);
  for (int32_t h = 0; h < n_strata; ++h) {
    if (stratum_first_psu[static_cast<size_t>(h)] < 0) {
      throw InvalidInput("stratum code " + std::to_string(h) + " has no rows");
    }
    stratum_psu_begin_[static_cast<size_t>(h)] = stratum_first_psu[static_cast<size_t>(h)];
  }
  stratum_psu_begin_[static_cast<size_t>(n_strata)] = psu_count_;

  // Finite population corrections, as R's as.fpc: all values >= 1 are population
  // sizes, all <= 1 are sampling fractions; a mix is an error.
  has_fpc_ = !in.fpc.empty();
  if (!in.fpc2.empty() && !has_fpc_) throw InvalidInput("fpc2 needs fpc");
  if (!in.fpc2.empty() && in.ssu.empty()) throw InvalidInput("fpc2 needs psu2");
  if (has_fpc_ && !in.ssu.empty() && in.fpc2.empty()) {
    throw InvalidInput("psu2 with fpc needs fpc2 (the second-stage population size or fraction)");
  }
  if (psu_count_ < 2) throw InvalidInput("the design has only one primary sampling unit");
  stratum_popsize_.assign(static_cast<size_t>(n_strata), kInf);
  if (has_fpc_) {
    bool any_above_one = false, all_at_least_one = true;
    auto scan = [&](std::span<const double> fpc, const char* what) {
      for (size_t i = 0; i < fpc.size(); ++i) {
        const double f = fpc[i];
        if (std::isnan(f) || f < 0) {
          std::ostringstream msg;
          msg << what << " must be a population size or sampling fraction >= 0; row " << i
              << " has " << f;
          throw InvalidInput(msg.str());
        }
        any_above_one = any_above_one || f > 1;
        all_at_least_one = all_at_least_one && f >= 1;
      }
    };
    scan(in.fpc, "fpc");
    scan(in.fpc2, "fpc2");
    if (any_above_one != all_at_least_one) {
      throw InvalidInput(
          "fpc must be all population sizes (>= 1) or all sampling fractions (<= 1)");
    }
    const bool is_popsize = any_above_one;
    for (int64_t s = 0; s < rows_; ++s) {
      const int64_t r = original(s);
      const int32_t h = code_at(in.strata, r);
      const double f = in.fpc[static_cast<size_t>(r)];
      const int64_t n_h = stratum_psu_count(h);
      const double pop = is_popsize ? f : static_cast<double>(n_h) / f;
      double& slot = stratum_popsize_[static_cast<size_t>(h)];
      if (slot == kInf && std::isfinite(pop)) {
        slot = pop;
      } else if (slot != pop && !(std::isinf(slot) && std::isinf(pop))) {
        throw InvalidInput("fpc varies within stratum '" + stratum_labels_[static_cast<size_t>(h)] +
                           "'; it must be constant within a stratum");
      }
    }
    for (int32_t h = 0; h < n_strata; ++h) {
      if (stratum_popsize_[static_cast<size_t>(h)] < static_cast<double>(stratum_psu_count(h))) {
        throw InvalidInput("fpc implies more than 100% sampling in stratum '" +
                           stratum_labels_[static_cast<size_t>(h)] + "'");
      }
    }
    if (!in.fpc2.empty()) {
      psu_popsize2_.assign(static_cast<size_t>(psu_count_), kInf);
      std::vector<uint8_t> set(static_cast<size_t>(psu_count_), 0);
      for (int64_t p = 0; p < psu_count_; ++p) {
        const int64_t m =
            psu_ssu_begin_[static_cast<size_t>(p) + 1] - psu_ssu_begin_[static_cast<size_t>(p)];
        for (int64_t s = psu_row_begin_[static_cast<size_t>(p)];
             s < psu_row_begin_[static_cast<size_t>(p) + 1]; ++s) {
          const double f = in.fpc2[static_cast<size_t>(original(s))];
          const double pop = is_popsize ? f : static_cast<double>(m) / f;
          double& slot = psu_popsize2_[static_cast<size_t>(p)];
          if (!set[static_cast<size_t>(p)]) {
            slot = pop;
            set[static_cast<size_t>(p)] = 1;
          } else if (slot != pop && !(std::isinf(slot) && std::isinf(pop))) {
            throw InvalidInput("fpc2 varies within a PSU; it must be constant within each PSU");
          }
        }
        if (psu_popsize2_[static_cast<size_t>(p)] < static_cast<double>(m)) {
          throw InvalidInput("fpc2 implies more than 100% sampling within a PSU");
        }
      }
    }
  }
  set_calibration(in.calibration);
}

namespace {

/// Inverse of a small symmetric positive definite matrix by Gauss-Jordan with
/// partial pivoting; a (near-)singular matrix means collinear auxiliaries.
std::vector<double> invert(std::vector<double> a, int32_t p) {
  const size_t n = static_cast<size_t>(p);
  std::vector<double> inv(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  double scale = 0;
  for (double v : a) scale = std::max(scale, std::fabs(v));
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r) {
      if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
    }
    if (std::fabs(a[piv * n + c]) <= 1e-12 * scale) {
      throw InvalidInput("calibration auxiliaries are collinear (or a level has no sample)");
    }
    if (piv != c) {
      for (size_t k = 0; k < n; ++k) {
        std::swap(a[c * n + k], a[piv * n + k]);
        std::swap(inv[c * n + k], inv[piv * n + k]);
      }
    }
    const double d = a[c * n + c];
    for (size_t k = 0; k < n; ++k) {
      a[c * n + k] /= d;
      inv[c * n + k] /= d;
    }
    for (size_t r = 0; r < n; ++r) {
      if (r == c || a[r * n + c] == 0) continue;
      const double f = a[r * n + c];
      for (size_t k = 0; k < n; ++k) {
        a[r * n + k] -= f * a[c * n + k];
        inv[r * n + k] -= f * inv[c * n + k];
      }
    }
  }
  return inv;
}

}  // namespace

void Design::set_calibration(const CalibrationInput& in) {
  if (!in.active()) return;
  const int32_t p = in.columns;
  const size_t P = static_cast<size_t>(p);
  const size_t n = static_cast<size_t>(rows_);
  const bool indicator = !in.cell.empty();
  if (indicator == !in.matrix.empty()) {
    throw InvalidInput("calibration needs either cell codes or a model matrix");
  }
  if ((indicator && in.cell.size() != n) || (!indicator && in.matrix.size() != n * P) ||
      in.base_weights.size() != n || in.calibrated_weights.size() != n) {
    throw InvalidInput("calibration arrays do not match the design's rows");
  }
  Calibration& c = calibration_;
  c.columns = p;
  c.indicator = indicator;
  c.omega_factor.resize(n);
  c.cal_weight.resize(n);
  if (indicator)
    c.cell.resize(n);
  else
    c.matrix.resize(n * P);
  std::vector<double> normal(indicator ? P : P * P, 0.0);
  for (size_t r = 0; r < n; ++r) {
    const size_t s = r;  // calibration arrays stay in original row order
    const double wb = in.base_weights[r], wc = in.calibrated_weights[r];
    if (!(wb > 0) || wc == 0 || !std::isfinite(wb) || !std::isfinite(wc)) {
      throw InvalidInput(
          "calibration needs design weights > 0 and finite, nonzero calibrated "
          "weights (row " +
          std::to_string(r) + ")");
    }
    // GREG residuals subtract w_cal m' beta with beta from sum m z / g; R's
    // raking residuals subtract w_base times a per-cell shift found from the
    // unweighted cell sums of z / w_base (svyrecvar's "raking" branch).
    const bool raking = !in.raking_factors.empty();
    c.omega_factor[s] = raking ? 1.0 / wb : wb / wc;
    c.cal_weight[s] = raking ? wb : wc;
    if (indicator) {
      const int32_t k = in.cell[r];
      if (k < 0 || k >= p) throw InvalidInput("calibration cell code out of range");
      c.cell[s] = k;
      normal[static_cast<size_t>(k)] += wb;
    } else {
      const double* m = in.matrix.data() + r * P;
      std::copy(m, m + P, c.matrix.begin() + static_cast<std::ptrdiff_t>(s * P));
      for (size_t i = 0; i < P; ++i) {
        for (size_t j = 0; j < P; ++j) normal[i * P + j] += wb * m[i] * m[j];
      }
    }
  }
  if (!in.raking_factors.empty()) {
    if (!indicator || in.raking_levels.size() != in.raking_factors.size()) {
      throw InvalidInput("raking needs cell codes and, per margin, levels and factors per cell");
    }
    c.raking_levels = in.raking_levels;
    c.raking_factors = in.raking_factors;
    c.cell_rows.assign(P, 0.0);
    for (int32_t k : c.cell) c.cell_rows[static_cast<size_t>(k)] += 1.0;
    for (size_t m = 0; m < c.raking_levels.size(); ++m) {
      const auto& lev = c.raking_levels[m];
      if (lev.size() != P || c.raking_factors[m].size() != P) {
        throw InvalidInput("raking margin arrays must have one entry per cell");
      }
      int32_t levels = 0;
      for (int32_t l : lev) {
        if (l < 0) throw InvalidInput("raking margin level code out of range");
        levels = std::max(levels, l + 1);
      }
      std::vector<double> rows(static_cast<size_t>(levels), 0.0);
      for (size_t k = 0; k < P; ++k) rows[static_cast<size_t>(lev[k])] += c.cell_rows[k];
      c.raking_level_rows.push_back(std::move(rows));
    }
    return;
  }
  if (indicator) {
    c.normal_inverse.resize(P);
    for (size_t k = 0; k < P; ++k) {
      if (!(normal[k] > 0)) throw InvalidInput("a calibration cell has no sample weight");
      c.normal_inverse[k] = 1.0 / normal[k];
    }
  } else {
    c.normal_inverse = invert(std::move(normal), p);
  }
}

Design Design::reweighted(std::span<const double> weights, const CalibrationInput& calibration,
                          bool allow_negative_weights) const {
  Design out = with_weights(weights, allow_negative_weights);
  out.calibration_ = Calibration{};
  out.set_calibration(calibration);
  return out;
}

Design Design::with_weights(std::span<const double> weights, bool allow_negative_weights) const {
  if (static_cast<int64_t>(weights.size()) != rows_) {
    throw InvalidInput("new weights have " + std::to_string(weights.size()) +
                       " rows but the design has " + std::to_string(rows_));
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || (weights[i] < 0 && !allow_negative_weights)) {
      throw InvalidInput("weights must be finite and >= 0; row " + std::to_string(i) + " has " +
                         std::to_string(weights[i]));
    }
  }
  Design out = *this;
  out.weight_original_.assign(weights.begin(), weights.end());
  for (size_t s = 0; s < out.weight_sorted_.size(); ++s) {
    out.weight_sorted_[s] = weights[order_.empty() ? s : static_cast<size_t>(order_[s])];
  }
  return out;
}

Design Design::with_replicates(std::shared_ptr<const ReplicateVariance> replicates) const {
  if (replicates) {
    if (!order_.empty() || !rows_are_psus()) {
      throw InvalidInput("a replicate-weight design has no strata or PSUs: its variance comes "
                         "from the replicate weights alone");
    }
    if (replicates->rows != rows_) {
      throw InvalidInput("replicate weights have " + std::to_string(replicates->rows) +
                         " rows but the design has " + std::to_string(rows_));
    }
    replicates->validate();
  }
  Design out = *this;
  out.replicates_ = std::move(replicates);
  return out;
}

std::string Design::psu_label(int64_t p) const {
  if (rows_are_psus())
    return "row " + std::to_string(order_.empty() ? p : order_[static_cast<size_t>(p)]);
  const int32_t code = psu_code_[static_cast<size_t>(p)];
  if (static_cast<size_t>(code) < psu_labels_.size()) return psu_labels_[static_cast<size_t>(code)];
  return std::to_string(code);
}

}  // namespace steppe
