// Weighted counts by cell, as R survey's svytable: xtabs(weights ~ ...) of the
// design's current weights (1 / prob), rescaled as its Ntotal asks.
#include "steppe/weighted_table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "steppe/errors.hpp"

namespace steppe {

namespace {

/// A double for messages (shortest round trip).
std::string number(double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

/// Each row's cell (first variable fastest), -1 where a code is missing or the
/// row is outside the subset. Throws InvalidInput for a code outside -1..levels-1.
std::vector<int64_t> row_cells(const Design& design, const WeightedTableRequest& req,
                               int64_t& cells) {
  const size_t k = req.variables.size();
  if (k == 0) throw InvalidInput("table: no variable given");
  if (req.levels.size() != k) {
    throw InvalidInput("table: " + std::to_string(k) + " variables but " +
                       std::to_string(req.levels.size()) + " level counts");
  }
  auto name = [&](size_t j) {
    return j < req.names.size() ? req.names[j] : "variable " + std::to_string(j);
  };
  const auto rows = static_cast<size_t>(design.rows());
  cells = 1;
  for (size_t j = 0; j < k; ++j) {
    if (req.levels[j] < 1) throw InvalidInput(name(j) + ": the table needs a level");
    cells *= req.levels[j];
    if (cells > std::numeric_limits<int32_t>::max()) {
      throw InvalidInput("table: too many cells (" + std::to_string(cells) + ")");
    }
    if (req.variables[j].size() != rows) {
      throw InvalidInput(name(j) + " has " + std::to_string(req.variables[j].size()) +
                         " codes, the design has " + std::to_string(rows) + " rows");
    }
  }
  if (!req.subset.empty() && req.subset.size() != rows) {
    throw InvalidInput("subset has " + std::to_string(req.subset.size()) +
                       " values, the design has " + std::to_string(rows) + " rows");
  }
  std::vector<int64_t> out(rows, -1);
  for (size_t r = 0; r < rows; ++r) {
    int64_t cell = 0, stride = 1;
    bool missing = false;
    for (size_t j = 0; j < k; ++j) {
      const int32_t c = req.variables[j][r];
      if (c < -1 || c >= req.levels[j]) {
        throw InvalidInput(name(j) + ": code " + std::to_string(c) + " in row " +
                           std::to_string(r) + " is outside -1.." +
                           std::to_string(req.levels[j] - 1));
      }
      missing = missing || c < 0;
      cell += stride * c;
      stride *= req.levels[j];
    }
    if (missing || (!req.subset.empty() && req.subset[r] == 0)) continue;
    out[r] = cell;
  }
  return out;
}

}  // namespace

WeightedTableResult weighted_table(const Design& design, const WeightedTableRequest& req) {
  int64_t cells = 0;
  const std::vector<int64_t> cell = row_cells(design, req, cells);
  const auto& w = design.weights();
  WeightedTableResult res;
  res.levels = req.levels;
  res.count.assign(static_cast<size_t>(cells), 0.0);
  res.n.assign(static_cast<size_t>(cells), 0);

  if (req.scaling == TableScaling::PerStratum) {
    if (design.replicates() != nullptr) {
      throw InvalidInput(
          "ntotal per stratum: a replicate design has no strata (R's svytable.svyrep.design "
          "takes one total)");
    }
    if (!design.has_strata()) {
      throw InvalidInput("ntotal per stratum needs a design with strata; give one total");
    }
    const auto H = static_cast<size_t>(design.strata());
    if (req.ntotal.size() != H) {
      throw InvalidInput("ntotal per stratum: " + std::to_string(req.ntotal.size()) +
                         " totals for " + std::to_string(H) + " strata");
    }
    // R: xtabs(weights ~ strata + ...), each stratum's slice scaled to N_h / (its
    // sum), then summed over strata. A stratum with no weight in the table (no
    // row in the domain) has no slice and needs no total.
    std::vector<double> slice(static_cast<size_t>(cells));
    const auto& sorted_w = design.sorted_weights();
    const auto& order = design.order();
    const auto& psu_begin = design.stratum_psu_begin();
    for (size_t h = 0; h < H; ++h) {
      std::fill(slice.begin(), slice.end(), 0.0);
      const int64_t first = design.psu_first_row(psu_begin[h]);
      const int64_t last = psu_begin[h + 1] == design.psus()
                               ? design.rows()
                               : design.psu_first_row(psu_begin[h + 1]);
      long double sum = 0;  // R's sum(): a long double accumulator
      for (int64_t s = first; s < last; ++s) {
        const size_t r = order.empty() ? static_cast<size_t>(s)
                                       : static_cast<size_t>(order[static_cast<size_t>(s)]);
        const int64_t c = cell[r];
        if (c < 0) continue;
        slice[static_cast<size_t>(c)] += sorted_w[static_cast<size_t>(s)];
        res.n[static_cast<size_t>(c)] += 1;
        sum += sorted_w[static_cast<size_t>(s)];
      }
      if (sum == 0) continue;
      const double target = req.ntotal[h];
      if (!std::isfinite(target)) {
        throw InvalidInput("ntotal per stratum: no total for stratum '" +
                           design.stratum_label(static_cast<int32_t>(h)) + "'");
      }
      const double factor =
          target / static_cast<double>(sum);  // R: sweep(tbl, 1, Ntotal / apply(tbl, 1, sum), "*")
      for (size_t c = 0; c < slice.size(); ++c) res.count[c] += slice[c] * factor;
    }
  } else {
    long double domain_weight = 0;  // the replicate default's Ntotal: the domain's weights
    for (size_t r = 0; r < cell.size(); ++r) {
      if (!req.subset.empty() && req.subset[r] == 0) continue;
      domain_weight += w[r];
      if (cell[r] < 0) continue;
      res.count[static_cast<size_t>(cell[r])] += w[r];
      res.n[static_cast<size_t>(cell[r])] += 1;
    }
    double target = std::numeric_limits<double>::quiet_NaN();
    if (req.scaling == TableScaling::Total) {
      if (req.ntotal.size() != 1 || !std::isfinite(req.ntotal[0])) {
        throw InvalidInput("ntotal must be one finite number, or one per stratum");
      }
      target = req.ntotal[0];
    } else if (design.replicates() != nullptr) {
      target =
          static_cast<double>(domain_weight);  // R's svytable.svyrep.design: Ntotal = sum(weights)
    }
    if (!std::isnan(target)) {
      long double sum = 0;
      for (double c : res.count) sum += c;
      if (sum == 0) {
        throw NotEstimable("table: no row with a nonzero weight is in the table, so it cannot " +
                           std::string("be rescaled to ntotal = ") + number(target));
      }
      // R: tbl * sum(Ntotal) / sum(tbl)
      for (double& c : res.count) c = c * target / static_cast<double>(sum);
    }
  }
  long double total = 0;
  for (double c : res.count) total += c;
  res.total = static_cast<double>(total);
  return res;
}

}  // namespace steppe
