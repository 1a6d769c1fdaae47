#include "steppe/json_results.hpp"

#include <cmath>
#include <set>
#include <string_view>

#include "steppe/errors.hpp"

namespace steppe {

namespace {

struct CellWriter {
  std::size_t row;

  nlohmann::ordered_json operator()(const StringColumn& values) const {
    const auto& cell = values[row];
    return cell ? nlohmann::ordered_json(*cell) : nlohmann::ordered_json(nullptr);
  }
  nlohmann::ordered_json operator()(std::span<const double> values) const {
    const double x = values[row];
    // JSON has no NaN or infinity; a missing estimate must read as missing, not as 0.
    return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr);
  }
  nlohmann::ordered_json operator()(std::span<const int64_t> values) const {
    return nlohmann::ordered_json(values[row]);
  }
};

}  // namespace

std::size_t column_size(const ResultColumn& column) {
  return std::visit([](const auto& values) { return values.size(); }, column.values);
}

nlohmann::ordered_json estimates_json(std::span<const ResultColumn> columns,
                                      const nlohmann::ordered_json& meta) {
  if (!meta.is_object()) {
    throw InvalidInput("results JSON: meta must be a JSON object, got " +
                       std::string(meta.type_name()));
  }
  std::set<std::string_view> seen;
  const std::size_t rows = columns.empty() ? 0 : column_size(columns.front());
  for (const auto& column : columns) {
    if (column.name.empty()) {
      throw InvalidInput("results JSON: a column has an empty name");
    }
    if (!seen.insert(column.name).second) {
      throw InvalidInput("results JSON: column '" + column.name + "' appears twice");
    }
    if (column_size(column) != rows) {
      throw InvalidInput("results JSON: column '" + column.name + "' has " +
                         std::to_string(column_size(column)) + " values, column '" +
                         columns.front().name + "' has " + std::to_string(rows));
    }
  }

  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const auto& column : columns) names.push_back(column.name);

  nlohmann::ordered_json out_rows = nlohmann::ordered_json::array();
  out_rows.get_ref<nlohmann::ordered_json::array_t&>().reserve(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    for (const auto& column : columns) {
      row[column.name] = std::visit(CellWriter{r}, column.values);
    }
    out_rows.push_back(std::move(row));
  }

  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["meta"] = meta;
  out["columns"] = std::move(names);
  out["rows"] = std::move(out_rows);
  return out;
}

std::string estimates_to_json(std::span<const ResultColumn> columns,
                              const nlohmann::ordered_json& meta, int indent) {
  // Replace invalid UTF-8 instead of throwing: labels come from user files.
  return estimates_json(columns, meta)
      .dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace steppe
