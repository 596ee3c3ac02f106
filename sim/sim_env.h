// SimEnv: the simulated machine the engine runs on - files, shared memory, locks, a clock - one step
// at a time, every step traced.
//
// Files. Each file has a durable image (what survives a power loss) and the operations issued since its
// last successful Sync (pending: writes, truncates, and its creation if it was never synced). Reads see
// the newest state. Sync makes the file's pending operations durable, its existence included. Unlink
// removes the name at once, but durably only at the next Sync of any file (a journaling file system
// commits namespace changes with its next journal commit; there is no directory sync in the Env): a
// power loss before that may bring the old file back. Durable images are never mutated by a fault in
// place: a power loss derives the next durable image from (durable image, pending operations,
// decisions), so any crash state can be re-derived from the run's decision stream.
//
// Power loss (PowerLoss). For every file, the crash policy decides, operation by operation in issue
// order, which pending operations reach the disk; the next durable image is the old one with those
// applied. Policies in this file: DropUnsynced (nothing unsynced survives) and KeepRandomSubset (each
// operation survives or not, independently, whole). Shared memory is lost; every open handle dies.
//
// Crash at a step (ArmCrash). From the armed step on, the machine is dead: that call and every later
// one fail with kIoError "simulated power loss" (a write issued at that step still reaches the pending
// list: the device may or may not have it). The runner then calls PowerLoss and recovers.
//
// Processes, locks, shared memory. Handles belong to the current simulated process. Locks are per file
// and per handle (two handles conflict as two processes would), released when the handle closes.
// Shared memory is per database path, zero-filled chunks with stable addresses. Each process sees it
// through its own view (sim/shm/visibility.h): its stores reach the other processes at its barriers and
// Env calls, all at once or as set_shm_visibility's decisions pick (barrier faults included).
//
// Process crash (ProcessCrash). The process dies instead of the machine: its handles and locks go, its
// writes stay pending and visible to the next process, shared memory survives but for the dead process's
// stores that had not arrived. A power loss may follow.
//
// Steps. Every Env and File call is one step with a sequential id; each is a trace event. Yield is not
// a step: it feeds the hang watchdog (Options::max_yields_per_call).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/env/env.h"
#include "sim/shm/visibility.h"
#include "sim/decisions.h"
#include "sim/trace.h"

namespace lsm::sim {

struct PendingOp {
  enum Kind { kCreate, kWrite, kTruncate, kUnlink };
  Kind kind = kWrite;
  uint64_t offset = 0;  // kWrite: where; kTruncate: the new size
  Bytes data;           // kWrite
  uint64_t step = 0;    // when it was issued
};

// Which unsynced operations survive a power loss, and how. Implementations state the fault they model
// (faults/catalogue.h has the rest: prefix, torn sectors, byte tears, torn meta pages).
class CrashPolicy {
 public:
  enum Outcome { kDropped, kApplied, kTorn };
  virtual ~CrashPolicy() = default;
  virtual const char* name() const = 0;
  virtual bool Survives(const PendingOp& op, Decisions& d) = 0;
  // A file's pending operations are about to be decided, `count` of them, in issue order.
  virtual void BeginFile(const std::string& path, size_t count, Decisions& d) {}
  // Decides one pending operation of `path` and applies what reaches the disk to `image` (the next
  // durable image, built in issue order). The default: Survives() whole, or dropped. A kCreate or
  // kUnlink only asks whether it survives; `image` is then untouched.
  virtual Outcome Decide(const std::string& path, const PendingOp& op, uint32_t sector, Bytes* image, Decisions& d);
  // After BeginFile: every pending operation of the file is dropped, and Decide would draw nothing (the
  // power loss then keeps the durable image without copying it).
  virtual bool drops_all() const { return false; }
};

// The end of the furthest write among `ops` (0 if none).
uint64_t MaxEnd(std::span<const PendingOp> ops);

// Applies a write or truncate to an image (a write past the end extends it with zeros).
void ApplyOp(const PendingOp& op, Bytes* image);

// Nothing unsynced reaches the disk: the engine's weakest assumption about the device.
class DropUnsynced : public CrashPolicy {
 public:
  const char* name() const override { return "drop-unsynced"; }
  bool Survives(const PendingOp&, Decisions&) override { return false; }
  bool drops_all() const override { return true; }
};

// Each unsynced operation independently reaches the disk or not, whole: later writes may survive while
// earlier ones are lost (write reordering at operation granularity).
class KeepRandomSubset : public CrashPolicy {
 public:
  const char* name() const override { return "keep-random-subset"; }
  bool Survives(const PendingOp&, Decisions& d) override { return d.Below(2) == 1; }
};

class SimEnv : public Env {
 public:
  struct Inode;
  struct Options {
    uint32_t sector_size = kDefaultSectorSize;
    // The hang watchdog: an engine call whose loops pass more than this many scheduling points (Yield)
    // without returning is stuck; Yield then throws Hang. 0: no limit.
    uint64_t max_yields_per_call = 1'000'000;
    // A seed that makes more Env calls than this is stuck in a loop: every later call fails, and
    // exhausted() tells the runner why.
    uint64_t max_steps = 20'000'000;
  };
  SimEnv(Trace* trace, Options options);
  ~SimEnv() override;

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status Unlink(const std::string& path) override;
  Result<bool> Exists(const std::string& path) override;
  uint64_t NowMicros() override { return now_micros_; }
  void SleepMicros(uint64_t micros) override;
  // A scheduling point (the engine calls it once per iteration of a loop its input does not bound).
  // Counts toward the hang watchdog; not a step, not traced.
  void Yield() override;

  // Thrown by Yield when one engine call exceeds max_yields_per_call: the runner's hang verdict. The
  // engine is abandoned (its state discarded with the seed), never waited on.
  struct Hang {
    uint64_t yields;
  };
  // An engine call begins: the watchdog's count starts again.
  void BeginCall() { yields_ = 0; }

  // --- Simulation control ---
  void ArmCrash(uint64_t at_step) { crash_at_ = at_step; }
  // The call at `at_step` fails once with kIoError (kInjectedByExplorer in its message): a failed write
  // is not issued, a failed Sync drops the file's unsynced operations (a failed fsync may drop the
  // dirty pages: reads see the durable image again). The machine stays up.
  void ArmError(uint64_t at_step) { error_at_ = at_step; }
  static constexpr const char* kInjectedByExplorer = "I/O error injected by the explorer";
  void Disarm() { crash_at_.reset(); }
  void set_sector_size(uint32_t sector) { options_.sector_size = sector; }
  bool crashed() const { return crashed_; }
  bool exhausted() const { return step_ > options_.max_steps; }
  // True during the call that hit the armed step.
  bool crashed_now() const { return crashed_now_; }
  uint64_t step() const { return step_; }
  // Power loss: see the top of the file. Returns how many pending operations survived / were lost.
  // Outcomes of the last PowerLoss: torn operations, and whether the durable image of any file ended
  // different from what whole-or-nothing outcomes could give (a tear that changed bytes).
  uint64_t last_torn() const { return last_torn_; }
  std::pair<uint64_t, uint64_t> PowerLoss(CrashPolicy& policy, Decisions& d);
  // Process crash: the armed crash was the process dying, not the machine. Its handles die (and with
  // them its locks); its writes stay pending (the kernel has them) and visible; shared memory survives.
  void ProcessCrash();
  // The simulated process now running (the scheduler's): handles opened from now on are its, and their
  // shared memory is its view (sim/shm/visibility.h).
  void set_process(int p) { process_ = p; }
  int process() const { return process_; }
  // One simulated process dies while the others run on: its handles fail from now on (kIoError), its
  // locks go, its shared-memory stores that had not arrived are lost; files and every write it issued
  // stay. (ProcessCrash is the whole single-process run dying.)
  void KillProcess(int p);
  bool killed(int p) const { return dead_.count(p) != 0; }
  uint64_t process_epoch(int p) const {
    auto it = process_epochs_.find(p);
    return it == process_epochs_.end() ? 0 : it->second;
  }
  // How shared-memory stores reach other processes: at each barrier and Env call of a process with
  // stores pending, the decisions pick which arrive (null: all of them, at once).
  void set_shm_visibility(Decisions* d, ShmFaults faults) {
    shm_decisions_ = d;
    shm_faults_ = faults;
  }
  // A failed fsync may drop the file's dirty pages: its unsynced operations are forgotten (reads see
  // the durable image again). Not a step; traced.
  void DiscardPending(const std::string& path);
  // How many operations `path` has pending, and its current size (0 if missing); not steps.
  uint64_t CurrentSize(const std::string& path) const;
  size_t PendingCount(const std::string& path) const;

  // A file that exists before the run (a scenario's start_from database or its log): `content` becomes
  // its durable image and its newest contents, as if written and synced before the machine started.
  // Not a step; traced with the content's hash. Replaces any file of that name.
  void InstallDurable(const std::string& path, Bytes content);

  // --- Inspection (the oracle's view; not steps, not traced) ---
  // The durable image (nullopt if the file does not durably exist) and the newest contents.
  std::optional<Bytes> Durable(const std::string& path) const;
  std::optional<Bytes> Contents(const std::string& path) const;
  // The first min(n, size) bytes of one of them, without copying the rest.
  std::optional<Bytes> Head(const std::string& path, size_t n, bool durable) const;
  // The canary: XORs `mask` into byte `offset` of the durable image and the newest contents, a change
  // nobody wrote.
  void CorruptDurable(const std::string& path, uint64_t offset, uint8_t mask);

  // --- Snapshots (the explorers: faults/explore/) ---
  // The files between two steps, cheap to take once per step: durable images are shared and never
  // changed in place, and a pending list is shared and only appended to until a Sync replaces it, so a
  // snapshot is a few pointers and counts per file. Shared memory is not in it (the engine keeps nothing
  // there yet).
  struct FileSnapshot {
    std::string path;
    std::shared_ptr<const Bytes> durable;  // empty if the file never durably existed
    bool durable_exists = false;
    std::shared_ptr<const std::vector<PendingOp>> pending;  // its first pending_count ops are this file's
    size_t pending_count = 0;
  };
  struct Snapshot {
    std::vector<FileSnapshot> files;     // by path
    std::vector<FileSnapshot> unlinked;  // unlinks no sync has committed, oldest first (durable image only)
    std::vector<uint64_t> unlink_steps;
  };
  Snapshot Snap() const;
  // The machine as the snapshot has it, at `step`: every file replaced (open handles die as at a
  // crash), the armed crash and shared memory gone. current = false leaves the newest contents unbuilt,
  // for a PowerLoss that follows at once (it builds them).
  void Restore(const Snapshot& snapshot, uint64_t step, bool current = true);
  // A hash of what the files hold: every durable image and pending operation (XXH3), combined from one
  // hash per file (in path order) and the uncommitted unlinks, so an explorer can hash a world it has not
  // built (FileHash / WorldHash of parts give the same value).
  // A file's image is hashed in kHashBlock-byte blocks (XXH3 each, the last block may be short), so an
  // explorer hashes only the blocks a crash changed and keeps the rest per durable image.
  uint64_t WorldHash() const;
  static constexpr size_t kHashBlock = 4096;
  static std::vector<uint64_t> BlockHashes(ByteView image);
  static uint64_t FileHash(const std::string& path, bool durable_exists, const Bytes& durable,
                           std::span<const PendingOp> pending);
  // FileHash from the image's size and BlockHashes.
  static uint64_t FileHashOfBlocks(const std::string& path, bool durable_exists, uint64_t size,
                                   std::span<const uint64_t> blocks, std::span<const PendingOp> pending);
  static uint64_t WorldHash(std::span<const uint64_t> file_hashes, std::span<const std::string> unlinked);
  // Called at the start of every step with its number, call kind, file, offset and length (an explorer
  // records there).
  using StepHook = std::function<void(uint64_t step, std::string_view kind, const std::string& file, uint64_t offset,
                                      uint64_t length)>;
  void set_step_hook(StepHook hook) { step_hook_ = std::move(hook); }
  // Called at every shared-memory barrier, before it takes effect: a scheduling point of its own (a
  // process may die between the two copies of a publication). Not a step.
  void set_barrier_hook(std::function<void()> hook) { barrier_hook_ = std::move(hook); }

  // Internals shared with the file handles.
  Status Step(std::string_view kind, const std::string& file, uint64_t offset, uint64_t length, uint64_t content);
  void Note(std::string_view kind, const std::string& file, uint64_t offset, uint64_t length, uint64_t content);
  uint32_t sector_size() const { return options_.sector_size; }
  uint8_t* ShmChunk(const std::string& path, int process, uint32_t chunk);
  void ShmBarrier(const std::string& path, int process);
  // Every store `process` made to the shared memory of `path` arrives (a lock call).
  void ShmArriveAll(const std::string& path, int process);
  void DeleteShm(const std::string& path) { shm_.erase(path); }
  void NamespaceSynced();
  void HandleClosed(uint64_t id) { handle_process_.erase(id); }
  uint64_t generation() const { return generation_; }

 private:
  lsm::sim::Trace* trace_;
  Options options_;
  uint64_t step_ = 0;
  uint64_t yields_ = 0;
  uint64_t last_torn_ = 0;
  uint64_t now_micros_ = 0;
  std::optional<uint64_t> crash_at_;
  std::optional<uint64_t> error_at_;
  bool crashed_ = false;
  bool crashed_now_ = false;
  uint64_t next_handle_ = 0;
  uint64_t generation_ = 0;  // bumped at power loss: older handles are dead
  int process_ = 0;
  std::map<int, uint64_t> process_epochs_;  // bumped when the process is killed: its handles die
  std::set<int> dead_;  // killed processes: every later call of theirs fails
  std::map<uint64_t, int> handle_process_;  // open handles' processes (for KillProcess's locks)
  std::map<std::string, std::shared_ptr<Inode>> files_;
  struct PendingUnlink {
    std::string path;
    std::shared_ptr<Inode> inode;
    uint64_t step;
  };
  std::vector<PendingUnlink> unlinks_;  // not yet committed by a sync, oldest first
  std::map<std::string, std::unique_ptr<ShmVisibility>> shm_;  // per database file
  Decisions* shm_decisions_ = nullptr;
  ShmFaults shm_faults_;
  // A visibility point of `process` in every shared memory it has stores pending in.
  void ShmArrive(int process);

  StepHook step_hook_;
  std::function<void()> barrier_hook_;
};

}  // namespace lsm::sim
