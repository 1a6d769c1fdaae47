// Reading the golden data sets (CSV, as R's read.csv(na.strings = "")) from the
// C++ tests: text columns become codes with sorted labels, numbers doubles.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace steppe::golden {

/// A CSV file's cells by column name; an empty unquoted field is missing.
struct Table {
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::optional<std::string>>> cells;
  size_t rows = 0;

  const std::vector<std::optional<std::string>>& column(const std::string& name) const {
    auto it = cells.find(name);
    if (it == cells.end()) throw std::runtime_error("no column " + name);
    return it->second;
  }
  /// Numbers (NaN = missing).
  std::vector<double> numeric(const std::string& name) const {
    std::vector<double> out;
    for (const auto& v : column(name)) out.push_back(v ? std::stod(*v) : std::nan(""));
    return out;
  }
  /// Codes 0..labels-1 in sorted label order (-1 = missing), and the labels.
  std::vector<int32_t> codes(const std::string& name, std::vector<std::string>* labels) const {
    std::vector<std::string> lab;
    for (const auto& v : column(name)) {
      if (v) lab.push_back(*v);
    }
    std::sort(lab.begin(), lab.end());
    lab.erase(std::unique(lab.begin(), lab.end()), lab.end());
    std::vector<int32_t> out;
    for (const auto& v : column(name)) {
      out.push_back(
          v ? static_cast<int32_t>(std::lower_bound(lab.begin(), lab.end(), *v) - lab.begin())
            : -1);
    }
    if (labels) *labels = lab;
    return out;
  }
};

/// Splits one CSV line (RFC 4180 quoting; no newlines inside fields).
inline std::vector<std::optional<std::string>> split_csv(const std::string& line) {
  std::vector<std::optional<std::string>> out;
  std::string cur;
  bool quoted = false, in_quotes = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    const char c = i < line.size() ? line[i] : ',';
    if (in_quotes) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      in_quotes = quoted = true;
    } else if (c == ',') {
      if (cur.empty() && !quoted) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(cur);
      }
      cur.clear();
      quoted = false;
    } else if (c != '\r') {
      cur += c;
    }
  }
  return out;
}

/// A CSV file given relative to the repository root.
inline Table read_csv(const std::string& relative) {
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  std::ifstream in(root / relative);
  if (!in) throw std::runtime_error("cannot open " + (root / relative).string());
  Table t;
  std::string line;
  std::getline(in, line);
  for (const auto& n : split_csv(line)) t.names.push_back(n.value_or(""));
  for (const auto& n : t.names) t.cells[n];
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto fields = split_csv(line);
    if (fields.size() != t.names.size()) throw std::runtime_error("ragged row in " + relative);
    for (size_t j = 0; j < fields.size(); ++j) t.cells[t.names[j]].push_back(fields[j]);
    ++t.rows;
  }
  return t;
}

}  // namespace steppe::golden
