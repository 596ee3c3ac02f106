// The history oracle: a model of everything the engine acknowledged, with what it promised about each
// commit's durability under the configured safety mode, and the judge of every read and every recovery.
//
// Promises (what survives a power loss):
//   full   - every acknowledged commit (the log is synced before Commit returns);
//   normal - every commit covered by a synced checkpoint: the oracle counts a commit as covered once an
//            explicit Flush after it and then a Checkpoint (or a Close) have returned ok (the engine may
//            cover more through its automatic flushes and checkpoints; that only makes it safer);
//   off    - nothing: only clean errors, no crash, no hang.
// After a recovery the database must equal the model at one commit boundary at or after the last
// promised commit: never an in-between state, never bytes nobody wrote. A commit whose call returned an
// error (the power failed during it) may or may not be there. The user version is part of the state
// and judged with it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/bytes.h"
#include "engine/log/log.h"
#include "engine/status.h"
#include "sim/json.h"

namespace lsm::sim {

class Oracle {
 public:
  using Map = std::map<Bytes, Bytes>;
  struct State {
    Map map;
    uint32_t user_version = 0;
    bool operator==(const State&) const = default;
  };
  explicit Oracle(Safety safety) : safety_(safety) {}

  // The model's journal: every change made to it, in order, so an explorer can rebuild the model as it
  // stood at any step of a run from a prefix (Replay). Copies of the model do not journal.
  struct Call {
    enum Kind { kBegin, kApply, kCommitNested, kRollback, kDropOpen, kSingle, kAcknowledged, kFailed, kFlushed,
                kCheckpointed, kClosed, kReset, kReopened };
    Kind kind = kBegin;
    LogOp op;     // kApply, kSingle
    State state;  // kReset, kReopened
  };
  void set_journal(std::vector<Call>* journal) { journal_.value = journal; }
  void Replay(const Call& call);

  // Transactions: Begin opens one (the outermost one starts collecting ops), Apply changes the
  // innermost view, CommitNested folds the innermost into its parent, Rollback drops it.
  void Begin();
  void Apply(const LogOp& op);
  void CommitNested();
  void Rollback();
  int depth() const { return int(open_.size()); }
  // What a read must see now: the innermost open transaction, or the committed state.
  const Map& view() const { return view_state().map; }
  uint32_t view_user_version() const { return view_state().user_version; }

  // A write outside any transaction (a transaction of its own, without copying the view).
  void Single(const LogOp& op);
  // The outermost transaction's (or the single write's) commit returned ok (acknowledged) or an error
  // (maybe durable).
  void Acknowledged();
  void Failed();
  // Promise points (see above).
  void Flushed();
  void Checkpointed();
  void Closed();
  // Open transactions are gone (a clean close rolls them back; a crash loses them).
  void DropOpen();

  // The model starts from `state` (a scenario's start_from database) instead of an empty database.
  void Start(const State& state) {
    Journal(Call::kReset, nullptr, &state);
    Reset(state);
  }

  // Judges the database recovered after a power loss; on success the model continues from it.
  Status CheckRecovered(const Map& recovered, uint32_t user_version = 0);
  // Judges the database reopened without a power loss (after a process crash or an injected I/O
  // error): the same boundary rule, but the promise stands: commits that were not promised durable are
  // still not, so a later power loss may go back to the promised one. On success the model continues
  // from the matching boundary.
  Status CheckReopened(const Map& reopened, uint32_t user_version = 0);
  // The rule of both, without changing the model (an explorer's state ends at its verdict).
  Status Judge(const Map& got, uint32_t user_version) const;
  // Out of contract: whether the state is some commit boundary since the last recovery (or the start),
  // the failed commit included; "older" from the promise's point of view.
  bool AtSomeBoundary(const Map& state, uint32_t user_version) const;

  Safety safety() const { return safety_; }
  // Whether nothing is promised: no promised commit and an empty starting state.
  bool NothingPromised() const { return durable_ == 0 && base_ == State{}; }

  // The whole model as JSON and back (a crash image handed from one build to another: compat.h). Only
  // between operations: open transactions are not kept.
  Json ToJson() const;
  static Result<Oracle> FromJson(const Json& j);

  // The first few differences between `expected` and `got`, each as "; key K missing ..." (empty if
  // they are equal): what a failure message shows.
  static std::string Difference(const Map& expected, const Map& got);

 private:
  static void ApplyTo(const LogOp& op, State* m);
  void Journal(Call::Kind kind, const LogOp* op = nullptr, const State* state = nullptr);
  void ClearOpen();
  std::optional<size_t> Boundary(const State& want, size_t from) const;
  Status NoBoundary(const State& got) const;
  void Reset(const State& state);
  const State& view_state() const { return open_.empty() ? committed_ : open_.back(); }

  Safety safety_;
  State base_;                              // the state at the last recovery (or the start)
  std::vector<std::vector<LogOp>> history_;  // acknowledged commits since base_
  std::optional<std::vector<LogOp>> maybe_;  // a commit that failed after the last acknowledged one
  State committed_;                         // base_ + history_
  uint64_t durable_ = 0;                    // history_[0, durable_) is promised
  uint64_t flushed_ = 0;                    // history_[0, flushed_) was in the tree at the last Flush
  std::vector<State> open_;                 // views of open transactions, innermost last
  std::vector<LogOp> ops_;                  // ops of the outermost transaction
  std::vector<size_t> op_marks_;            // ops_.size() when each open transaction began
  bool single_ = false;                     // ops_ holds a Single write
  // A member a copy of the model starts without (moves keep it).
  template <typename T>
  struct NotCopied {
    T value{};
    NotCopied() = default;
    NotCopied(const NotCopied&) {}
    NotCopied& operator=(const NotCopied&) {
      value = T{};
      return *this;
    }
    NotCopied(NotCopied&&) = default;
    NotCopied& operator=(NotCopied&&) = default;
  };
  // The state at the last promised commit (base_ + history_[0, durable_)), kept between judgments of an
  // unchanged model; every change drops it.
  const State& Promised() const;

  NotCopied<std::vector<Call>*> journal_;  // a copy is not the run's model
  mutable NotCopied<std::optional<State>> promised_state_;
};

}  // namespace lsm::sim
