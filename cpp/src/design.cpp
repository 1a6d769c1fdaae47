#include "steppe/design.hpp"

#include "steppe/replicate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <utility>

#include "steppe/errors.hpp"

namespace steppe {

namespace {

/// The lonely-PSU rules by name (R's options(survey.lonely.psu)): the one list
/// of names; the Python layer passes the user's string through to parse_lonely_psu.
constexpr std::array<std::pair<std::string_view, LonelyPsu>, 5> kLonelyRules{{
    {"fail", LonelyPsu::Fail},
    {"remove", LonelyPsu::Remove},
    {"certainty", LonelyPsu::Certainty},
    {"adjust", LonelyPsu::Adjust},
    {"average", LonelyPsu::Average},
}};

}  // namespace

LonelyPsu parse_lonely_psu(std::string_view name) {
  for (const auto& [rule_name, rule] : kLonelyRules) {
    if (rule_name == name) return rule;
  }
  std::string msg = "lonely_psu must be one of ";
  for (size_t i = 0; i < kLonelyRules.size(); ++i) {
    msg += (i ? ", '" : "'") + std::string(kLonelyRules[i].first) + "'";
  }
  throw InvalidInput(msg + "; got '" + std::string(name) + "'");
}

std::string_view to_string(LonelyPsu rule) {
  for (const auto& [rule_name, r] : kLonelyRules) {
    if (r == rule) return rule_name;
  }
  return "fail";
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// R's weights.survey_fpc cannot make weights from populations above 1e12.
constexpr double kMaxPopulation = 1e12;

/// "fpc column 'N'" when the caller named the column, else the role alone.
std::string column(const char* role, const std::string& name) {
  return name.empty() ? std::string(role) : std::string(role) + " column '" + name + "'";
}

/// Counts bad rows and keeps the first, for messages like the Python layer's
/// "3 rows (first: row 17)".
class BadRows {
 public:
  void add(int64_t row) {
    if (count_++ == 0 || row < first_) first_ = row;
  }
  bool any() const { return count_ > 0; }
  int64_t first() const { return first_; }
  std::string describe() const {
    return std::to_string(count_) + (count_ == 1 ? " row" : " rows") + " (first: row " +
           std::to_string(first_) + ")";
  }

 private:
  int64_t count_ = 0;
  int64_t first_ = 0;
};

template <class T>
void check_length(std::span<const T> values, int64_t n, const std::string& what) {
  if (!values.empty() && static_cast<int64_t>(values.size()) != n) {
    std::ostringstream msg;
    msg << what << " has " << values.size() << " rows but the design has " << n;
    throw InvalidInput(msg.str());
  }
}

void check_codes(std::span<const int32_t> codes, const std::string& what) {
  BadRows bad;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] < 0) bad.add(static_cast<int64_t>(i));
  }
  if (bad.any()) {
    throw InvalidInput(what + " is missing in " + bad.describe() +
                       "; design columns may not be missing");
  }
}

void check_weights(std::span<const double> w, bool allow_negative, const std::string& what) {
  BadRows missing, infinite, negative;
  for (size_t i = 0; i < w.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    if (std::isnan(w[i])) {
      missing.add(row);
    } else if (std::isinf(w[i])) {
      infinite.add(row);
    } else if (w[i] < 0 && !allow_negative) {
      negative.add(row);
    }
  }
  for (const auto& [bad, problem] :
       {std::pair<const BadRows&, const char*>{missing, "missing (NaN)"},
        {infinite, "infinite"},
        {negative, "negative"}}) {
    if (bad.any()) throw InvalidInput(what + " is " + problem + " in " + bad.describe());
  }
}

/// Population sizes or sampling fractions (R's as.fpc) may not be missing or negative.
void check_fpc(std::span<const double> fpc, const std::string& what) {
  BadRows bad;
  for (size_t i = 0; i < fpc.size(); ++i) {
    if (std::isnan(fpc[i]) || fpc[i] < 0) bad.add(static_cast<int64_t>(i));
  }
  if (bad.any()) throw InvalidInput(what + " is missing or negative in " + bad.describe());
}

std::string number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
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

Design::Design(const DesignInput& in)
    : lonely_(in.lonely_psu), adjust_domain_lonely_(in.adjust_domain_lonely) {
  const DesignColumns& names = in.columns;
  const std::string weights_name = column("weights", names.weights);
  const std::string strata_name = column("strata", names.strata);
  const std::string psu_name = column("psu", names.psu);
  const std::string psu2_name = column("psu2", names.psu2);
  const std::string fpc_name = column("fpc", names.fpc);
  const std::string fpc2_name = column("fpc2", names.fpc2);
  rows_ = in.rows;
  if (rows_ < 0) {
    for (size_t size : {in.weights.size(), in.strata.size(), in.psu.size(), in.psu2.size(),
                        in.fpc.size(), in.fpc2.size()}) {
      if (size > 0) {
        rows_ = static_cast<int64_t>(size);
        break;
      }
    }
  }
  if (rows_ <= 0) throw InvalidInput("the design has no rows");
  has_strata_ = !in.strata.empty();
  if (rows_ >= std::numeric_limits<int32_t>::max()) {
    throw InvalidInput("an in-memory Design holds at most 2^31 - 1 rows; use the Dask path");
  }
  check_length(in.weights, rows_, weights_name);
  check_length(in.strata, rows_, strata_name);
  check_length(in.psu, rows_, psu_name);
  check_length(in.psu2, rows_, psu2_name);
  check_length(in.fpc, rows_, fpc_name);
  check_length(in.fpc2, rows_, fpc2_name);
  check_codes(in.strata, strata_name);
  check_codes(in.psu, psu_name);
  check_codes(in.psu2, psu2_name);
  check_weights(in.weights, in.allow_negative_weights, weights_name);
  check_fpc(in.fpc, fpc_name);
  check_fpc(in.fpc2, fpc2_name);
  if (!in.psu2.empty() && in.psu.empty())
    throw InvalidInput("psu2 needs psu (the first-stage ids)");
  if (!in.fpc2.empty() && in.fpc.empty()) throw InvalidInput("fpc2 needs fpc");
  if (!in.fpc2.empty() && in.psu2.empty()) throw InvalidInput("fpc2 needs psu2");
  if (in.adjust_domain_lonely && !in.psu2.empty()) {
    throw InvalidInput(
        "adjust_domain_lonely: not available for two-stage designs (psu2); R applies it at "
        "every stage, steppe only to one-stage designs");
  }
  if (in.adjust_domain_lonely && in.pps.active()) {
    throw InvalidInput("adjust_domain_lonely: not available for PPS designs (pps='" +
                       std::string(to_string(in.pps.method)) +
                       "'); R's pps designs other than 'brewer' "
                       "ignore it, and steppe does not apply it to Brewer's approximation");
  }
  if (!in.fpc.empty() && !in.psu2.empty() && in.fpc2.empty()) {
    throw InvalidInput("psu2 with fpc needs fpc2 (the second-stage population size or fraction)");
  }
  nest_ = in.nest && !in.strata.empty();

  // Sort rows by (stratum, psu, psu2) once; every estimate is then a sequential scan.
  auto less = [&](int64_t a, int64_t b) {
    const int32_t sa = code_at(in.strata, a), sb = code_at(in.strata, b);
    if (sa != sb) return sa < sb;
    const int32_t pa = code_at(in.psu, a), pb = code_at(in.psu, b);
    if (pa != pb) return pa < pb;
    return code_at(in.psu2, a) < code_at(in.psu2, b);
  };
  bool sorted = true;
  for (int64_t i = 1; i < rows_ && sorted; ++i) sorted = !less(i, i - 1);
  if (!sorted) {
    // The same order as std::stable_sort with `less`: stable counting sorts by
    // the least significant key first (psu2, then psu, then stratum), O(rows).
    order_.resize(static_cast<size_t>(rows_));
    std::iota(order_.begin(), order_.end(), 0);
    // (Codes from Python are dense; sparse codes from other callers would make
    // the count tables large, so they take the comparison sort.)
    const auto dense = [&](std::span<const int32_t> codes) {
      return codes.empty() || *std::max_element(codes.begin(), codes.end()) <= 2 * rows_ + 1024;
    };
    if (dense(in.psu2) && dense(in.psu) && dense(in.strata)) {
      std::vector<int32_t> scratch(order_.size());
      counting_pass(order_, scratch, in.psu2);
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

  int32_t n_strata = 1;
  for (int32_t c : in.strata) n_strata = std::max(n_strata, c + 1);
  stratum_labels_ = in.stratum_labels;
  psu_labels_ = in.psu_labels;
  while (static_cast<int32_t>(stratum_labels_.size()) < n_strata) {
    stratum_labels_.push_back(std::to_string(stratum_labels_.size()));
  }

  // Group boundaries: a new PSU starts where the stratum or the PSU code changes
  // (so with `nest` a PSU is a (stratum, psu) pair), a new psu2 unit where the
  // PSU or the psu2 code changes (R's svydesign nests later stages in earlier ones).
  std::vector<int64_t> stratum_first_psu(static_cast<size_t>(n_strata) + 1, -1);
  std::vector<int32_t> psu_stratum;  // per PSU: its stratum (nesting check)
  std::vector<int64_t> psu_min_row;  // per PSU: its first original row (nesting check)
  int32_t prev_h = -1, prev_p = -1, prev_q = -1;
  int64_t psu2_count = 0;
  for (int64_t s = 0; s < rows_; ++s) {
    const int64_t r = original(s);
    const int32_t h = code_at(in.strata, r);
    const bool new_stratum = h != prev_h;
    bool new_psu = new_stratum || in.psu.empty();
    if (!in.psu.empty()) {
      const int32_t p = in.psu[static_cast<size_t>(r)];
      new_psu = new_psu || p != prev_p;
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
        psu_stratum.push_back(h);
        psu_min_row.push_back(r);
      }
      if (!in.psu2.empty()) psu_psu2_begin_.push_back(psu2_count);
      ++psu_count_;
    } else if (!in.psu.empty()) {
      psu_min_row.back() = std::min(psu_min_row.back(), r);
    }
    if (!in.psu2.empty()) {
      const int32_t q = in.psu2[static_cast<size_t>(r)];
      if (new_psu || q != prev_q) {
        psu2_row_begin_.push_back(s);
        ++psu2_count;
      }
      prev_q = q;
    }
  }
  if (!in.psu.empty()) psu_row_begin_.push_back(rows_);
  if (!in.psu2.empty()) {
    psu_psu2_begin_.push_back(psu2_count);
    psu2_row_begin_.push_back(rows_);
  }

  // R's check.strata (svydesign without nest): a PSU id in more than one stratum
  // means clusters are not nested in strata.
  if (!nest_ && !in.strata.empty() && !in.psu.empty()) {
    std::vector<int64_t> by_code(static_cast<size_t>(psu_count_));
    std::iota(by_code.begin(), by_code.end(), 0);
    std::sort(by_code.begin(), by_code.end(), [&](int64_t a, int64_t b) {
      const int32_t ca = psu_code_[static_cast<size_t>(a)], cb = psu_code_[static_cast<size_t>(b)];
      return ca != cb ? ca < cb : a < b;
    });
    int64_t ids = 0, first_bad = -1, bad_psu = -1, home_psu = -1;
    for (size_t i = 0; i < by_code.size();) {
      size_t j = i + 1;
      const int32_t code = psu_code_[static_cast<size_t>(by_code[i])];
      while (j < by_code.size() && psu_code_[static_cast<size_t>(by_code[j])] == code) ++j;
      if (j - i > 1) {
        // The id's home is the stratum of its first row; rows in the others are bad.
        ++ids;
        size_t home = i;
        for (size_t k = i; k < j; ++k) {
          if (psu_min_row[static_cast<size_t>(by_code[k])] <
              psu_min_row[static_cast<size_t>(by_code[home])])
            home = k;
        }
        for (size_t k = i; k < j; ++k) {
          const int64_t row = psu_min_row[static_cast<size_t>(by_code[k])];
          if (k != home && (first_bad < 0 || row < first_bad)) {
            first_bad = row;
            bad_psu = by_code[k];
            home_psu = by_code[home];
          }
        }
      }
      i = j;
    }
    if (ids > 0) {
      std::ostringstream msg;
      msg << psu_name << ": " << ids << " PSU id(s) appear in more than one stratum of "
          << strata_name << " (first: row " << first_bad << ", PSU '" << psu_label(bad_psu)
          << "' in stratum '"
          << stratum_labels_[static_cast<size_t>(psu_stratum[static_cast<size_t>(bad_psu)])]
          << "' and '"
          << stratum_labels_[static_cast<size_t>(psu_stratum[static_cast<size_t>(home_psu)])]
          << "'): clusters are not nested in strata; pass nest=True if PSU ids are only "
             "unique within strata";
      throw InvalidInput(msg.str());
    }
  }

  stratum_psu_begin_.assign(static_cast<size_t>(n_strata) + 1, 0);
  for (int32_t h = 0; h < n_strata; ++h) {
    if (stratum_first_psu[static_cast<size_t>(h)] < 0) {
      throw InvalidInput("stratum code " + std::to_string(h) + " has no rows");
    }
    stratum_psu_begin_[static_cast<size_t>(h)] = stratum_first_psu[static_cast<size_t>(h)];
  }
  stratum_psu_begin_[static_cast<size_t>(n_strata)] = psu_count_;
  if (psu_count_ < 2) throw InvalidInput("the design has only one primary sampling unit");

  if (in.pps.active()) {
    set_pps(in, fpc_name, fpc2_name);
  } else {
    set_fpc(in, fpc_name, fpc2_name);
  }
  set_weights(in, fpc_name, fpc2_name);
  add_calibration(in.calibration);
}

void Design::set_fpc(const DesignInput& in, const std::string& fpc_name,
                     const std::string& fpc2_name) {
  const auto n_strata = static_cast<size_t>(strata());
  stratum_popsize_.assign(n_strata, kInf);
  has_fpc_ = !in.fpc.empty();
  if (!has_fpc_) return;
  auto original = [&](int64_t s) -> int64_t {
    return order_.empty() ? s : order_[static_cast<size_t>(s)];
  };
  // R's as.fpc: all values >= 1 (some > 1) are population sizes, all <= 1 are
  // sampling fractions (population = sampled units / fraction); else an error.
  bool any_above_one = false;
  int64_t small_row = -1, big_row = -1;
  const std::string* small_name = nullptr;
  const std::string* big_name = nullptr;
  double small_value = 0, big_value = 0;
  auto scan = [&](std::span<const double> fpc, const std::string& name) {
    for (size_t i = 0; i < fpc.size(); ++i) {
      any_above_one = any_above_one || fpc[i] > 1;
      if (fpc[i] < 1 && small_row < 0) {
        small_row = static_cast<int64_t>(i), small_name = &name, small_value = fpc[i];
      }
      if (fpc[i] > 1 && big_row < 0) {
        big_row = static_cast<int64_t>(i), big_name = &name, big_value = fpc[i];
      }
    }
  };
  scan(in.fpc, fpc_name);
  scan(in.fpc2, fpc2_name);
  if (any_above_one == (small_row >= 0)) {
    std::string msg =
        "fpc must be all population sizes (>= 1, some > 1) or all sampling fractions (<= 1)";
    if (small_row >= 0 && big_row >= 0) {
      msg += ": " + *big_name + " has " + number(big_value) + " at row " + std::to_string(big_row) +
             " but " + *small_name + " has " + number(small_value) + " at row " +
             std::to_string(small_row);
    } else {
      msg += ": every value is 1";
    }
    throw InvalidInput(msg);
  }
  const bool is_popsize = any_above_one;

  // Constant within strata (R warns and uses each row's; we require it).
  std::vector<int64_t> first_row(n_strata, -1);
  BadRows varies;
  int32_t varies_stratum = 0;
  for (int64_t r = 0; r < rows_; ++r) {
    const auto h = static_cast<size_t>(code_at(in.strata, r));
    const double f = in.fpc[static_cast<size_t>(r)];
    if (first_row[h] < 0) {
      first_row[h] = r;
    } else if (f != in.fpc[static_cast<size_t>(first_row[h])]) {
      if (!varies.any()) varies_stratum = static_cast<int32_t>(h);
      varies.add(r);
    }
  }
  if (varies.any()) {
    const auto h = static_cast<size_t>(varies_stratum);
    throw InvalidInput("fpc varies within stratum '" + stratum_labels_[h] + "': " + fpc_name +
                       " differs from its stratum's first value (" +
                       number(in.fpc[static_cast<size_t>(first_row[h])]) + " at row " +
                       std::to_string(first_row[h]) + ") in " + varies.describe() +
                       "; it must be constant within a stratum");
  }
  for (size_t h = 0; h < n_strata; ++h) {
    const double f = in.fpc[static_cast<size_t>(first_row[h])];
    const auto n_h = static_cast<double>(stratum_psu_count(static_cast<int32_t>(h)));
    stratum_popsize_[h] = is_popsize ? f : n_h / f;
    if (stratum_popsize_[h] < n_h) {
      throw InvalidInput("fpc implies more than 100% sampling in stratum '" + stratum_labels_[h] +
                         "': " + fpc_name + " gives a population of " +
                         number(stratum_popsize_[h]) + " for " + number(n_h) +
                         " sampled PSUs (row " + std::to_string(first_row[h]) + ")");
    }
  }
  if (in.fpc2.empty()) return;

  // Stage 2: per PSU (R's stage-2 strata are the PSUs), the same rules.
  psu_popsize2_.assign(static_cast<size_t>(psu_count_), kInf);
  BadRows varies2;
  int64_t varies_psu = -1, varies_first = -1;
  for (int64_t p = 0; p < psu_count_; ++p) {
    const auto pi = static_cast<size_t>(p);
    const int64_t m = psu_psu2_begin_[pi + 1] - psu_psu2_begin_[pi];
    const int64_t first = original(psu_row_begin_[pi]);
    const double f = in.fpc2[static_cast<size_t>(first)];
    for (int64_t s = psu_row_begin_[pi] + 1; s < psu_row_begin_[pi + 1]; ++s) {
      const int64_t r = original(s);
      if (in.fpc2[static_cast<size_t>(r)] != f) {
        if (!varies2.any()) varies_psu = p, varies_first = first;
        varies2.add(r);
      }
    }
    psu_popsize2_[pi] = is_popsize ? f : static_cast<double>(m) / f;
    if (psu_popsize2_[pi] < static_cast<double>(m)) {
      throw InvalidInput("fpc2 implies more than 100% sampling in PSU '" + psu_label(p) +
                         "': " + fpc2_name + " gives a population of " + number(psu_popsize2_[pi]) +
                         " for " + std::to_string(m) + " sampled units (row " +
                         std::to_string(first) + ")");
    }
  }
  if (varies2.any()) {
    throw InvalidInput("fpc2 varies within PSU '" + psu_label(varies_psu) + "': " + fpc2_name +
                       " differs from the PSU's first value (" +
                       number(in.fpc2[static_cast<size_t>(varies_first)]) + " at row " +
                       std::to_string(varies_first) + ") in " + varies2.describe() +
                       "; it must be constant within each PSU");
  }
}

void Design::set_pps(const DesignInput& in, const std::string& fpc_name,
                     const std::string& fpc2_name) {
  stratum_popsize_.assign(static_cast<size_t>(strata()), kInf);
  const PpsMethod method = in.pps.method;
  const std::string label = method == PpsMethod::Joint
                                ? std::string("a joint-probability matrix")
                                : "pps='" + std::string(to_string(method)) + "'";
  if (in.fpc.empty()) {
    throw InvalidInput(label + " needs fpc: each row's PSU inclusion probability (R's fpc as " +
                       "sampling fractions)");
  }
  if (!in.psu2.empty() || !in.fpc2.empty()) {
    if (method != PpsMethod::Brewer) {
      throw InvalidInput("psu2/fpc2: " + label + " has a single stage (R: \"Multistage PPS " +
                         "sampling not supported with this method\"); pps='brewer' has two");
    }
    if (in.psu2.empty() || in.fpc2.empty()) {
      throw InvalidInput("a two-stage PPS design needs psu2 and fpc2 (the second stage's " +
                         std::string("sampling fractions), as R's fpc has one column per stage"));
    }
  }
  if (method != PpsMethod::Brewer) {
    if (!in.weights.empty()) {
      throw InvalidInput("weights: with " + label + " the weights are 1 / fpc (R's svydesign " +
                         "ignores weights= there); omit weights");
    }
    if (in.lonely_psu != LonelyPsu::Fail) {
      throw InvalidInput("lonely_psu does not apply to " + label + ": a stratum with a single " +
                         "PSU adds (1 - pi) z^2 to the variance, as in R; omit lonely_psu");
    }
  }
  if (method == PpsMethod::Joint && !in.psu.empty()) {
    throw InvalidInput("a joint-probability matrix needs one row per PSU: omit psu (R's ppsmat " +
                       std::string("indexes the matrix by the data's rows)"));
  }
  has_fpc_ = true;
  auto original = [&](int64_t s) -> int64_t {
    return order_.empty() ? s : order_[static_cast<size_t>(s)];
  };
  // Each PSU's inclusion probability: its rows' fpc, which must agree (R warns).
  const auto P = static_cast<size_t>(psu_count_);
  std::vector<double> pi(P);
  std::vector<int64_t> psu_row(P);
  BadRows varies;
  int64_t varies_psu = -1;
  for (size_t p = 0; p < P; ++p) {
    const auto q = static_cast<int64_t>(p);
    psu_row[p] = original(psu_first_row(q));
    pi[p] = in.fpc[static_cast<size_t>(psu_row[p])];
    for (int64_t s = psu_first_row(q) + 1; s < psu_first_row(q + 1); ++s) {
      if (in.fpc[static_cast<size_t>(original(s))] != pi[p]) {
        if (!varies.any()) varies_psu = q;
        varies.add(original(s));
      }
    }
  }
  if (varies.any()) {
    throw InvalidInput("fpc varies within PSU '" + psu_label(varies_psu) + "': " + fpc_name +
                       " must be the PSU's inclusion probability, the same on its rows; " +
                       "it differs in " + varies.describe());
  }
  if (!in.fpc2.empty()) {
    // Stage 2 (Brewer only): sampling fractions, constant within each PSU, the
    // population m / f as R's as.fpc.
    psu_popsize2_.assign(P, kInf);
    BadRows varies2, bad2;
    int64_t varies2_psu = -1;
    for (int64_t q = 0; q < psu_count_; ++q) {
      const auto p = static_cast<size_t>(q);
      const double f = in.fpc2[static_cast<size_t>(psu_row[p])];
      if (!(f > 0 && f <= 1)) bad2.add(psu_row[p]);
      const int64_t s0 = psu_row_begin_[p], s1 = psu_row_begin_[p + 1];
      for (int64_t s = s0 + 1; s < s1; ++s) {
        if (in.fpc2[static_cast<size_t>(original(s))] != f) {
          if (!varies2.any()) varies2_psu = q;
          varies2.add(original(s));
        }
      }
      const auto m = static_cast<double>(psu_psu2_begin_[p + 1] - psu_psu2_begin_[p]);
      psu_popsize2_[p] = m / f;
    }
    if (bad2.any()) {
      throw InvalidInput(fpc2_name + " must hold sampling fractions in (0, 1] for a PPS design " +
                         "(R: \"fpc must be specified as sampling fraction for PPS sampling\"); " +
                         "not so in " + bad2.describe());
    }
    if (varies2.any()) {
      throw InvalidInput("fpc2 varies within PSU '" + psu_label(varies2_psu) + "': " + fpc2_name +
                         " must be constant within each PSU; it differs in " + varies2.describe());
    }
  }
  pps_ = std::make_shared<const PpsDesign>(
      make_pps_design(in.pps, std::move(pi), stratum_psu_begin_, psu_row, fpc_name));
}

void Design::set_weights(const DesignInput& in, const std::string& fpc_name,
                         const std::string& fpc2_name) {
  const auto n = static_cast<size_t>(rows_);
  auto original = [&](int64_t s) -> size_t {
    return order_.empty() ? static_cast<size_t>(s)
                          : static_cast<size_t>(order_[static_cast<size_t>(s)]);
  };
  if (!in.weights.empty()) {
    weight_original_.assign(in.weights.begin(), in.weights.end());
  } else if (!has_fpc_) {
    // R: "No weights or probabilities supplied, assuming equal probability".
    weight_original_.assign(n, 1.0);
  } else if (pps_) {
    // R's svydesign with pps: probability 1 / ((n_h / pi) / n_h) per PSU (as.fpc
    // then weights.survey_fpc), weight 1 / probability.
    weight_original_.assign(n, 0.0);
    for (int32_t h = 0; h < strata(); ++h) {
      const auto n_h = static_cast<double>(stratum_psu_count(h));
      for (int64_t p = stratum_psu_begin_[static_cast<size_t>(h)];
           p < stratum_psu_begin_[static_cast<size_t>(h) + 1]; ++p) {
        double prob = 1.0 / ((n_h / pps_->pi[static_cast<size_t>(p)]) / n_h);
        if (!psu_popsize2_.empty()) {
          const auto m = static_cast<double>(psu_psu2_begin_[static_cast<size_t>(p) + 1] -
                                             psu_psu2_begin_[static_cast<size_t>(p)]);
          prob *= 1.0 / (psu_popsize2_[static_cast<size_t>(p)] / m);
        }
        for (int64_t s = psu_first_row(p); s < psu_first_row(p + 1); ++s) {
          weight_original_[original(s)] = 1.0 / prob;
        }
      }
    }
  } else {
    // R's svydesign: probabilities 1 / (N / n) per stage (weights.survey_fpc with
    // final = FALSE), their product per row, and weights 1 / probability; it
    // refuses when a population exceeds 1e12 (an infinite one: fraction 0).
    weight_original_.assign(n, 0.0);
    BadRows too_big, too_big2;
    for (int32_t h = 0; h < strata(); ++h) {
      const double pop1 = stratum_popsize_[static_cast<size_t>(h)];
      const auto n_h = static_cast<double>(stratum_psu_count(h));
      for (int64_t p = stratum_psu_begin_[static_cast<size_t>(h)];
           p < stratum_psu_begin_[static_cast<size_t>(h) + 1]; ++p) {
        double prob = 1.0 / (pop1 / n_h);
        bool big2 = false;
        if (!psu_popsize2_.empty()) {
          const double pop2 = psu_popsize2_[static_cast<size_t>(p)];
          const auto m = static_cast<double>(psu_psu2_begin_[static_cast<size_t>(p) + 1] -
                                             psu_psu2_begin_[static_cast<size_t>(p)]);
          prob *= 1.0 / (pop2 / m);
          big2 = pop2 > kMaxPopulation;
        }
        for (int64_t s = psu_first_row(p); s < psu_first_row(p + 1); ++s) {
          const size_t r = original(s);
          if (pop1 > kMaxPopulation) too_big.add(static_cast<int64_t>(r));
          if (big2) too_big2.add(static_cast<int64_t>(r));
          weight_original_[r] = 1.0 / prob;
        }
      }
    }
    for (const auto& [bad, name] :
         {std::pair<const BadRows&, const std::string&>{too_big, fpc_name},
          {too_big2, fpc2_name}}) {
      if (bad.any()) {
        throw InvalidInput("no weights given and fpc cannot give them: " + name +
                           " implies a population above 1e12 (or a sampling fraction of 0) in " +
                           bad.describe());
      }
    }
  }
  weight_sorted_.resize(n);
  for (size_t s = 0; s < n; ++s)
    weight_sorted_[s] = weight_original_[original(static_cast<int64_t>(s))];
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

/// Row r of a step's model as a sparse (column, value) list: the indicator
/// form's one cell, or the dense row.
template <class Fn>
void for_each_column(const CalibrationStep& c, size_t r, double scale, Fn&& fn) {
  if (c.indicator) {
    fn(static_cast<size_t>(c.cell[r]), scale);
  } else {
    const size_t P = static_cast<size_t>(c.columns);
    const double* m = c.matrix.data() + r * P;
    for (size_t j = 0; j < P; ++j) fn(j, scale * m[j]);
  }
}

/// Appends a step to the chain with its cross terms C_kj = sum_i omega_k,i m_k,i
/// (w_cal,j,i m_j,i)' against every earlier step j (see Calibration).
void append_step(Calibration& chain, CalibrationStep step) {
  const size_t n = step.omega_factor.size();
  const auto Pk = static_cast<size_t>(step.columns);
  std::vector<std::vector<double>> cross;
  cross.reserve(chain.steps.size());
  for (const CalibrationStep& prev : chain.steps) {
    const auto Pj = static_cast<size_t>(prev.columns);
    if (Pk * Pj > (size_t{1} << 26)) {
      throw InvalidInput("chained weighting: " + std::to_string(Pk) + " x " + std::to_string(Pj) +
                         " calibration cells are too many to chain; weight with fewer cells");
    }
    std::vector<double> c(Pk * Pj, 0.0);
    for (size_t r = 0; r < n; ++r) {
      for_each_column(step, r, step.omega_factor[r], [&](size_t a, double va) {
        for_each_column(prev, r, prev.cal_weight[r],
                        [&](size_t b, double vb) { c[a * Pj + b] += va * vb; });
      });
    }
    cross.push_back(std::move(c));
  }
  chain.offset.push_back(chain.columns);
  chain.columns += step.columns;
  chain.cross.push_back(std::move(cross));
  chain.steps.push_back(std::move(step));
}

}  // namespace

void Design::add_calibration(const CalibrationInput& in) {
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
  CalibrationStep c;
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
  } else if (indicator) {
    c.normal_inverse.resize(P);
    for (size_t k = 0; k < P; ++k) {
      if (!(normal[k] > 0)) throw InvalidInput("a calibration cell has no sample weight");
      c.normal_inverse[k] = 1.0 / normal[k];
    }
  } else {
    c.normal_inverse = invert(std::move(normal), p);
  }
  append_step(calibration_, std::move(c));
}

Design Design::reweighted(std::span<const double> weights, const CalibrationInput& calibration,
                          bool allow_negative_weights) const {
  Design out = with_weights(weights, allow_negative_weights);
  out.add_calibration(calibration);
  return out;
}

Design Design::with_weights(std::span<const double> weights, bool allow_negative_weights) const {
  if (pps_ && pps_->method != PpsMethod::Brewer) {
    throw NotEstimable("weighting a design with pps='" + std::string(to_string(pps_->method)) +
                       "' is not supported (R's postStratify and rake fail on such designs); " +
                       "pps='brewer' designs can be weighted");
  }
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
    require_not_pps(*this, "a replicate-weight variance");
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
  std::string label = static_cast<size_t>(code) < psu_labels_.size()
                          ? psu_labels_[static_cast<size_t>(code)]
                          : std::to_string(code);
  if (!nest_) return label;
  // A nested PSU is its (stratum, psu) pair: "stratum / psu", as the Python layer's labels.
  const auto h = std::upper_bound(stratum_psu_begin_.begin(), stratum_psu_begin_.end(), p) -
                 stratum_psu_begin_.begin() - 1;
  return stratum_labels_[static_cast<size_t>(h)] + " / " + label;
}

}  // namespace steppe
