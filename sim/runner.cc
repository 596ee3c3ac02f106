#include "sim/runner.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_format.h"
#include "engine/db.h"
#include "engine/env/mem_env.h"
#include "engine/format/meta_page.h"
#include "engine/lsm/segment.h"
#include "engine/format/varint.h"
#include "sim/checkpoint_oracle.h"
#include "sim/oracle.h"
#include "sim/sim_env.h"
#include "sim/workload.h"

namespace lsm::sim {
namespace {

constexpr const char* kDbPath = "db";
constexpr const char* kLogPath = "db-log";  // the engine's name for kDbPath's log
constexpr int kMaxDepth = 3;

class SeedRun {
 public:
  SeedRun(const Scenario& s, uint64_t seed, const RunOptions& run)
      : s_(s), mode_(run.mode), write_image_(run.write_crash_image), from_image_(run.from_crash_image),
        record_(run.record), explore_(run.explore), from_step_(run.from_step), from_oracle_(run.from_oracle),
        stop_after_crash_(run.stop_after_crash), env_(&trace_, SimEnv::Options{s.sector_size}), prng_(seed),
        d_(run.replay ? run.replay : &prng_),
        oracle_(Pick(s.safety)), workload_(s, &d_) {
    trace_.KeepAll(run.events);
    r_.seed = seed;
    options_.safety = oracle_.safety();
    options_.page_size = Pick(s.page_size);
    options_.block_size = s.block_size;
    options_.autoflush_kb = Pick(s.autoflush_kb);
    options_.automerge = Pick(s.automerge);
    options_.autocheckpoint_kb = Pick(s.autocheckpoint_kb);
    options_.max_freelist = s.max_freelist;
    options_.cache_kb = s.cache_kb;
    r_.config = absl::StrFormat("safety %s, page %u, block %u, autoflush %u KB, automerge %u, autocheckpoint %u KB, %s keys",
                                SafetyName(options_.safety), options_.page_size, options_.block_size,
                                options_.autoflush_kb, options_.automerge, options_.autocheckpoint_kb,
                                DistributionName(workload_.distribution()));
    if (s.start) {
      r_.config += absl::StrFormat(", start_from %s (%s, content hash %s)",
                                   std::filesystem::path(s.start->path).filename().string(),
                                   s.start->engine_read.ok() ? absl::StrFormat("%u keys", s.start->keys.size()) : "unreadable",
                                   HashHex(s.start->hash));
    }
    if (s.faults) {
      const uint32_t sector = s.faults->SectorSize(&d_, s.sector_size, options_.page_size);
      env_.set_sector_size(sector);
      plan_ = s.faults->Plan(&env_, &d_, &trace_);
      r_.faults = plan_->Describe();
      r_.config += absl::StrFormat(", sector %u, faults: %s", sector, r_.faults);
    }
    // The explorers tear writes into sectors: no larger than a page, as the fault plan draws them (a torn
    // write of a page smaller than its sector garbles the synced page beside it, which the format cannot
    // survive; BENCHMARKS, known limits).
    if (exploring() && !plan_) env_.set_sector_size(std::min<uint32_t>(env_.sector_size(), options_.page_size));
    Note("config", r_.config);
    if (record_) {
      record_->safety = oracle_.safety();
      record_->sector_size = env_.sector_size();
      oracle_.set_journal(&record_->oracle);
      env_.set_step_hook([this](uint64_t step, std::string_view kind, const std::string& file, uint64_t offset,
                                uint64_t length) { RecordStep(step, kind, file, offset, length); });
    }
    if (explore_ && !from_step_ && explore_->fail_step != 0) {
      env_.ArmError(explore_->fail_step);
    } else if (explore_ && !from_step_) {
      env_.ArmCrash(explore_->step);
    }
  }

  SeedResult Run() {
    Status s;
    try {
      s = Body();
    } catch (const SimEnv::Hang& h) {
      // The engine call is abandoned (unwound: the engine holds its state in RAII objects) and never
      // resumed; the connections are dropped without a close.
      r_.hang = true;
      s = Fail(absl::StrFormat("hang: an engine call passed %u scheduling points without returning (watchdog)", h.yields));
      other_.reset();
      db_.reset();
    }
    r_.pass = s.ok();
    if (!s.ok()) {
      r_.message = s.message();
      // Problem lists end in a newline; a message is one line of a report.
      while (!r_.message.empty() && (r_.message.back() == '\n' || r_.message.back() == ' ')) r_.message.pop_back();
    }
    Note("verdict", r_.pass ? "pass" : r_.message);
    if (db_) Collect();
    if (plan_) r_.fault_counts = plan_->Counts();
    r_.trace_hash = trace_.hash();
    r_.steps = env_.step();
    r_.decisions = d_.TakeValues();
    r_.last_events = trace_.last();
    if (record_) {
      record_->decisions = r_.decisions;
      record_->op_starts = r_.op_starts;
    }
    return std::move(r_);  // the run is over
  }

 private:
  template <typename T>
  T Pick(const std::vector<T>& menu) {
    return menu[d_.Below(menu.size())];
  }

  void Note(std::string_view kind, const std::string& detail, uint64_t content = 0) {
    trace_.Add(TraceEvent{env_.step(), 0, kind, "", 0, 0, content, detail});
  }

  Status Fail(const std::string& what) {
    return Status::Corrupt(absl::StrFormat("op %u: %s", r_.ops, what));
  }

  bool exploring() const { return record_ != nullptr || explore_ != nullptr; }
  // An explored I/O error has been injected (its step has run).
  bool ExploredErrorPassed() const {
    return explore_ && explore_->fail_step != 0 && env_.step() >= explore_->fail_step && !env_.crashed() && !done_;
  }

  // The phase of a step, from the operation in progress (phase_) and the call.
  Phase PhaseOf(std::string_view kind, const std::string& file, uint64_t offset) const {
    if (phase_ != Phase::kCommit && phase_ != Phase::kFlush && phase_ != Phase::kMerge && phase_ != Phase::kCheckpoint) {
      return phase_;
    }
    if (file == kLogPath && (kind == "write" || kind == "sync" || kind == "truncate")) return Phase::kCommit;
    if (file == kDbPath && kind == "sync") return Phase::kCheckpoint;
    if (file == kDbPath && kind == "write") {
      if (offset < 2 * kMetaPageSize) return Phase::kCheckpoint;
      return phase_ == Phase::kMerge ? Phase::kMerge : Phase::kFlush;
    }
    return phase_;
  }

  void RecordStep(uint64_t step, std::string_view kind, const std::string& file, uint64_t offset, uint64_t length) {
    if (!recording_) return;
    StepSnapshot snap;
    snap.step = step;
    snap.kind = std::string(kind);
    snap.file = file;
    snap.offset = offset;
    snap.length = length;
    snap.phase = PhaseOf(kind, file, offset);
    snap.files = env_.Snap();
    snap.op = r_.ops;
    snap.decisions = d_.values().size();
    snap.oracle_calls = record_->oracle.size();
    snap.commit_in_flight = commit_in_flight_;
    record_->steps.push_back(std::move(snap));
  }

  // An explorer's state: the recorded step's files and model, the decisions drawn up to there replayed
  // (the stream then gives the crash's own), and the crash landed.
  Status FromStep() {
    const StepSnapshot& at = *from_step_;
    while (d_.values().size() < at.decisions) d_.Below(UINT64_MAX);  // the recorded values, as drawn
    env_.Restore(at.files, at.step, /*current=*/explore_->process.front());  // a power loss builds them
    borrowed_ = from_oracle_;  // judged, not changed: the seed ends at its verdict
    r_.ops = at.op;
    phase_ = at.phase;
    Note("explore-from", absl::StrFormat("step %u (%s %s at %u, %s)", at.step, at.kind, at.file, at.offset,
                                         PhaseName(at.phase)));
    return Recover();
  }

  void Collect() {
    const DbStats& st = db_->stats();
    r_.commits += st.commits;
    r_.flushes += st.flushes;
    r_.merges += st.merges;
    r_.checkpoints += st.checkpoints;
    r_.checkpoints_mid_merge += st.checkpoints_mid_merge;
    r_.blocks_reused += st.blocks_reused;
    r_.freelist_overflows += st.freelist_overflows;
  }

  // Two connections to the database: the first recovers, the second joins it (no Env call, so the
  // seed's trace is the same as with one).
  Env* EngineEnv() {
    if (mode_ == RunOptions::Mode::kMemEnv) return &mem_env_;
    return plan_ ? plan_->env() : static_cast<Env*>(&env_);
  }

  Status OpenDb() {
    Env* env = EngineEnv();
    auto db = Db::Open(env, kDbPath, options_);
    if (!db.ok()) return db.status();
    db_ = std::move(db).value();
    auto other = Db::Open(env, kDbPath, options_);
    if (!other.ok()) return Fail("a second connection could not join: " + other.status().ToString());
    other_ = std::move(other).value();
    return Status::Ok();
  }

  // The connection an operation runs on: inside a transaction the one holding it; otherwise every
  // other operation goes through the second connection (no decision drawn, so streams stay the same).
  Db& Connection() { return oracle_.depth() == 0 && r_.ops % 2 == 1 ? *other_ : *db_; }

  Result<Oracle::Map> Dump() {
    Oracle::Map out;
    auto c = db_->NewCursor();
    if (!c.ok()) return c.status();
    Status s = (*c)->First();
    for (; s.ok() && (*c)->Valid(); s = (*c)->Next()) {
      out[Bytes((*c)->key().begin(), (*c)->key().end())] = Bytes((*c)->value().begin(), (*c)->value().end());
    }
    LSM_RETURN_IF_ERROR(s);  // a step that failed ends the walk too: its error, not a short map
    return out;
  }

  Status CheckIntegrity(const char* when) {
    auto problems = db_->Check();
    if (!problems.ok() && (plan_ || explore_)) return Expect(problems.status(), std::string("integrity check ") + when);
    if (!problems.ok()) return Fail(std::string("integrity check ") + when + " failed: " + problems.status().ToString());
    if (!problems->empty()) return Fail(std::string("integrity check ") + when + ": " + *problems);
    return Status::Ok();
  }

  // The scenario's starting database: installed as durable content, the model starting from what the
  // engine read in it before the run (start_image.h). Its bytes' hash goes into the trace.
  Status InstallStart() {
    const StartImage& start = *s_.start;
    Note("start-from", std::filesystem::path(start.path).filename().string(), start.hash);
    if (mode_ == RunOptions::Mode::kMemEnv) {
      mem_env_.SetContents(kDbPath, start.db);
      if (start.log) mem_env_.SetContents(kLogPath, *start.log);
    } else {
      env_.InstallDurable(kDbPath, start.db);
      if (start.log) env_.InstallDurable(kLogPath, *start.log);
    }
    if (!start.engine_read.ok()) {
      return Fail("the engine could not read start_from " + start.path + " before the run: " + start.engine_read.message());
    }
    if (!start.expected_check.ok()) return Fail(start.expected_check.message());
    oracle_.Start(start.state);
    for (const auto& [k, v] : start.state.map) written_[k].insert(ContentHash(v));
    return Status::Ok();
  }

  // lsmsim compat, the writing side: the power has just failed; the durable images and the model go to
  // a directory for another build to recover, and the seed ends.
  Status WriteCrashImage() {
    PowerLoss();
    ++r_.crashes;
    CrashImage image;
    image.scenario = s_.name;
    image.seed = r_.seed;
    image.op = r_.ops;
    image.checkpoint_id = ExpectedCheckpointId();
    image.db = env_.Durable(kDbPath).value_or(Bytes());
    image.log = env_.Durable(kLogPath);
    image.oracle = oracle_.ToJson();
    Status w = sim::WriteCrashImage(write_image_, image);
    if (!w.ok()) return Fail("writing the crash image: " + w.ToString());
    Note("crash-image-written", write_image_, image.checkpoint_id);
    r_.message = absl::StrFormat("crash image written to %s (power loss in op %u, checkpoint %u)", write_image_,
                                 r_.ops, image.checkpoint_id);
    done_ = true;
    return Status::Ok();
  }

  // lsmsim compat, the reading side: another build's crash image, recovered by this build's engine and
  // judged by the model that build kept; the checkpoint to open is the one both decoders must agree on.
  Status RecoverCrashImage() {
    const CrashImage& image = *from_image_;
    Note("crash-image", absl::StrFormat("%s seed %u op %u", image.scenario, image.seed, image.op), ContentHash(image.db));
    auto oracle = Oracle::FromJson(image.oracle);
    if (!oracle.ok()) return Fail("the crash image's model: " + oracle.status().ToString());
    oracle_ = std::move(*oracle);
    options_.safety = oracle_.safety();
    env_.InstallDurable(kDbPath, image.db);
    if (image.log) env_.InstallDurable(kLogPath, *image.log);
    const uint64_t expected = ExpectedCheckpointId();
    if (expected != image.checkpoint_id) {
      return Fail(absl::StrFormat("the newest valid checkpoint of the crash image is %u to the build that wrote it and "
                                  "%s to this one",
                                  image.checkpoint_id,
                                  expected == kEmptyCheckpointId ? "none valid" : absl::StrFormat("%u", expected)));
    }
    Status s = OpenDb();
    if (!s.ok()) return Fail("recovery of the crash image failed: " + s.ToString());
    if (db_->snapshot().id != expected) {
      return Fail(absl::StrFormat("recovery of the crash image opened checkpoint %u; the newest valid is %u",
                                  db_->snapshot().id, expected));
    }
    return JudgeRecovered(expected);
  }

  // The newest valid checkpoint of the durable meta pages: what recovery must open.
  uint64_t ExpectedCheckpointId(bool durable = true) {
    expected_page_ = MetaPage::kNone;
    std::optional<Bytes> pages = env_.Head(kDbPath, 2 * kMetaPageSize, durable);
    if (!pages || pages->size() < kMetaPageSize) return kEmptyCheckpointId;
    pages->resize(2 * kMetaPageSize, 0);  // a second page past the end reads as zeros
    const ByteView both(*pages);
    const MetaPage newest = NewestValidCheckpoint(both.first(kMetaPageSize), both.subspan(kMetaPageSize, kMetaPageSize));
    expected_page_ = newest;
    if (newest == MetaPage::kNone) return kEmptyCheckpointId;
    return DecodeCheckpoint(both.subspan(MetaPageOffset(newest), kMetaPageSize))->id;
  }

  // How the recovery that just opened the database went: the meta page it took (the one the last
  // ExpectedCheckpointId found, which recovery was checked against), how many commits it replayed from
  // the log, whether it resumed a merge.
  std::string RecoveryPath() {
    const MetaPage page = expected_page_;
    const DbStats& st = db_->stats();
    const uint64_t n = st.log_replayed_commits;
    return absl::StrFormat("meta page %s, log replay %s%s%s",
                           page == MetaPage::kPage1 ? "1" : page == MetaPage::kPage2 ? "2" : "none",
                           n == 0 ? "0" : n <= 3 ? "1-3" : n <= 15 ? "4-15" : "16+",
                           st.merges_resumed > 0 ? ", merge resumed" : "",
                           st.freelist_overflow_loaded > 0 ? ", free-list overflow loaded" : "");
  }

  // The first open of the starting database, judged like a recovery: the newest valid checkpoint, a
  // sound structure, and exactly the content read before the run.
  Status JudgeStart() {
    const StartImage& start = *s_.start;
    const std::string what = "opening start_from " + start.path;
    if (faults() && db_->snapshot().id != start.checkpoint_id) {
      return Fail(absl::StrFormat("%s opened checkpoint %u; the newest valid checkpoint in the file is %u", what,
                                  db_->snapshot().id, start.checkpoint_id));
    }
    LSM_RETURN_IF_ERROR(CheckIntegrity(("after " + what).c_str()));
    auto content = Dump();
    if (!content.ok()) return Fail(what + ": scan failed: " + content.status().ToString());
    auto version = db_->UserVersion();
    if (!version.ok()) return Fail(what + ": user version failed: " + version.status().ToString());
    if (*content != start.state.map || *version != start.state.user_version) {
      return Fail(absl::StrFormat("%s: the database has %u keys and user version %u, the file held %u keys and user "
                                  "version %u when read before the run%s",
                                  what, content->size(), *version, start.state.map.size(), start.state.user_version,
                                  Oracle::Difference(start.state.map, *content)));
    }
    return Status::Ok();
  }

  Status Body() {
    if (from_step_) return FromStep();
    if (from_image_) {
      LSM_RETURN_IF_ERROR(RecoverCrashImage());
    } else {
      if (s_.start) LSM_RETURN_IF_ERROR(InstallStart());
      if (plan_) plan_->Suspend(true);  // the database's creation is the harness's, not under test
      Status s = OpenDb();
      if (plan_) plan_->Suspend(false);
      if (!s.ok() && s_.start) return Fail("opening start_from " + s_.start->path + " failed: " + s.ToString());
      if (!s.ok()) return Fail("open of a new database failed: " + s.ToString());
      if (s_.start) LSM_RETURN_IF_ERROR(JudgeStart());
    }
    recording_ = true;
    for (; r_.ops < s_.ops; ++r_.ops) {
      r_.op_starts.push_back(d_.values().size());
      const Op op = workload_.Next();
      Note("op", op.Describe(), uint64_t(op.kind));
      env_.BeginCall();
      LSM_RETURN_IF_ERROR(Execute(op));
      if (ExploredErrorPassed()) return Recover();  // the power fails right after the operation the error hit
      if (env_.exhausted()) return Fail(absl::StrFormat("%s ran past the seed's budget of Env calls (a loop?)", op.Describe()));
      if (env_.crashed()) {
        LSM_RETURN_IF_ERROR(Recover());
      } else if ((plan_ || explore_) && !done_ && (injected_ || !db_)) {
        LSM_RETURN_IF_ERROR(ReopenAfterError());
      }
      if (done_) return Status::Ok();
    }
    // Every seed crashes at least once: a crash that has not fired, or none drawn, lands here.
    if (faults() && !exploring() && (armed_ || r_.crashes == 0)) LSM_RETURN_IF_ERROR(Recover());
    if (done_) return Status::Ok();
    // A clean close keeps everything; the reopened database is exactly the model.
    phase_ = Phase::kCommit;
    while (oracle_.depth() > 0) {
      LSM_RETURN_IF_ERROR(Expect(db_->Rollback(), "rollback"));
      oracle_.Rollback();
    }
    if (explore_ && explore_->run_on) return Recover();  // the power fails at the end of the run
    LSM_RETURN_IF_ERROR(Reopen());
    // The explored crash or error landed in the close or the reopen.
    if (explore_ && (env_.crashed() || ExploredErrorPassed())) return Recover();
    return Status::Ok();
  }

  // An error is expected once the power has failed, or when the fault plan injected it (the runner
  // then reopens), or out of contract (a clean error is all that is asked); anything else is the
  // engine's failure.
  Status Expect(const Status& s, const std::string& what) {
    if (s.ok() || env_.crashed() || unjudged_) return Status::Ok();
    const bool explored = explore_ && s.message().find(SimEnv::kInjectedByExplorer) != std::string::npos;
    if (explored || (plan_ && plan_->Injected(s))) {
      if (!injected_) ++r_.injected_errors;
      injected_ = true;
      Note("injected-error", what + ": " + s.ToString());
      return Status::Ok();
    }
    if (OutOfContract()) {
      ++r_.clean_errors;
      Note("clean-error", what + ": " + s.ToString());
      injected_ = true;  // reopen: the database may have refused further writes
      return Status::Ok();
    }
    return Fail(what + " returned " + s.ToString());
  }

  bool OutOfContract() const { return plan_ && plan_->OutOfContract(); }
  // Whether reads are compared with the model (not after safety off lost power, not out of contract,
  // not after an injected error in this call: its reopen judges).
  bool Judged() const { return !unjudged_ && !OutOfContract() && !injected_; }

  // Out of contract the engine may lose data but never return a value nobody wrote for that key.
  Status CheckWritten(ByteView key, ByteView value, const std::string& what) {
    auto it = written_.find(Bytes(key.begin(), key.end()));
    if (it != written_.end() && it->second.count(ContentHash(value))) return Status::Ok();
    return Fail(absl::StrFormat("%s: key %s has value %s, which nobody wrote for it", what, ToHex(key).substr(0, 32),
                                ToHex(value).substr(0, 32)));
  }

  static LogOp AsLogOp(const Op& op) {
    switch (op.kind) {
      case Op::kPut:
        return LogOp{LogOp::kPut, op.key, op.value};
      case Op::kErase:
        return LogOp{LogOp::kDelete, op.key, {}};
      case Op::kEraseRange:
        return LogOp{LogOp::kDeleteRange, op.key, op.key2};
      default: {
        Bytes version(4);
        StoreBe32(version.data(), uint32_t(op.a));
        return LogOp{LogOp::kUserVersion, {}, version};
      }
    }
  }

  Status Write(const Op& op) {
    const LogOp log = AsLogOp(op);
    if (plan_ && op.kind == Op::kPut) written_[op.key].insert(ContentHash(op.value));
    const bool single = oracle_.depth() == 0;
    if (single) {
      oracle_.Single(log);
    } else {
      oracle_.Apply(log);
    }
    Db& db = Connection();
    commit_in_flight_ = single;
    Status s = op.kind == Op::kPut          ? db.Put(op.key, op.value)
               : op.kind == Op::kErase      ? db.Erase(op.key)
               : op.kind == Op::kEraseRange ? db.EraseRange(op.key, op.key2)
                                            : db.SetUserVersion(uint32_t(op.a));
    commit_in_flight_ = false;
    if (single) {
      // A call the crash interrupted returns to nobody (the process died): its commit is only maybe.
      if (s.ok() && !env_.crashed()) {
        oracle_.Acknowledged();
      } else {
        oracle_.Failed();
      }
    }
    return Expect(s, op.Describe());
  }

  Status Get(const Op& op) {
    auto got = Connection().Get(op.key);
    auto version = Connection().UserVersion();
    if (unjudged_) return Status::Ok();
    if (!Judged()) {
      if (!got.ok()) return Expect(got.status(), op.Describe());
      if (got->has_value() && OutOfContract() && !plan_->SilentDamagePossible()) {
        return CheckWritten(op.key, **got, op.Describe());
      }
      return Status::Ok();
    }
    if (!version.ok()) return Expect(version.status(), "user version");
    if (*version != oracle_.view_user_version()) {
      return Fail(absl::StrFormat("user version is %u, the model has %u", *version, oracle_.view_user_version()));
    }
    if (!got.ok()) return Expect(got.status(), op.Describe());
    auto it = oracle_.view().find(op.key);
    const bool want = it != oracle_.view().end();
    if (want != got->has_value() || (want && **got != it->second)) {
      return Fail(absl::StrFormat("get %s returned %s, the model has %s", ToHex(op.key),
                                  got->has_value() ? ToHex(**got).substr(0, 32) : "nothing",
                                  want ? ToHex(it->second).substr(0, 32) : "nothing"));
    }
    return Status::Ok();
  }

  Status Scan(const Op& op) {
    const Oracle::Map& v = oracle_.view();
    auto c = Connection().NewCursor();
    if (!c.ok()) return Expect(c.status(), op.Describe());
    Cursor& cur = **c;
    Oracle::Map::const_iterator it;
    Status s;
    switch (op.a) {
      case 0:
        s = cur.First();
        it = v.begin();
        break;
      case 1:
        s = cur.Last();
        it = v.empty() ? v.end() : std::prev(v.end());
        break;
      case 2:
        s = cur.SeekGe(op.key);
        it = v.lower_bound(op.key);
        break;
      case 3: {
        s = cur.SeekLe(op.key);
        auto ub = v.upper_bound(op.key);
        it = ub == v.begin() ? v.end() : std::prev(ub);
        break;
      }
      default:
        s = cur.SeekEq(op.key);
        it = v.find(op.key);
        break;
    }
    for (int step = 0;; ++step) {
      if (unjudged_) return Status::Ok();
      if (!s.ok()) return Expect(s, op.Describe());
      if (!Judged()) {
        if (cur.Valid() && OutOfContract() && !plan_->SilentDamagePossible()) {
          LSM_RETURN_IF_ERROR(CheckWritten(cur.key(), cur.value(), op.Describe()));
        }
        if (!cur.Valid() || step == op.b) return Status::Ok();
        s = cur.Next();
        continue;
      }
      const bool want = it != v.end();
      if (want != cur.Valid() || (want && (Bytes(cur.key().begin(), cur.key().end()) != it->first ||
                                           Bytes(cur.value().begin(), cur.value().end()) != it->second))) {
        return Fail(absl::StrFormat("%s: at step %d the cursor is at %s, the model at %s", op.Describe(), step,
                                    cur.Valid() ? ToHex(cur.key()) : "the end", want ? ToHex(it->first) : "the end"));
      }
      if (!want || step == op.b) return Status::Ok();
      s = cur.Next();
      ++it;
    }
  }

  Status Execute(const Op& op) {
    const int depth = oracle_.depth();
    phase_ = op.kind == Op::kFlush        ? Phase::kFlush
             : op.kind == Op::kWork       ? Phase::kMerge
             : op.kind == Op::kCheckpoint ? Phase::kCheckpoint
             : op.kind == Op::kGet || op.kind == Op::kScan ? Phase::kRead
                                                           : Phase::kCommit;
    switch (op.kind) {
      case Op::kPut:
      case Op::kErase:
      case Op::kEraseRange:
      case Op::kUserVersion:
        return Write(op);
      case Op::kGet:
        return Get(op);
      case Op::kScan:
        return Scan(op);
      case Op::kBegin:
        if (depth >= kMaxDepth) return Status::Ok();
        oracle_.Begin();
        return Expect(db_->Begin(), "begin");
      case Op::kCommit: {
        if (depth == 0) return Status::Ok();
        commit_in_flight_ = depth == 1;
        Status s = db_->Commit();
        commit_in_flight_ = false;
        if (depth > 1) {
          oracle_.CommitNested();
        } else if (s.ok() && !env_.crashed()) {
          oracle_.Acknowledged();
        } else {
          oracle_.Failed();
        }
        return Expect(s, "commit");
      }
      case Op::kRollback:
        if (depth == 0) return Status::Ok();
        oracle_.Rollback();
        return Expect(db_->Rollback(), "rollback");
      case Op::kFlush: {
        if (depth > 0) return Status::Ok();
        Status s = Connection().Flush();
        if (s.ok() && !env_.crashed()) oracle_.Flushed();
        return Expect(s, "flush");
      }
      case Op::kWork:
        if (depth > 0) return Status::Ok();
        return Expect(Connection().Work(op.a, op.b).status(), op.Describe());
      case Op::kCheckpoint: {
        if (depth > 0) return Status::Ok();
        Status s = Connection().Checkpoint();
        if (s.ok() && !env_.crashed()) oracle_.Checkpointed();
        return Expect(s, "checkpoint");
      }
      case Op::kReopen:
        return Reopen();
      case Op::kCrash:
        if (faults() && !armed_ && !exploring()) {
          env_.ArmCrash(env_.step() + 1 + uint64_t(op.a));
          armed_ = true;
        }
        return Status::Ok();
    }
    return Status::Ok();
  }

  // Clean close (open transactions roll back) and reopen: the database is exactly the model.
  Status Reopen() {
    Collect();
    phase_ = Phase::kClose;
    Status s = other_->Close();  // not the last: writes nothing
    if (s.ok()) s = db_->Close();
    oracle_.DropOpen();
    other_.reset();
    db_.reset();
    if (env_.crashed()) return Status::Ok();  // the close met the power failure: recovery judges
    if (!s.ok() && unjudged_) {
      done_ = true;  // a clean error on a database safety off did not protect; nothing left to run on
      return Status::Ok();
    }
    if (!s.ok() && (plan_ || explore_)) return Expect(s, "close");  // the body reopens after the error
    if (!s.ok()) return Fail("close returned " + s.ToString());
    oracle_.Closed();
    // An armed crash may fire anywhere in here: then recovery, not this check, judges.
    phase_ = Phase::kRecovery;
    s = OpenDb();
    if (env_.crashed()) return Status::Ok();
    if (unjudged_) {
      if (!s.ok()) done_ = true;  // a clean error; nothing left to run on
      return Status::Ok();
    }
    if (!s.ok() && (plan_ || explore_)) {
      db_.reset();
      other_.reset();
      return Expect(s, "reopen after a clean close");
    }
    if (!s.ok()) return Fail("reopen after a clean close failed: " + s.ToString());
    return JudgeReopened("after a clean close and reopen", /*exact=*/true);
  }

  // The database just opened without a power loss: sound, and exactly the model (exact: after a clean
  // close) or at a boundary the promise allows (a reopen after a process crash or an injected error).
  // Out of contract: only what somebody wrote.
  Status JudgeReopened(const std::string& when, bool exact) {
    if (OutOfContract()) return JudgeOlderState(when);
    Status integrity = CheckIntegrity(when.c_str());
    if (env_.crashed() || injected_) return Status::Ok();
    LSM_RETURN_IF_ERROR(integrity);
    auto content = Dump();
    if (env_.crashed() || injected_) return Status::Ok();
    if (!content.ok() && (plan_ || explore_)) return Expect(content.status(), "scan " + when);
    if (!content.ok()) return Fail("scan " + when + " failed: " + content.status().ToString());
    auto version = db_->UserVersion();
    if (env_.crashed()) return Status::Ok();
    if (!version.ok()) return Fail(when + ": user version failed: " + version.status().ToString());
    if (!exact) {
      Status s = oracle_.CheckReopened(*content, *version);
      if (!s.ok()) return Fail(when + ": " + s.message());
    } else if (*content != oracle_.view()) {
      return Fail(absl::StrFormat("%s the database has %u keys, the model %u%s", when, content->size(),
                                  oracle_.view().size(), Oracle::Difference(oracle_.view(), *content)));
    } else if (*version != oracle_.view_user_version()) {
      return Fail(absl::StrFormat("%s the user version is %u, the model's %u", when, *version, oracle_.view_user_version()));
    }
    Note("reopened", when, content->size());
    return Status::Ok();
  }

  // The older-state oracle (out of contract): the open database reads cleanly or fails cleanly; what it
  // holds is a commit boundary or, failing that, only values somebody wrote for their keys. The model
  // cannot follow it any further: from here on the seed only asks for clean errors.
  Status JudgeOlderState(const std::string& when) {
    r_.oracle = "older-state";
    auto problems = db_->Check();
    if (env_.crashed()) return Status::Ok();
    auto content = Dump();
    if (env_.crashed()) return Status::Ok();
    unjudged_ = true;
    if (!content.ok()) {
      ++r_.clean_errors;
      Note("older-state", when + ": clean error: " + content.status().ToString());
      return Status::Ok();
    }
    auto version = db_->UserVersion();
    const bool boundary = version.ok() && oracle_.AtSomeBoundary(*content, *version);
    if (!boundary) {
      for (const auto& [k, v] : *content) {
        Status written = CheckWritten(k, v, when);
        if (written.ok()) continue;
        // Bit rot, lying syncs, lost and misdirected writes can put bytes where nobody wrote them, and
        // the format has no page checksums (SQLite4 LSM's uncompressed pages carry none): that damage is
        // silent by design, so it is counted, not failed. A byte tear alone must not produce it (the log
        // has checksums, and pages are synced before a checkpoint names them).
        if (!plan_->SilentDamagePossible()) return written;
        ++r_.silent_damage;
        Note("silent-damage", written.message());
        break;
      }
    }
    Note("older-state", absl::StrFormat("%s: %s, %u keys, structure %s", when, boundary ? "a commit boundary" : "lossy",
                                        content->size(),
                                        !problems.ok() ? "unreadable" : problems->empty() ? "sound" : "damaged"));
    return Status::Ok();
  }

  // An engine call returned an injected I/O error (or a clean error out of contract, or an open failed):
  // the operator reopens the database without a power loss, the device repaired. Every promised
  // commit must be there.
  Status ReopenAfterError() {
    injected_ = false;
    if (db_) Collect();
    if (other_) (void)other_->Close();
    if (db_) (void)db_->Close();  // may fail: the database may refuse writes until reopened
    other_.reset();
    db_.reset();
    oracle_.DropOpen();
    if (env_.crashed()) return Recover();
    if (plan_) {
      plan_->Repaired();
      plan_->Suspend(true);
    }
    Status s = OpenDb();
    if (plan_) plan_->Suspend(false);
    if (env_.crashed()) return Recover();
    if (!s.ok()) {
      if (OutOfContract() || unjudged_) {
        ++r_.clean_errors;
        Note("reopen-refused", s.ToString());
        done_ = true;
        return Status::Ok();
      }
      return Fail("reopen after an injected error failed: " + s.ToString());
    }
    if (plan_) plan_->Suspend(true);
    s = unjudged_ ? Status::Ok() : JudgeReopened("after the reopen that followed an error", /*exact=*/false);
    if (plan_) plan_->Suspend(false);
    if (env_.crashed()) return Recover();
    return s;
  }

  // The key byte the canary flips: the first key byte of the first record on the first page of the
  // newest run of the durable checkpoint; nullopt if there is no such byte.
  std::optional<uint64_t> CanaryOffset(const Bytes& file) {
    if (file.size() < 2 * kMetaPageSize) return std::nullopt;
    MetaPageChoice choice =
        ChooseMetaPage(ByteView(file).first(kMetaPageSize), ByteView(file).subspan(kMetaPageSize, kMetaPageSize));
    if (!choice.checkpoint) return std::nullopt;
    const Checkpoint& c = *choice.checkpoint;
    const Geometry g{c.pgsz, c.blksz};
    for (const Level& level : c.levels) {
      const uint64_t page = level.lhs.first;
      if (page == 0 || g.PageOffset(page) + g.pgsz > file.size()) continue;
      const uint8_t* p = file.data() + g.PageOffset(page);
      const uint32_t data = g.IsFirstOnBlock(page) ? kBlockLinkSize : 0;
      const uint32_t n = g.pgsz - (g.IsFirstOnBlock(page) || g.IsLastOnBlock(page) ? kBlockLinkSize : 0);
      const uint8_t* d = p + data;
      if (LoadBe16(d + n - 2) == 0) continue;
      uint32_t pos = LoadBe16(d + n - kPageFooterSize - kCellPointerSize);
      if (pos >= n) continue;
      const uint8_t flags = d[pos++];
      uint64_t skip = 0, nkey = 0;
      pos += uint32_t(GetVarint(ByteView(d + pos, n - pos), &skip));
      pos += uint32_t(GetVarint(ByteView(d + pos, n - pos), &nkey));
      if (flags & kInsert) pos += uint32_t(GetVarint(ByteView(d + pos, n - pos), &skip));
      if (nkey == 0 || pos >= n) continue;
      return g.PageOffset(page) + data + pos;
    }
    return std::nullopt;
  }

  // A crash has happened (the armed step fired): a power loss, or with a fault plan maybe a process
  // crash; recovery may crash again (a chain of up to kMaxRecoveryCrashes). Then the oracles.
  Status Recover() {
    if (db_) Collect();
    other_.reset();  // the process died (with the machine, or alone)
    db_.reset();
    if (!borrowed_) oracle_.DropOpen();  // a borrowed model has none open (the explorer drops them)
    armed_ = false;
    injected_ = false;
    if (!write_image_.empty()) return WriteCrashImage();
    uint64_t expected_id = 0;
    Status s;
    const bool first_explored = explore_ && explored_crashes_++ == 0;  // run_on: the last is a power loss
    for (int depth = 1;; ++depth) {
      const bool explored_process =
          first_explored && depth <= int(explore_->process.size()) && explore_->process[depth - 1];
      if (explored_process || (!explore_ && plan_ && plan_->ProcessCrash())) {
        env_.ProcessCrash();
        power_lost_last_ = false;
        ++r_.process_crashes;
      } else if (explore_) {
        env_.PowerLoss(*explore_->policy, d_);
        power_lost_last_ = true;
      } else {
        PowerLoss();
      }
      ++r_.crashes;
      if (stop_after_crash_ == depth) {  // an explorer's key for this crash state
        r_.world_hash = env_.WorldHash();
        done_ = true;
        return Status::Ok();
      }
      // What recovery must pick: the newest valid checkpoint of the meta pages it will read (the durable
      // ones after a power loss; the current ones after a process crash, whose writes are still there).
      expected_id = ExpectedCheckpointId(power_lost_last_);
      if (explore_) {
        if (first_explored && depth < int(explore_->process.size())) {
          env_.ArmCrash(env_.step() + explore_->recovery_steps[depth - 1]);
        }
      } else if (plan_) {
        const uint64_t at = plan_->CrashDuringRecovery(depth);
        if (at != 0) env_.ArmCrash(env_.step() + at);
        plan_->Suspend(true);
      }
      env_.BeginCall();
      phase_ = Phase::kRecovery;
      const uint64_t open_from = env_.step();
      r_.recovery_writes.clear();
      if (explore_) {
        env_.set_step_hook([this, open_from](uint64_t step, std::string_view kind, const std::string&, uint64_t, uint64_t) {
          if (kind == "write" || kind == "sync" || kind == "truncate") r_.recovery_writes.push_back(step - open_from);
        });
      }
      s = OpenDb();
      if (explore_) env_.set_step_hook(nullptr);
      if (plan_) plan_->Suspend(false);
      if (!env_.crashed()) break;
      ++r_.recovery_crashes;
      if (plan_) plan_->RecoveryCrashed();
      Note("recovery-crashed", std::to_string(depth));
      other_.reset();
      db_.reset();
    }
    env_.Disarm();
    // An explored crash: its recovery is judged, and the seed ends (run_on: at the power loss after the run).
    if (explore_ && (!explore_->run_on || !first_explored)) done_ = true;
    if (s.ok()) r_.recovery_path = RecoveryPath();
    if (plan_ && plan_->OutOfContract()) {
      if (!s.ok()) {
        r_.oracle = "older-state";
        ++r_.clean_errors;
        Note("recovery-refused", s.ToString());
        done_ = true;
        return Status::Ok();
      }
      plan_->Suspend(true);
      Status judged = JudgeOlderState("after recovery");
      plan_->Suspend(false);
      return judged;
    }
    if (!s.ok()) {
      if (options_.safety == Safety::kOff) {
        // Nothing was promised; a clean error is all that is asked. The seed ends here.
        Note("recovery-refused", s.ToString());
        r_.message = "recovery returned a clean error under safety off: " + s.ToString();
        done_ = true;
        return Status::Ok();
      }
      if ((plan_ || explore_) && s.code() == Code::kNotADatabase && model().NothingPromised() && !s_.start) {
        // A crash tore the first checkpoint of a database whose log never became durable: the file is
        // one torn meta page beside a blank one, which the engine cannot tell from a foreign file and
        // refuses. Nothing promised is lost (a FULL commit would have made the log durable, and the
        // engine then opens it): a clean refusal, counted, and the seed ends.
        ++r_.clean_errors;
        Note("recovery-refused", s.ToString());
        r_.message = "recovery refused a torn first checkpoint (nothing was promised): " + s.ToString();
        done_ = true;
        return Status::Ok();
      }
      return Fail("recovery after crash " + std::to_string(r_.crashes) + " failed: " + s.ToString());
    }
    if (db_->snapshot().id != expected_id) {
      return Fail(absl::StrFormat("recovery opened checkpoint %u; the newest valid %s checkpoint is %u",
                                  db_->snapshot().id, power_lost_last_ ? "durable" : "current", expected_id));
    }
    if (options_.safety == Safety::kOff) {
      unjudged_ = true;
      Note("recovered-unjudged", "", 0);
      return Status::Ok();
    }
    if (plan_) plan_->Suspend(true);
    Status judged = JudgeRecovered(expected_id);
    if (plan_) plan_->Suspend(false);
    return judged;
  }

  // One crash: the power fails, the crash policy decides what of the pending operations reaches the
  // disk, faults at rest strike, and the canary (if on) damages a promised byte.
  void PowerLoss() {
    std::unique_ptr<CrashPolicy> classic;
    CrashPolicy* policy = nullptr;
    if (plan_) {
      policy = &plan_->PowerLossPolicy();
    } else if (Pick(s_.crash_policy) == "drop-unsynced") {
      policy = (classic = std::make_unique<DropUnsynced>()).get();
    } else {
      policy = (classic = std::make_unique<KeepRandomSubset>()).get();
    }
    const auto [kept, lost] = env_.PowerLoss(*policy, d_);
    power_lost_last_ = true;
    if (plan_) {
      plan_->PowerLossApplied(lost);
      plan_->AtRest();
    }
    if (std::optional<Bytes> file = env_.Durable(kDbPath); s_.canary && file) {
      if (auto at = CanaryOffset(*file)) {
        env_.CorruptDurable(kDbPath, *at, 0xFF);
        r_.canary_applied = true;
      }
    }
  }

  Status JudgeRecovered(uint64_t expected_id) {
    LSM_RETURN_IF_ERROR(CheckIntegrity("after recovery"));
    auto content = Dump();
    if (!content.ok()) return Fail("scan after recovery failed: " + content.status().ToString());
    auto version = db_->UserVersion();
    if (!version.ok()) return Fail("user version after recovery: " + version.status().ToString());
    // Under the catalogue the promise outlives the recovery (CheckReopened): commits recovery replayed
    // from the log are not promised by safety normal, and a later torn log sector may take them. The
    // classic model keeps its stricter judge, under which no later write can damage a durable one.
    const bool reopened = plan_ || (explore_ && !power_lost_last_);
    Status s = borrowed_  ? borrowed_->Judge(*content, *version)
               : reopened ? oracle_.CheckReopened(*content, *version)
                          : oracle_.CheckRecovered(*content, *version);
    if (!s.ok()) return Fail(s.message());
    Note("recovered", absl::StrFormat("checkpoint %u, %u keys", expected_id, content->size()), content->size());
    return Status::Ok();
  }

  bool faults() const { return mode_ == RunOptions::Mode::kSimulate; }

  const Scenario& s_;
  RunOptions::Mode mode_;
  std::string write_image_;       // RunOptions::write_crash_image
  const CrashImage* from_image_;  // RunOptions::from_crash_image
  Recording* record_;             // RunOptions::record, explore, from_step, from_oracle, stop_after_crash
  const ExploreCrash* explore_;
  const StepSnapshot* from_step_;
  const Oracle* from_oracle_;
  int stop_after_crash_;
  const Oracle* borrowed_ = nullptr;  // from_step: the explorer's model, judged in place of oracle_
  int explored_crashes_ = 0;          // explore: recoveries so far
  MetaPage expected_page_ = MetaPage::kNone;  // the page of the last ExpectedCheckpointId
  const Oracle& model() const { return borrowed_ ? *borrowed_ : oracle_; }
  bool recording_ = false;         // the database exists: steps are recorded from here
  bool commit_in_flight_ = false;  // a single write or an outermost commit is in the engine
  Phase phase_ = Phase::kOpen;
  Trace trace_;
  SimEnv env_;
  MemEnv mem_env_;
  PrngDecisions prng_;
  RecordingDecisions d_;
  Oracle oracle_;
  Workload workload_;
  Options options_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<Db> other_;
  SeedResult r_;
  bool armed_ = false;
  bool done_ = false;
  std::unique_ptr<FaultPlan> plan_;       // null: the classic fault model
  bool injected_ = false;                 // the current call returned an injected (or, out of contract, a clean) error
  bool power_lost_last_ = true;           // the last crash was a power loss (not a process crash)
  std::map<Bytes, std::set<uint64_t>> written_;  // out of contract: every value ever put, per key (hashes)
  // Safety off promises nothing after a power loss: from the first recovery on, reads and reopens are
  // still made (they must return cleanly) but their content is not judged.
  bool unjudged_ = false;
};

}  // namespace

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kOpen: return "open";
    case Phase::kCommit: return "commit";
    case Phase::kFlush: return "flush";
    case Phase::kMerge: return "merge";
    case Phase::kCheckpoint: return "checkpoint";
    case Phase::kRead: return "read";
    case Phase::kClose: return "close";
    case Phase::kRecovery: return "recovery";
  }
  return "?";
}

SeedResult RunSeed(const Scenario& scenario, uint64_t seed, const RunOptions& options) {
  SeedRun run(scenario, seed, options);
  return run.Run();
}

SeedResult ReplaySeed(const Scenario& scenario, uint64_t seed, std::vector<uint64_t> decisions, RunOptions options) {
  ReplayDecisions replay(std::move(decisions));
  options.replay = &replay;
  return RunSeed(scenario, seed, options);
}

}  // namespace lsm::sim
