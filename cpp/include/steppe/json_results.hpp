// JSON for estimate tables: {"meta": {...}, "columns": [...], "rows": [{...}, ...]}.
// Column-oriented input (as the Python layer holds it), row-oriented output (as
// people and other tools read it). Key order is kept: columns appear in rows in
// the order given, and meta keeps the order it was parsed in.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace steppe {

/// Strings with missing values (null in JSON), e.g. by-column labels or `level`.
using StringColumn = std::vector<std::optional<std::string>>;

/// One column of an estimates table: its name and typed, non-owning or owned values.
/// Doubles that are NaN or infinite are written as null (JSON has no NaN).
struct ResultColumn {
  std::string name;
  std::variant<StringColumn, std::span<const double>, std::span<const int64_t>> values;
};

/// Number of rows in a column.
std::size_t column_size(const ResultColumn& column);

/// Builds {"meta": meta, "columns": [names], "rows": [{name: value, ...}, ...]}.
/// Throws InvalidInput when column lengths differ, a name is empty or repeated,
/// or meta is not a JSON object.
nlohmann::ordered_json estimates_json(std::span<const ResultColumn> columns,
                                      const nlohmann::ordered_json& meta);

/// estimates_json serialised; indent < 0 gives the compact one-line form.
/// Doubles are written with enough digits to round-trip exactly.
std::string estimates_to_json(std::span<const ResultColumn> columns,
                              const nlohmann::ordered_json& meta, int indent = -1);

}  // namespace steppe
