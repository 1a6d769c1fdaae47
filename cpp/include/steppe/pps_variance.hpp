// Variances of PPS samples drawn without replacement (R's svydesign(pps = ...)).
//
// The Horvitz-Thompson variance of a total is the quadratic form
//   V = sum_ij Dcheck_ij z_i z_j,   Dcheck_ij = (pi_ij - pi_i pi_j) / pi_ij,
// over the PSU totals z_i of the linearised variable (already divided by pi_i:
// they are weighted sums), and the Yates-Grundy form subtracts
// sum_i (sum_j Dcheck_ji) z_i^2 (Sarndal, Swensson & Wretman 1992, ch. 2; R's
// htvar.matrix and ygvar.matrix). pi_ij comes from a joint-probability matrix
// or from an approximation inside each stratum of n PSUs:
//   Brewer      (1 - pi_i) n / (n - 1) on the centred square (R's onestrat, pps = "brewer")
//   Overton     pi_ij = pi_i pi_j (n - 1) / (n - (pi_i + pi_j) / 2)   (R's overton2Dcheck)
//   Hartley-Rao pi_ij = pi_i pi_j (n - 1) / (n - pi_i - pi_j + p2)     (R's HRDcheck)
// with p2 = sum pi^2 / n of the population (R's HR(psum)) or, by default, the
// stratum's mean sample pi (R's HR()). The approximations cost O(n): each form is
// evaluated on totals centred at their stratum mean (see pps_form).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace steppe {

class Design;
struct SpreadState;

/// How the joint inclusion probabilities are had (R's pps= argument).
enum class PpsMethod { None, Brewer, Overton, HartleyRao, Joint };
/// The variance estimator (R's variance= argument).
enum class PpsVariance { HorvitzThompson, YatesGrundy };

/// Parses "brewer", "overton", "hartley-rao", "joint"; throws InvalidInput otherwise.
PpsMethod parse_pps_method(std::string_view name);
/// Parses "HT", "YG"; throws InvalidInput otherwise.
PpsVariance parse_pps_variance(std::string_view name);
std::string_view to_string(PpsMethod method);

/// What the caller gives (DesignInput::pps).
struct PpsInput {
  PpsMethod method = PpsMethod::None;
  PpsVariance variance = PpsVariance::HorvitzThompson;
  /// Joint: rows x rows joint inclusion probabilities, row-major, original row order.
  std::span<const double> joint;
  /// Joint: Dcheck entries below this in absolute value are 0 (R's ppsmat tolerance).
  double tolerance = 1e-4;
  /// Hartley-Rao: sum pi^2 / n of the population, one value or one per stratum
  /// code; empty: each stratum's mean sample pi (R's HR() without psum).
  std::vector<double> hr_p2bar;
  bool active() const { return method != PpsMethod::None; }
};

/// The constants of the quadratic form, fixed when the design is built. Indices
/// are sorted PSU indices (Design's order). For a stratum of n >= 2 PSUs the
/// form on totals a, b (zero outside the PSUs given) is
///   a'Db = sum_i diag_i (a_i - ca)(b_i - cb) + cb sum_i row_i a_i + ca sum_i row_i b_i
///          - ca cb row_total + (Hartley-Rao pairs with pi_i + pi_j == 1, set to 0 by R)
/// with ca, cb the means over all n PSUs (Brewer: row = 0).
struct PpsDesign {
  PpsMethod method = PpsMethod::None;
  PpsVariance variance = PpsVariance::HorvitzThompson;
  std::vector<double> pi;          ///< per PSU: inclusion probability (fpc)
  std::vector<double> diag;        ///< per PSU: weight of the centred square
  std::vector<double> row;         ///< per PSU: sum_j Dcheck_ij of the smooth form
  std::vector<double> yg;          ///< per PSU: sum_j Dcheck_ji as R's Dcheck has it (Yates-Grundy)
  std::vector<double> diag_total;  ///< per stratum: sum of diag
  std::vector<double> row_total;   ///< per stratum: sum of row
  std::vector<uint8_t> certain;    ///< per stratum (Brewer): every 1 - pi below 1e-7
  std::vector<double> p2bar;       ///< per stratum (Hartley-Rao)
  /// Hartley-Rao: PSUs in groups of equal pi; a group's partners are the groups
  /// whose pi adds to exactly 1 with its own (R zeroes those pairs' Dcheck).
  std::vector<int64_t> group;                  ///< per PSU: group, or -1
  std::vector<std::vector<int64_t>> partners;  ///< per group
  std::vector<double> group_scale;             ///< per group: p2 / (n - 1)
  /// Joint: Dcheck, psus x psus, sorted order.
  std::vector<double> dcheck;
  int64_t psus() const { return static_cast<int64_t>(pi.size()); }
};

/// Builds the constants. pi: per sorted PSU; stratum_psu_begin as Design's;
/// psu_row: per sorted PSU, its original row (Joint: rows are PSUs).
PpsDesign make_pps_design(const PpsInput& in, std::vector<double> pi,
                          std::span<const int64_t> stratum_psu_begin,
                          std::span<const int64_t> psu_row, const std::string& fpc_name);

/// The form a'Dcheck b (Horvitz-Thompson) or its Yates-Grundy version for PSU
/// totals a, b at sorted PSUs `psus` (ascending; zero at every other PSU). For
/// the approximations the PSUs all lie in stratum h (n >= 2, or n = 1 for Overton
/// and Hartley-Rao); for Joint h is ignored.
double pps_form(const PpsDesign& pps, int32_t h, int64_t n_h, std::span<const int64_t> psus,
                std::span<const double> a, std::span<const double> b);

/// R's Dcheck of one stratum as a dense n x n matrix, straight from R's
/// definitions (overton2Dcheck, HRDcheck; Brewer: the centring matrix of
/// onestrat, n/(n-1) (I - J/n) diag(f) (I - J/n)). A reference for tests.
std::vector<double> pps_stratum_dcheck(PpsMethod method, std::span<const double> pi, double p2bar);

/// PSU totals of the linearised variable for every domain a PSU touches, in
/// PSU order (what scan 2 collects for a PPS design).
struct PpsTotals {
  int32_t cells = 1;
  std::vector<int64_t> psu;
  std::vector<int32_t> domain;
  std::vector<uint8_t> real;  ///< the PSU has rows of the domain
  std::vector<double> z;      ///< per entry * cells
  template <class ZOf>
  void add(int64_t p, int32_t d, bool has_rows, ZOf&& z_of) {
    psu.push_back(p);
    domain.push_back(d);
    real.push_back(has_rows ? 1 : 0);
    for (int32_t k = 0; k < cells; ++k) z.push_back(z_of(k));
  }
};

/// Folds every domain's PPS variance (and covariance when asked) into the state,
/// with degf counts and, for Brewer, the lonely-PSU rules of R's onestrat.
void pps_spread(const Design& design, const PpsTotals& totals, bool covariance, SpreadState& st);

/// Throws NotEstimable when the design is PPS: for computations that do not go
/// through the PPS variance (what names the computation, for the message).
void require_not_pps(const Design& design, const std::string& what);

}  // namespace steppe
