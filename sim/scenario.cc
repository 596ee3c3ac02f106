#include "sim/scenario.h"

#include <fstream>
#include <iterator>
#include <set>

#include "absl/strings/str_format.h"

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

struct Number {
  const char* name;
  uint32_t Scenario::*field;
  uint32_t lo, hi;
};
const Number kNumbers[] = {
    {"block_size", &Scenario::block_size, 64 * 1024, 64 * 1024 * 1024},
    {"max_freelist", &Scenario::max_freelist, 2, kMaxFreelistEntries},
    {"cache_kb", &Scenario::cache_kb, 0, 1 << 20},
    {"sector_size", &Scenario::sector_size, 1, 65536},
    {"ops", &Scenario::ops, 1, 10000000},
    {"keys", &Scenario::keys, 1, 100000000},
    {"max_value", &Scenario::max_value, 0, 1 << 24},
    {"max_key_padding", &Scenario::max_key_padding, 0, 1 << 16},
    {"crash_window", &Scenario::crash_window, 1, 1000000000},
};

struct NumberList {
  const char* name;
  std::vector<uint32_t> Scenario::*field;
};
const NumberList kNumberLists[] = {
    {"page_size", &Scenario::page_size},
    {"autoflush_kb", &Scenario::autoflush_kb},
    {"automerge", &Scenario::automerge},
    {"autocheckpoint_kb", &Scenario::autocheckpoint_kb},
};

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
  return j;
}

Result<Scenario> ScenarioFromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("scenario: expected a JSON object");
  Scenario s;
  std::set<std::string> known = {"name", "description", "safety", "key_distribution", "weights", "crash_policy", "canary"};
  for (const Number& n : kNumbers) known.insert(n.name);
  for (const NumberList& l : kNumberLists) known.insert(l.name);
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key)) return Status::InvalidArgument("scenario: unknown field \"" + key + "\"");
  }
  auto bad = [](const std::string& field, const std::string& what) {
    return Status::InvalidArgument("scenario field \"" + field + "\": " + what);
  };
  if (const Json* v = j.Find("name")) {
    if (!v->AsString()) return bad("name", "expected a string");
    s.name = *v->AsString();
  }
  if (const Json* v = j.Find("description")) {
    if (!v->AsString()) return bad("description", "expected a string");
    s.description = *v->AsString();
  }
  for (const Number& n : kNumbers) {
    if (const Json* v = j.Find(n.name)) {
      auto x = v->AsUint64();
      if (!x || *x < n.lo || *x > n.hi) return bad(n.name, absl::StrFormat("expected an integer in [%u, %u]", n.lo, n.hi));
      s.*n.field = uint32_t(*x);
    }
  }
  for (const NumberList& l : kNumberLists) {
    if (const Json* v = j.Find(l.name)) {
      if (!v->is_array() || v->size() == 0) return bad(l.name, "expected a non-empty array of integers");
      (s.*l.field).clear();
      for (size_t i = 0; i < v->size(); ++i) {
        auto x = (*v)[i].AsUint64();
        if (!x || *x > 0xFFFFFFFFu) return bad(l.name, absl::StrFormat("item %u is not a 32-bit integer", i));
        (s.*l.field).push_back(uint32_t(*x));
      }
    }
  }
  if (const Json* v = j.Find("safety")) LSM_RETURN_IF_ERROR(ParseNames(*v, "safety", kSafetyNames, &s.safety));
  if (const Json* v = j.Find("key_distribution")) {
    LSM_RETURN_IF_ERROR(ParseNames(*v, "key_distribution", kDistributionNames, &s.key_distribution));
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
  if (const Json* v = j.Find("canary")) {
    if (!v->AsBool()) return bad("canary", "expected true or false");
    s.canary = *v->AsBool();
  }
  // Every engine configuration the menus can produce must be valid.
  for (uint32_t pg : s.page_size) {
    Options o;
    o.page_size = pg;
    o.block_size = s.block_size;
    o.max_freelist = s.max_freelist;
    for (uint32_t m : s.automerge) {
      o.automerge = m;
      Status st = o.Validate();
      if (!st.ok()) return Status::InvalidArgument("scenario: " + st.message());
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

Result<Scenario> LoadScenario(const std::string& name_or_path) {
  for (const Scenario& s : BuiltinScenarios()) {
    if (s.name == name_or_path) return s;
  }
  std::ifstream in(name_or_path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("scenario \"" + name_or_path +
                                   "\" is neither a built-in scenario (see lsmsim scenarios) nor a readable file");
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = ParseJson(text);
  if (!j.ok()) return Status::InvalidArgument(name_or_path + ": " + j.status().message());
  auto s = ScenarioFromJson(*j);
  if (!s.ok()) return Status::InvalidArgument(name_or_path + ": " + s.status().message());
  return s;
}

}  // namespace lsm::sim
