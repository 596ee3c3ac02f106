#include "sim/json.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include "absl/strings/str_format.h"

namespace lsm {

Json Json::Bool(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.text_ = b ? "true" : "false";
  return j;
}
Json Json::Int(int64_t v) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = std::to_string(v);
  return j;
}
Json Json::Uint(uint64_t v) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = std::to_string(v);
  return j;
}
Json Json::Double(double v) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = absl::StrFormat("%.6g", v);
  return j;
}
Json Json::NumberText(std::string text) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = std::move(text);
  return j;
}
Json Json::String(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.text_ = std::move(s);
  return j;
}
Json Json::Array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}
Json Json::Object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

Json& Json::Push(Json v) {
  items_.emplace_back(std::string(), std::move(v));
  return *this;
}

Json& Json::Set(std::string key, Json v) {
  for (auto& [k, existing] : items_) {
    if (k == key) {
      existing = std::move(v);
      return *this;
    }
  }
  items_.emplace_back(std::move(key), std::move(v));
  return *this;
}

const Json* Json::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : items_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<int64_t> Json::AsInt64() const {
  if (type_ != Type::kNumber) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> Json::AsUint64() const {
  if (type_ != Type::kNumber) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return v;
}

std::optional<double> Json::AsDouble() const {
  if (type_ != Type::kNumber) return std::nullopt;
  return std::strtod(text_.c_str(), nullptr);
}

std::optional<bool> Json::AsBool() const {
  if (type_ != Type::kBool) return std::nullopt;
  return text_ == "true";
}

namespace {

void DumpString(const std::string& s, std::string& out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(char(c));
        }
    }
  }
  out.push_back('"');
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Json> Document() {
    Json v;
    if (!Value(&v, 0)) return Error();
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("end of document");
      return Error();
    }
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Status Error() const {
    uint32_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < error_pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    return Status::InvalidArgument(absl::StrFormat("%u:%u: JSON: expected %s (byte %u)", line, error_pos_ - line_start + 1,
                                                   expected_, error_pos_));
  }
  // The line and column of `offset`; offsets are asked for in increasing order (values in document
  // order), so the newlines are counted once.
  std::pair<uint32_t, uint32_t> LineColumn(size_t offset) {
    for (; counted_ < offset && counted_ < s_.size(); ++counted_) {
      if (s_[counted_] == '\n') {
        ++line_;
        line_start_ = counted_ + 1;
      }
    }
    return {line_, uint32_t(offset - line_start_ + 1)};
  }
  bool Fail(std::string expected) {
    expected_ = std::move(expected);
    error_pos_ = pos_;
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Fail(absl::StrFormat("'%s'", std::string(word)));
    pos_ += word.size();
    return true;
  }

  bool Value(Json* out, int depth) {
    if (depth > kMaxDepth) return Fail("less nesting");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("a value");
    const auto [line, column] = LineColumn(pos_);
    if (!AnyValue(out, depth)) return false;
    out->SetPosition(line, column);
    return true;
  }

  bool AnyValue(Json* out, int depth) {
    char c = s_[pos_];
    if (c == '{') return ObjectValue(out, depth);
    if (c == '[') return ArrayValue(out, depth);
    if (c == '"') {
      std::string str;
      if (!StringValue(&str)) return false;
      *out = Json::String(std::move(str));
      return true;
    }
    if (c == 't') {
      *out = Json::Bool(true);
      return Literal("true");
    }
    if (c == 'f') {
      *out = Json::Bool(false);
      return Literal("false");
    }
    if (c == 'n') {
      *out = Json();
      return Literal("null");
    }
    return NumberValue(out);
  }

  bool NumberValue(Json* out) {
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    size_t digits = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ == digits) return Fail("a value");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    *out = Json::NumberText(std::string(s_.substr(start, pos_ - start)));
    return true;
  }

  bool StringValue(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        return Fail("no control characters in a string");
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          unsigned code = 0;
          if (pos_ + 4 > s_.size()) return Fail("4 hex digits");
          auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + 4, code, 16);
          if (ec != std::errc() || end != s_.data() + pos_ + 4) return Fail("4 hex digits");
          pos_ += 4;
          if (code < 0x80) {
            out->push_back(char(code));
          } else if (code < 0x800) {
            out->push_back(char(0xC0 | (code >> 6)));
            out->push_back(char(0x80 | (code & 0x3F)));
          } else {
            out->push_back(char(0xE0 | (code >> 12)));
            out->push_back(char(0x80 | ((code >> 6) & 0x3F)));
            out->push_back(char(0x80 | (code & 0x3F)));
          }
          break;
        }
        default:
          --pos_;
          return Fail("a valid escape");
      }
    }
    return Fail("closing '\"'");
  }

  bool ArrayValue(Json* out, int depth) {
    ++pos_;
    *out = Json::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      Json item;
      if (!Value(&item, depth + 1)) return false;
      out->Push(std::move(item));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("',' or ']'");
    }
  }

  bool ObjectValue(Json* out, int depth) {
    ++pos_;
    *out = Json::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("a string key");
      std::string key;
      if (!StringValue(&key)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("':'");
      ++pos_;
      Json item;
      if (!Value(&item, depth + 1)) return false;
      out->Set(std::move(key), std::move(item));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("',' or '}'");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string expected_;
  size_t error_pos_ = 0;
  size_t counted_ = 0;     // LineColumn: newlines before this offset are counted
  uint32_t line_ = 1;
  size_t line_start_ = 0;
};

}  // namespace

void Json::DumpTo(std::string& out) const {
  switch (type_) {
    case Type::kNull: out += "null"; break;
    case Type::kBool:
    case Type::kNumber: out += text_; break;
    case Type::kString: DumpString(text_, out); break;
    case Type::kArray: {
      out.push_back('[');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out.push_back(',');
        items_[i].second.DumpTo(out);
      }
      out.push_back(']');
      break;
    }
    case Type::kObject: {
      out.push_back('{');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out.push_back(',');
        DumpString(items_[i].first, out);
        out.push_back(':');
        items_[i].second.DumpTo(out);
      }
      out.push_back('}');
      break;
    }
  }
}

std::string Json::Dump() const {
  std::string out;
  DumpTo(out);
  return out;
}

std::string InFile(const std::string& path, const std::string& message) {
  const bool positioned = !message.empty() && std::isdigit(static_cast<unsigned char>(message[0]));
  return path + (positioned ? ":" : ": ") + message;
}

Result<Json> ParseJson(std::string_view text) { return Parser(text).Document(); }

}  // namespace lsm
