// lsmsim ckpt decode FILE [--page 1|2] [--json] | ckpt encode FILE.json
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "engine/checkpoint.h"
#include "engine/meta_page.h"
#include "sim/checkpoint_json.h"
#include "sim/cli/command.h"

ABSL_DECLARE_FLAG(int, page);
ABSL_DECLARE_FLAG(bool, json);

namespace lsm::cli {

namespace {

int Decode(const std::string& path) {
  int page = absl::GetFlag(FLAGS_page);
  if (page != 0 && page != 1 && page != 2) return UsageError(absl::StrFormat("--page must be 1 or 2, not %d", page));
  auto file = ReadFile(path);
  if (!file.ok()) return InputError(file.status());
  ByteView bytes(*file);
  if (page == 0) {
    if (bytes.size() != kMetaPageSize) {
      return UsageError(absl::StrFormat(
          "%s is %u bytes; a meta page is %u (for a database file, pass --page 1 or --page 2)", path,
          bytes.size(), kMetaPageSize));
    }
  } else {
    uint64_t offset = MetaPageOffset(page == 1 ? MetaPage::kPage1 : MetaPage::kPage2);
    if (bytes.size() < offset + kMetaPageSize) {
      return UsageError(absl::StrFormat("%s is %u bytes, too short to hold meta page %d (bytes %u..%u)", path,
                                        bytes.size(), page, offset, offset + kMetaPageSize - 1));
    }
    bytes = bytes.subspan(offset, kMetaPageSize);
  }
  bool valid = DecodeCheckpoint(bytes).ok();
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", MetaPageReport(bytes).Dump().c_str());
  } else {
    std::printf("%s", MetaPageText(bytes).c_str());
  }
  return valid ? kExitOk : kExitFailed;
}

int Encode(const std::string& path) {
  auto file = ReadFile(path);
  if (!file.ok()) return InputError(file.status());
  auto json = ParseJson(AsChars(*file));
  if (!json.ok()) return UsageError(absl::StrFormat("%s: %s", path, json.status().message()));
  auto checkpoint = CheckpointFromJson(*json);
  if (!checkpoint.ok()) return UsageError(absl::StrFormat("%s: %s", path, checkpoint.status().message()));
  auto blob = EncodeCheckpoint(*checkpoint);
  if (!blob.ok()) return UsageError(absl::StrFormat("%s: %s", path, blob.status().ToString()));
  Bytes page = MetaPageImage(*blob);
  if (std::fwrite(page.data(), 1, page.size(), stdout) != page.size()) return UsageError("cannot write to stdout");
  return kExitOk;
}

}  // namespace

int RunCkpt(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "decode") return Decode(args[1]);
  if (args.size() == 2 && args[0] == "encode") return Encode(args[1]);
  return UsageError("usage: lsmsim ckpt decode FILE [--page 1|2] [--json] | ckpt encode FILE.json");
}

}  // namespace lsm::cli
