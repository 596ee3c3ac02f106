#include "sim/oracle.h"

#include "absl/strings/str_format.h"
#include "sim/scenario.h"

namespace lsm::sim {

void Oracle::ApplyTo(const LogOp& op, State* state) {
  Map* m = &state->map;
  switch (op.kind) {
    case LogOp::kPut:
      (*m)[op.key] = op.value;
      break;
    case LogOp::kDelete:
      m->erase(op.key);
      break;
    case LogOp::kDeleteRange:
      if (op.key < op.value) m->erase(m->upper_bound(op.key), m->lower_bound(op.value));
      break;
    case LogOp::kUserVersion:
      state->user_version = LoadBe32(op.value.data());
      break;
  }
}

void Oracle::Begin() {
  open_.push_back(view_state());
  op_marks_.push_back(ops_.size());
}

void Oracle::Apply(const LogOp& op) {
  ApplyTo(op, &open_.back());
  ops_.push_back(op);
}

void Oracle::CommitNested() {
  State inner = std::move(open_.back());
  open_.pop_back();
  op_marks_.pop_back();
  open_.back() = std::move(inner);
}

void Oracle::Rollback() {
  open_.pop_back();
  ops_.resize(op_marks_.back());
  op_marks_.pop_back();
}

void Oracle::DropOpen() {
  single_ = false;
  open_.clear();
  ops_.clear();
  op_marks_.clear();
}

void Oracle::Single(const LogOp& op) {
  ops_.assign(1, op);
  single_ = true;
}

void Oracle::Acknowledged() {
  if (single_) {
    ApplyTo(ops_[0], &committed_);
  } else {
    committed_ = std::move(open_.back());
  }
  history_.push_back(std::move(ops_));
  DropOpen();
  maybe_.reset();
  if (safety_ == Safety::kFull) durable_ = history_.size();
}

void Oracle::Failed() {
  maybe_ = std::move(ops_);
  DropOpen();
}

void Oracle::Flushed() { flushed_ = history_.size(); }

void Oracle::Checkpointed() {
  if (safety_ != Safety::kOff) durable_ = std::max(durable_, flushed_);
}

void Oracle::Closed() {
  if (safety_ != Safety::kOff) durable_ = history_.size();
}

void Oracle::Reset(const State& state) {
  base_ = state;
  committed_ = state;
  history_.clear();
  maybe_.reset();
  durable_ = flushed_ = 0;
  DropOpen();
}


namespace {

std::string Short(const Bytes& b) {
  std::string hex = ToHex(b);
  return hex.size() > 24 ? hex.substr(0, 24) + absl::StrFormat("..(%u bytes)", b.size()) : hex;
}

// The first few differences between what the model expects and what was recovered.
std::string Diff(const Oracle::Map& expected, const Oracle::Map& got) {
  std::string out;
  int shown = 0;
  auto e = expected.begin();
  auto g = got.begin();
  while ((e != expected.end() || g != got.end()) && shown < 3) {
    if (g == got.end() || (e != expected.end() && e->first < g->first)) {
      out += absl::StrFormat("; key %s missing (expected value %s)", Short(e->first), Short(e->second));
      ++e;
      ++shown;
    } else if (e == expected.end() || g->first < e->first) {
      out += absl::StrFormat("; key %s present (value %s) but never written or deleted", Short(g->first), Short(g->second));
      ++g;
      ++shown;
    } else {
      if (e->second != g->second) {
        out += absl::StrFormat("; key %s has value %s, expected %s", Short(g->first), Short(g->second), Short(e->second));
        ++shown;
      }
      ++e;
      ++g;
    }
  }
  return out;
}

}  // namespace

std::string Oracle::Difference(const Map& expected, const Map& got) { return Diff(expected, got); }

// The commit boundary `want` is at, searching from commit `from` on: c means base_ + history_[0, c);
// history_.size() + 1 means past the failed commit (maybe_). nullopt if none.
std::optional<size_t> Oracle::Boundary(const State& want, size_t from) const {
  State state = base_;
  for (size_t c = 0;; ++c) {
    if (c >= from && state == want) return c;
    if (c == history_.size()) break;
    for (const LogOp& op : history_[c]) ApplyTo(op, &state);
  }
  if (!maybe_) return std::nullopt;
  for (const LogOp& op : *maybe_) ApplyTo(op, &state);
  if (state == want) return history_.size() + 1;
  return std::nullopt;
}

Status Oracle::NoBoundary(const State& got) const {
  State promised = base_;
  for (size_t i = 0; i < durable_; ++i) {
    for (const LogOp& op : history_[i]) ApplyTo(op, &promised);
  }
  return Status::Corrupt(absl::StrFormat(
      "recovered database (%u keys, user version %u) matches no commit boundary in [%u, %u] (safety %s; %u "
      "commits promised): against the last promised commit (user version %u)%s",
      got.map.size(), got.user_version, durable_, history_.size(), SafetyName(safety_), durable_,
      promised.user_version, Diff(promised.map, got.map)));
}

Status Oracle::CheckRecovered(const Map& recovered_map, uint32_t user_version) {
  const State recovered{recovered_map, user_version};
  if (!Boundary(recovered, durable_)) return NoBoundary(recovered);
  Reset(recovered);
  return Status::Ok();
}

Status Oracle::CheckReopened(const Map& reopened_map, uint32_t user_version) {
  const State reopened{reopened_map, user_version};
  const std::optional<size_t> c = Boundary(reopened, durable_);
  if (!c) return NoBoundary(reopened);
  if (*c > history_.size()) {
    history_.push_back(std::move(*maybe_));  // it made it: a commit like the others, not promised
  } else {
    history_.resize(*c);  // later commits are gone for good
  }
  // Commits past the promise now live in the reopened engine's tree (replayed from the log), not in
  // flushed runs: only a new Flush and Checkpoint promise them.
  flushed_ = durable_;
  committed_ = reopened;
  maybe_.reset();
  DropOpen();
  return Status::Ok();
}

bool Oracle::AtSomeBoundary(const Map& map, uint32_t user_version) const {
  return Boundary(State{map, user_version}, 0).has_value();
}

}  // namespace lsm::sim
