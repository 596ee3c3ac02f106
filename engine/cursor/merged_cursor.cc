#include "engine/cursor/merged_cursor.h"

namespace lsm {

namespace {

// CompareKeys, with short keys compared eight bytes at a time in place of a memcmp call: the merge
// compares keys at every step, and most keys are short.
int Compare(const RecordView& a, const RecordView& b) {
  const size_t n = std::min(a.key.size(), b.key.size());
  if (a.topic() != b.topic() || n > 64) return CompareKeys(a.topic(), a.key, b.topic(), b.key);
  const uint8_t* p = a.key.data();
  const uint8_t* q = b.key.data();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t x = LoadBe64(p + i), y = LoadBe64(q + i);
    if (x != y) return x < y ? -1 : 1;
  }
  for (; i < n; ++i) {
    if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
  }
  return a.key.size() == b.key.size() ? 0 : (a.key.size() < b.key.size() ? -1 : 1);
}

// Whether a source positioned past k (forward: at the first record > k; backward: at the last
// record < k) covers k with a range delete.
bool CoversFromPast(const RecordCursor& s, bool forward) {
  if (!s.Valid()) return false;
  return forward ? (s.view().flags & kEndDelete) : (s.view().flags & kStartDelete);
}

}  // namespace

MergedCursor::MergedCursor(std::vector<std::unique_ptr<RecordCursor>> newest_first, uint8_t topic)
    : sources_(std::move(newest_first)), topic_(topic), recs_(sources_.size()), valid_(sources_.size(), 0),
      cover_(sources_.size(), 0) {
  heap_.reserve(sources_.size());
  at_.reserve(sources_.size());
}

void MergedCursor::Refresh(size_t i) {
  const RecordCursor& s = *sources_[i];
  const bool valid = s.Valid();
  if (valid) recs_[i] = s.view();
  Refresh(i, valid);
}

void MergedCursor::Refresh(size_t i, bool valid) {
  valid_[i] = valid;
  if (!valid) recs_[i] = RecordView{};
  const uint8_t closes = dir_ == Direction::kForward ? kEndDelete : kStartDelete;
  const uint8_t cover = valid_[i] && (recs_[i].flags & closes) ? 1 : 0;
  cover_count_ += cover;
  cover_count_ -= cover_[i];
  cover_[i] = cover;
}

bool MergedCursor::HeapBefore(uint32_t a, uint32_t b) const {
  const int c = Compare(recs_[a], recs_[b]);
  if (c != 0) return dir_ == Direction::kForward ? c < 0 : c > 0;
  return a < b;
}

void MergedCursor::HeapPush(uint32_t s) {
  size_t i = heap_.size();
  heap_.push_back(s);
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!HeapBefore(s, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = s;
}

uint32_t MergedCursor::HeapPop() {
  const uint32_t last = heap_.back();
  heap_.pop_back();
  if (heap_.empty()) return last;
  return HeapReplaceTop(last);
}

uint32_t MergedCursor::HeapReplaceTop(uint32_t last) {
  const uint32_t top = heap_[0];
  const size_t n = heap_.size();
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && HeapBefore(heap_[child + 1], heap_[child])) ++child;
    if (!HeapBefore(heap_[child], last)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = last;
  return top;
}

void MergedCursor::TakeGroup() {
  at_.clear();
  if (heap_.empty()) return;
  const uint32_t first = HeapPop();
  at_.push_back(first);
  // Ties leave the heap in source order, so at_ stays ascending.
  while (!heap_.empty() && Compare(recs_[heap_[0]], recs_[first]) == 0) at_.push_back(HeapPop());
}

Status MergedCursor::Restart(Direction dir) {
  dir_ = dir;
  heap_.clear();
  at_.clear();
  for (size_t i = 0; i < sources_.size(); ++i) {
    Refresh(i);
    if (valid_[i]) HeapPush(uint32_t(i));
  }
  TakeGroup();
  return Settle();
}

Status MergedCursor::Settle() {
  current_ = -1;
  const bool forward = dir_ == Direction::kForward;
  for (;;) {
    if (at_.empty()) return Status::Ok();
    const RecordView& k = recs_[at_[0]];
    if (k.topic() != topic_) {
      if (forward == (k.topic() > topic_)) return Status::Ok();  // beyond the topic: the end
      LSM_RETURN_IF_ERROR(StepPast());
      continue;
    }
    // The newest source at k with a point part decides, unless a newer source not at k covers k
    // with a range delete.
    int decider = -1;
    for (uint32_t i : at_) {
      if (recs_[i].flags & kPointMask) {
        decider = int(i);
        break;
      }
    }
    bool hidden = decider < 0 || (recs_[size_t(decider)].flags & kInsert) == 0;
    if (!hidden && cover_count_ > 0) {
      for (size_t j = 0; j < size_t(decider); ++j) {
        if (cover_[j] && Compare(recs_[j], k) != 0) {
          hidden = true;
          break;
        }
      }
    }
    if (!hidden) {
      current_ = decider;
      return Status::Ok();
    }
    LSM_RETURN_IF_ERROR(StepPast());
  }
}

Status MergedCursor::StepPast() {
  const bool forward = dir_ == Direction::kForward;
  for (uint32_t s : at_) {
    Status st;
    if (forward) {
      bool valid = false;
      st = sources_[s]->NextView(&recs_[s], &valid);
      Refresh(s, valid);
    } else {
      st = sources_[s]->Prev();
      Refresh(s);
    }
    if (!st.ok()) {
      current_ = -1;
      return st;
    }
  }
  if (at_.size() == 1 && valid_[at_[0]]) {
    const uint32_t s = at_[0];
    if (heap_.empty()) return Status::Ok();
    const int c = Compare(recs_[s], recs_[heap_[0]]);
    // The common case: the one source at the key still holds the extreme key, alone.
    if (dir_ == Direction::kForward ? c < 0 : c > 0) return Status::Ok();
    uint32_t first = s;
    if (c != 0 || heap_[0] < s) first = HeapReplaceTop(s);  // the top leads: swap it for s in one sift
    at_[0] = first;
    while (!heap_.empty() && Compare(recs_[heap_[0]], recs_[first]) == 0) at_.push_back(HeapPop());
    return Status::Ok();
  }
  for (uint32_t s : at_) {
    if (valid_[s]) HeapPush(s);
  }
  TakeGroup();
  return Status::Ok();
}

Status MergedCursor::First() {
  current_ = -1;
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(s->SeekGe(topic_, {}));
  return Restart(Direction::kForward);
}

Status MergedCursor::Last() {
  current_ = -1;
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(topic_ == kTopicUser ? s->SeekLe(kTopicSystem, {}) : s->Last());
  return Restart(Direction::kBackward);
}

Status MergedCursor::SeekGe(ByteView key) {
  current_ = -1;
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(s->SeekGe(topic_, key));
  return Restart(Direction::kForward);
}

Status MergedCursor::SeekLe(ByteView key) {
  current_ = -1;
  for (auto& s : sources_) LSM_RETURN_IF_ERROR(s->SeekLe(topic_, key));
  return Restart(Direction::kBackward);
}

Status MergedCursor::Next() {
  if (current_ < 0) return Status::Ok();
  if (dir_ == Direction::kForward) {
    LSM_RETURN_IF_ERROR(StepPast());
    return Settle();
  }
  return TurnAround(Direction::kForward);
}

Status MergedCursor::Prev() {
  if (current_ < 0) return Status::Ok();
  if (dir_ == Direction::kBackward) {
    LSM_RETURN_IF_ERROR(StepPast());
    return Settle();
  }
  return TurnAround(Direction::kBackward);
}

// Every source to the first record past the current key in direction `to` (> it forward, < it backward).
Status MergedCursor::TurnAround(Direction to) {
  const bool forward = to == Direction::kForward;
  const uint8_t topic = recs_[size_t(current_)].topic();
  Bytes k(key().begin(), key().end());
  current_ = -1;
  for (auto& s : sources_) {
    LSM_RETURN_IF_ERROR(forward ? s->SeekGe(topic, k) : s->SeekLe(topic, k));
    if (s->Valid() && CompareKeys(s->view().topic(), s->view().key, topic, k) == 0) {
      LSM_RETURN_IF_ERROR(forward ? s->Next() : s->Prev());
    }
  }
  return Restart(to);
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
  RecordView best;
  for (size_t i = 0; i < sources_->size(); ++i) {
    const RecordCursor& s = *(*sources_)[i];
    if (!s.Valid()) continue;
    const RecordView v = s.view();
    if (min_ < 0 || Compare(v, best) < 0) {
      best = v;
      min_ = int(i);
    }
  }
  return min_;
}

Status RecordMerger::Step(Record* out, bool* emitted) {
  *emitted = false;
  if (PeekSource() < 0) return Status::Ok();
  const RecordView min = (*sources_)[size_t(min_)]->view();
  out->flags = min.topic();
  out->key.assign(min.key.begin(), min.key.end());
  const RecordView key{out->flags, out->key, {}};
  out->value.clear();
  out->pointer = 0;
  bool decided = false;  // the point part is settled (by a newer record or a newer range)
  bool before_covered = false, after_covered = false;
  at_.assign(sources_->size(), 0);
  for (size_t i = 0; i < sources_->size(); ++i) {
    const RecordCursor& s = *(*sources_)[i];
    at_[i] = int(i) == min_ || (s.Valid() && Compare(s.view(), key) == 0);
    if (at_[i]) {
      const RecordView r = s.view();
      before_covered |= (r.flags & kEndDelete) != 0;
      after_covered |= (r.flags & kStartDelete) != 0;
      if (!decided && (r.flags & kPointMask)) {
        out->flags |= r.flags & kPointMask;
        if (r.flags & kInsert) out->value.assign(r.value.begin(), r.value.end());
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
