#include "sim/crash_image.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/str_format.h"

namespace lsm::sim {
namespace {

constexpr const char* kFormat = "lsmsim-crash-image-1";
// A crash image's database is the simulated disk of one seed: tens of MB at the most.
constexpr uintmax_t kMaxFileSize = uintmax_t{1} << 30;

Status WriteBytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) return Status::IoError(path.string() + ": could not write");
  return Status::Ok();
}

Result<Bytes> ReadBytes(const std::filesystem::path& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::InvalidArgument(path.string() + ": " + ec.message());
  if (size > kMaxFileSize) return Status::InvalidArgument(absl::StrFormat("%s: %u bytes, more than a crash image holds", path.string(), size));
  std::ifstream in(path, std::ios::binary);
  Bytes out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) return Status::IoError(path.string() + ": could not read");
  return out;
}

}  // namespace

Status WriteCrashImage(const std::string& dir, const CrashImage& image) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(dir + ": " + ec.message());
  const std::filesystem::path d(dir);
  LSM_RETURN_IF_ERROR(WriteBytes(d / "db", AsChars(image.db)));
  std::filesystem::remove(d / "db-log", ec);
  if (image.log) LSM_RETURN_IF_ERROR(WriteBytes(d / "db-log", AsChars(*image.log)));
  Json j = Json::Object();
  j.Set("format", Json::String(kFormat));
  j.Set("scenario", Json::String(image.scenario));
  j.Set("seed", Json::Uint(image.seed));
  j.Set("op", Json::Uint(image.op));
  j.Set("checkpoint_id", Json::Uint(image.checkpoint_id));
  j.Set("oracle", image.oracle);
  return WriteBytes(d / "image.json", j.Dump() + "\n");
}

Result<CrashImage> ReadCrashImage(const std::string& dir) {
  const std::filesystem::path d(dir);
  const std::string meta = (d / "image.json").string();
  auto text = ReadBytes(meta);
  if (!text.ok()) return text.status();
  auto j = ParseJson(AsChars(*text));
  if (!j.ok()) return Status::InvalidArgument(InFile(meta, j.status().message()));
  auto bad = [&](const char* field, const char* what) {
    return Status::InvalidArgument(absl::StrFormat("%s: field \"%s\": %s", meta, field, what));
  };
  const Json* format = j->Find("format");
  if (!format || !format->AsString() || *format->AsString() != kFormat) {
    return bad("format", "expected \"lsmsim-crash-image-1\" (written by lsmsim run --write_crash_image)");
  }
  CrashImage image;
  const Json* scenario = j->Find("scenario");
  if (!scenario || !scenario->AsString()) return bad("scenario", "expected a scenario name");
  image.scenario = *scenario->AsString();
  for (auto [field, out] : {std::pair{"seed", &image.seed}, std::pair{"op", &image.op},
                            std::pair{"checkpoint_id", &image.checkpoint_id}}) {
    const Json* v = j->Find(field);
    if (!v || !v->AsUint64()) return bad(field, "expected an unsigned integer");
    *out = *v->AsUint64();
  }
  const Json* oracle = j->Find("oracle");
  if (!oracle || !oracle->is_object()) return bad("oracle", "expected the model (an object)");
  image.oracle = *oracle;
  auto db = ReadBytes(d / "db");
  if (!db.ok()) return db.status();
  image.db = std::move(*db);
  if (std::filesystem::exists(d / "db-log")) {
    auto log = ReadBytes(d / "db-log");
    if (!log.ok()) return log.status();
    image.log = std::move(*log);
  }
  return image;
}

}  // namespace lsm::sim
