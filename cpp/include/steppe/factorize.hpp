// Factorising a column of strings into category codes: int32 codes (-1 =
// missing) and the distinct values sorted in code-point order, the codes and
// labels pandas' factorize(sort=True) gives. Hash-based and split across
// threads; the result is the same for any thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace steppe {

/// The distinct values of a factorised string column, in code order.
struct StringLevels {
  /// Distinct non-missing values sorted bytewise; for UTF-8 text that is
  /// code-point order (the order of Python's str comparison). Views into the input.
  std::vector<std::string_view> uniques;
  /// first_row[k]: the first row whose value is uniques[k].
  std::vector<size_t> first_row;
};

/// Factorises `values` into `codes` (same length): codes[i] is the position of
/// values[i] among the sorted distinct values, or -1 where missing[i] != 0
/// (`missing` is empty when no row is missing). Rows are hashed in chunks, one
/// per thread (`threads` 0 = all cores); the codes depend only on the values, so
/// they are identical for any thread count. Reads the views and writes `codes`
/// only: safe to call from several threads at once on different outputs.
/// Throws InvalidInput on mismatched lengths or more than 2^31 - 1 distinct values.
StringLevels factorize_strings(std::span<const std::string_view> values,
                               std::span<const uint8_t> missing, std::span<int32_t> codes,
                               unsigned threads = 0);

/// Convenience overload returning the codes in a vector.
struct StringFactors {
  std::vector<int32_t> codes;
  StringLevels levels;
};
StringFactors factorize_strings(std::span<const std::string_view> values,
                                std::span<const uint8_t> missing = {}, unsigned threads = 0);

}  // namespace steppe
