// A JSON value for checkpoint dumps, reports, repro files and scenarios; reading and writing are
// nlohmann-json's. The value type is ours for two things that library's (3.11) lacks: each parsed value
// knows its line and column (scenario errors point there), and numbers keep their source text so
// 64-bit ids and offsets round-trip exactly. Objects keep insertion order so output is stable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace lsm {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  static Json Bool(bool b);
  static Json Int(int64_t v);
  static Json Uint(uint64_t v);
  static Json Double(double v);
  // A number from JSON number text the caller has already validated (used by the parser).
  static Json NumberText(std::string text);
  static Json String(std::string s);
  static Json Array();
  static Json Object();

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }

  // Arrays.
  Json& Push(Json v);
  size_t size() const { return items_.size(); }
  const Json& operator[](size_t i) const { return items_[i].second; }
  const std::vector<std::pair<std::string, Json>>& items() const { return items_; }

  // Objects: Set replaces an existing key.
  Json& Set(std::string key, Json v);
  const Json* Find(std::string_view key) const;

  // Scalars: nullopt when the type or range does not fit.
  std::optional<int64_t> AsInt64() const;
  std::optional<uint64_t> AsUint64() const;
  std::optional<double> AsDouble() const;
  std::optional<bool> AsBool() const;
  const std::string* AsString() const { return type_ == Type::kString ? &text_ : nullptr; }

  // Compact, single-line JSON (nlohmann-json's writer).
  std::string Dump() const;

  // Where a parsed value starts in its text (1-based line and column; 0 for a value built in code), so
  // that errors about it can point there. Not part of the value: Dump and comparisons ignore it.
  uint32_t line() const { return line_; }
  uint32_t column() const { return column_; }
  void SetPosition(uint32_t line, uint32_t column) {
    line_ = line;
    column_ = column;
  }

 private:
  Type type_ = Type::kNull;
  std::string text_;  // number text, string value, or "true"/"false"
  std::vector<std::pair<std::string, Json>> items_;  // array items have empty keys
  uint32_t line_ = 0;
  uint32_t column_ = 0;
};

// Parses one JSON document (nlohmann-json's parser, strict, at most 64 levels deep); the error says
// where ("LINE:COLUMN: ", then the byte offset) and what was wrong there.
Result<Json> ParseJson(std::string_view text);

// An error about file `path`: "PATH:LINE:COLUMN: what" when the message starts with a position (as
// ParseJson's and a scenario's do), else "PATH: what".
std::string InFile(const std::string& path, const std::string& message);

}  // namespace lsm
