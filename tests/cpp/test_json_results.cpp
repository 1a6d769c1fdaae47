#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "steppe/errors.hpp"
#include "steppe/json_results.hpp"

using nlohmann::ordered_json;
using steppe::ResultColumn;
using steppe::StringColumn;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Table {
  std::vector<double> estimate{0.007, 0.3125, kNaN};
  std::vector<int64_t> n{290, 412, 0};
  std::vector<ResultColumn> columns{
      {"age_group", StringColumn{"18-29", "30-39", std::nullopt}},
      {"level", StringColumn{"improved", std::nullopt, "worsened"}},
      {"estimate", std::span<const double>(estimate)},
      {"n", std::span<const int64_t>(n)},
  };
};

ordered_json meta() {
  return ordered_json::parse(R"({"statistic": "proportion", "level": 0.95, "by": ["age_group"]})");
}

}  // namespace

TEST(JsonResults, LayoutHasMetaColumnsAndRowsInOrder) {
  Table t;
  const ordered_json out = steppe::estimates_json(t.columns, meta());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.begin().key(), "meta");
  EXPECT_EQ(out["meta"]["statistic"], "proportion");
  EXPECT_EQ(out["meta"].begin().key(), "statistic");  // meta order kept
  EXPECT_EQ(out["columns"], ordered_json::parse(R"(["age_group", "level", "estimate", "n"])"));
  ASSERT_EQ(out["rows"].size(), 3u);
  const auto& first = out["rows"][0];
  std::vector<std::string> keys;
  for (auto it = first.begin(); it != first.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"age_group", "level", "estimate", "n"}));
  EXPECT_EQ(first["age_group"], "18-29");
  EXPECT_EQ(first["level"], "improved");
  EXPECT_DOUBLE_EQ(first["estimate"].get<double>(), 0.007);
  EXPECT_TRUE(first["n"].is_number_integer());
  EXPECT_EQ(first["n"].get<int64_t>(), 290);
}

TEST(JsonResults, MissingValuesAreNull) {
  Table t;
  const ordered_json rows = steppe::estimates_json(t.columns, meta())["rows"];
  EXPECT_TRUE(rows[1]["level"].is_null());
  EXPECT_TRUE(rows[2]["age_group"].is_null());
  EXPECT_TRUE(rows[2]["estimate"].is_null());
}

TEST(JsonResults, InfinityIsNullAndTextIsValidJson) {
  std::vector<double> df{std::numeric_limits<double>::infinity(), 49.0};
  std::vector<ResultColumn> columns{{"df", std::span<const double>(df)}};
  const std::string text = steppe::estimates_to_json(columns, meta());
  EXPECT_EQ(text.find("inf"), std::string::npos);
  const ordered_json back = ordered_json::parse(text);
  EXPECT_TRUE(back["rows"][0]["df"].is_null());
  EXPECT_EQ(back["rows"][1]["df"].get<double>(), 49.0);
}

TEST(JsonResults, DoublesRoundTripExactly) {
  std::vector<double> x{0.1 + 0.2, 1.0 / 3.0, 2981946.0 / 19186015.0, 1e-300};
  std::vector<ResultColumn> columns{{"x", std::span<const double>(x)}};
  const ordered_json back = ordered_json::parse(steppe::estimates_to_json(columns, meta()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(back["rows"][i]["x"].get<double>(), x[i]) << "row " << i;
  }
}

TEST(JsonResults, IndentControlsLayout) {
  Table t;
  const std::string compact = steppe::estimates_to_json(t.columns, meta(), -1);
  const std::string pretty = steppe::estimates_to_json(t.columns, meta(), 2);
  EXPECT_EQ(compact.find('\n'), std::string::npos);
  EXPECT_NE(pretty.find("\n  \"columns\""), std::string::npos);
  EXPECT_EQ(ordered_json::parse(compact), ordered_json::parse(pretty));
}

TEST(JsonResults, NoColumnsGivesNoRows) {
  const ordered_json out = steppe::estimates_json({}, meta());
  EXPECT_TRUE(out["columns"].empty());
  EXPECT_TRUE(out["rows"].is_array());
  EXPECT_TRUE(out["rows"].empty());
}

TEST(JsonResults, UnequalLengthsNameTheColumn) {
  std::vector<double> a{1.0, 2.0};
  std::vector<double> b{1.0};
  std::vector<ResultColumn> columns{{"estimate", std::span<const double>(a)},
                                    {"se", std::span<const double>(b)}};
  try {
    steppe::estimates_json(columns, meta());
    FAIL() << "expected InvalidInput";
  } catch (const steppe::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'se' has 1 values"), std::string::npos) << e.what();
  }
}

TEST(JsonResults, RepeatedOrEmptyNamesAreRejected) {
  std::vector<double> a{1.0};
  std::vector<ResultColumn> repeated{{"se", std::span<const double>(a)},
                                     {"se", std::span<const double>(a)}};
  EXPECT_THROW(steppe::estimates_json(repeated, meta()), steppe::InvalidInput);
  std::vector<ResultColumn> empty{{"", std::span<const double>(a)}};
  EXPECT_THROW(steppe::estimates_json(empty, meta()), steppe::InvalidInput);
}

TEST(JsonResults, MetaMustBeAnObject) {
  EXPECT_THROW(steppe::estimates_json({}, ordered_json::array()), steppe::InvalidInput);
  ordered_json ordered = ordered_json::object();
  ordered["b"] = 1;
  ordered["a"] = 2;
  std::vector<ResultColumn> none;
  EXPECT_EQ(steppe::estimates_json(none, ordered)["meta"].begin().key(), "b");
}

TEST(JsonResults, InvalidUtf8IsReplacedNotThrown) {
  std::vector<ResultColumn> columns{{"label", StringColumn{std::string("caf\xe9")}}};
  std::string text;
  ASSERT_NO_THROW(text = steppe::estimates_to_json(columns, meta()));
  const ordered_json back = ordered_json::parse(text);
  EXPECT_EQ(back["rows"][0]["label"].get<std::string>(), "caf\xef\xbf\xbd");  // U+FFFD
}
