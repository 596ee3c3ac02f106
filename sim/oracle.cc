#include "sim/oracle.h"

#include <algorithm>
#include <iterator>

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
  Journal(Call::kBegin);
  open_.push_back(view_state());
  op_marks_.push_back(ops_.size());
}

void Oracle::Apply(const LogOp& op) {
  Journal(Call::kApply, &op);
  ApplyTo(op, &open_.back());
  ops_.push_back(op);
}

void Oracle::CommitNested() {
  Journal(Call::kCommitNested);
  State inner = std::move(open_.back());
  open_.pop_back();
  op_marks_.pop_back();
  open_.back() = std::move(inner);
}

void Oracle::Rollback() {
  Journal(Call::kRollback);
  open_.pop_back();
  ops_.resize(op_marks_.back());
  op_marks_.pop_back();
}

void Oracle::DropOpen() {
  Journal(Call::kDropOpen);
  ClearOpen();
}

void Oracle::ClearOpen() {
  single_ = false;
  open_.clear();
  ops_.clear();
  op_marks_.clear();
}

void Oracle::Single(const LogOp& op) {
  Journal(Call::kSingle, &op);
  ops_.assign(1, op);
  single_ = true;
}

void Oracle::Acknowledged() {
  Journal(Call::kAcknowledged);
  if (single_) {
    ApplyTo(ops_[0], &committed_);
  } else {
    committed_ = std::move(open_.back());
  }
  history_.push_back(std::move(ops_));
  ClearOpen();
  maybe_.reset();
  if (safety_ == Safety::kFull) durable_ = history_.size();
}

void Oracle::Failed() {
  Journal(Call::kFailed);
  maybe_ = std::move(ops_);
  ClearOpen();
}

void Oracle::Flushed() {
  Journal(Call::kFlushed);
  flushed_ = history_.size();
}

void Oracle::Checkpointed() {
  Journal(Call::kCheckpointed);
  if (safety_ != Safety::kOff) durable_ = std::max(durable_, flushed_);
}

void Oracle::Closed() {
  Journal(Call::kClosed);
  if (safety_ != Safety::kOff) durable_ = history_.size();
}

void Oracle::Reset(const State& state) {
  base_ = state;
  committed_ = state;
  history_.clear();
  maybe_.reset();
  durable_ = flushed_ = 0;
  ClearOpen();
}

void Oracle::Journal(Call::Kind kind, const LogOp* op, const State* state) {
  promised_state_.value.reset();  // every change comes through here
  if (journal_.value == nullptr) return;
  Call call;
  call.kind = kind;
  if (op != nullptr) call.op = *op;
  if (state != nullptr) call.state = *state;
  journal_.value->push_back(std::move(call));
}

void Oracle::Replay(const Call& call) {
  switch (call.kind) {
    case Call::kBegin: return Begin();
    case Call::kApply: return Apply(call.op);
    case Call::kCommitNested: return CommitNested();
    case Call::kRollback: return Rollback();
    case Call::kDropOpen: return DropOpen();
    case Call::kSingle: return Single(call.op);
    case Call::kAcknowledged: return Acknowledged();
    case Call::kFailed: return Failed();
    case Call::kFlushed: return Flushed();
    case Call::kCheckpointed: return Checkpointed();
    case Call::kClosed: return Closed();
    case Call::kReset: return Reset(call.state);
    case Call::kReopened: (void)CheckReopened(call.state.map, call.state.user_version); return;
  }
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
  // `at` is the state at boundary c; it is copied into `state` only once ops must be applied to it.
  State state;
  const State* at = &base_;
  size_t c = 0;
  if (from == durable_) {  // every recovery judges from the promise: start at the promised state, kept
    at = &Promised();
    c = durable_;
  }
  auto advance = [&](const std::vector<LogOp>& ops) {
    if (at != &state) {
      state = *at;
      at = &state;
    }
    for (const LogOp& op : ops) ApplyTo(op, &state);
  };
  for (;; ++c) {
    if (c >= from && *at == want) return c;
    if (c == history_.size()) break;
    advance(history_[c]);
  }
  if (!maybe_) return std::nullopt;
  advance(*maybe_);
  if (*at == want) return history_.size() + 1;
  return std::nullopt;
}

const Oracle::State& Oracle::Promised() const {
  if (!promised_state_.value) {
    State p = base_;
    for (size_t i = 0; i < durable_; ++i) {
      for (const LogOp& op : history_[i]) ApplyTo(op, &p);
    }
    promised_state_.value = std::move(p);
  }
  return *promised_state_.value;
}

Status Oracle::NoBoundary(const State& got) const {
  const State& promised = Promised();
  return Status::Corrupt(absl::StrFormat(
      "recovered database (%u keys, user version %u) matches no commit boundary in [%u, %u] (safety %s; %u "
      "commits promised): against the last promised commit (user version %u)%s",
      got.map.size(), got.user_version, durable_, history_.size(), SafetyName(safety_), durable_,
      promised.user_version, Diff(promised.map, got.map)));
}

Status Oracle::CheckRecovered(const Map& recovered_map, uint32_t user_version) {
  const State recovered{recovered_map, user_version};
  if (!Boundary(recovered, durable_)) return NoBoundary(recovered);
  Journal(Call::kReset, nullptr, &recovered);
  Reset(recovered);
  return Status::Ok();
}

Status Oracle::CheckReopened(const Map& reopened_map, uint32_t user_version) {
  const State reopened{reopened_map, user_version};
  const std::optional<size_t> c = Boundary(reopened, durable_);
  if (!c) return NoBoundary(reopened);
  Journal(Call::kReopened, nullptr, &reopened);
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
  ClearOpen();
  return Status::Ok();
}

Status Oracle::Judge(const Map& got_map, uint32_t user_version) const {
  const State got{got_map, user_version};
  if (!Boundary(got, durable_)) return NoBoundary(got);
  return Status::Ok();
}

bool Oracle::AtSomeBoundary(const Map& map, uint32_t user_version) const {
  return Boundary(State{map, user_version}, 0).has_value();
}

namespace {

constexpr const char* kOpKinds[] = {"put", "delete", "delete_range", "user_version"};

Json OpsJson(const std::vector<LogOp>& ops) {
  Json a = Json::Array();
  for (const LogOp& op : ops) {
    Json o = Json::Array();
    o.Push(Json::String(kOpKinds[op.kind])).Push(Json::String(ToHex(op.key))).Push(Json::String(ToHex(op.value)));
    a.Push(std::move(o));
  }
  return a;
}

Status BadModel(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("oracle." + field + ": " + what);
}

Result<Bytes> HexField(const std::string& field, const Json& v) {
  Bytes out;
  if (!v.AsString() || !FromHex(*v.AsString(), &out)) return BadModel(field, "expected a hex string");
  return out;
}

Result<std::vector<LogOp>> OpsFromJson(const std::string& field, const Json& a) {
  if (!a.is_array()) return BadModel(field, "expected an array of [kind, key hex, value hex]");
  std::vector<LogOp> ops;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string f = absl::StrFormat("%s[%u]", field, i);
    const Json& o = a[i];
    if (!o.is_array() || o.size() != 3 || !o[0].AsString()) return BadModel(f, "expected [kind, key hex, value hex]");
    LogOp op;
    const auto* kind = std::find(std::begin(kOpKinds), std::end(kOpKinds), *o[0].AsString());
    if (kind == std::end(kOpKinds)) return BadModel(f, "unknown kind \"" + *o[0].AsString() + "\"");
    op.kind = LogOp::Kind(kind - std::begin(kOpKinds));
    auto key = HexField(f + "[1]", o[1]);
    if (!key.ok()) return key.status();
    auto value = HexField(f + "[2]", o[2]);
    if (!value.ok()) return value.status();
    if (op.kind == LogOp::kUserVersion && value->size() != 4) return BadModel(f, "a user version is 4 bytes");
    op.key = std::move(*key);
    op.value = std::move(*value);
    ops.push_back(std::move(op));
  }
  return ops;
}

}  // namespace

Json Oracle::ToJson() const {
  Json j = Json::Object();
  j.Set("safety", Json::String(SafetyName(safety_)));
  Json base = Json::Array();
  for (const auto& [k, v] : base_.map) {
    Json kv = Json::Array();
    kv.Push(Json::String(ToHex(k))).Push(Json::String(ToHex(v)));
    base.Push(std::move(kv));
  }
  j.Set("base", std::move(base));
  j.Set("base_user_version", Json::Uint(base_.user_version));
  Json history = Json::Array();
  for (const auto& commit : history_) history.Push(OpsJson(commit));
  j.Set("history", std::move(history));
  if (maybe_) j.Set("maybe", OpsJson(*maybe_));
  j.Set("durable", Json::Uint(durable_));
  j.Set("flushed", Json::Uint(flushed_));
  return j;
}

Result<Oracle> Oracle::FromJson(const Json& j) {
  if (!j.is_object()) return BadModel("", "expected an object");
  const Json* safety = j.Find("safety");
  Safety s;
  if (!safety || !safety->AsString()) return BadModel("safety", "missing");
  if (*safety->AsString() == "off") {
    s = Safety::kOff;
  } else if (*safety->AsString() == "normal") {
    s = Safety::kNormal;
  } else if (*safety->AsString() == "full") {
    s = Safety::kFull;
  } else {
    return BadModel("safety", "expected off, normal or full");
  }
  Oracle o(s);
  const Json* base = j.Find("base");
  if (!base || !base->is_array()) return BadModel("base", "expected an array of [key hex, value hex]");
  State start;
  for (size_t i = 0; i < base->size(); ++i) {
    const Json& kv = (*base)[i];
    const std::string f = absl::StrFormat("base[%u]", i);
    if (!kv.is_array() || kv.size() != 2) return BadModel(f, "expected [key hex, value hex]");
    auto k = HexField(f, kv[0]);
    if (!k.ok()) return k.status();
    auto v = HexField(f, kv[1]);
    if (!v.ok()) return v.status();
    start.map[std::move(*k)] = std::move(*v);
  }
  const Json* uv = j.Find("base_user_version");
  if (!uv || !uv->AsUint64() || *uv->AsUint64() > UINT32_MAX) return BadModel("base_user_version", "expected a 32-bit integer");
  start.user_version = uint32_t(*uv->AsUint64());
  o.Reset(start);
  const Json* history = j.Find("history");
  if (!history || !history->is_array()) return BadModel("history", "expected an array of commits");
  for (size_t c = 0; c < history->size(); ++c) {
    auto ops = OpsFromJson(absl::StrFormat("history[%u]", c), (*history)[c]);
    if (!ops.ok()) return ops.status();
    for (const LogOp& op : *ops) ApplyTo(op, &o.committed_);
    o.history_.push_back(std::move(*ops));
  }
  if (const Json* maybe = j.Find("maybe")) {
    auto ops = OpsFromJson("maybe", *maybe);
    if (!ops.ok()) return ops.status();
    o.maybe_ = std::move(*ops);
  }
  for (const char* field : {"durable", "flushed"}) {
    const Json* v = j.Find(field);
    if (!v || !v->AsUint64() || *v->AsUint64() > o.history_.size()) {
      return BadModel(field, absl::StrFormat("expected a commit count in [0, %u]", o.history_.size()));
    }
    (field[0] == 'd' ? o.durable_ : o.flushed_) = *v->AsUint64();
  }
  return o;
}

}  // namespace lsm::sim
