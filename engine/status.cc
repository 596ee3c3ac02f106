#include "engine/status.h"

namespace lsm {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kCorrupt: return "corrupt";
    case Code::kNotADatabase: return "not a database";
    case Code::kIoError: return "I/O error";
    case Code::kBusy: return "busy";
    case Code::kMisuse: return "misuse";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kFull: return "full";
  }
  return "unknown";
}

const std::string& Status::message() const {
  static const std::string* const kNone = new std::string();
  return rep_ ? rep_->message : *kNone;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(CodeName(code()));
  if (!message().empty()) {
    s += ": ";
    s += message();
  }
  return s;
}

}  // namespace lsm
