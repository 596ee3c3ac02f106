#include "faults/variants/variants.h"

#include <chrono>

#include "sim/runner.h"

namespace lsm::faults {

using weaken::Variant;

const std::vector<VariantInfo>& Variants() {
  static const std::vector<VariantInfo> all = {
      {Variant::kFullCommitNotSynced, "full_commit_not_synced", {"faults-power", "faults-prefix", "faults-process"}},
      {Variant::kFullCommitNotSectorPadded, "full_commit_not_sector_padded", {"faults-torn"}},
      {Variant::kNoMetaPageFallback, "no_meta_page_fallback", {"faults-torn-meta"}},
      {Variant::kRecoverySkipsSync, "recovery_skips_sync", {"faults-io", "faults-process", "faults-recovery"}},
      {Variant::kFailedSyncIgnored, "failed_sync_ignored", {"faults-io"}},
      {Variant::kFailedLogWriteIgnored, "failed_log_write_ignored", {"faults-io", "faults-enospc"}},
      {Variant::kReadErrorIgnored, "read_error_ignored", {"faults-latent"}},
      {Variant::kLogChecksumIgnored, "log_checksum_ignored",
       {"faults-byte-tear", "faults-bit-rot", "faults-lying-sync", "faults-lost-write", "faults-misdirected"}},
      {Variant::kWorkWithoutMerging, "work_without_merging", {"faults-power", "swarm"}},
  };
  return all;
}

const VariantInfo* VariantNamed(const std::string& name) {
  for (const VariantInfo& v : Variants()) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

const std::vector<VariantInfo>& FormatChanges() {
  static const std::vector<VariantInfo> all = {
      {Variant::kCheckpointLayoutChanged, "checkpoint_layout_changed", {}},
  };
  return all;
}

const VariantInfo* VariantOrChangeNamed(const std::string& name) {
  if (const VariantInfo* v = VariantNamed(name)) return v;
  for (const VariantInfo& v : FormatChanges()) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

Hunt HuntVariant(const VariantInfo& v, const sim::Scenario& scenario, uint64_t first, uint64_t max_seeds) {
  Hunt h;
  const auto start = std::chrono::steady_clock::now();
  weaken::active = v.variant;
  for (uint64_t seed = first; seed < first + max_seeds; ++seed) {
    sim::SeedResult r = sim::RunSeed(scenario, seed);
    ++h.seeds;
    if (!r.pass) {
      // Only what the variant broke counts: a seed the real engine fails too is not the variant's.
      weaken::active = Variant::kNone;
      const bool real_passes = sim::RunSeed(scenario, seed).pass;
      weaken::active = v.variant;
      if (!real_passes) {
        ++h.real_failures;
        continue;
      }
      h.caught = true;
      h.seed = seed;
      h.message = r.message;
      h.crashes = r.crashes;
      h.process_crashes = r.process_crashes;
      h.recovery_crashes = r.recovery_crashes;
      break;
    }
  }
  weaken::active = Variant::kNone;
  h.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return h;
}

}  // namespace lsm::faults
