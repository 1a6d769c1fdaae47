// The cell table and what works on it: post-stratification (R's postStratify)
// and raking (R's rake). Both only ever need the weighted count of each cell
// of the cross-classification, so rows are read once to build the table and
// once more to map the cell factors back.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "steppe/calibrate.hpp"
#include "steppe/errors.hpp"

namespace steppe {

namespace {

constexpr size_t kListed = 10;  // cells named in an error message

/// Checks that weights are finite and >= 0, naming the count and the first bad row.
void check_weights(std::span<const double> weights, const char* what) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!(std::isfinite(weights[i]) && weights[i] >= 0)) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad > 0) {
    std::ostringstream msg;
    msg << what << ": " << bad << " weight(s) not finite and >= 0 (first at row " << first << ": "
        << weights[first] << ")";
    throw InvalidInput(msg.str());
  }
}

/// Renumbers keys < radix as 0..k-1 in increasing key order; returns k. A
/// direct-address table when the key range is no larger than the rows (so
/// memory stays O(rows)), else sort + binary search: the cross-classification
/// may have far more possible combinations than rows.
int64_t renumber(std::vector<int64_t>& keys, int64_t radix) {
  const auto n = static_cast<int64_t>(keys.size());
  if (radix <= 2 * n + 1024) {
    std::vector<int64_t> id(static_cast<size_t>(radix), -1);
    for (const int64_t k : keys) id[static_cast<size_t>(k)] = 0;
    int64_t next = 0;
    for (auto& x : id) {
      if (x == 0) x = next++;
    }
    for (auto& k : keys) k = id[static_cast<size_t>(k)];
    return next;
  }
  // Sort (key, row) pairs once and number the runs: sequential, unlike a
  // binary search per row.
  std::vector<std::pair<int64_t, int64_t>> pairs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pairs[static_cast<size_t>(i)] = {keys[static_cast<size_t>(i)], i};
  std::sort(pairs.begin(), pairs.end());
  int64_t next = -1;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i == 0 || pairs[i].first != pairs[i - 1].first) ++next;
    keys[static_cast<size_t>(pairs[i].second)] = next;
  }
  return next + 1;
}

std::string level_name(const LevelLabels& labels, size_t var, int32_t code) {
  if (var < labels.size() && code >= 0 && static_cast<size_t>(code) < labels[var].size()) {
    return labels[var][static_cast<size_t>(code)];
  }
  return std::to_string(code);
}

std::string cell_name(const LevelLabels& labels, const std::vector<int32_t>& codes) {
  std::string s = "(";
  for (size_t v = 0; v < codes.size(); ++v) {
    if (v > 0) s += ", ";
    s += level_name(labels, v, codes[v]);
  }
  return s + ")";
}

/// "a, b, c and 7 more".
std::string listing(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < kListed; ++i) s += (i > 0 ? ", " : "") + names[i];
  if (names.size() > kListed) s += " and " + std::to_string(names.size() - kListed) + " more";
  return s;
}

std::vector<int32_t> cell_codes(const CellTable& cells, size_t c) {
  std::vector<int32_t> codes(cells.variables());
  for (size_t v = 0; v < codes.size(); ++v) codes[v] = cells.level[v][c];
  return codes;
}

void check_rows(const CellTable& cells, std::span<const double> weights, const char* what) {
  if (weights.size() != cells.cell_of_row.size()) {
    throw InvalidInput(std::string(what) + ": " + std::to_string(weights.size()) +
                       " weights for a cell table of " + std::to_string(cells.cell_of_row.size()) +
                       " rows");
  }
}

void check_cell_weights(const CellTable& cells, std::span<const double> cell_weight,
                        const char* what) {
  if (cell_weight.size() != cells.size()) {
    throw InvalidInput(std::string(what) + ": " + std::to_string(cell_weight.size()) +
                       " cell weights for a cell table of " + std::to_string(cells.size()) +
                       " cells");
  }
}

}  // namespace

CellTable build_cells(std::span<const double> weights, const std::vector<CodeColumn>& vars,
                      const std::vector<int32_t>& levels) {
  if (vars.size() != levels.size()) {
    throw InvalidInput("weighting cells: " + std::to_string(vars.size()) + " variables but " +
                       std::to_string(levels.size()) + " level counts");
  }
  const size_t n = weights.size();
  check_weights(weights, "weighting cells");
  CellTable t;
  t.levels = levels;
  // Mixed-radix key per row, first variable most significant, so that cells
  // come out in lexicographic order of their levels. Before the key would
  // overflow, renumber the combinations seen so far (at most n of them).
  constexpr int64_t kMaxRadix = int64_t{1} << 62;
  std::vector<int64_t> key(n, 0);
  int64_t radix = 1;
  for (size_t v = 0; v < vars.size(); ++v) {
    const CodeColumn& col = vars[v];
    const int32_t L = levels[v];
    if (col.size() != n) {
      throw InvalidInput("weighting variable " + std::to_string(v) + ": " +
                         std::to_string(col.size()) + " codes for " + std::to_string(n) +
                         " weights");
    }
    if (L < 0) throw InvalidInput("weighting variable " + std::to_string(v) + ": levels < 0");
    size_t missing = 0, out = 0, first_missing = 0, first_out = 0;
    for (size_t i = 0; i < n; ++i) {
      const int32_t c = col[i];
      if (c < 0) {
        if (missing++ == 0) first_missing = i;
      } else if (c >= L) {
        if (out++ == 0) first_out = i;
      }
    }
    if (missing > 0) {
      throw InvalidInput("weighting variable " + std::to_string(v) + ": " +
                         std::to_string(missing) + " missing value(s) (first at row " +
                         std::to_string(first_missing) +
                         "); weighting variables may not be missing");
    }
    if (out > 0) {
      throw InvalidInput("weighting variable " + std::to_string(v) + ": " + std::to_string(out) +
                         " code(s) outside 0.." + std::to_string(L - 1) + " (first at row " +
                         std::to_string(first_out) + ": " + std::to_string(col[first_out]) + ")");
    }
    if (radix > kMaxRadix / std::max<int64_t>(L, 1)) radix = renumber(key, radix);
    for (size_t i = 0; i < n; ++i) key[i] = key[i] * L + col[i];
    radix *= std::max<int64_t>(L, 1);
  }
  const int64_t k = n == 0 ? 0 : renumber(key, radix);
  const auto cells = static_cast<size_t>(k);
  if (k > std::numeric_limits<int32_t>::max()) throw InvalidInput("weighting cells: too many");
  t.cell_of_row.resize(n);
  t.weight.assign(cells, 0.0);
  t.rows.assign(cells, 0);
  t.first_row.assign(cells, -1);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<size_t>(key[i]);
    t.cell_of_row[i] = static_cast<int32_t>(c);
    t.weight[c] += weights[i];
    if (t.rows[c]++ == 0) t.first_row[c] = static_cast<int64_t>(i);
  }
  t.level.assign(vars.size(), std::vector<int32_t>(cells));
  for (size_t v = 0; v < vars.size(); ++v) {
    for (size_t c = 0; c < cells; ++c) {
      t.level[v][c] = vars[v][static_cast<size_t>(t.first_row[c])];
    }
  }
  return t;
}

CellTable build_cells(std::span<const double> weights,
                      const std::vector<std::span<const int32_t>>& vars,
                      const std::vector<int32_t>& levels) {
  return build_cells(weights, std::vector<CodeColumn>(vars.begin(), vars.end()), levels);
}

std::vector<double> cell_sums(const CellTable& cells, std::span<const double> weights) {
  check_rows(cells, weights, "weighting");
  std::vector<double> sums(cells.size(), 0.0);
  // Row order, as build_cells sums them: the full sample's sums come out identical.
  for (size_t i = 0; i < weights.size(); ++i) {
    sums[static_cast<size_t>(cells.cell_of_row[i])] += weights[i];
  }
  return sums;
}

std::vector<double> apply_factors(const CellTable& cells, std::span<const double> weights,
                                  std::span<const double> g) {
  check_rows(cells, weights, "weighting");
  if (g.size() != cells.size()) throw InvalidInput("weighting: one factor per cell expected");
  std::vector<double> out(weights.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = weights[i] * g[static_cast<size_t>(cells.cell_of_row[i])];
  }
  return out;
}

// R: survey:::postStratify.survey.design. The sample table is xtabs(1/prob ~
// strata), merged with the population table; a cell in only one of them is an
// error (partial = FALSE), and each row's weight is multiplied by Pop.Freq/Freq.
PostStratifyResult post_stratify(const CellTable& cells, std::span<const double> weights,
                                 const PopulationCells& population, const LevelLabels& labels) {
  return post_stratify(cells, cells.weight, weights, population, labels);
}

PostStratifyResult post_stratify(const CellTable& cells, std::span<const double> cell_weight,
                                 std::span<const double> weights, const PopulationCells& population,
                                 const LevelLabels& labels) {
  check_rows(cells, weights, "poststratify");
  check_cell_weights(cells, cell_weight, "poststratify");
  const size_t vars = cells.variables();
  if (population.levels.size() != vars) {
    throw InvalidInput("poststratify: the population has " +
                       std::to_string(population.levels.size()) + " variables, the sample " +
                       std::to_string(vars));
  }
  const size_t m = population.counts.size();
  for (size_t v = 0; v < vars; ++v) {
    if (population.levels[v].size() != m) {
      throw InvalidInput("poststratify: population variable " + std::to_string(v) + " has " +
                         std::to_string(population.levels[v].size()) + " codes for " +
                         std::to_string(m) + " counts");
    }
  }
  std::map<std::vector<int32_t>, size_t> sample_cell;
  for (size_t c = 0; c < cells.size(); ++c) sample_cell.emplace(cell_codes(cells, c), c);

  constexpr double kUnset = -1;
  std::vector<double> pop(cells.size(), kUnset);
  std::vector<std::string> only_population;
  for (size_t j = 0; j < m; ++j) {
    std::vector<int32_t> codes(vars);
    for (size_t v = 0; v < vars; ++v) codes[v] = population.levels[v][j];
    const double count = population.counts[j];
    if (!(std::isfinite(count) && count >= 0)) {
      std::ostringstream msg;
      msg << "poststratify: the population count of " << cell_name(labels, codes) << " is " << count
          << "; counts must be finite and >= 0";
      throw InvalidInput(msg.str());
    }
    if (std::any_of(codes.begin(), codes.end(), [](int32_t c) { return c < 0; })) {
      throw InvalidInput("poststratify: population cell " + std::to_string(j) +
                         " has a missing (negative) code");
    }
    const auto it = sample_cell.find(codes);
    if (it == sample_cell.end()) {
      if (count > 0) only_population.push_back(cell_name(labels, codes));
      continue;
    }
    if (pop[it->second] != kUnset) {
      throw InvalidInput("poststratify: the population lists " + cell_name(labels, codes) +
                         " twice");
    }
    pop[it->second] = count;
  }
  std::vector<std::string> only_sample, zero_weight;
  for (size_t c = 0; c < cells.size(); ++c) {
    if (cell_weight[c] == 0) {
      // R: a sample count of 0 is "absent from the sample".
      if (pop[c] > 0) {
        only_population.push_back(cell_name(labels, cell_codes(cells, c)));
      } else {
        zero_weight.push_back(cell_name(labels, cell_codes(cells, c)));
      }
    } else if (pop[c] == kUnset || pop[c] == 0) {
      only_sample.push_back(cell_name(labels, cell_codes(cells, c)));
    }
  }
  if (!only_sample.empty()) {
    throw InvalidInput("poststratify: " + std::to_string(only_sample.size()) +
                       " sample cell(s) absent from the population (or with count 0): " +
                       listing(only_sample) + " (R: \"Strata in sample absent from population\")");
  }
  if (!only_population.empty()) {
    throw InvalidInput(
        "poststratify: " + std::to_string(only_population.size()) +
        " population cell(s) with count > 0 have no sample: " + listing(only_population) +
        " (R: \"Some strata absent from sample\"); collapse cells or drop them "
        "from the population");
  }
  if (!zero_weight.empty()) {
    throw InvalidInput("poststratify: " + std::to_string(zero_weight.size()) +
                       " sample cell(s) have weights summing to 0: " + listing(zero_weight));
  }
  PostStratifyResult r;
  r.g.resize(cells.size());
  for (size_t c = 0; c < cells.size(); ++c) r.g[c] = pop[c] / cell_weight[c];
  r.weights = apply_factors(cells, weights, r.g);
  return r;
}

// R: survey::rake. Each pass post-stratifies the current weights to each
// margin in turn (postStratify on the margin's variable; R empties
// design$postStrata at the start of a pass but keeps design$prob, so the
// factors accumulate across passes), then compares the crossed table (svytable
// over all the margins' variables) with the previous pass's; converged when
// the largest absolute change is < epsilon. The first comparison is with the
// design weights' table. R keeps the weights right after each margin of the
// last pass in design$postStrata for the variance: margin_g.
RakeResult rake(const CellTable& cells, std::span<const double> weights,
                const std::vector<std::span<const double>>& totals, const RakeOptions& options,
                const LevelLabels& labels) {
  return rake(cells, cells.weight, weights, totals, options, labels);
}

RakeResult rake(const CellTable& cells, std::span<const double> cell_weight,
                std::span<const double> weights, const std::vector<std::span<const double>>& totals,
                const RakeOptions& options, const LevelLabels& labels) {
  check_rows(cells, weights, "rake");
  check_cell_weights(cells, cell_weight, "rake");
  const size_t margins = cells.variables();
  if (margins == 0) throw InvalidInput("rake: no margins given");
  if (totals.size() != margins) {
    throw InvalidInput("rake: " + std::to_string(totals.size()) + " margin totals for " +
                       std::to_string(margins) + " margins");
  }
  if (options.maxit < 1) {
    throw InvalidInput("rake: maxit must be >= 1, got " + std::to_string(options.maxit));
  }
  if (!(std::isfinite(options.epsilon) && options.epsilon > 0)) {
    throw InvalidInput("rake: epsilon must be finite and > 0");
  }
  const size_t k = cells.size();
  // Per margin: weighted sample count per level, to check the margins as
  // postStratify would on the first pass.
  for (size_t m = 0; m < margins; ++m) {
    const auto L = static_cast<size_t>(std::max(cells.levels[m], 0));
    const std::span<const double> target = totals[m];
    for (size_t l = 0; l < target.size(); ++l) {
      if (!(std::isfinite(target[l]) && target[l] >= 0)) {
        std::ostringstream msg;
        msg << "rake: margin " << m << ": the population count of "
            << level_name(labels, m, static_cast<int32_t>(l)) << " is " << target[l]
            << "; counts must be finite and >= 0";
        throw InvalidInput(msg.str());
      }
    }
    std::vector<double> sample(std::max(L, target.size()), 0.0);
    std::vector<char> seen(sample.size(), 0);
    for (size_t c = 0; c < k; ++c) {
      const auto l = static_cast<size_t>(cells.level[m][c]);
      sample[l] += cell_weight[c];
      seen[l] = 1;
    }
    std::vector<std::string> only_sample, only_population, zero_weight;
    for (size_t l = 0; l < sample.size(); ++l) {
      const double pop = l < target.size() ? target[l] : 0.0;
      const std::string name = level_name(labels, m, static_cast<int32_t>(l));
      if (seen[l] && sample[l] > 0 && pop == 0) only_sample.push_back(name);
      if ((!seen[l] || sample[l] == 0) && pop > 0) only_population.push_back(name);
      if (seen[l] && sample[l] == 0 && pop == 0) zero_weight.push_back(name);
    }
    const std::string where = "rake: margin " + std::to_string(m) + ": ";
    if (!only_sample.empty()) {
      throw InvalidInput(where + "level(s) " + listing(only_sample) +
                         " are in the sample but have no (or zero) population count");
    }
    if (!only_population.empty()) {
      throw InvalidInput(where + "level(s) " + listing(only_population) +
                         " have a population count > 0 but no sample");
    }
    if (!zero_weight.empty()) {
      throw InvalidInput(where + "level(s) " + listing(zero_weight) +
                         " have sample weights summing to 0");
    }
  }

  RakeResult r;
  // R: epsilon < 1 is a fraction of sum(weights(design, "sampling")).
  long double wsum = 0;
  for (const double w : weights) wsum += w;
  r.tolerance = options.epsilon < 1 ? options.epsilon * static_cast<double>(wsum) : options.epsilon;
  std::vector<double> g(k, 1.0);
  // svytable(ff, design) before raking.
  std::vector<double> old(cell_weight.begin(), cell_weight.end());
  std::vector<double> now(k);
  std::vector<std::vector<double>> margin_g(margins);
  std::vector<double> sample;
  while (r.passes < options.maxit) {
    ++r.passes;
    for (size_t m = 0; m < margins; ++m) {
      const std::span<const double> target = totals[m];
      sample.assign(target.size(), 0.0);
      for (size_t c = 0; c < k; ++c) {
        sample[static_cast<size_t>(cells.level[m][c])] += cell_weight[c] * g[c];
      }
      // reweight = Pop.Freq / Freq per level; prob <- prob / reweight[index].
      for (size_t c = 0; c < k; ++c) {
        const auto l = static_cast<size_t>(cells.level[m][c]);
        g[c] *= target[l] / sample[l];
      }
      margin_g[m] = g;
    }
    double delta = 0;
    for (size_t c = 0; c < k; ++c) {
      now[c] = cell_weight[c] * g[c];
      delta = std::max(delta, std::abs(old[c] - now[c]));
    }
    r.change = delta;
    if (delta < r.tolerance) {
      r.converged = true;
      break;
    }
    old.swap(now);
  }
  r.g = g;
  r.margin_g = std::move(margin_g);
  r.margin_error.resize(margins);
  for (size_t m = 0; m < margins; ++m) {
    const std::span<const double> target = totals[m];
    sample.assign(target.size(), 0.0);
    for (size_t c = 0; c < k; ++c) {
      sample[static_cast<size_t>(cells.level[m][c])] += cell_weight[c] * g[c];
    }
    double err = 0;
    for (size_t l = 0; l < target.size(); ++l) err = std::max(err, std::abs(target[l] - sample[l]));
    r.margin_error[m] = err;
  }
  r.weights = apply_factors(cells, weights, r.g);
  return r;
}

}  // namespace steppe
