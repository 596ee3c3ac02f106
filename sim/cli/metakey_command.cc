// lsmsim metakey decode HEX [--json] | metakey encode AGE LEVEL [SEPARATOR_HEX]
#include <charconv>
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "engine/format/metatree_key.h"
#include "sim/cli/command.h"
#include "sim/json.h"

ABSL_DECLARE_FLAG(bool, json);

namespace lsm::cli {

namespace {

bool ParseU32(const std::string& text, uint32_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

int Decode(const std::string& hex) {
  Bytes bytes;
  if (!FromHex(hex, &bytes)) return UsageError(absl::StrFormat("'%s' is not hex (pairs of 0-9a-f)", hex));
  auto key = DecodeMetaTreeKey(bytes);
  if (!key.ok()) return InputError(key.status());
  if (absl::GetFlag(FLAGS_json)) {
    Json j = Json::Object()
                 .Set("age", Json::Uint(key->age))
                 .Set("level", Json::Uint(key->level))
                 .Set("separator", Json::String(ToHex(key->separator)));
    std::printf("%s\n", j.Dump().c_str());
  } else {
    std::printf("age %u level %u separator %s\n", key->age, key->level,
                key->separator.empty() ? "(empty)" : ToHex(key->separator).c_str());
  }
  return kExitOk;
}

int Encode(const std::vector<std::string>& args) {
  MetaTreeKey key;
  if (!ParseU32(args[0], &key.age)) return UsageError(absl::StrFormat("AGE '%s' is not a 32-bit unsigned integer", args[0]));
  if (!ParseU32(args[1], &key.level)) {
    return UsageError(absl::StrFormat("LEVEL '%s' is not a 32-bit unsigned integer", args[1]));
  }
  if (args.size() == 3 && !FromHex(args[2], &key.separator)) {
    return UsageError(absl::StrFormat("SEPARATOR_HEX '%s' is not hex (pairs of 0-9a-f)", args[2]));
  }
  std::printf("%s\n", ToHex(EncodeMetaTreeKey(key)).c_str());
  return kExitOk;
}

}  // namespace

int RunMetakey(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "decode") return Decode(args[1]);
  if ((args.size() == 3 || args.size() == 4) && args[0] == "encode") {
    return Encode(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  return UsageError("usage: lsmsim metakey decode HEX [--json] | metakey encode AGE LEVEL [SEPARATOR_HEX]");
}

}  // namespace lsm::cli
