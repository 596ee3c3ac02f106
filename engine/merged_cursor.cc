#include "engine/merged_cursor.h"

namespace lsm {

namespace {

int Compare(const Record& a, const Record& b) { return CompareKeys(a.topic(), a.key, b.topic(), b.key); }

// The extreme key over the valid sources in `forward` (smallest) or backward (largest) order.
const Record* Extreme(const std::vector<std::unique_ptr<RecordCursor>>& sources, bool forward) {
  const Record* best = nullptr;
  for (const auto& s : sources) {
    if (!s->Valid()) continue;
    const Record& r = s->record();
    if (best == nullptr || (forward ? Compare(r, *best) < 0 : Compare(r, *best) > 0)) best = &r;
  }
  return best;
}

// Whether a source positioned past k (forward: at the first record > k; backward: at the last
// record < k) covers k with a range delete.
bool CoversFromPast(const RecordCursor& s, bool forward) {
  if (!s.Valid()) return false;
  return forward ? (s.record().flags & kEndDelete) : (s.record().flags & kStartDelete);
}

}  // namespace

MergedCursor::MergedCursor(std::vector<std::unique_ptr<RecordCursor>> newest_first, uint8_t topic)
    : sources_(std::move(newest_first)), topic_(topic) {}

ByteView MergedCursor::key() const { return sources_[current_]->record().key; }
ByteView MergedCursor::value() const { return sources_[current_]->record().value; }

bool MergedCursor::AtKey(size_t i, const Record& k) const {
  return sources_[i]->Valid() && Compare(sources_[i]->record(), k) == 0;
}

Status MergedCursor::Settle(Direction dir) {
  dir_ = dir;
  bool forward = dir == Direction::kForward;
  current_ = -1;
  for (;;) {
    const Record* k = Extreme(sources_, forward);
    if (k == nullptr) return Status::Ok();
    if (k->topic() != topic_) {
      if (forward == (k->topic() > topic_)) return Status::Ok();  // beyond the topic: the end
      LSM_RETURN_IF_ERROR(StepPast(dir));
      continue;
    }
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (AtKey(i, *k)) {
        uint8_t flags = sources_[i]->record().flags;
        if (flags & kInsert) {
          current_ = int(i);
          return Status::Ok();
        }
        if (flags & kPointDelete) break;
      } else if (CoversFromPast(*sources_[i], forward)) {
        break;
      }
    }
    LSM_RETURN_IF_ERROR(StepPast(dir));
  }
}

Status MergedCursor::StepPast(Direction dir) {
  bool forward = dir == Direction::kForward;
  const Record* extreme = Extreme(sources_, forward);
  const uint8_t topic = extreme->topic();
  key_.assign(extreme->key.begin(), extreme->key.end());  // sources move: keep the key, not the record
  for (auto& s : sources_) {
    if (s->Valid() && CompareKeys(s->record().topic(), s->record().key, topic, key_) == 0) {
      LSM_RETURN_IF_ERROR(forward ? s->Next() : s->Prev());
    }
  }
  return Status::Ok();
}

Status MergedCursor::First() {
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(s->SeekGe(topic_, {}));
  return Settle(Direction::kForward);
}

Status MergedCursor::Last() {
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(topic_ == kTopicUser ? s->SeekLe(kTopicSystem, {}) : s->Last());
  return Settle(Direction::kBackward);
}

Status MergedCursor::SeekGe(ByteView key) {
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(s->SeekGe(topic_, key));
  return Settle(Direction::kForward);
}

Status MergedCursor::SeekLe(ByteView key) {
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(s->SeekLe(topic_, key));
  return Settle(Direction::kBackward);
}

Status MergedCursor::Next() {
  if (current_ < 0) return Status::Ok();
  const uint8_t topic = sources_[current_]->record().topic();
  if (dir_ == Direction::kForward) {
    LSM_RETURN_IF_ERROR(StepPast(Direction::kForward));
  } else {
    // Turning around: every source to the first record > k.
    Bytes k(key().begin(), key().end());
    for (auto& s : sources_) {
      LSM_RETURN_IF_ERROR(s->SeekGe(topic, k));
      if (s->Valid() && CompareKeys(s->record().topic(), s->record().key, topic, k) == 0) LSM_RETURN_IF_ERROR(s->Next());
    }
  }
  return Settle(Direction::kForward);
}

Status MergedCursor::Prev() {
  if (current_ < 0) return Status::Ok();
  const uint8_t topic = sources_[current_]->record().topic();
  if (dir_ == Direction::kBackward) {
    LSM_RETURN_IF_ERROR(StepPast(Direction::kBackward));
  } else {
    Bytes k(key().begin(), key().end());
    for (auto& s : sources_) {
      LSM_RETURN_IF_ERROR(s->SeekLe(topic, k));
      if (s->Valid() && CompareKeys(s->record().topic(), s->record().key, topic, k) == 0) LSM_RETURN_IF_ERROR(s->Prev());
    }
  }
  return Settle(Direction::kBackward);
}

RecordMerger::RecordMerger(std::vector<std::unique_ptr<RecordCursor>>* newest_first, bool to_bottom)
    : sources_(newest_first), to_bottom_(to_bottom) {}

const Record* RecordMerger::Peek() const {
  const int i = PeekSource();
  return i < 0 ? nullptr : &(*sources_)[size_t(i)]->record();
}

int RecordMerger::PeekSource() const {
  if (min_ != kUnknown) return min_;
  min_ = -1;
  const Record* best = nullptr;
  for (size_t i = 0; i < sources_->size(); ++i) {
    const RecordCursor& s = *(*sources_)[i];
    if (!s.Valid()) continue;
    if (best == nullptr || Compare(s.record(), *best) < 0) {
      best = &s.record();
      min_ = int(i);
    }
  }
  return min_;
}

Status RecordMerger::Step(Record* out, bool* emitted) {
  *emitted = false;
  const Record* min = Peek();
  if (min == nullptr) return Status::Ok();
  out->flags = min->topic();
  out->key = min->key;
  out->value.clear();
  out->pointer = 0;
  bool decided = false;  // the point part is settled (by a newer record or a newer range)
  bool before_covered = false, after_covered = false;
  at_.assign(sources_->size(), 0);
  for (size_t i = 0; i < sources_->size(); ++i) {
    const RecordCursor& s = *(*sources_)[i];
    at_[i] = int(i) == min_ || (s.Valid() && Compare(s.record(), *out) == 0);
    if (at_[i]) {
      const Record& r = s.record();
      before_covered |= (r.flags & kEndDelete) != 0;
      after_covered |= (r.flags & kStartDelete) != 0;
      if (!decided && (r.flags & kPointMask)) {
        out->flags |= r.flags & kPointMask;
        if (r.flags & kInsert) out->value = r.value;
        decided = true;
      }
    } else if (CoversFromPast(s, true)) {
      before_covered = after_covered = true;
      if (!decided) {
        out->flags |= kPointDelete;  // hides whatever older sources hold at this key
        decided = true;
      }
    }
  }
  if (!to_bottom_) {
    out->flags |= (before_covered ? kEndDelete : 0) | (after_covered ? kStartDelete : 0);
  } else {
    out->flags &= uint8_t(~kPointDelete);
  }
  *emitted = (out->flags & (kPointMask | kRangeMask)) != 0;
  min_ = kUnknown;
  for (size_t i = 0; i < sources_->size(); ++i) {
    if (at_[i]) LSM_RETURN_IF_ERROR((*sources_)[i]->Next());
  }
  return Status::Ok();
}

Status MergeRecords(std::vector<std::unique_ptr<RecordCursor>>& newest_first, bool to_bottom,
                    const std::function<Status(const Record&)>& emit) {
  RecordMerger merger(&newest_first, to_bottom);
  Record out;
  while (!merger.Done()) {
    bool emitted = false;
    LSM_RETURN_IF_ERROR(merger.Step(&out, &emitted));
    if (emitted) LSM_RETURN_IF_ERROR(emit(out));
  }
  return Status::Ok();
}

}  // namespace lsm
