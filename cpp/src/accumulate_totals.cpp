// Scan 1: per-domain sums of weights and weighted values (the point estimates).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "steppe/accumulate.hpp"
#include "steppe/errors.hpp"

namespace steppe {

DomainTotals::DomainTotals(int64_t key_space_, int32_t cells_, bool ratio, int32_t cal_columns_)
    : key_space(key_space_),
      cells(cells_),
      n(static_cast<size_t>(key_space_), 0),
      n_nonzero(static_cast<size_t>(key_space_), 0),
      weight_sum(static_cast<size_t>(key_space_), 0.0),
      n_missing(static_cast<size_t>(key_space_), 0),
      missing_nonzero(static_cast<size_t>(key_space_), 0),
      denominator(ratio ? static_cast<size_t>(key_space_) : 0, 0.0),
      numerator(static_cast<size_t>(key_space_ * cells_), 0.0),
      cal_columns(cal_columns_),
      cal_numerator(static_cast<size_t>(key_space_ * cells_ * cal_columns_), 0.0),
      cal_denominator(static_cast<size_t>(key_space_ * cal_columns_), 0.0) {}

void DomainTotals::merge(const DomainTotals& o) {
  if (o.key_space != key_space || o.cells != cells || o.denominator.size() != denominator.size() ||
      o.cal_columns != cal_columns) {
    throw InvalidInput("cannot merge domain totals of different shapes");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    n[i] += o.n[i];
    n_nonzero[i] += o.n_nonzero[i];
    weight_sum[i] += o.weight_sum[i];
    n_missing[i] += o.n_missing[i];
    missing_nonzero[i] += o.missing_nonzero[i];
  }
  by_missing += o.by_missing;
  for (size_t i = 0; i < denominator.size(); ++i) denominator[i] += o.denominator[i];
  for (size_t i = 0; i < numerator.size(); ++i) numerator[i] += o.numerator[i];
  for (size_t i = 0; i < cal_numerator.size(); ++i) cal_numerator[i] += o.cal_numerator[i];
  for (size_t i = 0; i < cal_denominator.size(); ++i) cal_denominator[i] += o.cal_denominator[i];
}

RowCells::RowCells(const EstimateRequest& req)
    : req_(&req),
      stride_(req.by.size()),
      cells_(req.levels > 0 ? req.levels : 1),
      ratio_(req.statistic == Statistic::Ratio),
      complete_(!req.complete_values.empty() || !req.complete_codes.empty()) {
  for (size_t j = req.by.size(); j-- > 0;) {
    stride_[j] = key_space_;
    key_space_ *= req.by_levels[j];
  }
}

void RowCells::fail(const char* what, size_t row, const char* problem) {
  std::ostringstream msg;
  msg << what << ": " << problem << " at row " << row;
  throw InvalidInput(msg.str());
}

void validate_request(const Design& design, const EstimateRequest& req) {
  const int64_t rows = design.rows();
  auto check_len = [&](size_t size, const char* what) {
    if (static_cast<int64_t>(size) != rows) {
      std::ostringstream msg;
      msg << what << " has " << size << " rows but the design has " << rows;
      throw InvalidInput(msg.str());
    }
  };
  if (req.levels < 0) throw InvalidInput("levels must be >= 0");
  if (req.levels == 0) {
    check_len(req.values.size(), "variable");
  } else {
    check_len(req.codes.size(), "variable");
  }
  if (req.statistic == Statistic::Ratio) {
    if (req.levels != 0) throw InvalidInput("a ratio needs a numeric numerator");
    check_len(req.denominator.size(), "denominator");
  }
  if (!req.subset.empty()) check_len(req.subset.size(), "subset");
  for (const auto& v : req.complete_values) check_len(v.size(), "complete-case column");
  for (const auto& c : req.complete_codes) check_len(c.size(), "complete-case column");
  if (req.by.size() != req.by_levels.size()) throw InvalidInput("by and by_levels differ in length");
  double space = 1;
  for (size_t j = 0; j < req.by.size(); ++j) {
    check_len(req.by[j].size(), "by");
    if (req.by_levels[j] < 1) throw InvalidInput("each by variable needs at least one level");
    space *= req.by_levels[j];
  }
  if (space * std::max(req.levels, 1) > static_cast<double>(1 << 30)) {
    throw InvalidInput("too many combinations of by levels for direct indexing; combine them first");
  }
}

DomainTotals accumulate_totals(const Design& design, const EstimateRequest& req, int64_t row_begin,
                               int64_t row_end, std::span<int32_t> cell_of_row) {
  return accumulate_totals(design, req, row_begin, row_end, cell_of_row, {});
}

DomainTotals accumulate_totals(const Design& design, const EstimateRequest& req, int64_t row_begin,
                               int64_t row_end, std::span<int32_t> cell_of_row,
                               std::span<int32_t> slice_cells) {
  const bool ratio = req.statistic == Statistic::Ratio;
  const bool categorical = req.levels > 0;
  const RowCells cell_of(req);
  const int32_t K = cell_of.cells();
  const auto& weights = design.weights();
  const Calibration& cal = design.calibration();
  const size_t P = static_cast<size_t>(cal.columns);
  DomainTotals t(cell_of.key_space(), K, ratio, cal.columns);
  // omega m a and omega m b, omega = w w_base / w_cal, for the calibration
  // residuals: every step's columns, stacked (see Calibration).
  auto add_cal = [&](size_t si, size_t cell, size_t key, double a, double b) {
    for (size_t k = 0; k < cal.steps.size(); ++k) {
      const CalibrationStep& step = cal.steps[k];
      const auto off = static_cast<size_t>(cal.offset[k]);
      const double omega = weights[si] * step.omega_factor[si];
      double* num = t.cal_numerator.data() + cell * P + off;
      double* den = t.cal_denominator.data() + key * P + off;
      if (step.indicator) {
        const size_t c = static_cast<size_t>(step.cell[si]);
        num[c] += omega * a;
        den[c] += omega * b;
      } else {
        const auto Ps = static_cast<size_t>(step.columns);
        const double* m = step.matrix.data() + si * Ps;
        for (size_t j = 0; j < Ps; ++j) {
          num[j] += omega * m[j] * a;
          den[j] += omega * m[j] * b;
        }
      }
    }
  };
  // Rows in original order: every column is read sequentially here, and each
  // row's cell is written at its sorted position, so scan 2 reads it in turn.
  const auto& rank = design.rank();
  const bool sorted_out = !cell_of_row.empty();
  const bool slice_out = !slice_cells.empty();
  for (int64_t r = row_begin; r < row_end; ++r) {
    const size_t ri = static_cast<size_t>(r);
    int64_t key = 0;
    const int64_t cell = cell_of(ri, key);
    if (sorted_out)
      cell_of_row[rank.empty() ? ri : static_cast<size_t>(rank[ri])] = static_cast<int32_t>(cell);
    if (slice_out) slice_cells[static_cast<size_t>(r - row_begin)] = static_cast<int32_t>(cell);
    if (cell < 0) {
      // Rows left out for a missing value are counted (where they would have been).
      if (cell == RowCells::kValueMissing) {
        t.n_missing[static_cast<size_t>(key)] += 1;
        t.missing_nonzero[static_cast<size_t>(key)] += (weights[ri] != 0.0);
      } else if (cell == RowCells::kByMissing) {
        t.by_missing += 1;
      }
      continue;
    }
    const double w = weights[ri];
    const size_t c = static_cast<size_t>(cell);
    const size_t k = static_cast<size_t>(key);
    if (categorical) {
      t.numerator[c] += w;
      if (P) add_cal(ri, c, k, 1.0, 1.0);
    } else {
      const double y = req.values[ri];
      const double x = ratio ? req.denominator[ri] : 1.0;
      if (ratio) t.denominator[k] += w * x;
      t.numerator[k] += w * y;
      if (P) add_cal(ri, k, k, y, x);
    }
    t.n[k] += 1;
    t.n_nonzero[k] += (w != 0.0);
    t.weight_sum[k] += w;
  }
  return t;
}

}  // namespace steppe
