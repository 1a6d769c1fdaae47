// A sampling design: strata, PSUs (and optionally second-stage units), finite
// population corrections and weights, with the rows put in stratum / PSU / psu2
// order once, so that every estimate afterwards is a sequential scan.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/pps_variance.hpp"

namespace steppe {

struct ReplicateVariance;  // replicate.hpp: a replicate-weight variance backend

/// What to do with a stratum that has a single PSU (R: options(survey.lonely.psu)).
enum class LonelyPsu { Fail, Remove, Certainty, Adjust, Average };

/// Parses "fail", "remove", "certainty", "adjust", "average"; throws InvalidInput otherwise.
LonelyPsu parse_lonely_psu(std::string_view name);
std::string_view to_string(LonelyPsu rule);

/// A calibration (R's postStratify or calibrate) whose residuals enter the
/// variance: each row's linearised value z becomes z - w_cal * m' beta with
/// beta = A^-1 sum m z / g, A = sum w_base m m', g = w_cal / w_base
/// (R's svyrecvar: qr.resid of x / w on the calibration model, Sarndal et al. 1992).
struct CalibrationInput {
  /// Indicator form (post-strata): each row's cell code 0..columns-1. Or empty.
  std::span<const int32_t> cell;
  /// Dense form (a model matrix): rows x columns, row-major. Or empty.
  std::span<const double> matrix;
  int32_t columns = 0;
  std::span<const double> base_weights;        ///< weights before calibrating
  std::span<const double> calibrated_weights;  ///< weights right after calibrating
  /// Raking (R's rake): cells are the cross-classification of the margins; per
  /// margin, each cell's level and the cell's weight factor right after that
  /// margin's post-stratification in the last raking iteration. Empty: GREG.
  std::vector<std::vector<int32_t>> raking_levels;
  std::vector<std::vector<double>> raking_factors;
  bool active() const { return columns > 0; }
};

/// Column names for error messages (empty: the role alone, e.g. "fpc").
struct DesignColumns {
  std::string weights, strata, psu, psu2, fpc, fpc2;
};

/// Design columns in original row order. Codes are 0-based int32; the caller
/// (the Python layer) factorises labels. PSU codes must identify PSUs uniquely
/// across strata unless `nest`; psu2 codes are nested in PSUs (as R's svydesign).
struct DesignInput {
  /// Sampling weights, finite and >= 0. Empty: from fpc as R's svydesign (the
  /// product over stages of N/n), or all 1 when there is no fpc.
  std::span<const double> weights;
  std::span<const int32_t> strata;      ///< empty: a single stratum
  std::span<const int32_t> psu;         ///< empty: each row is its own PSU
  std::span<const int32_t> psu2;        ///< empty: no second stage
  std::span<const double> fpc;          ///< stage-1 population size or fraction; empty: none
  std::span<const double> fpc2;         ///< stage-2 population size or fraction; empty: none
  std::vector<std::string> stratum_labels;  ///< labels for messages, indexed by code
  std::vector<std::string> psu_labels;      ///< labels for messages, indexed by PSU code
  LonelyPsu lonely_psu = LonelyPsu::Fail;
  /// R's options(survey.adjust.domain.lonely = TRUE): a stratum with several PSUs
  /// of which a domain has rows in one only is treated by the lonely rule
  /// ("adjust": not centred; "average": left out, the others scaled up).
  /// One-stage designs only.
  bool adjust_domain_lonely = false;
  CalibrationInput calibration;
  /// Linear (GREG) calibration may leave negative weights, as R allows.
  bool allow_negative_weights = false;
  /// Rows; -1: the length of the first column given (needed when none is).
  int64_t rows = -1;
  /// PSU ids repeat across strata (R's nest=TRUE): a PSU is a (stratum, psu) pair.
  bool nest = false;
  /// PPS sampling without replacement (R's pps=): fpc are inclusion probabilities.
  PpsInput pps;
  DesignColumns columns;
};

/// One weighting step's calibration in original row order (see CalibrationInput):
/// one entry of R's design$postStrata.
struct CalibrationStep {
  int32_t columns = 0;
  bool indicator = false;
  std::vector<int32_t> cell;          ///< indicator form, per row
  std::vector<double> matrix;         ///< dense form, per row x columns
  std::vector<double> omega_factor;   ///< per row: w_base / w_cal
  std::vector<double> cal_weight;     ///< per row: w_cal
  std::vector<double> normal_inverse; ///< columns x columns: A^-1 (indicator: diagonal only)
  // Raking (indicator form; omega = w / w_base and cal_weight = w_base there):
  std::vector<std::vector<int32_t>> raking_levels;   ///< per margin: level of each cell
  std::vector<std::vector<double>> raking_factors;   ///< per margin: factor of each cell
  std::vector<std::vector<double>> raking_level_rows;  ///< per margin: rows per level
  std::vector<double> cell_rows;                     ///< rows per cell
  bool raking() const { return !raking_factors.empty(); }
  bool active() const { return columns > 0; }
};

/// Every calibration of a chain of weighting steps, in the order they were
/// applied: R's design$postStrata list, whose residuals svyrecvar takes in
/// turn (x <- resid_1(x), then resid_2, ...). Step k's residual is
/// x - w_cal,k m_k' beta_k with beta_k = Op_k(sum omega_k m_k x_(k-1)), where
/// x_(k-1) is x after the steps before it; so beta_k = Op_k(V_k - sum_{j<k}
/// C_kj beta_j) with V_k = sum omega_k m_k x accumulated in one pass and the
/// design constants C_kj = sum omega_k m_k (w_cal,j m_j)'. The engine stacks
/// the steps' columns: step k owns columns [offset[k], offset[k] + columns_k).
struct Calibration {
  std::vector<CalibrationStep> steps;
  std::vector<int32_t> offset;  ///< per step: its first stacked column
  int32_t columns = 0;          ///< stacked columns of all steps
  /// cross[k][j] (j < k): C_kj, steps[k].columns x steps[j].columns, row-major.
  std::vector<std::vector<std::vector<double>>> cross;
  bool active() const { return columns > 0; }
  /// The last step (the design must be calibrated).
  const CalibrationStep& last() const { return steps.back(); }
};

/// Row ranges of the sorted design. A "group" is a contiguous range of sorted rows.
class Design {
 public:
  explicit Design(const DesignInput& input);

  /// The same design (strata, PSUs, order, FPC) with new weights and, when
  /// `calibration` is active, one more calibration step after those it has (R
  /// appends to design$postStrata): weighting steps reuse the sort.
  Design reweighted(std::span<const double> weights, const CalibrationInput& calibration,
                    bool allow_negative_weights) const;
  /// The same design, calibration included, with new weights (trimming a
  /// calibrated design keeps its calibration residuals, as R keeps postStrata).
  Design with_weights(std::span<const double> weights, bool allow_negative_weights) const;

  int64_t rows() const { return rows_; }
  int32_t strata() const { return static_cast<int32_t>(stratum_psu_begin_.size()) - 1; }
  int64_t psus() const { return psu_count_; }
  bool rows_are_psus() const { return psu_row_begin_.empty(); }
  bool has_second_stage() const { return !psu2_row_begin_.empty(); }
  bool has_fpc() const { return has_fpc_; }
  /// Strata were given (R's has.strata), even if only one.
  bool has_strata() const { return has_strata_; }
  LonelyPsu lonely_psu() const { return lonely_; }
  /// R's survey.adjust.domain.lonely (DesignInput::adjust_domain_lonely).
  bool adjust_domain_lonely() const { return adjust_domain_lonely_; }

  /// Sorted position -> original row; empty when the input was already sorted.
  const std::vector<int32_t>& order() const { return order_; }
  /// Original row -> sorted position; empty when the input was already sorted.
  const std::vector<int32_t>& rank() const { return rank_; }
  /// Weights in sorted order.
  const std::vector<double>& sorted_weights() const { return weight_sorted_; }
  /// Weights in original row order (scan 1 reads rows as they come).
  const std::vector<double>& weights() const { return weight_original_; }
  /// PSU index range [stratum_psu_begin[h], stratum_psu_begin[h+1]) of stratum h.
  const std::vector<int64_t>& stratum_psu_begin() const { return stratum_psu_begin_; }
  /// First sorted row of PSU p (size psus()+1); empty when rows are PSUs.
  const std::vector<int64_t>& psu_row_begin() const { return psu_row_begin_; }
  /// Stage-1 population size per stratum (+inf when there is no fpc).
  const std::vector<double>& stratum_popsize() const { return stratum_popsize_; }
  /// Stage 2: psu2 index range per PSU, first sorted row per psu2, population size per PSU.
  const std::vector<int64_t>& psu_psu2_begin() const { return psu_psu2_begin_; }
  const std::vector<int64_t>& psu2_row_begin() const { return psu2_row_begin_; }
  const std::vector<double>& psu_popsize2() const { return psu_popsize2_; }
  const std::string& stratum_label(int32_t h) const { return stratum_labels_[static_cast<size_t>(h)]; }
  /// Label of the PSU at sorted index p (its code when no labels were given).
  std::string psu_label(int64_t p) const;

  /// Number of PSUs in stratum h in the full design (R's fpc$sampsize).
  int64_t stratum_psu_count(int32_t h) const {
    return stratum_psu_begin_[static_cast<size_t>(h) + 1] - stratum_psu_begin_[static_cast<size_t>(h)];
  }
  /// Sorted-row range of PSU p.
  int64_t psu_first_row(int64_t p) const {
    return rows_are_psus() ? p : psu_row_begin_[static_cast<size_t>(p)];
  }
  const Calibration& calibration() const { return calibration_; }
  /// The replicate-weight variance backend (R's svrepdesign), or nullptr for a
  /// Taylor-linearisation design.
  const ReplicateVariance* replicates() const { return replicates_.get(); }
  /// The same design with a replicate-weight variance backend (shared, immutable).
  Design with_replicates(std::shared_ptr<const ReplicateVariance> replicates) const;
  /// The PPS variance constants (R's svydesign(pps = ...)), or nullptr.
  const PpsDesign* pps() const { return pps_.get(); }
  /// R's degf(design): PSUs minus strata.
  int64_t degf() const { return psu_count_ - strata(); }

 private:
  /// Appends a calibration step (no-op when `in` is not active).
  void add_calibration(const CalibrationInput& in);
  void set_fpc(const DesignInput& in, const std::string& fpc_name, const std::string& fpc2_name);
  void set_pps(const DesignInput& in, const std::string& fpc_name, const std::string& fpc2_name);
  void set_weights(const DesignInput& in, const std::string& fpc_name,
                   const std::string& fpc2_name);
  int64_t rows_ = 0;
  int64_t psu_count_ = 0;
  bool has_fpc_ = false;
  bool has_strata_ = false;
  LonelyPsu lonely_ = LonelyPsu::Fail;
  bool adjust_domain_lonely_ = false;
  std::vector<int32_t> order_;
  std::vector<int32_t> rank_;
  std::vector<double> weight_sorted_;
  std::vector<double> weight_original_;
  std::vector<int64_t> stratum_psu_begin_;
  std::vector<int64_t> psu_row_begin_;
  std::vector<double> stratum_popsize_;
  std::vector<int64_t> psu_psu2_begin_;
  std::vector<int64_t> psu2_row_begin_;
  std::vector<double> psu_popsize2_;
  std::vector<std::string> stratum_labels_;
  std::vector<int32_t> psu_code_;  ///< per PSU index: its input code
  bool nest_ = false;
  std::vector<std::string> psu_labels_;
  Calibration calibration_;
  std::shared_ptr<const ReplicateVariance> replicates_;
  std::shared_ptr<const PpsDesign> pps_;
};

}  // namespace steppe
