#include "faults/explore/explorer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "engine/format/checkpoint.h"
#include "engine/format/meta_page.h"
#include "faults/policies.h"
#include "sim/decisions.h"
#include "sim/sim_env.h"
#include "xxhash.h"

namespace lsm::faults {
namespace {

using sim::ExploreCrash;
using sim::Oracle;
using sim::PendingOp;
using sim::Recording;
using sim::SimEnv;
using sim::StepSnapshot;

constexpr uint64_t kTornGarbageSeed = 0x5EEDu;  // the one garbage pattern
constexpr size_t kChunk = 256;                  // states keyed and judged per round (and per progress line)

uint64_t Mix(std::initializer_list<uint64_t> values) {
  return XXH3_64bits(values.begin(), values.size() * sizeof(uint64_t));
}

// One state to explore: a recorded step, the crash chain, and the decisions after the step's own.
struct Candidate {
  size_t step_index = 0;          // into Recording::steps
  int parent = -1;                // a crash during recovery: the judged state it crashes again (index into judged_)
  std::vector<bool> process;      // the chain
  std::vector<uint64_t> recovery_steps;
  std::vector<uint64_t> suffix;   // decisions after the recorded prefix
  const char* explorer = "";
  std::string variant;
  // Torn meta pages (reduced): the key is computed by the enumeration, not by running the crash.
  std::optional<uint64_t> key = std::nullopt;
  // The re-run explorers: the seed runs from step 0 (no snapshot), an I/O error instead of a crash,
  // or on past the recovery to a power loss at the end.
  bool fail = false;
  bool run_on = false;
};

// What one job keeps between states: the model as it stood at a step (rebuilt from the journal, in step
// order, once per journal length) and the block hashes of the durable images (SimEnv::BlockHashes;
// the recording keeps every image alive, so its address names it).
class Worker {
 public:
  explicit Worker(const Recording& r) : r_(r), cur_(r.safety) {}
  const std::vector<uint64_t>& Blocks(const Bytes& durable) {
    auto [it, fresh] = durable_blocks_.try_emplace(&durable);
    if (fresh) it->second = SimEnv::BlockHashes(durable);
    return it->second;
  }
  const Oracle& At(size_t calls, bool commit_failed) {
    if (calls < applied_) {  // back to an earlier step (crashes during recovery start over): rebuild
      cur_ = Oracle(r_.safety);
      applied_ = 0;
    }
    if (calls != applied_ || !cached_ || cached_failed_ != commit_failed) {
      while (applied_ < calls) cur_.Replay(r_.oracle[applied_++]);
      cached_ = std::make_unique<Oracle>(cur_);
      if (commit_failed) cached_->Failed();
      cached_->DropOpen();  // as recovery would: the seed judges this model in place (RunOptions::from_oracle)
      cached_failed_ = commit_failed;
    }
    return *cached_;
  }

 private:
  const Recording& r_;
  Oracle cur_;
  size_t applied_ = 0;
  std::unique_ptr<Oracle> cached_;
  bool cached_failed_ = false;
  std::map<const Bytes*, std::vector<uint64_t>> durable_blocks_;
};

// The snapshot a crash at this step starts from: a write issued at the crash step is pending too.
StepSnapshot CrashSnapshot(const StepSnapshot& at) {
  StepSnapshot s = at;
  if (at.kind != "write") return s;
  for (SimEnv::FileSnapshot& f : s.files.files) {
    if (f.path == at.file && f.pending && f.pending->size() > f.pending_count) ++f.pending_count;
  }
  return s;
}

// One file's outcome at a power loss: its decisions (ExplorePolicy's layout) and what kind it is.
struct FileOutcome {
  std::vector<uint64_t> d;
  int kind = 0;  // 0 everything dropped, 1 a subset, 2 a torn write among them; or an unlink's kUnlinkUndone
};
constexpr int kUnlinkUndone = 3;

// Per file, every outcome at a power loss the explorer takes.
std::vector<FileOutcome> FileOutcomes(const SimEnv::FileSnapshot& f, uint64_t crash_step, uint32_t window,
                                      uint32_t sector) {
  std::vector<FileOutcome> out;
  out.push_back({{0}, 0});  // everything pending dropped
  const size_t n = f.pending_count;
  if (n == 0) return out;
  const size_t w = std::min<size_t>(window, n);
  // Each of the last w: dropped or applied; the write in flight (issued at the crash step) also torn.
  std::vector<std::vector<std::vector<uint64_t>>> per_op;
  for (size_t i = n - w; i < n; ++i) {
    const PendingOp& op = (*f.pending)[i];
    std::vector<std::vector<uint64_t>> choices = {{0}, {1}};
    if (op.step == crash_step && op.kind == PendingOp::kWrite && !op.data.empty()) {
      const uint64_t first = op.offset / sector, last = (op.offset + op.data.size() - 1) / sector;
      const uint64_t s = last - first + 1;
      auto tear = [&](const std::vector<uint64_t>& sectors) {
        std::vector<uint64_t> c = {2, kTornGarbageSeed};
        c.insert(c.end(), sectors.begin(), sectors.end());
        choices.push_back(std::move(c));
      };
      if (s <= kAllTearsUpTo) {
        uint64_t total = 1;
        for (uint64_t k = 0; k < s; ++k) total *= 4;
        for (uint64_t combo = 0; combo < total; ++combo) {
          std::vector<uint64_t> sectors(s);
          for (uint64_t k = 0, c = combo; k < s; ++k, c /= 4) sectors[k] = c % 4;
          tear(sectors);
        }
      } else {
        for (uint64_t k = 0; k < s; ++k) {
          for (uint64_t o : {kSectorOld, kSectorGarbage, kSectorZeros}) {
            std::vector<uint64_t> sectors(s, kSectorNew);
            sectors[k] = o;
            tear(sectors);
          }
        }
        for (uint64_t cut = 1; cut < s; ++cut) {
          std::vector<uint64_t> sectors(s, kSectorOld);
          std::fill(sectors.begin(), sectors.begin() + std::ptrdiff_t(cut), kSectorNew);
          tear(sectors);
        }
      }
    }
    per_op.push_back(std::move(choices));
  }
  // The product over the window, in order.
  std::vector<size_t> idx(per_op.size(), 0);
  for (;;) {
    FileOutcome o{{2, w}, 1};
    for (size_t i = 0; i < per_op.size(); ++i) {
      const std::vector<uint64_t>& c = per_op[i][idx[i]];
      if (c[0] == 2) o.kind = 2;
      o.d.insert(o.d.end(), c.begin(), c.end());
    }
    out.push_back(std::move(o));
    size_t i = 0;
    while (i < idx.size() && ++idx[i] == per_op[i].size()) idx[i++] = 0;
    if (i == idx.size()) break;
  }
  return out;
}

std::string Site(const StepSnapshot& at) {
  return absl::StrFormat("%s %s %s", at.file.empty() ? "-" : at.file, at.kind, sim::PhaseName(at.phase));
}

// What a meta page decodes to, as recovery's choice sees it: its unvalidated id, and the checkpoint id
// if it is valid.
struct PageVerdict {
  uint64_t header = 0;
  std::optional<uint64_t> id;
};

PageVerdict Judge(ByteView page) {
  PageVerdict v;
  for (int i = 0; i < 8; ++i) v.header = v.header << 8 | page[size_t(i)];
  auto c = DecodeCheckpoint(page);
  if (c.ok()) v.id = c->id;
  return v;
}

class Explorer {
 public:
  Explorer(const sim::Scenario& s, uint64_t seed, const ExploreOptions& o) : s_(ExploredScenario(s)), seed_(seed), o_(o) {}

  ExploreReport Run() {
    const auto start = std::chrono::steady_clock::now();
    start_ = start;
    report_.scenario = s_.name;
    report_.seed = seed_;
    sim::RunOptions record;
    record.record = &rec_;
    const sim::SeedResult r = sim::RunSeed(s_, seed_, record);
    report_.config = r.config;
    report_.steps_recorded = rec_.steps.size();
    if (!r.pass) {
      report_.error = "the recording run (the workload without crashes) failed: " + r.message;
      return report_;
    }
    if (o_.crash_every_step) CrashEveryStep();
    if (o_.torn_meta && !Full()) TornMeta();
    if (o_.io_errors && !Full()) ReRun(/*fail=*/true);
    if (o_.run_on && !Full()) ReRun(/*fail=*/false);
    Flush();
    for (int depth = 1; depth <= o_.recovery_depth && !Full(); ++depth) {
      const size_t from = level_begin_, to = judged_.size();
      level_begin_ = to;
      for (size_t i = from; i < to && !Full(); ++i) RecoveryCrashes(i);
      Flush();
    }
    if (!key_mismatches_.empty()) {
      report_.error = absl::StrFormat("%u crash keys differ from the hash of the world the crash leaves (first at step %u)",
                                      key_mismatches_.size(), key_mismatches_.front());
    }
    report_.steps_covered = covered_.size();
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report_;
  }

 private:
  bool Full() const { return o_.max_states != 0 && report_.states >= o_.max_states; }

  void Add(Candidate c) {
    if (Full()) return;
    ++report_.states;
    pending_.push_back(std::move(c));
    if (pending_.size() >= kChunk) Flush();
  }

  void CrashEveryStep() {
    for (size_t i = 0; i < rec_.steps.size() && !Full(); ++i) {
      const StepSnapshot at = CrashSnapshot(rec_.steps[i]);
      uint64_t n = 0;
      auto add = [&](Candidate c) {
        if (n == o_.max_states_per_step) return false;
        ++n;
        Add(std::move(c));
        return true;
      };
      Candidate process{i, -1, {true}, {}, {}, "crash-every-step", "process"};
      add(process);
      // The product of each uncommitted unlink's outcomes (it survives, or is undone and the old file is
      // back) and each file's (PowerLoss decides the unlinks first).
      std::vector<std::vector<FileOutcome>> files;
      for (size_t u = 0; u < at.files.unlinked.size(); ++u) files.push_back({{{1}, 0}, {{0}, kUnlinkUndone}});
      for (const SimEnv::FileSnapshot& f : at.files.files) files.push_back(FileOutcomes(f, at.step, o_.window, rec_.sector_size));
      std::vector<size_t> idx(files.size(), 0);
      bool capped = false;
      for (;;) {
        Candidate c{i, -1, {false}, {}, {}, "crash-every-step", ""};
        bool all_dropped = true, torn = false, undone = false;
        for (size_t f = 0; f < files.size(); ++f) {
          const FileOutcome& o = files[f][idx[f]];
          all_dropped = all_dropped && (o.kind == 0 || f < at.files.unlinked.size());
          torn = torn || o.kind == 2;
          undone = undone || o.kind == kUnlinkUndone;
          c.suffix.insert(c.suffix.end(), o.d.begin(), o.d.end());
        }
        c.variant = undone ? "unlink undone" : all_dropped ? "drop-all" : torn ? "torn" : "subset";
        if (!add(std::move(c))) {
          capped = true;
          break;
        }
        size_t f = 0;
        while (f < idx.size() && ++idx[f] == files[f].size()) idx[f++] = 0;
        if (f == idx.size()) break;
      }
      if (capped) ++report_.steps_capped;
    }
  }

  // Every meta-page write, torn every way, at the write and just before the Sync after it. The unit of
  // a tear is the sector, but never less than kMinTearUnit bytes: with sectors capped at a small page
  // (256 bytes) a meta page would have 4^16 tears; the sectors of one unit then share their outcome.
  void TornMeta() {
    const uint32_t sector = rec_.sector_size;
    const uint64_t per_unit = std::max<uint64_t>(1, kMinTearUnit / sector);
    const uint64_t units = (kMetaPageSize + sector * per_unit - 1) / (sector * per_unit);
    uint64_t combos = 1;
    for (uint64_t k = 0; k < units; ++k) combos *= 4;
    for (size_t i = 0; i < rec_.steps.size() && !Full(); ++i) {
      const StepSnapshot& w = rec_.steps[i];
      if (w.kind != "write" || w.file != "db" || (w.offset != 0 && w.offset != kMetaPageSize) || w.length != kMetaPageSize) {
        continue;
      }
      ++report_.torn_meta_writes;
      // Phase 1: the crash lands on the write. Phase 2: on the next db Sync (it fails; everything since
      // is pending), or the last step if none follows.
      size_t sync = i + 1;
      while (sync < rec_.steps.size() && !(rec_.steps[sync].kind == "sync" && rec_.steps[sync].file == "db")) ++sync;
      if (sync == rec_.steps.size()) sync = rec_.steps.size() - 1;
      for (size_t at_index : {i, sync}) {
        const StepSnapshot at = CrashSnapshot(rec_.steps[at_index]);
        const SimEnv::FileSnapshot* db = nullptr;
        for (const auto& f : at.files.files) db = f.path == "db" ? &f : db;
        if (db == nullptr) continue;
        // The meta write's index among the pending ops of db.
        size_t wi = db->pending_count;
        for (size_t k = 0; k < db->pending_count; ++k) {
          if ((*db->pending)[k].step == w.step) wi = k;
        }
        if (wi == db->pending_count) continue;  // not pending there (synced already)
        const size_t window = db->pending_count - wi;
        // The decisions: unlinks survive; db: window from the meta write, it torn, later ones applied;
        // every other file: all applied.
        std::vector<uint64_t> before(at.files.unlinked.size(), 1), after;
        bool seen_db = false;
        for (const auto& f : at.files.files) {
          if (&f == db) {
            seen_db = true;
            continue;
          }
          (seen_db ? after : before).push_back(1);  // every pending op applied
        }
        // Reduced: the key is what both meta pages decode to (the rest of the image is the same for
        // every combination), computed here on the meta pages alone.
        Bytes base = *db->durable;
        for (size_t k = 0; k < wi; ++k) sim::ApplyOp((*db->pending)[k], &base);
        if (base.size() < 2 * kMetaPageSize) base.resize(2 * kMetaPageSize, 0);
        const uint64_t group = Mix({uint64_t(at_index), 0x7e7aull});
        for (uint64_t combo = 0; combo < combos && !Full(); ++combo) {
          Candidate c{at_index, -1, {false}, {}, before, "torn-meta", at_index == i ? "torn-meta at write" : "torn-meta before sync"};
          c.suffix.insert(c.suffix.end(), {2, window});
          std::vector<uint64_t> tear = {2, kTornGarbageSeed};
          for (uint64_t k = 0, x = combo; k < units; ++k, x /= 4) tear.insert(tear.end(), per_unit, x % 4);
          c.suffix.insert(c.suffix.end(), tear.begin(), tear.end());
          for (size_t k = wi + 1; k < db->pending_count; ++k) c.suffix.push_back(1);
          c.suffix.insert(c.suffix.end(), after.begin(), after.end());
          if (o_.reduce_torn_meta) {
            Bytes pages(base.begin(), base.begin() + 2 * kMetaPageSize);
            sim::ReplayDecisions d(std::vector<uint64_t>(tear.begin() + 1, tear.end()));
            TearSectors((*db->pending)[wi], sector, &pages, d);
            for (size_t k = wi + 1; k < db->pending_count; ++k) sim::ApplyOp((*db->pending)[k], &pages);
            pages.resize(2 * kMetaPageSize);
            const PageVerdict p1 = Judge(ByteView(pages).first(kMetaPageSize));
            const PageVerdict p2 = Judge(ByteView(pages).subspan(kMetaPageSize));
            c.key = Mix({group, p1.header, p1.id.value_or(0), p1.id.has_value(), p2.header, p2.id.value_or(0),
                         p2.id.has_value(), at.oracle_calls, at.commit_in_flight});
          }
          ++report_.torn_meta_states;
          Add(std::move(c));
        }
      }
    }
  }

  // At every step: an I/O error (fail), or a process crash with the run going on to a power loss.
  void ReRun(bool fail) {
    for (size_t i = 0; i < rec_.steps.size() && !Full(); ++i) {
      Candidate c{i, -1, {}, {}, {}, fail ? "io-error-every-step" : "process-crash-run-on", fail ? "io-error" : "process, run on"};
      if (!fail) c.process = {true};
      c.fail = fail;
      c.run_on = !fail;
      c.key = Mix({uint64_t(i), fail ? 0x10e770ull : 0x7a0aull});  // a whole run each: never the same state
      ++(fail ? report_.io_error_states : report_.run_on_states);
      Add(std::move(c));
    }
  }

  // A judged state's recovery, crashed again at and right after each of its writes and syncs.
  void RecoveryCrashes(size_t judged) {
    const Judged j = judged_[judged];  // a copy: Add may flush, and judged_ grow
    if (!j.pass || j.candidate.fail || j.candidate.run_on || j.candidate.process.size() > size_t(o_.recovery_depth)) return;
    std::set<uint64_t> points;
    for (uint64_t w : j.recovery_writes) {
      points.insert(w);
      points.insert(w + 1);
    }
    size_t files = rec_.steps[j.candidate.step_index].files.files.size() + 1;
    for (uint64_t at : points) {
      for (int kind = 0; kind < 3; ++kind) {
        Candidate c = j.candidate;
        c.parent = int(judged);
        c.explorer = "recovery-crash";
        c.key.reset();
        c.process.push_back(kind == 2);
        c.recovery_steps.push_back(at);
        c.suffix = j.decisions_after_prefix;
        if (kind == 1) c.suffix.insert(c.suffix.end(), files, 1);
        c.variant = kind == 0 ? "recovery-power drop-all" : kind == 1 ? "recovery-power keep-all" : "recovery-process";
        ++report_.recovery_states;
        Add(std::move(c));
      }
    }
  }

  struct Outcome {
    uint64_t key = 0;
    bool judged = false;
    sim::SeedResult result;
  };

  std::vector<uint64_t> Decisions(const Candidate& c) const {
    const StepSnapshot& at = rec_.steps[c.step_index];
    if (c.run_on) return rec_.decisions;  // the whole workload, then zeros: the final power loss drops everything
    if (c.fail) {  // the workload up to the end of the operation the error hits, then the power loss's zeros
      const size_t end = at.op + 1 < rec_.op_starts.size() ? rec_.op_starts[at.op + 1] : rec_.decisions.size();
      return std::vector<uint64_t>(rec_.decisions.begin(), rec_.decisions.begin() + std::ptrdiff_t(end));
    }
    std::vector<uint64_t> d(rec_.decisions.begin(), rec_.decisions.begin() + std::ptrdiff_t(at.decisions));
    d.insert(d.end(), c.suffix.begin(), c.suffix.end());
    return d;
  }

  static ExploreCrash CrashOf(const Candidate& c, uint64_t step) {
    ExploreCrash crash{step, c.process, c.recovery_steps, nullptr};
    if (c.fail) crash.fail_step = step;
    crash.run_on = c.run_on;
    return crash;
  }

  sim::SeedResult RunState(const Candidate& c, Worker& models, int stop_after_crash) const {
    if (c.fail || c.run_on) return ReplayExplored(s_, seed_, CrashOf(c, rec_.steps[c.step_index].step), Decisions(c));
    const StepSnapshot at = CrashSnapshot(rec_.steps[c.step_index]);
    ExplorePolicy policy;
    ExploreCrash crash{at.step, c.process, c.recovery_steps, &policy};
    sim::RunOptions run;
    run.explore = &crash;
    run.from_step = &at;
    run.from_oracle = &models.At(at.oracle_calls, at.commit_in_flight);
    run.stop_after_crash = stop_after_crash;
    return sim::ReplaySeed(s_, seed_, Decisions(c), run);
  }

  // The key of a state: the world its last crash leaves and the model that judges it.
  uint64_t Key(const Candidate& c, Worker& models) const {
    if (c.key) return *c.key;
    const StepSnapshot& at = rec_.steps[c.step_index];
    uint64_t world = 0;
    if (c.process.size() > 1) return Mix({RunState(c, models, int(c.process.size())).world_hash, at.oracle_calls,
                                          at.commit_in_flight, c.process.back()});
    // Hashed from the snapshot, without building the world (a power loss that may undo an unlink is
    // built); with check_keys, also built, and the two must agree.
    const StepSnapshot snap = CrashSnapshot(at);
    const bool direct = c.process[0] || at.files.unlinked.empty();
    if (!direct || o_.check_keys) {
      SimEnv env(nullptr, SimEnv::Options{rec_.sector_size});
      env.Restore(snap.files, snap.step, /*current=*/c.process[0]);
      if (!c.process[0]) {
        ExplorePolicy policy;
        sim::ReplayDecisions d(c.suffix);
        env.PowerLoss(policy, d);
      }
      world = env.WorldHash();
    }
    if (direct) {
      const uint64_t hashed = c.process[0] ? ProcessCrashWorld(snap, models) : PowerLossWorld(snap, c.suffix, models);
      if (o_.check_keys && hashed != world) {
        std::lock_guard<std::mutex> lock(key_mismatch_mutex_);
        key_mismatches_.push_back(at.step);
      }
      world = hashed;
    }
    return Mix({world, at.oracle_calls, at.commit_in_flight, c.process.back()});
  }

  // SimEnv::WorldHash of the world a process crash leaves: the snapshot's files as they are.
  static uint64_t ProcessCrashWorld(const StepSnapshot& at, Worker& models) {
    std::vector<uint64_t> files;
    for (const SimEnv::FileSnapshot& f : at.files.files) {
      files.push_back(SimEnv::FileHashOfBlocks(f.path, f.durable_exists, f.durable->size(), models.Blocks(*f.durable),
                                               std::span<const PendingOp>(f.pending->data(), f.pending_count)));
    }
    std::vector<std::string> unlinked;
    for (const SimEnv::FileSnapshot& f : at.files.unlinked) unlinked.push_back(f.path);
    return SimEnv::WorldHash(files, unlinked);
  }

  // SimEnv::WorldHash of the world a power loss with these decisions leaves, computed from the snapshot
  // (what SimEnv::PowerLoss does, without building a SimEnv): a file whose pending operations are all
  // dropped keeps its durable image, whose block hashes are kept per worker.
  uint64_t PowerLossWorld(const StepSnapshot& at, const std::vector<uint64_t>& suffix, Worker& models) const {
    ExplorePolicy policy;
    sim::ReplayDecisions d(suffix);
    std::vector<uint64_t> files;
    for (const SimEnv::FileSnapshot& f : at.files.files) {
      policy.BeginFile(f.path, f.pending_count, d);
      if (policy.drops_all() || f.pending_count == 0) {
        if (!f.durable_exists) continue;  // never synced and nothing reaches the disk: gone
        files.push_back(SimEnv::FileHashOfBlocks(f.path, true, f.durable->size(), models.Blocks(*f.durable), {}));
        continue;
      }
      const std::span<const PendingOp> pending(f.pending->data(), f.pending_count);
      bool exists = f.durable_exists;
      const uint64_t hash = WindowedHash(f.path, *f.durable, pending, policy, d, models, &exists);
      if (exists) files.push_back(hash);
    }
    return SimEnv::WorldHash(files, {});
  }

  // The hash of the image a power loss builds from `durable` and `pending` (decided by `policy`), built
  // only over the hash blocks the writes touch; the other blocks' hashes are the durable image's. The
  // window starts on a block (and sector) boundary and keeps the whole image's size past its start (a
  // write past the end grows both alike), so the policy decides and tears exactly as on the whole
  // image. A truncate takes the whole image.
  uint64_t WindowedHash(const std::string& path, const Bytes& durable, std::span<const PendingOp> pending,
                        sim::CrashPolicy& policy, sim::Decisions& d, Worker& models, bool* exists) const {
    const uint64_t block = std::max<uint64_t>(SimEnv::kHashBlock, rec_.sector_size), size = durable.size();
    const uint64_t hi = sim::MaxEnd(pending);
    uint64_t lo = size / block * block;
    bool truncated = false;
    for (const PendingOp& op : pending) {
      truncated |= op.kind == PendingOp::kTruncate;
      if (op.kind == PendingOp::kWrite) lo = std::min(lo, op.offset / block * block);
    }
    if (truncated) lo = 0;
    // Past the window the image is durable bytes no write reaches (none when the writes reach the end).
    const uint64_t aligned_hi = (hi + block - 1) / block * block;
    const uint64_t end = truncated || size <= aligned_hi ? size : std::max(aligned_hi, lo);
    Bytes window;
    window.reserve(std::max(end, hi) - lo);
    window.assign(durable.begin() + std::ptrdiff_t(lo), durable.begin() + std::ptrdiff_t(end));
    for (const PendingOp& op : pending) {
      PendingOp shifted{op.kind, op.offset - std::min(op.offset, lo), {}, op.step};
      if (op.kind == PendingOp::kWrite) shifted.data = op.data;
      const sim::CrashPolicy::Outcome o = policy.Decide(path, shifted, rec_.sector_size, &window, d);
      if (o != sim::CrashPolicy::kDropped && op.kind == PendingOp::kCreate) *exists = true;
    }
    const std::vector<uint64_t>& old = models.Blocks(durable);
    std::vector<uint64_t> blocks(old.begin(), old.begin() + std::ptrdiff_t(lo / SimEnv::kHashBlock));
    const std::vector<uint64_t> changed = SimEnv::BlockHashes(window);
    blocks.insert(blocks.end(), changed.begin(), changed.end());
    if (end < size) blocks.insert(blocks.end(), old.begin() + std::ptrdiff_t(end / SimEnv::kHashBlock), old.end());
    return SimEnv::FileHashOfBlocks(path, true, lo + window.size() + (end < size ? size - end : 0), blocks, {});
  }

  // Runs fn(i, models) for i in [0, n) over the jobs, each thread on a contiguous range in order.
  template <typename Fn>
  void Parallel(size_t n, Fn fn) {
    const size_t jobs = std::max<size_t>(1, size_t(o_.jobs));
    while (models_.size() < jobs) models_.push_back(std::make_unique<Worker>(rec_));
    if (jobs == 1) {
      for (size_t i = 0; i < n; ++i) fn(i, *models_[0]);
      return;
    }
    std::vector<std::thread> threads;
    for (size_t t = 0; t < jobs; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = n * t / jobs; i < n * (t + 1) / jobs; ++i) fn(i, *models_[t]);
      });
    }
    for (std::thread& th : threads) th.join();
  }

  // Keys the pending states, judges the first of every new key, records the outcomes in order.
  void Flush() {
    if (pending_.empty()) return;
    std::vector<Outcome> out(pending_.size());
    Parallel(pending_.size(), [&](size_t i, Worker& models) { out[i].key = Key(pending_[i], models); });
    std::vector<size_t> judge;
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (seen_.insert(out[i].key).second) judge.push_back(i);
    }
    Parallel(judge.size(), [&](size_t k, Worker& models) {
      Outcome& o = out[judge[k]];
      o.result = RunState(pending_[judge[k]], models, 0);
      o.judged = true;
    });
    for (size_t i = 0; i < pending_.size(); ++i) {
      Candidate& c = pending_[i];
      const StepSnapshot& at = rec_.steps[c.step_index];
      covered_.insert(at.step);
      if (o_.keep_states) {
        if (out[i].judged) verdict_of_[out[i].key] = out[i].result.pass;
        report_.state_verdicts.push_back(verdict_of_[out[i].key]);
      }
      if (!out[i].judged) continue;
      const sim::SeedResult& r = out[i].result;
      ++report_.distinct;
      const std::string path = r.recovery_path.empty() ? "no recovery (refused)" : r.recovery_path;
      ++report_.coverage[Site(at)][c.variant][path];
      Judged j;
      j.candidate = c;
      j.pass = r.pass;
      j.recovery_writes = r.recovery_writes;
      j.decisions_after_prefix.assign(r.decisions.begin() + std::ptrdiff_t(at.decisions), r.decisions.end());
      if (!r.pass || o_.keep_states) {
        ExploredState f;
        f.explorer = c.explorer;
        f.step = at.step;
        f.site = Site(at);
        f.variant = c.variant;
        f.crash = CrashOf(c, at.step);
        f.decisions = r.decisions;
        f.pass = r.pass;
        f.message = r.message;
        f.recovery_path = r.recovery_path;
        if (o_.keep_states) report_.judged.push_back(f);
        if (!r.pass && report_.failures.empty()) {
          report_.first_failure_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        }
        if (!r.pass) report_.failures.push_back(std::move(f));
      }
      judged_.push_back(std::move(j));
    }
    pending_.clear();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (t > last_sample_ + 0.5) {
      report_.rate.emplace_back(t, double(report_.distinct - last_distinct_) / (t - last_sample_));
      last_sample_ = t;
      last_distinct_ = report_.distinct;
    }
    if (o_.progress) o_.progress(report_.states, o_.max_states);
  }

  struct Judged {
    Candidate candidate;
    bool pass = false;
    std::vector<uint64_t> recovery_writes;
    std::vector<uint64_t> decisions_after_prefix;
  };

  sim::Scenario s_;
  uint64_t seed_;
  ExploreOptions o_;
  Recording rec_;
  ExploreReport report_;
  std::vector<Candidate> pending_;
  std::set<uint64_t> seen_;
  std::map<uint64_t, bool> verdict_of_;  // keep_states: each judged key's verdict
  mutable std::mutex key_mismatch_mutex_;
  mutable std::vector<uint64_t> key_mismatches_;  // check_keys: steps whose two keys differ
  std::set<uint64_t> covered_;
  std::vector<Judged> judged_;
  std::vector<std::unique_ptr<Worker>> models_;  // one per job, kept across rounds (states come in step order)
  size_t level_begin_ = 0;
  std::chrono::steady_clock::time_point start_;
  double last_sample_ = 0;
  uint64_t last_distinct_ = 0;
};

}  // namespace

sim::Scenario ExploredScenario(const sim::Scenario& scenario) {
  sim::Scenario s = scenario;
  s.faults = nullptr;
  s.canary = false;
  return s;
}

ExploreReport Explore(const sim::Scenario& scenario, uint64_t seed, const ExploreOptions& options) {
  ExploreOptions o = options;
  if (!o.crash_every_step && !o.torn_meta && !o.io_errors && !o.run_on) {  // no mode: all of them
    o.crash_every_step = o.torn_meta = o.io_errors = o.run_on = true;
  }
  Explorer e(scenario, seed, o);
  return e.Run();
}

sim::SeedResult ReplayExplored(const sim::Scenario& scenario, uint64_t seed, const sim::ExploreCrash& crash,
                               const std::vector<uint64_t>& decisions) {
  ExplorePolicy policy;
  sim::ExploreCrash c = crash;
  c.policy = &policy;
  sim::RunOptions run;
  run.explore = &c;
  return sim::ReplaySeed(ExploredScenario(scenario), seed, decisions, run);
}

}  // namespace lsm::faults
