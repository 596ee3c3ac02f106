#include "sim/repro.h"

#include <fstream>

#include "sim/prng.h"

namespace lsm::sim {

std::string BuildId() {
  std::string id;
#if defined(__clang__)
  id = "clang " __clang_version__;
#elif defined(__GNUC__)
  id = "g++ " __VERSION__;
#endif
#if defined(__SANITIZE_ADDRESS__)
  id += " asan";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  id += " asan";
#endif
#endif
  return id;
}

Json ReproJson(const Scenario& scenario, const SeedResult& r) {
  Json j = Json::Object();
  j.Set("lsmsim_repro", Json::Int(kReproVersion));
  j.Set("build", Json::String(BuildId()));
  j.Set("format", Json::String("sqlite4-lsm uncompressed"));
  j.Set("prng_version", Json::Int(kPrngVersion));
  j.Set("scenario", scenario.ToJson());
  j.Set("seed", Json::Uint(r.seed));
  j.Set("verdict", Json::String(r.pass ? "pass" : "fail"));
  j.Set("message", Json::String(r.message));
  j.Set("config", Json::String(r.config));
  j.Set("trace_hash", Json::String(HashHex(r.trace_hash)));
  j.Set("steps", Json::Uint(r.steps));
  Json decisions = Json::Array();
  for (uint64_t v : r.decisions) decisions.Push(Json::Uint(v));
  j.Set("decisions", decisions);
  Json events = Json::Array();
  for (const TraceEvent& e : r.last_events) {
    Json ev = Json::Object();
    ev.Set("step", Json::Uint(e.step));
    ev.Set("kind", Json::String(std::string(e.kind)));
    ev.Set("file", Json::String(e.file));
    ev.Set("offset", Json::Uint(e.offset));
    ev.Set("length", Json::Uint(e.length));
    ev.Set("content", Json::String(HashHex(e.content)));
    ev.Set("detail", Json::String(e.detail));
    events.Push(ev);
  }
  j.Set("last_events", events);
  return j;
}

Status WriteJsonFile(const std::string& path, const Json& j) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError("cannot write " + path);
  out << j.Dump() << "\n";
  out.close();
  if (!out) return Status::IoError("cannot write " + path);
  return Status::Ok();
}

}  // namespace lsm::sim
