#include "sim/repro.h"

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

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

Result<Repro> ReproFromJson(const Json& j, const std::string& base_dir, const FaultsParser* faults) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("repro file: " + what); };
  if (!j.is_object()) return bad("not a JSON object");
  const Json* version = j.Find("lsmsim_repro");
  if (version == nullptr || version->AsInt64() != kReproVersion) {
    return bad(absl::StrFormat("lsmsim_repro is not %d (not a repro file of this lsmsim)", kReproVersion));
  }
  const Json* prng = j.Find("prng_version");
  if (prng == nullptr || prng->AsInt64() != kPrngVersion) {
    return bad(absl::StrFormat("prng_version is not %d: the decisions mean something else to this build", kPrngVersion));
  }
  Repro r;
  const Json* scenario = j.Find("scenario");
  if (scenario == nullptr) return bad("no scenario");
  auto sc = ScenarioFromJson(*scenario, base_dir, faults);
  if (!sc.ok()) return bad("scenario: " + sc.status().message());
  r.scenario = std::move(sc).value();
  const Json* seed = j.Find("seed");
  if (seed == nullptr || !seed->AsUint64()) return bad("seed is missing or not an unsigned integer");
  r.seed = *seed->AsUint64();
  const Json* decisions = j.Find("decisions");
  if (decisions == nullptr || !decisions->is_array()) return bad("decisions is missing or not an array");
  r.decisions.reserve(decisions->size());
  for (size_t i = 0; i < decisions->size(); ++i) {
    auto v = (*decisions)[i].AsUint64();
    if (!v) return bad(absl::StrFormat("decisions[%u] is not an unsigned 64-bit integer", i));
    r.decisions.push_back(*v);
  }
  const Json* hash = j.Find("trace_hash");
  const std::string* hex = hash != nullptr ? hash->AsString() : nullptr;
  if (hex == nullptr || hex->size() != 16 || !absl::SimpleHexAtoi(*hex, &r.trace_hash)) {
    return bad("trace_hash is missing or not 16 hex digits");
  }
  auto text = [&](const char* key, std::string* out) {
    if (const Json* v = j.Find(key); v != nullptr && v->AsString() != nullptr) *out = *v->AsString();
  };
  text("verdict", &r.verdict);
  text("message", &r.message);
  text("build", &r.build);
  if (const Json* v = j.Find("steps"); v != nullptr && v->AsUint64()) r.steps = *v->AsUint64();
  if (const Json* e = j.Find("explore")) {
    ExploreCrash c;
    const Json* step = e->is_object() ? e->Find("step") : nullptr;
    const Json* process = e->is_object() ? e->Find("process") : nullptr;
    const Json* steps = e->is_object() ? e->Find("recovery_steps") : nullptr;
    if (step == nullptr || !step->AsUint64() || *step->AsUint64() == 0) return bad("explore.step is missing or not a step number");
    c.step = *step->AsUint64();
    if (const Json* fail = e->Find("fail_step")) {
      if (!fail->AsUint64()) return bad("explore.fail_step is not a step number");
      c.fail_step = *fail->AsUint64();
    }
    if (const Json* run_on = e->Find("run_on")) {
      if (!run_on->AsBool()) return bad("explore.run_on is not a boolean");
      c.run_on = *run_on->AsBool();
    }
    const size_t min_chain = c.fail_step != 0 ? 0 : 1;
    if (process == nullptr || !process->is_array() || process->size() < min_chain || process->size() > size_t(kMaxRecoveryCrashes) + 1) {
      return bad("explore.process is not an array of 1 to 4 booleans (0 to 4 with fail_step)");
    }
    for (size_t i = 0; i < process->size(); ++i) {
      auto b = (*process)[i].AsBool();
      if (!b) return bad(absl::StrFormat("explore.process[%u] is not a boolean", i));
      c.process.push_back(*b);
    }
    if (steps == nullptr || !steps->is_array() || steps->size() + 1 != std::max<size_t>(c.process.size(), 1)) {
      return bad("explore.recovery_steps is not an array one shorter than explore.process");
    }
    for (size_t i = 0; i < steps->size(); ++i) {
      auto v = (*steps)[i].AsUint64();
      if (!v || *v == 0) return bad(absl::StrFormat("explore.recovery_steps[%u] is not a step count", i));
      c.recovery_steps.push_back(*v);
    }
    r.explore = std::move(c);
  }
  return r;
}

Json ExploreCrashJson(const ExploreCrash& crash) {
  Json e = Json::Object();
  e.Set("step", Json::Uint(crash.step));
  Json process = Json::Array();
  for (bool p : crash.process) process.Push(Json::Bool(p));
  e.Set("process", process);
  Json steps = Json::Array();
  for (uint64_t s : crash.recovery_steps) steps.Push(Json::Uint(s));
  e.Set("recovery_steps", steps);
  if (crash.fail_step != 0) e.Set("fail_step", Json::Uint(crash.fail_step));
  if (crash.run_on) e.Set("run_on", Json::Bool(true));
  return e;
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
