// Exception types of the core. Bindings map them to Python classes that also
// derive from ValueError, so callers can catch either.
#pragma once

#include <stdexcept>
#include <string>

namespace steppe {

/// Input that can never give an answer: wrong lengths, bad weights, bad codes.
class InvalidInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Valid input for which the requested estimate does not exist (e.g. a stratum
/// with a single PSU under lonely_psu="fail", an empty domain).
class NotEstimable : public std::domain_error {
 public:
  using std::domain_error::domain_error;
};

}  // namespace steppe
