#include "sim/json.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include <iterator>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

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

// The text nlohmann's lexer reads, one char at a time, through an iterator that counts: the count at a
// SAX event is where the token just read ends (plus one char of look-ahead after a number), which is
// how a parsed value learns its line and column.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* p, size_t* count) : p_(p), count_(count) {}
  const char& operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    ++*count_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const CountingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  size_t* count_;
};

// Builds a Json from nlohmann's SAX events, each value stamped with where it starts.
class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  static constexpr size_t kMaxDepth = 64;  // deeper documents are refused (no file of ours nests so)

  explicit Builder(std::string_view text) : text_(text) {}
  size_t* count() { return &count_; }

  Result<Json> Finish(bool parsed) {
    if (!parsed || !error_.empty() || !root_) return Error();
    return std::move(*root_);
  }

  bool null() override { return Add(Json()); }
  bool boolean(bool v) override { return Add(Json::Bool(v)); }
  bool number_integer(number_integer_t v) override { return Add(Json::Int(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Add(Json::Uint(v)); }
  bool number_float(number_float_t, const string_t& text) override { return Add(Json::NumberText(text)); }
  bool string(string_t& v) override { return Add(Json::String(std::move(v))); }
  bool binary(binary_t&) override { return Refuse("no binary values"); }
  bool start_object(std::size_t) override { return Open(Json::Object()); }
  bool key(string_t& k) override {
    keys_.back() = std::move(k);
    end_ = count_;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(Json::Array()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ...": keep the part
    // after the position; ours comes first, in the form every error about a file uses.
    std::string what = e.what();
    if (size_t colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    error_ = what;
    error_at_ = position == 0 ? 0 : position - 1;
    return false;
  }

 private:
  // Where the value whose token was just read starts: past the white space and separators after the
  // previous token.
  size_t ValueStart() const {
    size_t at = end_;
    while (at < text_.size() && (text_[at] == ' ' || text_[at] == '\t' || text_[at] == '\n' || text_[at] == '\r' ||
                                 text_[at] == ':' || text_[at] == ',')) {
      ++at;
    }
    return at;
  }
  std::pair<uint32_t, uint32_t> LineColumn(size_t offset) {
    for (; counted_ < offset && counted_ < text_.size(); ++counted_) {
      if (text_[counted_] == '\n') {
        ++line_;
        line_start_ = counted_ + 1;
      }
    }
    return {line_, uint32_t(offset - line_start_ + 1)};
  }
  void Stamp(Json* v) {
    const auto [line, column] = LineColumn(ValueStart());
    v->SetPosition(line, column);
    end_ = count_;
  }
  bool Add(Json v) {
    Stamp(&v);
    Place(std::move(v));
    return true;
  }
  bool Open(Json v) {
    if (open_.size() >= kMaxDepth) return Refuse(absl::StrFormat("at most %u levels of nesting", kMaxDepth));
    Stamp(&v);
    open_.push_back(std::move(v));
    keys_.emplace_back();
    return true;
  }
  bool Close() {
    end_ = count_;
    Json done = std::move(open_.back());
    open_.pop_back();
    keys_.pop_back();
    Place(std::move(done));
    return true;
  }
  // A finished value goes into the container being filled, or is the document.
  void Place(Json v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else if (open_.back().is_object()) {
      open_.back().Set(std::move(keys_.back()), std::move(v));
    } else {
      open_.back().Push(std::move(v));
    }
  }
  bool Refuse(std::string what) {
    error_ = std::move(what);
    error_at_ = count_ == 0 ? 0 : count_ - 1;
    return false;
  }
  Status Error() {
    if (error_.empty()) error_ = "a JSON document";
    const auto [line, column] = LineColumn(std::min(error_at_, text_.size()));
    return Status::InvalidArgument(absl::StrFormat("%u:%u: JSON: %s (byte %u)", line, column, error_, error_at_));
  }

  std::string_view text_;
  size_t count_ = 0;  // chars the lexer has read
  size_t end_ = 0;    // where the previous token ended
  std::vector<Json> open_;         // the containers being filled, outermost first
  std::vector<std::string> keys_;  // per open container: the key of the member being read
  std::optional<Json> root_;
  std::string error_;
  size_t error_at_ = 0;
  size_t counted_ = 0;  // LineColumn: newlines before this offset are counted (values come in order)
  uint32_t line_ = 1;
  size_t line_start_ = 0;
};

nlohmann::ordered_json ToLibrary(const Json& v) {
  switch (v.type()) {
    case Json::Type::kNull:
      return nullptr;
    case Json::Type::kBool:
      return *v.AsBool();
    case Json::Type::kNumber:
      if (auto u = v.AsUint64()) return *u;
      if (auto i = v.AsInt64()) return *i;
      return *v.AsDouble();
    case Json::Type::kString:
      return *v.AsString();
    case Json::Type::kArray: {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const auto& [k, item] : v.items()) a.push_back(ToLibrary(item));
      return a;
    }
    case Json::Type::kObject: {
      nlohmann::ordered_json o = nlohmann::ordered_json::object();
      for (const auto& [k, item] : v.items()) o[k] = ToLibrary(item);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

std::string Json::Dump() const {
  // Bytes that are not UTF-8 (a message quoting a file's bytes) become U+FFFD rather than an exception.
  return ToLibrary(*this).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string InFile(const std::string& path, const std::string& message) {
  const bool positioned = !message.empty() && std::isdigit(static_cast<unsigned char>(message[0]));
  return path + (positioned ? ":" : ": ") + message;
}

Result<Json> ParseJson(std::string_view text) {
  Builder b(text);
  size_t* count = b.count();
  const bool parsed = nlohmann::json::sax_parse(CountingIterator(text.data(), count),
                                                CountingIterator(text.data() + text.size(), count), &b);
  return b.Finish(parsed);
}

}  // namespace lsm
