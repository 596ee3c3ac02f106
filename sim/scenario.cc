#include "sim/scenario.h"

#include <cctype>
#include <filesystem>
#include <iterator>
#include <set>

#include "absl/strings/str_format.h"
#include "engine/env/posix_env.h"

namespace lsm::sim {

namespace {

// Each enum's names, used both to print and to parse scenarios.
template <typename E>
struct Named {
  const char* name;
  E value;
};
constexpr Named<Safety> kSafetyNames[] = {{"off", Safety::kOff}, {"normal", Safety::kNormal}, {"full", Safety::kFull}};
constexpr Named<KeyDistribution> kDistributionNames[] = {{"uniform", KeyDistribution::kUniform},
                                                         {"hot-set", KeyDistribution::kHotSet},
                                                         {"sequential", KeyDistribution::kSequential}};

template <typename E, size_t N>
const char* NameOf(const Named<E> (&names)[N], E value) {
  for (const Named<E>& n : names) {
    if (n.value == value) return n.name;
  }
  return "?";
}

// A non-empty JSON array of names into `out`; the error names the field and the item.
template <typename E, size_t N>
Status ParseNames(const Json& v, const std::string& field, const Named<E> (&names)[N], std::vector<E>* out) {
  std::string allowed;
  for (size_t i = 0; i < N; ++i) allowed += absl::StrFormat("%s\"%s\"", i == 0 ? "" : i + 1 == N ? " or " : ", ", names[i].name);
  if (!v.is_array() || v.size() == 0) return Status::InvalidArgument("scenario field \"" + field + "\": expected a non-empty array");
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string* t = v[i].AsString();
    const Named<E>* hit = nullptr;
    for (const Named<E>& n : names) {
      if (t && *t == n.name) hit = &n;
    }
    if (hit == nullptr) {
      return Status::InvalidArgument(absl::StrFormat("scenario field \"%s\": item %u is not %s", field, i, allowed));
    }
    out->push_back(hit->value);
  }
  return Status::Ok();
}

}  // namespace

const char* DistributionName(KeyDistribution k) { return NameOf(kDistributionNames, k); }

namespace {

template <typename T, typename F>
Json List(const std::vector<T>& v, F f) {
  Json a = Json::Array();
  for (const T& x : v) a.Push(f(x));
  return a;
}

struct Weight {
  const char* name;
  uint32_t Scenario::*field;
};
const Weight kWeights[] = {
    {"put", &Scenario::w_put},           {"erase", &Scenario::w_erase},       {"erase_range", &Scenario::w_erase_range},
    {"get", &Scenario::w_get},           {"scan", &Scenario::w_scan},         {"begin", &Scenario::w_begin},
    {"commit", &Scenario::w_commit},     {"rollback", &Scenario::w_rollback}, {"flush", &Scenario::w_flush},
    {"work", &Scenario::w_work},         {"checkpoint", &Scenario::w_checkpoint},
    {"reopen", &Scenario::w_reopen},     {"crash", &Scenario::w_crash},       {"user_version", &Scenario::w_user_version},
};

// Integer fields and the range of each that the engine (or the simulator) accepts; pow2: a power of two.
struct Number {
  const char* name;
  uint32_t Scenario::*field;
  uint32_t lo, hi;
  bool pow2 = false;
};
const Number kNumbers[] = {
    {"block_size", &Scenario::block_size, 64 * 1024, 64 * 1024 * 1024, true},  // Options::Validate
    {"max_freelist", &Scenario::max_freelist, 2, kMaxFreelistEntries},
    {"cache_kb", &Scenario::cache_kb, 0, 1 << 20},
    {"sector_size", &Scenario::sector_size, 1, 65536, true},  // a device's sector: the log pads to it
    {"ops", &Scenario::ops, 1, 10000000},
    {"keys", &Scenario::keys, 1, 100000000},
    {"max_value", &Scenario::max_value, 0, 1 << 24},
    {"max_key_padding", &Scenario::max_key_padding, 0, 1 << 16},
    {"crash_window", &Scenario::crash_window, 1, 1000000000},
};

// Menus: every item must be in range.
struct NumberList {
  const char* name;
  std::vector<uint32_t> Scenario::*field;
  uint32_t lo, hi;
  bool pow2 = false;
};
const NumberList kNumberLists[] = {
    {"page_size", &Scenario::page_size, 256, 65536, true},        // Options::Validate
    {"autoflush_kb", &Scenario::autoflush_kb, 0, 1024 * 1024},    // Options::Validate: at most 1 GB
    {"automerge", &Scenario::automerge, 2, 0xFFFFFFFFu},          // Options::Validate: at least 2
    {"autocheckpoint_kb", &Scenario::autocheckpoint_kb, 0, 0xFFFFFFFFu},
};

bool InRange(uint64_t v, uint32_t lo, uint32_t hi, bool pow2) {
  return v >= lo && v <= hi && (!pow2 || (v & (v - 1)) == 0);
}

std::string RangeText(uint32_t lo, uint32_t hi, bool pow2) {
  return absl::StrFormat("%s in [%u, %u]", pow2 ? "a power of two" : "an integer", lo, hi);
}

// A name becomes part of the repro file's name: letters, digits, '.', '_' and '-' only.
bool GoodName(const std::string& name) {
  if (name.empty() || name.size() > 100 || name[0] == '.') return false;
  for (char c : name) {
    if (!std::isalnum(uint8_t(c)) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

Json Scenario::ToJson() const {
  Json j = Json::Object();
  j.Set("name", Json::String(name));
  j.Set("description", Json::String(description));
  j.Set("safety", List(safety, [](Safety s) { return Json::String(SafetyName(s)); }));
  for (const NumberList& l : kNumberLists) j.Set(l.name, List(this->*l.field, [](uint32_t v) { return Json::Uint(v); }));
  for (const Number& n : kNumbers) j.Set(n.name, Json::Uint(this->*n.field));
  j.Set("key_distribution", List(key_distribution, [](KeyDistribution k) { return Json::String(DistributionName(k)); }));
  Json w = Json::Object();
  for (const Weight& x : kWeights) w.Set(x.name, Json::Uint(this->*x.field));
  j.Set("weights", w);
  j.Set("crash_policy", List(crash_policy, [](const std::string& p) { return Json::String(p); }));
  j.Set("canary", Json::Bool(canary));
  if (!start_from.empty()) j.Set("start_from", Json::String(PortableScenarioPath(start_from)));
  if (!start_expected.empty()) j.Set("start_expected", Json::String(PortableScenarioPath(start_expected)));
  if (faults) j.Set("faults", faults->ToJson());
  return j;
}

Result<Scenario> ScenarioFromJson(const Json& j, const std::string& base_dir, const FaultsParser* faults) {
  if (!j.is_object()) return Status::InvalidArgument("scenario: expected a JSON object");
  Scenario s;
  std::set<std::string> known = {"name", "description", "safety", "key_distribution", "weights", "crash_policy", "canary",
                                "start_from", "start_expected", "faults"};
  for (const Number& n : kNumbers) known.insert(n.name);
  for (const NumberList& l : kNumberLists) known.insert(l.name);
  // Errors point at the value they are about: "LINE:COLUMN: scenario field ...", for a scenario parsed
  // from text (LoadScenario puts the file's name in front).
  auto at = [](const Json* where, const Status& s) {
    if (s.ok() || where == nullptr || where->line() == 0) return s;
    return Status(s.code(), absl::StrFormat("%u:%u: %s", where->line(), where->column(), s.message()));
  };
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key)) {
      std::string names;
      for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
      return at(&value, Status::InvalidArgument("scenario: unknown field \"" + key + "\" (the fields are " + names + ")"));
    }
  }
  auto bad = [&](const std::string& field, const std::string& what) {
    const Json* where = j.Find(field.substr(0, field.find('.')));
    if (where != nullptr && field.find('.') != std::string::npos && where->is_object()) {
      if (const Json* inner = where->Find(field.substr(field.find('.') + 1))) where = inner;
    }
    return at(where, Status::InvalidArgument("scenario field \"" + field + "\": " + what));
  };
  if (const Json* v = j.Find("name")) {
    if (!v->AsString() || !GoodName(*v->AsString())) {
      return bad("name", "expected a non-empty string of letters, digits, '.', '_' and '-' (it names repro files)");
    }
    s.name = *v->AsString();
  }
  if (const Json* v = j.Find("description")) {
    if (!v->AsString()) return bad("description", "expected a string");
    s.description = *v->AsString();
  }
  for (const Number& n : kNumbers) {
    if (const Json* v = j.Find(n.name)) {
      auto x = v->AsUint64();
      if (!x || !InRange(*x, n.lo, n.hi, n.pow2)) return bad(n.name, "expected " + RangeText(n.lo, n.hi, n.pow2));
      s.*n.field = uint32_t(*x);
    }
  }
  for (const NumberList& l : kNumberLists) {
    if (const Json* v = j.Find(l.name)) {
      if (!v->is_array() || v->size() == 0) return bad(l.name, "expected a non-empty array of integers");
      (s.*l.field).clear();
      for (size_t i = 0; i < v->size(); ++i) {
        auto x = (*v)[i].AsUint64();
        if (!x || !InRange(*x, l.lo, l.hi, l.pow2)) {
          return bad(l.name, absl::StrFormat("item %u is not %s", i, RangeText(l.lo, l.hi, l.pow2)));
        }
        (s.*l.field).push_back(uint32_t(*x));
      }
    }
  }
  if (const Json* v = j.Find("safety")) LSM_RETURN_IF_ERROR(at(v, ParseNames(*v, "safety", kSafetyNames, &s.safety)));
  if (const Json* v = j.Find("key_distribution")) {
    LSM_RETURN_IF_ERROR(at(v, ParseNames(*v, "key_distribution", kDistributionNames, &s.key_distribution)));
  }
  if (const Json* v = j.Find("weights")) {
    if (!v->is_object()) return bad("weights", "expected an object");
    for (const auto& [key, value] : v->items()) {
      const Weight* w = nullptr;
      for (const Weight& x : kWeights) {
        if (key == x.name) w = &x;
      }
      auto x = value.AsUint64();
      if (w == nullptr) return bad("weights", "unknown operation \"" + key + "\"");
      if (!x || *x > 1000000) return bad("weights." + key, "expected an integer in [0, 1000000]");
      s.*w->field = uint32_t(*x);
    }
  }
  if (const Json* v = j.Find("crash_policy")) {
    if (!v->is_array() || v->size() == 0) return bad("crash_policy", "expected a non-empty array");
    s.crash_policy.clear();
    for (size_t i = 0; i < v->size(); ++i) {
      const std::string* t = (*v)[i].AsString();
      if (!t || (*t != "drop-unsynced" && *t != "keep-random-subset")) {
        return bad("crash_policy", absl::StrFormat("item %u is not \"drop-unsynced\" or \"keep-random-subset\"", i));
      }
      s.crash_policy.push_back(*t);
    }
  }
  if (const Json* v = j.Find("faults")) {
    if (faults == nullptr) return bad("faults", "this program has no fault catalogue (run it with lsmsim)");
    auto model = (*faults)(*v);
    if (!model.ok()) return at(v, model.status());
    s.faults = *model;
  }
  if (const Json* v = j.Find("canary")) {
    if (!v->AsBool()) return bad("canary", "expected true or false");
    s.canary = *v->AsBool();
  }
  {
    uint64_t total = 0;
    for (const Weight& x : kWeights) total += s.*x.field;
    if (total == 0) return bad("weights", "every weight is 0: there is no operation to draw");
  }
  // The starting database: its geometry is the engine's (it adopts the file's checkpoint), so the
  // scenario's must agree with it.
  if (const Json* v = j.Find("start_from")) {
    if (!v->AsString() || v->AsString()->empty()) return bad("start_from", "expected a database file's path");
    s.start_from = ResolveScenarioPath(*v->AsString(), base_dir);
  }
  if (const Json* v = j.Find("start_expected")) {
    if (!v->AsString() || v->AsString()->empty()) return bad("start_expected", "expected a listing file's path");
    if (s.start_from.empty()) return bad("start_expected", "needs start_from (it lists that file's content)");
    s.start_expected = ResolveScenarioPath(*v->AsString(), base_dir);
  }
  if (!s.start_from.empty()) {
    auto image = LoadStartImage(s.start_from, s.start_expected);
    if (!image.ok()) return image.status();
    s.start = *image;
    const std::string why = absl::StrFormat("start_from %s has page size %u and block size %u (the engine adopts the "
                                            "file's geometry; leave the field out)",
                                            s.start_from, s.start->page_size, s.start->block_size);
    if (j.Find("page_size")) {
      for (uint32_t pg : s.page_size) {
        if (pg != s.start->page_size) return bad("page_size", absl::StrFormat("%u conflicts with the file: ", pg) + why);
      }
    }
    if (j.Find("block_size") && s.block_size != s.start->block_size) {
      return bad("block_size", absl::StrFormat("%u conflicts with the file: ", s.block_size) + why);
    }
    s.page_size = {s.start->page_size};
    s.block_size = s.start->block_size;
  }
  // Every engine configuration the menus can produce must be valid (the fields are in range; what is
  // left is how they combine).
  for (uint32_t pg : s.page_size) {
    Options o;
    o.page_size = pg;
    o.block_size = s.block_size;
    o.max_freelist = s.max_freelist;
    for (uint32_t m : s.automerge) {
      o.automerge = m;
      for (uint32_t f : s.autoflush_kb) {
        o.autoflush_kb = f;
        Status st = o.Validate();
        if (!st.ok()) {
          return Status::InvalidArgument("scenario fields \"page_size\" and \"block_size\": " + st.message());
        }
      }
    }
  }
  return s;
}

const std::vector<Scenario>& BuiltinScenarios() {
  static const std::vector<Scenario> all = [] {
    std::vector<Scenario> v;
    Scenario d;
    d.description = "every operation, normal and full safety, small pages/blocks/autoflush, crashes that drop or keep "
                    "unsynced writes";
    v.push_back(d);
    Scenario full = d;
    full.name = "full";
    full.description = "safety full only: every acknowledged commit must survive every crash";
    full.safety = {Safety::kFull};
    v.push_back(full);
    Scenario off = d;
    off.name = "off";
    off.description = "safety off: nothing is promised but clean errors (no crash, no hang)";
    off.safety = {Safety::kOff};
    v.push_back(off);
    Scenario canary = d;
    canary.name = "canary";
    canary.description = "the default scenario with the canary on: every seed whose crash finds a run to damage must fail";
    canary.canary = true;
    v.push_back(canary);
    return v;
  }();
  return all;
}

Result<Scenario> LoadScenario(const std::string& name_or_path, const FaultsParser* faults) {
  for (const Scenario& s : BuiltinScenarios()) {
    if (s.name == name_or_path) return s;
  }
  // Through PosixEnv, which refuses directories, devices and /proc files (an iostream throws on the one
  // and never ends on /dev/zero); scenario files are small.
  constexpr uint64_t kMaxScenarioFile = 1 << 20;
  auto exists = PosixEnv::Default()->Exists(name_or_path);
  if (!exists.ok() || !*exists) {
    return Status::InvalidArgument("scenario \"" + name_or_path +
                                   "\" is neither a built-in scenario (see lsmsim scenarios) nor a readable file");
  }
  auto file = PosixEnv::Default()->Open(name_or_path, OpenMode::kReadOnly);
  if (!file.ok()) return Status::InvalidArgument("scenario file " + file.status().message());
  auto size = (*file)->Size();
  if (!size.ok()) return size.status();
  if (*size > kMaxScenarioFile) {
    return Status::InvalidArgument(absl::StrFormat("%s is %u bytes, too long for a scenario file (at most %u)",
                                                   name_or_path, *size, kMaxScenarioFile));
  }
  std::string text(size_t(*size), '\0');
  LSM_RETURN_IF_ERROR((*file)->Read(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size())));
  auto j = ParseJson(text);
  if (!j.ok()) return Status::InvalidArgument(InFile(name_or_path, j.status().message()));
  auto s = ScenarioFromJson(*j, std::filesystem::path(name_or_path).parent_path().string(), faults);
  if (!s.ok()) return Status::InvalidArgument(InFile(name_or_path, s.status().message()));
  return s;
}

}  // namespace lsm::sim
