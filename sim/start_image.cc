#include "sim/start_image.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_format.h"
#include "engine/format/checkpoint.h"
#include "engine/db.h"
#include "engine/format/meta_page.h"
#include "sim/checkpoint_oracle.h"
#include "sim/sim_env.h"

#ifndef LSMSIM_GOLDEN_DIR
#define LSMSIM_GOLDEN_DIR "../shared/golden"
#endif

namespace lsm::sim {
namespace {

constexpr const char* kGoldenPrefix = "golden:";
// The engine's reading runs on a SimEnv with this many Env calls at most: an engine that loops on the
// file fails every seed instead of hanging the load.
constexpr uint64_t kReadBudget = 2'000'000;

Status Bad(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("scenario field \"" + field + "\": " + what);
}

// The whole file, or why not (a one-line reason naming it).
Result<Bytes> ReadWhole(const std::string& field, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Bad(field, path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) return Bad(field, path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad(field, path + ": cannot read it: " + std::strerror(errno));
  Bytes out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Bad(field, path + ": read error");
  return out;
}

Status ParseListing(const std::string& path, const Bytes& text, Oracle::Map* out) {
  std::istringstream in(std::string(text.begin(), text.end()));
  std::string line;
  for (uint64_t n = 1; std::getline(in, line); ++n) {
    const size_t tab = line.find('\t');
    Bytes key, value;
    if (tab == std::string::npos || !FromHex(line.substr(0, tab), &key) || !FromHex(line.substr(tab + 1), &value)) {
      return Bad("start_expected", absl::StrFormat("%s line %u: expected hex(key) TAB hex(value)", path, n));
    }
    (*out)[std::move(key)] = std::move(value);
  }
  return Status::Ok();
}

std::string Short(const Bytes& b) {
  std::string hex = ToHex(b);
  return hex.size() > 24 ? hex.substr(0, 24) + absl::StrFormat("..(%u bytes)", b.size()) : hex;
}

// The first difference between the engine's reading and the listing, or "".
std::string FirstDifference(const Oracle::Map& listed, const Oracle::Map& read) {
  auto e = listed.begin();
  auto g = read.begin();
  for (; e != listed.end() || g != read.end();) {
    if (g == read.end() || (e != listed.end() && e->first < g->first)) {
      return absl::StrFormat("key %s is listed (value %s) but the engine does not return it", Short(e->first), Short(e->second));
    }
    if (e == listed.end() || g->first < e->first) {
      return absl::StrFormat("the engine returns key %s (value %s), which is not listed", Short(g->first), Short(g->second));
    }
    if (e->second != g->second) {
      return absl::StrFormat("key %s: the engine returns value %s, the listing %s", Short(g->first), Short(g->second),
                             Short(e->second));
    }
    ++e;
    ++g;
  }
  return "";
}

// The engine's reading of the image: open (recovery replays the log), every key/value and the user
// version. On a copy: recovery writes.
Status ReadThroughEngine(const StartImage& image, Oracle::State* state) {
  SimEnv env(nullptr, SimEnv::Options{kDefaultSectorSize, kReadBudget});
  env.InstallDurable("db", image.db);
  if (image.log) env.InstallDurable("db-log", *image.log);
  Options options;
  options.page_size = image.page_size;
  options.block_size = image.block_size;
  auto db = Db::Open(&env, "db", options);
  if (!db.ok()) return Status(db.status().code(), "open returned " + db.status().ToString());
  auto cursor = (*db)->NewCursor();
  if (!cursor.ok()) return Status(cursor.status().code(), "a cursor returned " + cursor.status().ToString());
  for (Status s = (*cursor)->First(); (*cursor)->Valid(); s = (*cursor)->Next()) {
    if (!s.ok()) return Status(s.code(), "the scan returned " + s.ToString());
    state->map[Bytes((*cursor)->key().begin(), (*cursor)->key().end())] =
        Bytes((*cursor)->value().begin(), (*cursor)->value().end());
  }
  cursor->reset();
  auto version = (*db)->UserVersion();
  if (!version.ok()) return Status(version.status().code(), "the user version returned " + version.status().ToString());
  state->user_version = *version;
  return Status::Ok();
}

}  // namespace

std::string GoldenDir() {
  const char* env = std::getenv("LSMSIM_GOLDEN_DIR");
  return env != nullptr && *env != '\0' ? env : LSMSIM_GOLDEN_DIR;
}

std::string PortableScenarioPath(const std::string& resolved) {
  const std::string golden = ResolveScenarioPath(kGoldenPrefix, "");
  const std::string prefix = golden.ends_with('/') ? golden : golden + "/";
  if (resolved.rfind(prefix, 0) == 0) return kGoldenPrefix + resolved.substr(prefix.size());
  return resolved;
}

std::string ResolveScenarioPath(const std::string& value, const std::string& base_dir) {
  std::filesystem::path p;
  if (value.rfind(kGoldenPrefix, 0) == 0) {
    p = std::filesystem::path(GoldenDir()) / value.substr(std::strlen(kGoldenPrefix));
  } else if (std::filesystem::path(value).is_absolute() || base_dir.empty()) {
    p = value;
  } else {
    p = std::filesystem::path(base_dir) / value;
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

Result<std::shared_ptr<const StartImage>> LoadStartImage(const std::string& path, const std::string& expected_path) {
  auto image = std::make_shared<StartImage>();
  image->path = path;
  auto db = ReadWhole("start_from", path);
  if (!db.ok()) return db.status();
  image->db = std::move(db).value();
  const std::string log_path = path + "-log";
  std::error_code ec;
  if (std::filesystem::exists(log_path, ec)) {
    auto log = ReadWhole("start_from", log_path);
    if (!log.ok()) return log.status();
    image->log = std::move(log).value();
  }
  // A database: two meta pages, at least one holding a valid checkpoint whose geometry the engine takes.
  if (image->db.size() < 2 * kMetaPageSize) {
    return Bad("start_from", absl::StrFormat("%s is not a database (%u bytes, shorter than its two %u-byte meta pages)",
                                             path, image->db.size(), kMetaPageSize));
  }
  const ByteView file(image->db);
  const MetaPage newest = NewestValidCheckpoint(file.first(kMetaPageSize), file.subspan(kMetaPageSize, kMetaPageSize));
  if (newest == MetaPage::kNone) {
    return Bad("start_from", path + " is not a database (neither meta page holds a valid checkpoint)");
  }
  auto checkpoint = DecodeCheckpoint(file.subspan(MetaPageOffset(newest), kMetaPageSize));
  if (!checkpoint.ok()) return Bad("start_from", path + " is not a database (its newest checkpoint does not decode)");
  image->page_size = checkpoint->pgsz;
  image->block_size = checkpoint->blksz;
  image->checkpoint_id = checkpoint->id;
  Options geometry;
  geometry.page_size = image->page_size;
  geometry.block_size = image->block_size;
  if (Status s = geometry.Validate(); !s.ok()) {
    return Bad("start_from", path + "'s checkpoint has a geometry the engine does not accept: " + s.message());
  }
  image->hash = ContentHash(image->db);
  if (image->log) image->hash = image->hash * 0x100000001B3ull ^ ContentHash(*image->log);

  image->engine_read = ReadThroughEngine(*image, &image->state);
  for (const auto& [key, value] : image->state.map) image->keys.push_back(key);

  if (!expected_path.empty()) {
    image->expected_path = expected_path;
    auto text = ReadWhole("start_expected", expected_path);
    if (!text.ok()) return text.status();
    Oracle::Map listed;
    LSM_RETURN_IF_ERROR(ParseListing(expected_path, *text, &listed));
    if (image->engine_read.ok()) {
      const std::string diff = FirstDifference(listed, image->state.map);
      if (!diff.empty()) {
        image->expected_check = Status::Corrupt(absl::StrFormat(
            "the engine reads %u keys from start_from %s, start_expected %s lists %u: %s", image->state.map.size(),
            path, expected_path, listed.size(), diff));
      }
    }
  }
  return std::shared_ptr<const StartImage>(std::move(image));
}

}  // namespace lsm::sim
