#include "sim/workload.h"

#include "absl/strings/str_format.h"

namespace lsm::sim {

std::string Op::Describe() const {
  static const char* kNames[] = {"put", "erase", "erase_range", "get", "scan", "begin", "commit",
                                 "rollback", "flush", "work", "checkpoint", "reopen", "crash", "user_version"};
  std::string out = kNames[kind];
  switch (kind) {
    case kPut:
      return out + absl::StrFormat(" %s (%u bytes)", ToHex(key), value.size());
    case kErase:
    case kGet:
      return out + " " + ToHex(key);
    case kEraseRange:
      return out + absl::StrFormat(" (%s, %s)", ToHex(key), ToHex(key2));
    case kScan:
      return out + absl::StrFormat(" mode %d at %s, %d steps", a, ToHex(key), b);
    case kWork:
      return out + absl::StrFormat(" nmerge %d, %d KB", a, b);
    case kCrash:
      return out + absl::StrFormat(" in %d steps", a);
    case kUserVersion:
      return out + absl::StrFormat(" %d", a);
    default:
      return out;
  }
}

Workload::Workload(const Scenario& s, Decisions* d)
    : s_(s), d_(d), dist_(s.key_distribution[d->Below(s.key_distribution.size())]) {}

Bytes Workload::Key() {
  // Starting from a database: a quarter of the keys are the file's own, so that its records are
  // overwritten, erased and read back (no draw without a start_from: other streams stay the same).
  if (s_.start && !s_.start->keys.empty() && d_->Chance(1, 4)) return s_.start->keys[d_->Below(s_.start->keys.size())];
  uint64_t i = 0;
  switch (dist_) {
    case KeyDistribution::kUniform:
      i = d_->Below(s_.keys);
      break;
    case KeyDistribution::kHotSet:  // 80% of accesses to 10% of the keys
      i = d_->Chance(4, 5) ? d_->Below(std::max<uint64_t>(1, s_.keys / 10)) : d_->Below(s_.keys);
      break;
    case KeyDistribution::kSequential:  // mostly the next key, sometimes a jump back
      i = d_->Chance(9, 10) ? sequential_++ % s_.keys : d_->Below(s_.keys);
      break;
  }
  // "k" + decimal, a "/x" suffix for a third of them (so that keys are prefixes of other keys), and
  // for some a long padding. The same index always gives the same key.
  std::string k = absl::StrFormat("k%06u", i);
  if (i % 3 == 0) k += "/x";
  // One key in five is long: keys longer than a quarter page are stored indirectly in run b-trees.
  if (i % 5 == 1 && s_.max_key_padding > 0) k.append(size_t(i * 7919 % (s_.max_key_padding + 1)), char('a' + i % 26));
  return Bytes(k.begin(), k.end());
}

Bytes Workload::Value() {
  // Mostly short; sometimes empty; sometimes several pages.
  uint64_t len = 0;
  const uint64_t kind = d_->Below(10);
  if (kind == 0) {
    len = 0;
  } else if (kind < 8) {
    len = d_->Below(64);
  } else {
    len = d_->Below(uint64_t{s_.max_value} + 1);
  }
  uint64_t state = d_->Below(uint64_t{1} << 32);  // content from the stream too: replay rebuilds it
  Bytes v(len);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t r = SplitMix64(&state);
    for (size_t j = 0; j < 8 && i + j < len; ++j) v[i + j] = uint8_t(r >> (8 * j));
  }
  return v;
}

Op Workload::Next() {
  const uint32_t weights[] = {s_.w_put,    s_.w_erase,  s_.w_erase_range, s_.w_get,        s_.w_scan,
                              s_.w_begin,  s_.w_commit, s_.w_rollback,    s_.w_flush,      s_.w_work,
                              s_.w_checkpoint, s_.w_reopen, s_.w_crash, s_.w_user_version};
  uint64_t total = 0;
  for (uint32_t w : weights) total += w;
  uint64_t pick = d_->Below(std::max<uint64_t>(total, 1));
  int kind = 0;
  while (kind < Op::kUserVersion && pick >= weights[kind]) pick -= weights[kind++];
  Op op;
  op.kind = Op::Kind(kind);
  switch (op.kind) {
    case Op::kPut:
      op.key = Key();
      op.value = Value();
      break;
    case Op::kErase:
    case Op::kGet:
      op.key = Key();
      break;
    case Op::kEraseRange:
      op.key = Key();
      op.key2 = Key();
      break;
    case Op::kScan:
      op.a = int(d_->Below(5));
      op.key = Key();
      op.b = int(d_->Below(20));
      break;
    case Op::kWork:
      op.a = int(d_->Below(5));                   // 0: automerge; 1: everything
      op.b = int(d_->Below(34)) - 1;              // -1: unlimited
      break;
    case Op::kCrash:
      op.a = int(d_->Below(s_.crash_window));
      break;
    case Op::kUserVersion:
      op.a = int(d_->Below(4));  // few values, so that going back to an older one happens
      break;
    default:
      break;
  }
  return op;
}

}  // namespace lsm::sim
