// lsmsim report merge A.json B.json ... [-o OUT.json]: one campaign report from the reports of its shards
// (lsmsim run --shard i/n --report ...). The reports must be of the same scenario and hold disjoint
// seeds; the merged report lists every seed in seed order and sums every count of the summaries (totals,
// failures, per-family coverage), field by field. Exit status: 0 merged and no seed failed, 1 merged
// and some seed failed, 2 bad usage or input (a file that is not a report, different scenarios, a seed
// in two reports).
#include <cstdio>
#include <map>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "sim/cli/command.h"
#include "sim/json.h"
#include "sim/repro.h"

ABSL_DECLARE_FLAG(std::string, o);

namespace lsm::cli {
namespace {

constexpr uint64_t kMaxReportBytes = uint64_t{1} << 30;

// a + b for every number, recursively through objects (fields of b that a lacks are taken as they are).
Result<Json> SumCounts(const Json& a, const Json& b, const std::string& where) {
  if (a.type() == Json::Type::kNumber && b.type() == Json::Type::kNumber) {
    auto x = a.AsUint64(), y = b.AsUint64();
    if (x && y) return Json::Uint(*x + *y);
    auto u = a.AsDouble(), v = b.AsDouble();
    if (u && v) return Json::Double(*u + *v);
  }
  if (a.is_object() && b.is_object()) {
    Json out = a;
    for (const auto& [key, value] : b.items()) {
      const Json* mine = a.Find(key);
      if (mine == nullptr) {
        out.Set(key, value);
        continue;
      }
      auto sum = SumCounts(*mine, value, where + "." + key);
      if (!sum.ok()) return sum;
      out.Set(key, std::move(sum).value());
    }
    return out;
  }
  if (a.Dump() == b.Dump()) return a;
  return Status::InvalidArgument(where + " differs and is not a count");
}

}  // namespace

int RunReport(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] != "merge") {
    return UsageError("report takes: merge A.json B.json ... [-o OUT.json]");
  }
  Json scenario, summary, build;
  std::map<uint64_t, std::pair<Json, std::string>> seeds;  // seed -> its record, the file it came from
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& path = args[i];
    auto report = ReadJsonFile(path, kMaxReportBytes, "a report file");
    if (!report.ok()) return InputError(report.status());
    const Json* sc = report->Find("scenario");
    const Json* list = report->Find("seeds");
    const Json* sum = report->Find("summary");
    if (!report->is_object() || sc == nullptr || list == nullptr || !list->is_array() || sum == nullptr ||
        !sum->is_object()) {
      return InputError(Status::InvalidArgument(path + ": not an lsmsim run report (no scenario, seeds or summary)"));
    }
    if (i == 1) {
      scenario = *sc;
      summary = *sum;
      if (const Json* b = report->Find("build")) build = *b;
    } else {
      if (sc->Dump() != scenario.Dump()) {
        return InputError(Status::InvalidArgument(path + ": a different scenario from " + args[1]));
      }
      auto merged = SumCounts(summary, *sum, path + ": summary");
      if (!merged.ok()) return InputError(merged.status());
      summary = std::move(merged).value();
    }
    for (size_t k = 0; k < list->size(); ++k) {
      const Json* seed = (*list)[k].Find("seed");
      if (seed == nullptr || !seed->AsUint64()) {
        return InputError(Status::InvalidArgument(absl::StrFormat("%s: seeds[%u] has no seed number", path, k)));
      }
      auto [it, fresh] = seeds.emplace(*seed->AsUint64(), std::make_pair((*list)[k], path));
      if (!fresh) {
        return InputError(Status::InvalidArgument(absl::StrFormat("seed %u is in both %s and %s: shards overlap",
                                                                  *seed->AsUint64(), it->second.second, path)));
      }
    }
  }
  Json out = Json::Object();
  out.Set("scenario", scenario);
  out.Set("build", build);
  Json list = Json::Array();
  uint64_t failed = 0;
  for (const auto& [seed, record] : seeds) {
    const Json* verdict = record.first.Find("verdict");
    failed += verdict != nullptr && verdict->AsString() != nullptr && *verdict->AsString() != "pass";
    list.Push(record.first);
  }
  out.Set("seeds", list);
  out.Set("summary", summary);
  std::printf("merged %zu reports: %zu seeds, %llu failed\n", args.size() - 1, seeds.size(), (unsigned long long)failed);
  const std::string path = absl::GetFlag(FLAGS_o);
  if (!path.empty()) {
    Status w = sim::WriteJsonFile(path, out);
    if (!w.ok()) return InputError(w);
  } else {
    std::printf("%s\n", out.Dump().c_str());
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace lsm::cli
