// Weight trimming as R's survey:::trimWeights.survey.design2.
#include <cmath>
#include <sstream>
#include <vector>

#include "steppe/calibrate.hpp"
#include "steppe/errors.hpp"

namespace steppe {

// R: pwnew <- pmax(lower, pmin(pw, upper)); the amount trimmed, sum(pw - pwnew),
// is added in equal shares to the weights that were inside [lower, upper]
// (none when every weight was outside: the total then changes, as in R).
// strict = TRUE calls trimWeights again on the result until no weight is
// outside; the weights just set to a bound are "inside" on the next round and
// take a share too, so a bound can be crossed again and trimmed again.
TrimResult trim_weights(std::span<const double> weights, double lower, double upper, bool strict) {
  if (std::isnan(lower) || std::isnan(upper)) {
    throw InvalidInput("trim: the bounds must be numbers (use -inf / inf for no bound)");
  }
  if (lower > upper) {
    std::ostringstream msg;
    msg << "trim: lower (" << lower << ") is above upper (" << upper << ")";
    throw InvalidInput(msg.str());
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i])) {
      throw InvalidInput("trim: weight at row " + std::to_string(i) + " is not finite");
    }
  }
  // R recurses without limit; a cap turns a bound that cannot hold the
  // weights' total into an error instead of a stack overflow.
  constexpr int32_t kMaxRounds = 10000;
  TrimResult r;
  r.weights.assign(weights.begin(), weights.end());
  std::vector<double>& w = r.weights;
  std::vector<char> outside(w.size());
  for (;;) {
    size_t n_out = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      outside[i] = w[i] < lower || w[i] > upper;
      n_out += static_cast<size_t>(outside[i]);
    }
    if (r.rounds == 0) r.trimmed = static_cast<int64_t>(n_out);
    if (n_out == 0) break;
    if (r.rounds == kMaxRounds) {
      std::ostringstream msg;
      msg << "trim: strict trimming to [" << lower << ", " << upper << "] did not settle in "
          << kMaxRounds << " rounds; the bounds cannot hold the weights' total";
      throw NotEstimable(msg.str());
    }
    long double trimmings = 0;  // R's sum() accumulates in long double
    for (size_t i = 0; i < w.size(); ++i) {
      if (outside[i]) {
        const double x = w[i] < lower ? lower : upper;
        trimmings += w[i] - x;
        w[i] = x;
      }
    }
    const size_t n_in = w.size() - n_out;
    if (n_in > 0) {
      const double share = static_cast<double>(trimmings) / static_cast<double>(n_in);
      for (size_t i = 0; i < w.size(); ++i) {
        if (!outside[i]) w[i] += share;
      }
    }
    ++r.rounds;
    if (!strict) break;
  }
  return r;
}

}  // namespace steppe
