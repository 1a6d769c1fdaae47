// Two-way tables as three runs of the one-pass engine: the crossed variable's
// shares (with their covariance), and each variable's shares within the other's
// levels. Every variance is the engine's, so linearisation (fpc, two stages,
// lonely-PSU rules, calibration residuals) and replicate weights are those of
// every other estimate.
#include "steppe/crosstab.hpp"

#include <limits>
#include <string>

#include "steppe/errors.hpp"

namespace steppe {

namespace {

void check_codes(CodeColumn codes, int32_t levels, const std::string& name, size_t i) {
  const int32_t c = codes[i];
  if (c < -1 || c >= levels) {
    throw InvalidInput(name + ": code " + std::to_string(c) + " in row " + std::to_string(i) +
                       " is outside -1.." + std::to_string(levels - 1));
  }
}

}  // namespace

std::vector<int32_t> cross_codes(const CrosstabRequest& req) {
  if (req.row_levels < 1) throw InvalidInput(req.row_name + ": the table needs a level");
  if (req.col_levels < 1) throw InvalidInput(req.col_name + ": the table needs a level");
  const int64_t cells = int64_t{req.row_levels} * int64_t{req.col_levels};
  if (cells > std::numeric_limits<int32_t>::max()) {
    throw InvalidInput(req.row_name + " x " + req.col_name + ": too many cells (" +
                       std::to_string(cells) + ")");
  }
  if (req.row.size() != req.col.size()) {
    throw InvalidInput(req.row_name + " has " + std::to_string(req.row.size()) + " codes, " +
                       req.col_name + " has " + std::to_string(req.col.size()));
  }
  std::vector<int32_t> out(req.row.size());
  for (size_t i = 0; i < out.size(); ++i) {
    check_codes(req.row, req.row_levels, req.row_name, i);
    check_codes(req.col, req.col_levels, req.col_name, i);
    const int32_t r = req.row[i], c = req.col[i];
    out[i] = r < 0 || c < 0 ? -1 : r + req.row_levels * c;
  }
  return out;
}

CrosstabResult crosstab(const Design& design, const CrosstabRequest& req) {
  const std::vector<int32_t> cell = cross_codes(req);
  CrosstabResult res;
  res.row_levels = req.row_levels;
  res.col_levels = req.col_levels;

  EstimateRequest base = req.common;
  base.values = {};
  base.denominator = {};
  base.covariance = false;

  // Cells: the crossed variable's shares (or totals), as R's svychisq builds it
  // (model.matrix(~interaction(row, col) - 1)).
  EstimateRequest cells = base;
  cells.statistic = req.cells;
  cells.codes = cell;
  cells.levels = req.row_levels * req.col_levels;
  cells.covariance = req.covariance;
  res.cells = estimate(design, cells);
  if (!req.margins) return res;

  // Row shares: the column variable within each row level; a row with a missing
  // column code is in no cell, as in the table (R: svyby(~col, ~row, na.rm = TRUE)).
  EstimateRequest rows = base;
  rows.statistic = Statistic::Mean;
  rows.codes = req.col;
  rows.levels = req.col_levels;
  rows.by.push_back(req.row);
  rows.by_levels.push_back(req.row_levels);
  res.rows = estimate(design, rows);

  EstimateRequest columns = base;
  columns.statistic = Statistic::Mean;
  columns.codes = req.row;
  columns.levels = req.row_levels;
  columns.by.push_back(req.col);
  columns.by_levels.push_back(req.col_levels);
  res.columns = estimate(design, columns);
  return res;
}

}  // namespace steppe
