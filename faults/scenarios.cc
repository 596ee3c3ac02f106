#include "faults/scenarios.h"

#include "faults/catalogue.h"
#include "faults/plan.h"

namespace lsm::faults {
namespace {

// Scenarios that tear sectors draw pages no smaller than a 512-byte sector, and a 4096-byte sector only
// with 4096-byte pages (Model::SectorSize): with a page smaller than its sector, a torn write of a new
// page can garbage the synced page beside it, which no engine of this format survives.
const std::vector<uint32_t> kPagesForSectors = {512, 1024, 4096};

sim::Scenario FamilyScenario(const sim::Scenario& base, const std::string& name, const std::string& description,
                             std::vector<Family> families, std::vector<uint32_t> sectors = {}) {
  sim::Scenario s = base;
  s.name = name;
  s.description = description;
  FaultSpec spec;
  spec.swarm = false;
  for (Family f : families) spec.families.emplace_back(f, EntryOf(f).default_rate);
  if (!sectors.empty()) s.page_size = kPagesForSectors;
  spec.sector_size = std::move(sectors);
  s.faults = MakeModel(std::move(spec));
  return s;
}

}  // namespace

const std::vector<sim::Scenario>& AllScenarios() {
  static const std::vector<sim::Scenario> all = [] {
    std::vector<sim::Scenario> v = sim::BuiltinScenarios();
    const sim::Scenario base = v.front();  // "default"
    {
      sim::Scenario swarm = base;
      swarm.name = "swarm";
      swarm.description = "every family of the fault catalogue, swarm-style: per seed a random subset, each at a "
                          "drawn rate (lsmsim faults)";
      FaultSpec spec;
      for (const Entry& e : Catalogue()) spec.families.emplace_back(e.family, e.default_rate);
      spec.sector_size = {512, 4096};
      swarm.faults = MakeModel(std::move(spec));
      swarm.page_size = kPagesForSectors;
      v.push_back(swarm);
    }
    v.push_back(FamilyScenario(base, "faults-power", "power loss alone: drop-unsynced or keep-random-subset, per crash",
                               {Family::kPowerLoss}));
    v.push_back(FamilyScenario(base, "faults-prefix", "crash policy prefix: pending writes survive in order up to a cut",
                               {Family::kPrefix}));
    v.push_back(FamilyScenario(base, "faults-torn", "crash policy torn: sectors old/new/garbage/zeros, 512 or 4096",
                               {Family::kTorn}, {512, 4096}));
    v.push_back(FamilyScenario(base, "faults-byte-tear", "writes torn at any byte (out of contract)",
                               {Family::kByteTear}, {512, 4096}));
    v.push_back(FamilyScenario(base, "faults-torn-meta", "power losses that land on meta-page writes, then torn",
                               {Family::kTornMeta, Family::kTorn}, {512, 4096}));
    v.push_back(FamilyScenario(base, "faults-process", "process crashes: writes stay pending, locks go; power loss later",
                               {Family::kProcessCrash, Family::kPowerLoss}));
    v.push_back(FamilyScenario(base, "faults-recovery", "crashes during recovery, nested up to 3 deep",
                               {Family::kRecoveryCrash, Family::kProcessCrash, Family::kPowerLoss, Family::kTorn},
                               {512, 4096}));
    v.push_back(FamilyScenario(base, "faults-lying-sync", "Sync that reports success and does nothing (out of contract)",
                               {Family::kLyingSync}));
    v.push_back(FamilyScenario(base, "faults-lost-write", "writes that report success and never happen (out of contract)",
                               {Family::kLostWrite}));
    v.push_back(FamilyScenario(base, "faults-misdirected", "writes that land at another offset (out of contract)",
                               {Family::kMisdirectedWrite}));
    v.push_back(FamilyScenario(base, "faults-bit-rot", "a bit flips at rest after a power loss (out of contract)",
                               {Family::kBitRot}));
    v.push_back(FamilyScenario(base, "faults-latent", "a sector of the database file that cannot be read",
                               {Family::kLatentReadError}));
    v.push_back(FamilyScenario(base, "faults-io", "I/O errors on every call kind, transient and persistent, and ENOSPC",
                               {Family::kIoError, Family::kNoSpace}));
    v.push_back(FamilyScenario(base, "faults-enospc", "no space left: writes that extend a file fail",
                               {Family::kNoSpace}));
    return v;
  }();
  return all;
}

Result<sim::Scenario> LoadScenario(const std::string& name_or_path) {
  for (const sim::Scenario& s : AllScenarios()) {
    if (s.name == name_or_path) return s;
  }
  return sim::LoadScenario(name_or_path, &Parser());
}

void MakeClassic(sim::Scenario* s) {
  s->faults = nullptr;
  s->crash_policy = {"drop-unsynced"};
}

}  // namespace lsm::faults
