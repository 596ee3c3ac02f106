// The crash policies of the catalogue (catalogue.h: prefix, torn, byte-tear; torn-meta arms a power
// loss at a meta-page write and then uses the torn policy). sim/sim_env.h has the two classic ones,
// DropUnsynced and KeepRandomSubset. Each decides, at a power loss, what of each pending operation
// reaches the next durable image.
#pragma once

#include "sim/sim_env.h"

namespace lsm::faults {

// Each file's pending operations survive in issue order up to a cut drawn per file: a device that
// writes its queue in order (nothing orders two files, env.h).
class PrefixPolicy : public sim::CrashPolicy {
 public:
  const char* name() const override { return "prefix"; }
  bool Survives(const sim::PendingOp&, sim::Decisions&) override { return index_++ < cut_; }
  void BeginFile(const std::string&, size_t count, sim::Decisions& d) override {
    cut_ = d.Below(count + 1);
    index_ = 0;
  }

 private:
  uint64_t cut_ = 0;
  uint64_t index_ = 0;
};

// Each pending write is dropped, applied, or torn; a torn write's sectors each keep their old bytes,
// take the new ones, or hold garbage or zeros (the whole sector, even where the write covered only part
// of it: the contract's "a tear is per sector"). Truncates, creations and unlinks survive or not.
// byte_granular: instead, a torn write keeps a new prefix of any length and the old rest (out of
// contract: sector atomicity broken).
class TornPolicy : public sim::CrashPolicy {
 public:
  explicit TornPolicy(bool byte_granular) : bytes_(byte_granular) {}
  const char* name() const override { return bytes_ ? "byte-tear" : "torn"; }
  bool Survives(const sim::PendingOp&, sim::Decisions& d) override { return d.Below(2) == 1; }
  Outcome Decide(const std::string& path, const sim::PendingOp& op, uint32_t sector, Bytes* image,
                 sim::Decisions& d) override;

 private:
  bool bytes_;
};

// A sector tear of `op` (a write) onto `image`, decided from the stream: a garbage pattern's seed, then
// per sector covered (first to last) 0 old, 1 new, 2 garbage, 3 zeros - the whole sector, even where the
// write covered only part of it. The image is at least as long as the write's end afterwards.
void TearSectors(const sim::PendingOp& op, uint32_t sector, Bytes* image, sim::Decisions& d);
// The values TearSectors reads for a garbage seed and per-sector outcomes.
inline constexpr uint64_t kGarbageSeeds = uint64_t{1} << 62;
enum SectorOutcome : uint64_t { kSectorOld = 0, kSectorNew = 1, kSectorGarbage = 2, kSectorZeros = 3 };

// The explorers' policy (faults/explore/): every choice is a decision an explorer writes, so each
// enumerated crash state is a decision list. Per file: 0 drops every pending operation; 1 applies them
// all; 2 then w: the operations before the last w are applied, and each of the last w is 0 dropped, 1
// applied or 2 torn (TearSectors' decisions follow). Uncommitted unlinks: 1 survives, 0 undone.
class ExplorePolicy : public sim::CrashPolicy {
 public:
  const char* name() const override { return "explore"; }
  bool Survives(const sim::PendingOp&, sim::Decisions& d) override { return d.Below(2) == 1; }
  void BeginFile(const std::string&, size_t count, sim::Decisions& d) override;
  Outcome Decide(const std::string& path, const sim::PendingOp& op, uint32_t sector, Bytes* image,
                 sim::Decisions& d) override;
  bool drops_all() const override { return drop_all_; }

 private:
  size_t count_ = 0, index_ = 0, window_ = 0;
  bool drop_all_ = false;
};

}  // namespace lsm::faults
