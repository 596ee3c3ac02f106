#include "faults/plan.h"

#include <set>

#include "absl/strings/str_format.h"
#include "faults/fault_env.h"
#include "faults/policies.h"

namespace lsm::faults {
namespace {

using sim::CrashPolicy;

bool IsCrashPolicy(Family f) {
  return f == Family::kPowerLoss || f == Family::kPrefix || f == Family::kTorn || f == Family::kByteTear;
}

class Plan : public sim::FaultPlan {
 public:
  Plan(const FaultSpec& spec, sim::SimEnv* env, sim::Decisions* d) : env_(env, &state_), torn_(false), bytes_(true) {
    state_.sim = env;
    state_.d = d;
    for (const auto& [f, max] : spec.families) {
      if (spec.swarm && d->Below(2) == 0) continue;
      state_.rate[size_t(f)] = spec.swarm ? std::max<uint32_t>(1, max >> d->Below(4)) : max;
    }
    if (spec.swarm && std::all_of(state_.rate.begin(), state_.rate.end(), [](uint32_t r) { return r == 0; })) {
      const auto& [f, max] = spec.families[d->Below(spec.families.size())];
      state_.rate[size_t(f)] = max;
    }
    if (state_.active(Family::kLyingSync)) {
      state_.lying_scope = FaultState::LyingScope(d->Below(3));
      state_.lying_file = d->Below(2) == 0 ? "db" : "db-log";
    }
  }

  Env* env() override { return &env_; }

  std::string Describe() const override {
    std::string out;
    for (const Entry& e : Catalogue()) {
      if (!state_.active(e.family)) continue;
      out += absl::StrFormat("%s%s %u", out.empty() ? "" : ", ", e.name, state_.rate[size_t(e.family)]);
      if (e.family == Family::kLyingSync) {
        out += state_.lying_scope == FaultState::kOneCall   ? " (one call)"
               : state_.lying_scope == FaultState::kOneFile ? " (file " + state_.lying_file + ")"
                                                            : " (every file)";
      }
    }
    return out.empty() ? "none" : out;
  }

  CrashPolicy& PowerLossPolicy() override {
    Family pick = Family::kPowerLoss;
    if (state_.torn_meta_armed) {
      pick = Family::kTorn;
      ++state_.changed[size_t(Family::kTornMeta)];  // counted as it lands (the tear itself is torn's count)
    } else {
      uint64_t total = 0;
      for (const Entry& e : Catalogue()) total += IsCrashPolicy(e.family) ? state_.rate[size_t(e.family)] : 0;
      if (total > 0) {
        uint64_t x = state_.d->Below(total);
        for (const Entry& e : Catalogue()) {
          if (!IsCrashPolicy(e.family)) continue;
          const uint64_t r = state_.rate[size_t(e.family)];
          if (x < r) {
            pick = e.family;
            break;
          }
          x -= r;
        }
      }
    }
    state_.torn_meta_armed = false;
    last_policy_ = pick;
    ++state_.fired[size_t(pick)];
    switch (pick) {
      case Family::kPrefix:
        return prefix_;
      case Family::kTorn:
        return torn_;
      case Family::kByteTear:
        return bytes_;
      default:
        return state_.d->Below(2) == 0 ? static_cast<CrashPolicy&>(drop_) : keep_;
    }
  }

  void AfterPowerLoss(uint64_t lost) {
    const Family f = last_policy_;
    const uint64_t torn = state_.sim->last_torn();
    if (torn > 0 || lost > 0) ++state_.changed[size_t(f)];
    if (f == Family::kByteTear && torn > 0) state_.out_of_contract = true;
  }

  bool ProcessCrash() override {
    if (state_.torn_meta_armed) return false;
    if (state_.process_crash_armed) {  // armed at a Sync, and fired there
      state_.process_crash_armed = false;
      ++state_.changed[size_t(Family::kProcessCrash)];
      return true;
    }
    return state_.Fire(Family::kProcessCrash) && (++state_.changed[size_t(Family::kProcessCrash)], true);
  }

  uint64_t CrashDuringRecovery(int depth) override {
    if (!state_.active(Family::kRecoveryCrash) || depth >= sim::kMaxRecoveryCrashes) return 0;
    if (!state_.Fire(Family::kRecoveryCrash)) return 0;
    return 1 + state_.d->Below(60);
  }

  void RecoveryCrashed() override { ++state_.changed[size_t(Family::kRecoveryCrash)]; }

  void AtRest() override {
    sim::SimEnv& env = *state_.sim;
    if (state_.Fire(Family::kBitRot)) {
      const char* path = state_.d->Below(2) == 0 ? "db" : "db-log";
      const uint64_t size = env.Durable(path) ? env.Durable(path)->size() : 0;
      if (size > 0) {
        env.CorruptDurable(path, state_.d->Below(size), uint8_t(1u << state_.d->Below(8)));
        ++state_.changed[size_t(Family::kBitRot)];
        state_.out_of_contract = true;
        state_.silent_damage = true;
      }
    }
    if (!state_.latent && state_.Fire(Family::kLatentReadError)) {
      const uint64_t size = env.Durable("db") ? env.Durable("db")->size() : 0;
      const uint32_t sector = env.sector_size();
      if (size >= sector) {
        state_.latent = {"db", state_.d->Below(size / sector) * sector};
        env.Note("latent-sector", "db", state_.latent->second, sector, 0);
      }
    }
  }

  bool Injected(const Status& s) const override { return s.message().find(kInjected) != std::string::npos; }

  void Repaired() override {
    state_.persistent.clear();
    state_.latent.reset();
  }

  void Suspend(bool on) override { state_.suspended = on; }

  bool OutOfContract() const override { return state_.out_of_contract; }
  bool SilentDamagePossible() const override { return state_.silent_damage; }

  std::vector<sim::FamilyCount> Counts() const override {
    std::vector<sim::FamilyCount> out;
    for (const Entry& e : Catalogue()) {
      if (!state_.active(e.family) && state_.fired[size_t(e.family)] == 0) continue;
      out.push_back({e.name, state_.fired[size_t(e.family)], state_.changed[size_t(e.family)]});
    }
    return out;
  }

  void PowerLossApplied(uint64_t lost) override { AfterPowerLoss(lost); }

 private:
  FaultState state_;
  FaultEnv env_;
  PrefixPolicy prefix_;
  TornPolicy torn_;
  TornPolicy bytes_;
  sim::DropUnsynced drop_;
  sim::KeepRandomSubset keep_;
  Family last_policy_ = Family::kPowerLoss;
};

class Model : public sim::FaultModel {
 public:
  explicit Model(FaultSpec spec) : spec_(std::move(spec)) {}

  std::unique_ptr<sim::FaultPlan> Plan(sim::SimEnv* env, sim::Decisions* d, sim::Trace*) const override {
    return std::make_unique<faults::Plan>(spec_, env, d);
  }

  uint32_t SectorSize(sim::Decisions* d, uint32_t fallback, uint32_t page_size) const override {
    if (spec_.sector_size.empty()) return fallback;
    std::vector<uint32_t> fit;
    for (uint32_t s : spec_.sector_size) {
      if (s <= page_size) fit.push_back(s);
    }
    if (fit.empty()) fit.push_back(*std::min_element(spec_.sector_size.begin(), spec_.sector_size.end()));
    return fit[d->Below(fit.size())];
  }

  Json ToJson() const override {
    Json j = Json::Object();
    Json f = Json::Object();
    for (const auto& [family, rate] : spec_.families) f.Set(EntryOf(family).name, Json::Uint(rate));
    j.Set("families", f);
    j.Set("swarm", Json::Bool(spec_.swarm));
    if (!spec_.sector_size.empty()) {
      Json a = Json::Array();
      for (uint32_t s : spec_.sector_size) a.Push(Json::Uint(s));
      j.Set("sector_size", a);
    }
    return j;
  }

 private:
  FaultSpec spec_;
};

Status Bad(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("scenario field \"" + field + "\": " + what);
}

Result<Family> NamedFamily(const std::string& field, const Json& v) {
  const std::string* name = v.AsString();
  if (name == nullptr) return Bad(field, "expected a family name (lsmsim faults lists them)");
  auto f = FamilyNamed(*name);
  if (!f) return Bad(field, "unknown family \"" + *name + "\" (lsmsim faults lists them)");
  return *f;
}

}  // namespace

std::shared_ptr<const sim::FaultModel> MakeModel(FaultSpec spec) {
  std::sort(spec.families.begin(), spec.families.end());
  return std::make_shared<Model>(std::move(spec));
}

Result<std::shared_ptr<const sim::FaultModel>> ParseFaults(const Json& j) {
  if (!j.is_object()) return Bad("faults", "expected an object with \"families\", \"swarm\", \"sector_size\"");
  for (const auto& [key, value] : j.items()) {
    if (key != "families" && key != "swarm" && key != "sector_size") return Bad("faults", "unknown field \"" + key + "\"");
  }
  FaultSpec spec;
  const Json* fam = j.Find("families");
  if (fam == nullptr) return Bad("faults.families", "missing (a list of family names, an object of rates, or \"all\")");
  std::set<Family> seen;
  auto add = [&](const std::string& field, Family f, uint32_t rate) -> Status {
    if (!seen.insert(f).second) return Bad(field, absl::StrFormat("family \"%s\" listed twice", EntryOf(f).name));
    spec.families.emplace_back(f, rate);
    return Status::Ok();
  };
  if (const std::string* all = fam->AsString()) {
    if (*all != "all") return Bad("faults.families", "expected \"all\", a list of family names or an object of rates");
    for (const Entry& e : Catalogue()) spec.families.emplace_back(e.family, e.default_rate);
  } else if (fam->is_array()) {
    if (fam->size() == 0) return Bad("faults.families", "expected at least one family");
    for (size_t i = 0; i < fam->size(); ++i) {
      const std::string field = absl::StrFormat("faults.families[%u]", i);
      auto f = NamedFamily(field, (*fam)[i]);
      if (!f.ok()) return f.status();
      LSM_RETURN_IF_ERROR(add(field, *f, EntryOf(*f).default_rate));
    }
  } else if (fam->is_object()) {
    if (fam->items().empty()) return Bad("faults.families", "expected at least one family");
    for (const auto& [name, rate] : fam->items()) {
      const std::string field = "faults.families." + name;
      auto f = FamilyNamed(name);
      if (!f) return Bad("faults.families", "unknown family \"" + name + "\" (lsmsim faults lists them)");
      auto r = rate.AsUint64();
      if (!r || *r < 1 || *r > 10000) return Bad(field, "expected a rate per 10000, an integer in [1, 10000]");
      LSM_RETURN_IF_ERROR(add(field, *f, uint32_t(*r)));
    }
  } else {
    return Bad("faults.families", "expected \"all\", a list of family names or an object of rates");
  }
  if (const Json* v = j.Find("swarm")) {
    if (!v->AsBool()) return Bad("faults.swarm", "expected true or false");
    spec.swarm = *v->AsBool();
  }
  if (const Json* v = j.Find("sector_size")) {
    if (!v->is_array() || v->size() == 0) return Bad("faults.sector_size", "expected a non-empty array of 512 and 4096");
    for (size_t i = 0; i < v->size(); ++i) {
      auto x = (*v)[i].AsUint64();
      if (!x || (*x != 512 && *x != 4096)) return Bad("faults.sector_size", absl::StrFormat("item %u is not 512 or 4096", i));
      spec.sector_size.push_back(uint32_t(*x));
    }
  }
  return MakeModel(std::move(spec));
}

const sim::FaultsParser& Parser() {
  static const sim::FaultsParser parser = [](const Json& j) { return ParseFaults(j); };
  return parser;
}

}  // namespace lsm::faults
