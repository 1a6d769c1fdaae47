// Partial states: each scan over one slice, their merges, the checks that the
// merged states cover every row once, and the orchestration estimate() uses.
#include "steppe/partial.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "steppe/errors.hpp"
#include "steppe/interval.hpp"
#include "steppe/parallel.hpp"
#include "steppe/replicate.hpp"

namespace steppe {

namespace {

void check_range(int64_t begin, int64_t end, int64_t size, const char* what) {
  if (begin < 0 || begin > end || end > size) {
    throw InvalidInput(std::string(what) + " range [" + std::to_string(begin) + ", " +
                       std::to_string(end) + ") is not within [0, " + std::to_string(size) + ")");
  }
}

/// The merged ranges must tile [0, size): no slice missing, none twice.
void check_coverage(const std::vector<int64_t>& covered, int64_t size, const char* state,
                    const char* unit) {
  if (covered.size() % 2 != 0) throw InvalidInput(std::string(state) + ": malformed ranges");
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (size_t i = 0; i < covered.size(); i += 2) {
    if (covered[i] < covered[i + 1]) ranges.emplace_back(covered[i], covered[i + 1]);
  }
  std::sort(ranges.begin(), ranges.end());
  int64_t next = 0;
  auto fail = [&](const char* problem, int64_t a, int64_t b) {
    throw InvalidInput(std::string(state) + " " + problem + " " + unit + " [" + std::to_string(a) +
                       ", " + std::to_string(b) +
                       "): merge the state of every slice exactly once before finishing");
  };
  for (const auto& [b, e] : ranges) {
    if (b < next) fail("cover twice", b, std::min(e, next));
    if (b > next) fail("miss", next, b);
    next = e;
  }
  if (next != size) fail("miss", next, size);
}

/// Checks that totals belong to this design and request (shape and coverage).
void check_totals(const Design& design, const EstimateRequest& req, const TotalsState& t,
                  int32_t replicates) {
  const RowCells cells(req);
  const bool ratio = req.statistic == Statistic::Ratio;
  if (t.design_rows != design.rows() || t.statistic != static_cast<int32_t>(req.statistic) ||
      t.levels != req.levels || t.totals.key_space != cells.key_space() ||
      t.totals.cells != cells.cells() || (t.totals.denominator.size() != 0) != ratio ||
      t.totals.cal_columns != design.calibration().columns || t.replicates != replicates) {
    throw InvalidInput(
        "the totals state is of another request or design (statistic, levels, by levels, "
        "calibration or replicate weights differ)");
  }
  check_coverage(t.covered, design.rows(), "the merged totals", "rows");
  for (size_t k = 0; k < t.totals.n.size(); ++k) {
    if (t.totals.n[k] < 0 || t.totals.n[k] > design.rows() || t.totals.n_nonzero[k] < 0 ||
        t.totals.n_nonzero[k] > t.totals.n[k] || t.totals.n_missing[k] < 0 ||
        t.totals.n_missing[k] > design.rows() || t.totals.missing_nonzero[k] < 0 ||
        t.totals.missing_nonzero[k] > t.totals.n_missing[k]) {
      throw InvalidInput("inconsistent steppe TotalsState: row counts beyond the design's rows");
    }
  }
  if (t.totals.by_missing < 0 || t.totals.by_missing > design.rows()) {
    throw InvalidInput("inconsistent steppe TotalsState: row counts beyond the design's rows");
  }
}

/// Structural checks of a plan against the request, so that a plan read from
/// bytes cannot index outside its arrays.
void check_plan(const Design& design, const EstimateRequest& req, const DomainPlan& plan) {
  const RowCells cells(req);
  const size_t D = plan.domain_key.size();
  const size_t K = static_cast<size_t>(cells.cells());
  const size_t P = static_cast<size_t>(design.calibration().columns);
  auto bad = [] { throw InvalidInput("the plan is of another request or design"); };
  if (plan.statistic != req.statistic || plan.categorical != (req.levels > 0) ||
      plan.cells != cells.cells() || plan.by_stride != cells.strides() ||
      plan.key_to_domain.size() != static_cast<size_t>(cells.key_space()) ||
      plan.center.size() != D * K || plan.inv_x.size() != D || plan.spread_center.size() != D ||
      plan.beta.size() != (P > 0 ? D * K * P : 0)) {
    bad();
  }
  size_t in_domain = 0;
  for (int32_t d : plan.key_to_domain) {
    if (d < -1 || d >= static_cast<int64_t>(D)) bad();
    in_domain += d >= 0;
  }
  if (in_domain != D) bad();
  for (size_t d = 0; d < D; ++d) {
    const int32_t key = plan.domain_key[d];
    if (key < 0 || static_cast<size_t>(key) >= plan.key_to_domain.size() ||
        plan.key_to_domain[static_cast<size_t>(key)] != static_cast<int32_t>(d)) {
      bad();
    }
  }
}

/// Checks a merged spread state against the plan and design before finishing.
void check_spread(const Design& design, const EstimateRequest& req, const DomainPlan& plan,
                  const SpreadState& st) {
  const size_t D = static_cast<size_t>(plan.domains());
  const size_t K = static_cast<size_t>(plan.cells);
  if (st.domains != plan.domains() || st.cells != plan.cells) {
    throw InvalidInput("the spread state is of another plan (domains or cells differ)");
  }
  if (st.plan_fingerprint != plan_fingerprint(plan)) {
    throw InvalidInput(
        "the spread state was scanned with another plan than the one these totals give: plan "
        "from the merged totals of every row, then scan");
  }
  if (st.variance.size() != D * K ||
      (!st.covariance.empty() && st.covariance.size() != D * K * K) || st.spread_sum.size() != D ||
      st.psus.size() != D || st.strata_present.size() != D || st.strata_seen.size() != D ||
      st.strata_ok.size() != D) {
    throw InvalidInput("inconsistent steppe SpreadState");
  }
  for (const auto& m : st.partial) {
    const size_t nd = m.domain.size();
    if (m.stratum < 0 || m.stratum >= design.strata() ||
        m.co.size() != (req.covariance ? nd * K * K : 0)) {
      throw InvalidInput("the spread state is of another design or request (strata, covariance)");
    }
    for (int32_t d : m.domain) {
      if (d < 0 || static_cast<size_t>(d) >= D)
        throw InvalidInput("inconsistent steppe SpreadState");
    }
    // Moments merged from this design's PSUs count at most the stratum's PSUs.
    const int64_t n_h = design.stratum_psu_count(m.stratum);
    for (size_t i = 0; i < nd; ++i) {
      if (m.count[i] < 0 || m.count[i] > n_h || m.touched[i] < 0 || m.touched[i] > m.count[i]) {
        throw InvalidInput("inconsistent steppe SpreadState: PSU counts beyond the stratum's");
      }
    }
  }
  // Counts a state of this design can hold (bytes could say anything).
  for (size_t d = 0; d < D; ++d) {
    if (st.psus[d] < 0 || st.psus[d] > design.psus() || st.strata_present[d] < 0 ||
        st.strata_present[d] > design.strata() || st.strata_seen[d] < 0 ||
        st.strata_seen[d] > design.strata() || st.strata_ok[d] < 0 ||
        st.strata_ok[d] > design.strata()) {
      throw InvalidInput("inconsistent steppe SpreadState: counts beyond the design's");
    }
  }
  for (int32_t h : st.lonely_strata) {
    if (h < 0 || h >= design.strata()) throw InvalidInput("inconsistent steppe SpreadState");
  }
  if (st.nan_stage2 < 0) throw InvalidInput("inconsistent steppe SpreadState");
  for (int64_t p : st.lonely_psus) {
    if (p < 0 || p >= design.psus()) throw InvalidInput("inconsistent steppe SpreadState");
  }
  check_coverage(st.covered, design.psus(), "the merged spread states", "PSUs");
}

/// Each replicate's sums over the slice's rows (cells from scan 1).
void replicate_sums(const EstimateRequest& req, int64_t row_begin,
                    std::span<const int32_t> slice_cells,
                    std::span<const std::span<const double>> columns, TotalsState& s) {
  const size_t R = columns.size();
  const size_t ks = static_cast<size_t>(s.totals.key_space);
  const size_t KS = ks * static_cast<size_t>(s.totals.cells);
  const bool categorical = req.levels > 0;
  const bool ratio = req.statistic == Statistic::Ratio;
  s.replicates = static_cast<int32_t>(R);
  s.replicate_numerator.assign(R * KS, 0.0);
  if (!categorical) s.replicate_denominator.assign(R * ks, 0.0);
  const size_t r0 = static_cast<size_t>(row_begin);
  for (size_t r = 0; r < R; ++r) {
    const double* w = columns[r].data() + r0;
    double* num = s.replicate_numerator.data() + r * KS;
    if (categorical) {
      for (size_t i = 0; i < slice_cells.size(); ++i) {
        const int32_t cell = slice_cells[i];
        if (cell >= 0) num[cell] += w[i];
      }
      continue;
    }
    double* den = s.replicate_denominator.data() + r * ks;
    const double* y = req.values.data() + r0;
    const double* x = ratio ? req.denominator.data() + r0 : nullptr;
    for (size_t i = 0; i < slice_cells.size(); ++i) {
      const int32_t cell = slice_cells[i];
      if (cell < 0) continue;
      num[cell] += w[i] * y[i];
      den[cell] += w[i] * (ratio ? x[i] : 1.0);
    }
  }
}

/// Per key: the distinct replicate-weight patterns of the slice's rows.
void pattern_sets(const EstimateRequest& req, const ReplicateVariance& rv, int64_t row_begin,
                  std::span<const int32_t> slice_cells, TotalsState& s) {
  const std::span<const int32_t> row_pattern = rv.row_patterns();
  const size_t P = static_cast<size_t>(rv.pattern_count());
  const size_t ks = static_cast<size_t>(s.totals.key_space);
  const size_t K = static_cast<size_t>(s.totals.cells);
  const bool categorical = req.levels > 0;
  std::vector<std::vector<int32_t>> sets(ks);
  const bool dense = ks * P <= (size_t{1} << 27);
  std::vector<bool> seen(dense ? ks * P : 0);
  for (size_t i = 0; i < slice_cells.size(); ++i) {
    const int32_t cell = slice_cells[i];
    if (cell < 0) continue;
    const int32_t p = row_pattern[static_cast<size_t>(row_begin) + i];
    if (p < 0) continue;
    const size_t key = categorical ? static_cast<size_t>(cell) / K : static_cast<size_t>(cell);
    if (dense) {
      const size_t slot = key * P + static_cast<size_t>(p);
      if (seen[slot]) continue;
      seen[slot] = true;
    }
    sets[key].push_back(p);
  }
  s.has_patterns = true;
  s.pattern_count = static_cast<int32_t>(P);
  s.pattern_begin.assign(ks + 1, 0);
  s.pattern_ids.clear();
  for (size_t k = 0; k < ks; ++k) {
    auto& v = sets[k];
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    s.pattern_ids.insert(s.pattern_ids.end(), v.begin(), v.end());
    s.pattern_begin[k + 1] = static_cast<int64_t>(s.pattern_ids.size());
  }
}

/// The numeric spread sum w (y - centre)^2 per domain (the SRS variance of the
/// design effect) over rows [row_begin, row_end) of a replicate design.
void replicate_spread(const Design& design, const EstimateRequest& req, const DomainPlan& plan,
                      int64_t row_begin, int64_t row_end, std::span<const int32_t> cell_cache,
                      SpreadState& st) {
  if (plan.categorical) return;
  const auto& w = design.weights();
  const bool ratio = plan.statistic == Statistic::Ratio;
  const RowCells cell_of(req);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const size_t ri = static_cast<size_t>(r);
    const int64_t cell = cell_cache.empty() ? cell_of(ri) : cell_cache[ri];
    if (cell < 0) continue;
    const int32_t d = plan.key_to_domain[static_cast<size_t>(cell)];
    if (d < 0) continue;
    const double e = req.values[ri] - plan.spread_center[static_cast<size_t>(d)] *
                                          (ratio ? req.denominator[ri] : 1.0);
    st.spread_sum[static_cast<size_t>(d)] += w[ri] * e * e;
  }
}

/// PSU boundaries splitting the sorted rows into `parts` chunks of similar size.
std::vector<int64_t> psu_chunks(const Design& design, int parts) {
  std::vector<int64_t> cut{0};
  const int64_t P = design.psus();
  if (design.pps() != nullptr) return {0, P};  // PPS forms pair PSUs: one scan

  for (int i = 1; i < parts; ++i) {
    const int64_t target = design.rows() * i / parts;
    int64_t lo = cut.back(), hi = P;
    while (lo < hi) {  // first PSU starting at or after target
      const int64_t mid = (lo + hi) / 2;
      if (design.psu_first_row(mid) < target) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo > cut.back() && lo < P) cut.push_back(lo);
  }
  cut.push_back(P);
  return cut;
}

std::vector<std::span<const double>> design_columns(const Design& design) {
  std::vector<std::span<const double>> out;
  if (const ReplicateVariance* rv = design.replicates()) {
    for (size_t r = 0; r < rv->count(); ++r) out.push_back(rv->column(r));
  }
  return out;
}

int32_t design_replicates(const Design& design) {
  const ReplicateVariance* rv = design.replicates();
  return rv == nullptr ? 0 : static_cast<int32_t>(rv->count());
}

/// FNV-1a (Fowler, Noll & Vo) over raw bytes.
void fnv(uint64_t& h, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
}

template <class T>
void fnv(uint64_t& h, const std::vector<T>& v) {
  const uint64_t n = v.size();
  fnv(h, &n, sizeof n);
  if (!v.empty()) fnv(h, v.data(), v.size() * sizeof(T));
}

}  // namespace

uint64_t plan_fingerprint(const DomainPlan& plan) {
  uint64_t h = 14695981039346656037ULL;
  const int32_t head[3] = {static_cast<int32_t>(plan.statistic), plan.categorical ? 1 : 0,
                           plan.cells};
  fnv(h, head, sizeof head);
  fnv(h, plan.by_stride);
  fnv(h, plan.key_to_domain);
  fnv(h, plan.domain_key);
  fnv(h, plan.center);
  fnv(h, plan.inv_x);
  fnv(h, plan.spread_center);
  fnv(h, plan.beta);
  return h == 0 ? 1 : h;  // 0 means "not recorded"
}

void TotalsState::merge(const TotalsState& o) {
  if (o.design_rows != design_rows || o.statistic != statistic || o.levels != levels ||
      o.replicates != replicates || o.has_patterns != has_patterns ||
      o.pattern_count != pattern_count ||
      o.replicate_numerator.size() != replicate_numerator.size() ||
      o.replicate_denominator.size() != replicate_denominator.size() ||
      o.pattern_begin.size() != pattern_begin.size()) {
    throw InvalidInput("cannot merge totals states of different requests or designs");
  }
  totals.merge(o.totals);
  for (size_t i = 0; i < replicate_numerator.size(); ++i)
    replicate_numerator[i] += o.replicate_numerator[i];
  for (size_t i = 0; i < replicate_denominator.size(); ++i)
    replicate_denominator[i] += o.replicate_denominator[i];
  if (has_patterns) {
    // Per key: the sorted union of both sets.
    const size_t ks = pattern_begin.size() - 1;
    std::vector<int64_t> begin(ks + 1, 0);
    std::vector<int32_t> ids;
    ids.reserve(std::max(pattern_ids.size(), o.pattern_ids.size()));
    for (size_t k = 0; k < ks; ++k) {
      const auto a0 = pattern_ids.begin() + pattern_begin[k];
      const auto a1 = pattern_ids.begin() + pattern_begin[k + 1];
      const auto b0 = o.pattern_ids.begin() + o.pattern_begin[k];
      const auto b1 = o.pattern_ids.begin() + o.pattern_begin[k + 1];
      std::set_union(a0, a1, b0, b1, std::back_inserter(ids));
      begin[k + 1] = static_cast<int64_t>(ids.size());
    }
    pattern_begin = std::move(begin);
    pattern_ids = std::move(ids);
  }
  covered.insert(covered.end(), o.covered.begin(), o.covered.end());
}

namespace detail {

bool needs_patterns(const Design& design, const EstimateRequest& req) {
  const ReplicateVariance* rv = design.replicates();
  return rv != nullptr && req.need_design_df() && std::isnan(rv->df);
}

void check_finish_options(const EstimateRequest& req) {
  if (req.ci != "wald") parse_ci_method(req.ci);  // refuse an unknown method before any work
  if (!(req.level > 0 && req.level < 1)) {
    throw InvalidInput("level must be between 0 and 1, got " + std::to_string(req.level));
  }
  if (!req.df_design && !(req.df_value > 0)) {
    throw InvalidInput("df must be 'design', a positive number or infinity");
  }
}

TotalsState scan_totals(const Design& design, const EstimateRequest& req, int64_t row_begin,
                        int64_t row_end, std::span<const std::span<const double>> columns,
                        const ReplicateVariance* patterns, std::span<int32_t> cell_cache) {
  validate_request(design, req);
  check_range(row_begin, row_end, design.rows(), "row");
  if (!cell_cache.empty() && static_cast<int64_t>(cell_cache.size()) != design.rows()) {
    throw InvalidInput("the cell cache must have one entry per row");
  }
  for (const auto& c : columns) {
    if (static_cast<int64_t>(c.size()) != design.rows()) {
      throw InvalidInput("a replicate weight column has " + std::to_string(c.size()) +
                         " rows, not " + std::to_string(design.rows()));
    }
  }
  TotalsState s;
  s.design_rows = design.rows();
  s.statistic = static_cast<int32_t>(req.statistic);
  s.levels = req.levels;
  s.covered = {row_begin, row_end};
  const size_t n = static_cast<size_t>(row_end - row_begin);
  const bool need_slice = !columns.empty() || patterns != nullptr;
  std::vector<int32_t> own;
  std::span<int32_t> slice;
  std::span<int32_t> sorted = cell_cache;
  if (need_slice && !cell_cache.empty() && design.rank().empty()) {
    // Rows already in design order: the cache's slice is the slice's cells.
    slice = cell_cache.subspan(static_cast<size_t>(row_begin), n);
    sorted = {};
  } else if (need_slice) {
    own.resize(n);
    slice = own;
  }
  s.totals = accumulate_totals(design, req, row_begin, row_end, sorted, slice);
  if (!columns.empty()) replicate_sums(req, row_begin, slice, columns, s);
  if (patterns != nullptr) pattern_sets(req, *patterns, row_begin, slice, s);
  return s;
}

DomainPlan plan_estimate(const Design& design, const EstimateRequest& req,
                         const TotalsState& totals, int32_t replicates) {
  validate_request(design, req);
  check_totals(design, req, totals, replicates);
  DomainPlan plan =
      plan_domains(req, totals.totals, &design.calibration());
  if (plan.domains() == 0) {
    int64_t missing = 0;
    for (int64_t m : totals.totals.n_missing) missing += m;
    throw NotEstimable(
        "no row has a valid value with a nonzero weight in the requested domain(s)" +
        (missing > 0 ? " (" + std::to_string(missing) + " rows left out for missing values)"
                     : std::string()));
  }
  return plan;
}

SpreadState scan_spread(const Design& design, const EstimateRequest& req, const DomainPlan& plan,
                        int64_t psu_begin, int64_t psu_end, std::span<const int32_t> cell_cache,
                        bool replicate, uint64_t fingerprint) {
  validate_request(design, req);
  check_range(psu_begin, psu_end, design.psus(), "PSU");
  check_plan(design, req, plan);
  if (!cell_cache.empty() && static_cast<int64_t>(cell_cache.size()) != design.rows()) {
    throw InvalidInput("the cell cache must have one entry per row");
  }
  SpreadState st;
  if (replicate) {
    // Replicate weights carry the design: rows stay in their original order.
    if (!design.order().empty()) {
      throw InvalidInput("a replicate-weight design has no strata or PSUs to sort by");
    }
    st = SpreadState(plan.domains(), plan.cells);
    replicate_spread(design, req, plan, design.psu_first_row(psu_begin),
                     design.psu_first_row(psu_end), cell_cache, st);
  } else if (!cell_cache.empty()) {
    st = accumulate_spread(design, req, plan, cell_cache, psu_begin, psu_end, 0);
  } else {
    // The cells of this range's rows, found here (sorted order).
    const int64_t s0 = design.psu_first_row(psu_begin), s1 = design.psu_first_row(psu_end);
    std::vector<int32_t> cells(static_cast<size_t>(s1 - s0));
    const RowCells cell_of(req);
    const auto& order = design.order();
    for (int64_t s = s0; s < s1; ++s) {
      const size_t ri = order.empty() ? static_cast<size_t>(s)
                                      : static_cast<size_t>(order[static_cast<size_t>(s)]);
      cells[static_cast<size_t>(s - s0)] = static_cast<int32_t>(cell_of(ri));
    }
    st = accumulate_spread(design, req, plan, cells, psu_begin, psu_end, s0);
  }
  st.plan_fingerprint = fingerprint;
  st.covered = {psu_begin, psu_end};
  return st;
}

Scanned scan_all(const Design& design, const EstimateRequest& req,
                 std::span<const std::span<const double>> columns,
                 const ReplicateVariance* patterns) {
  const bool replicate = !columns.empty();
  const auto cut = psu_chunks(design, static_cast<int>(row_workers(req.threads, design.rows())));
  const size_t parts = cut.size() - 1;
  // Scan 1 caches each row's cell at its sorted position for scan 2. Safe across
  // threads: the slices' rows, hence their sorted positions, are disjoint.
  std::vector<int32_t> cells(static_cast<size_t>(design.rows()));
  std::vector<TotalsState> totals(parts);
  const auto rows = design.rows();
  const auto P = static_cast<int64_t>(parts);
  parallel_for(parts, parts, [&](size_t i) {  // scan 1: original rows, any split
    const auto k = static_cast<int64_t>(i);
    totals[i] =
        scan_totals(design, req, rows * k / P, rows * (k + 1) / P, columns, patterns, cells);
  });
  for (size_t i = 1; i < parts; ++i) totals[0].merge(totals[i]);
  Scanned out;
  out.plan = plan_estimate(design, req, totals[0], static_cast<int32_t>(columns.size()));
  const uint64_t fingerprint = plan_fingerprint(out.plan);
  std::vector<SpreadState> spread(parts);
  parallel_for(parts, parts, [&](size_t i) {
    spread[i] =
        scan_spread(design, req, out.plan, cut[i], cut[i + 1], cells, replicate, fingerprint);
  });
  for (size_t i = 1; i < parts; ++i) spread[0].merge(std::move(spread[i]));
  out.totals = std::move(totals[0]);
  out.spread = std::move(spread[0]);
  return out;
}

EstimateResult finish_estimate(const Design& design, const EstimateRequest& req,
                               const TotalsState& totals, const DomainPlan& plan,
                               SpreadState spread) {
  check_finish_options(req);
  check_plan(design, req, plan);
  check_spread(design, req, plan, spread);
  if (design.replicates() != nullptr) {
    EstimateResult res = finish_replicate_design(design, req, totals, plan, std::move(spread));
    report_missing(req, totals.totals, plan, res);
    return res;
  }
  EstimateResult res = finalize(design, req, totals.totals, plan, std::move(spread));
  res.design_df.resize(static_cast<size_t>(res.domains));
  for (int64_t d = 0; d < res.domains; ++d)
    res.design_df[static_cast<size_t>(d)] = static_cast<double>(res.degf(d));
  finish_cells(design, req, res);
  report_missing(req, totals.totals, plan, res);
  return res;
}

}  // namespace detail

TotalsState scan_totals(const Design& design, const EstimateRequest& req, int64_t row_begin,
                        int64_t row_end) {
  const auto columns = design_columns(design);
  return detail::scan_totals(design, req, row_begin, row_end, columns,
                             detail::needs_patterns(design, req) ? design.replicates() : nullptr,
                             {});
}

DomainPlan plan_estimate(const Design& design, const EstimateRequest& req,
                         const TotalsState& totals) {
  return detail::plan_estimate(design, req, totals, design_replicates(design));
}

SpreadState scan_spread(const Design& design, const EstimateRequest& req, const DomainPlan& plan,
                        int64_t psu_begin, int64_t psu_end) {
  return detail::scan_spread(design, req, plan, psu_begin, psu_end, {},
                             design.replicates() != nullptr, plan_fingerprint(plan));
}

EstimateResult finish_estimate(const Design& design, const EstimateRequest& req,
                               const TotalsState& totals, SpreadState spread) {
  detail::check_finish_options(req);
  const DomainPlan plan = plan_estimate(design, req, totals);
  return detail::finish_estimate(design, req, totals, plan, std::move(spread));
}

}  // namespace steppe
