// lsmsim ckpt decode FILE [--page 1|2] [--json] | ckpt encode FILE.json | ckpt summary FILE...
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "engine/format/checkpoint.h"
#include "engine/format/meta_page.h"
#include "sim/checkpoint_json.h"
#include "sim/cli/command.h"

ABSL_DECLARE_FLAG(int, page);
ABSL_DECLARE_FLAG(bool, json);

namespace lsm::cli {

namespace {

// Both meta pages are all a command here reads of a database file, however large it is.
constexpr uint64_t kBothMetaPages = 2 * kMetaPageSize;
// A checkpoint's JSON is a few KB (at most 1024 words); anything far larger is not one.
constexpr uint64_t kMaxCheckpointJson = 1 << 20;

int Decode(const std::string& path) {
  int page = absl::GetFlag(FLAGS_page);
  if (page != 0 && page != 1 && page != 2) return UsageError(absl::StrFormat("--page must be 1 or 2, not %d", page));
  auto file = ReadFileHead(path, kBothMetaPages);
  if (!file.ok()) return InputError(file.status());
  ByteView bytes(file->bytes);
  if (page == 0) {
    if (file->size != kMetaPageSize) {
      return UsageError(absl::StrFormat(
          "%s is %u bytes; a meta page is %u (for a database file, pass --page 1 or --page 2)", path,
          file->size, kMetaPageSize));
    }
  } else {
    uint64_t offset = MetaPageOffset(page == 1 ? MetaPage::kPage1 : MetaPage::kPage2);
    if (bytes.size() < offset + kMetaPageSize) {
      return UsageError(absl::StrFormat("%s is %u bytes, too short to hold meta page %d (bytes %u..%u)", path,
                                        file->size, page, offset, offset + kMetaPageSize - 1));
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
  auto file = ReadFile(path, kMaxCheckpointJson, "a checkpoint JSON file");
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

std::string OneLine(ByteView page) {
  auto c = DecodeCheckpoint(page);
  if (!c.ok()) return "invalid: " + c.error().ToString();
  return absl::StrFormat("id %u, %u words, %u levels, %u blocks, %u free, %u redirects", c->id, CheckpointWords(*c),
                         c->levels.size(), c->nblock, c->freelist.size(), c->redirects.size());
}

// One line per meta page (both pages of a database file, with recovery's choice), then totals.
int Summary(const std::vector<std::string>& paths) {
  int pages = 0, valid = 0;
  for (const std::string& path : paths) {
    auto file = ReadFileHead(path, kBothMetaPages);
    if (!file.ok()) return InputError(file.status());
    ByteView bytes(file->bytes);
    if (file->size == kMetaPageSize) {
      std::printf("%s: %s\n", path.c_str(), OneLine(bytes).c_str());
      ++pages;
      valid += DecodeCheckpoint(bytes).ok();
      continue;
    }
    if (bytes.size() < MetaPageOffset(MetaPage::kPage2) + kMetaPageSize) {
      return UsageError(absl::StrFormat("%s is %u bytes: neither a meta page nor a database file", path, file->size));
    }
    ByteView p1 = bytes.subspan(MetaPageOffset(MetaPage::kPage1), kMetaPageSize);
    ByteView p2 = bytes.subspan(MetaPageOffset(MetaPage::kPage2), kMetaPageSize);
    std::printf("%s page 1: %s\n%s page 2: %s\n", path.c_str(), OneLine(p1).c_str(), path.c_str(),
                OneLine(p2).c_str());
    MetaPage choice = ChooseMetaPage(p1, p2).page;
    std::printf("%s recovery uses: %s\n", path.c_str(),
                choice == MetaPage::kNone ? "neither (empty database)" : choice == MetaPage::kPage1 ? "page 1" : "page 2");
    pages += 2;
    valid += DecodeCheckpoint(p1).ok() + DecodeCheckpoint(p2).ok();
  }
  std::printf("%d meta pages, %d valid, %d without a valid checkpoint\n", pages, valid, pages - valid);
  return kExitOk;
}

}  // namespace

int RunCkpt(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "decode") return Decode(args[1]);
  if (args.size() == 2 && args[0] == "encode") return Encode(args[1]);
  if (args.size() >= 2 && args[0] == "summary") return Summary({args.begin() + 1, args.end()});
  return UsageError("usage: lsmsim ckpt decode FILE [--page 1|2] [--json] | ckpt encode FILE.json | ckpt summary FILE...");
}

}  // namespace lsm::cli
