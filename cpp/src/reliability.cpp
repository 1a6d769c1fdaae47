// NCHS Data Presentation Standards for Proportions (see reliability.hpp).
#include "steppe/reliability.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "steppe/errors.hpp"
#include "steppe/interval.hpp"

namespace steppe {
namespace {

// Thresholds of Parker et al. 2017 (Vital Health Stat 2(175)).
constexpr double kMinSampleSize = 30.0;     // n and n_eff >= 30
constexpr double kNarrowWidth = 0.05;       // absolute CI width <= 0.05: present
constexpr double kWideWidth = 0.30;         // absolute CI width > 0.30: suppress
constexpr double kMaxRelativeWidth = 1.30;  // relative CI width > 130%: suppress
constexpr double kMinDf = 8.0;              // df < 8: statistical review

void validate(double p, double var, double n_rows, const char* function) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw InvalidInput(std::string(function) + ": p must be in [0, 1], got " + std::to_string(p));
  }
  if (!(var >= 0.0) || std::isinf(var)) {
    throw InvalidInput(std::string(function) + ": var must be finite and >= 0, got " +
                       std::to_string(var));
  }
  if (!(n_rows >= 0.0) || std::isinf(n_rows)) {
    throw InvalidInput(std::string(function) + ": n_rows must be finite and >= 0, got " +
                       std::to_string(n_rows));
  }
}

}  // namespace

double effective_sample_size(double p, double var, double n_rows) {
  validate(p, var, n_rows, "effective_sample_size");
  if (p == 0.0 || p == 1.0 || var == 0.0) return n_rows;
  // Parker et al. 2017: n_eff = n / deff, deff = var / var_srs, var_srs = p (1-p) / n,
  // with deff < 1 replaced by 1. So n_eff = min(n, p (1-p) / var).
  return std::min(n_rows, p * (1.0 - p) / var);
}

std::string reliability_flag(const ReliabilityInput& in) {
  validate(in.p, in.var, in.n_rows, "reliability_flag");
  if (!(in.df > 0.0)) {
    throw InvalidInput("reliability_flag: df must be > 0, got " + std::to_string(in.df));
  }
  std::vector<std::string> suppress;
  std::vector<std::string> review;
  const double n_eff = effective_sample_size(in.p, in.var, in.n_rows);
  // Rule 1: minimum sample size and effective sample size of 30.
  if (in.n_rows < kMinSampleSize) suppress.emplace_back("suppress: n < 30");
  if (n_eff < kMinSampleSize) suppress.emplace_back("suppress: n_eff < 30");
  // Rule 2: Korn & Graubard (1998) 95% CI width. The standard's effective sample
  // size caps deff at 1, so the variance passed on is at least p (1-p) / n.
  if (in.n_rows >= 2.0) {
    const bool boundary = in.p == 0.0 || in.p == 1.0;
    const double var_srs = in.p * (1.0 - in.p) / in.n_rows;
    const Interval kg = proportion_interval(
        CiMethod::Beta,
        {in.p, boundary ? in.var : std::max(in.var, var_srs), in.df, in.n_rows, 0.95});
    const double width = kg.high - kg.low;
    if (width > kWideWidth) {
      suppress.emplace_back("suppress: CI width > 0.30");
    } else if (width > kNarrowWidth && !boundary && width / in.p > kMaxRelativeWidth) {
      suppress.emplace_back("suppress: relative CI width > 130%");
    }
  }
  // Rules 3 and 4: statistical review.
  if (in.df < kMinDf) review.emplace_back("review: df < 8");
  if (in.p == 0.0 || in.p == 1.0) review.emplace_back("review: p = 0 or 1");
  std::string out;
  for (const auto* list : {&suppress, &review}) {
    for (const std::string& reason : *list) {
      if (!out.empty()) out += "; ";
      out += reason;
    }
  }
  return out;
}

}  // namespace steppe
