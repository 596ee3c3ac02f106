#include "engine/cursor/clipped_cursor.h"

namespace lsm {

ClippedCursor::ClippedCursor(std::unique_ptr<RecordCursor> inner, const Record& split, Side side)
    : inner_(std::move(inner)), split_topic_(split.topic()), split_key_(split.key), side_(side) {
  boundary_.key = split_key_;
  boundary_.flags = uint8_t(split_topic_ | (side == Side::kBelow ? kEndDelete : (kStartDelete | kPointDelete)));
}

const Record& ClippedCursor::record() const {
  switch (state_) {
    case State::kBoundary:
      return boundary_;
    case State::kAdjusted:
      return adjusted_;
    default:
      return inner_->record();
  }
}

RecordView ClippedCursor::view() const {
  return state_ == State::kReal ? inner_->view() : ViewOf(record());
}

int ClippedCursor::CompareToSplit(uint8_t topic, ByteView key) const {
  return CompareKeys(topic, key, split_topic_, split_key_);
}
int ClippedCursor::CompareToSplit(const RecordView& r) const { return CompareToSplit(r.topic(), r.key); }
bool ClippedCursor::InnerBelow() const { return inner_->Valid() && CompareToSplit(inner_->view()) < 0; }
bool ClippedCursor::InnerAtOrAbove() const { return inner_->Valid() && CompareToSplit(inner_->view()) >= 0; }

Status ClippedCursor::SetReal() {
  state_ = State::kReal;
  if (side_ == Side::kAtOrAbove && (inner_->view().flags & kEndDelete) && CompareToSplit(inner_->view()) == 0) {
    adjusted_ = inner_->record();
    adjusted_.flags &= uint8_t(~kEndDelete);
    state_ = State::kAdjusted;
  }
  return Status::Ok();
}

Status ClippedCursor::BelowLast() {
  LSM_RETURN_IF_ERROR(inner_->SeekLe(split_topic_, split_key_));
  if (inner_->Valid() && CompareToSplit(inner_->view()) == 0) LSM_RETURN_IF_ERROR(inner_->Prev());
  if (!inner_->Valid()) {
    state_ = State::kInvalid;
    return Status::Ok();
  }
  state_ = (inner_->view().flags & kStartDelete) ? State::kBoundary : State::kReal;
  return Status::Ok();
}

Status ClippedCursor::AboveFirst() {
  LSM_RETURN_IF_ERROR(inner_->SeekGe(split_topic_, split_key_));
  if (!inner_->Valid()) {
    state_ = State::kInvalid;
    return Status::Ok();
  }
  if (CompareToSplit(inner_->view()) > 0 && (inner_->view().flags & kEndDelete)) {
    state_ = State::kBoundary;
    return Status::Ok();
  }
  return SetReal();
}

Status ClippedCursor::First() {
  if (side_ == Side::kAtOrAbove) return AboveFirst();
  LSM_RETURN_IF_ERROR(inner_->First());
  state_ = InnerBelow() ? State::kReal : State::kInvalid;
  return Status::Ok();
}

Status ClippedCursor::Last() {
  if (side_ == Side::kBelow) return BelowLast();
  LSM_RETURN_IF_ERROR(inner_->Last());
  if (InnerAtOrAbove()) return SetReal();
  state_ = State::kInvalid;  // nothing at or above the split, so no boundary either
  return Status::Ok();
}

Status ClippedCursor::Next() {
  if (state_ == State::kInvalid) return Status::Misuse("clipped cursor: Next on an invalid cursor");
  if (side_ == Side::kBelow) {
    if (state_ == State::kBoundary) {
      state_ = State::kInvalid;
      return Status::Ok();
    }
    const bool opens_gap = (inner_->view().flags & kStartDelete) != 0;
    LSM_RETURN_IF_ERROR(inner_->Next());
    if (InnerBelow()) return SetReal();
    state_ = opens_gap ? State::kBoundary : State::kInvalid;
    return Status::Ok();
  }
  if (state_ == State::kBoundary) return SetReal();  // inner already sits on the first record above
  LSM_RETURN_IF_ERROR(inner_->Next());
  if (inner_->Valid()) return SetReal();
  state_ = State::kInvalid;
  return Status::Ok();
}

Status ClippedCursor::Prev() {
  if (state_ == State::kInvalid) return Status::Misuse("clipped cursor: Prev on an invalid cursor");
  if (side_ == Side::kBelow) {
    if (state_ == State::kBoundary) {
      // inner sits on the last record below the split (BelowLast), or just past it (Next).
      if (!InnerBelow()) LSM_RETURN_IF_ERROR(inner_->SeekLe(split_topic_, split_key_));
      if (inner_->Valid() && CompareToSplit(inner_->view()) == 0) LSM_RETURN_IF_ERROR(inner_->Prev());
      state_ = inner_->Valid() ? State::kReal : State::kInvalid;
      return Status::Ok();
    }
    LSM_RETURN_IF_ERROR(inner_->Prev());
    state_ = inner_->Valid() ? State::kReal : State::kInvalid;
    return Status::Ok();
  }
  if (state_ == State::kBoundary) {
    state_ = State::kInvalid;
    return Status::Ok();
  }
  const bool at_split = CompareToSplit(inner_->view()) == 0;
  const bool closes_gap = (inner_->view().flags & kEndDelete) != 0;
  LSM_RETURN_IF_ERROR(inner_->Prev());
  if (InnerAtOrAbove()) return SetReal();
  if (!at_split && closes_gap) {
    LSM_RETURN_IF_ERROR(inner_->Next());  // keep inner on the first record above, as AboveFirst does
    state_ = State::kBoundary;
    return Status::Ok();
  }
  state_ = State::kInvalid;
  return Status::Ok();
}

Status ClippedCursor::SeekGe(uint8_t topic, ByteView key) {
  const int c = CompareToSplit(topic, key);
  if (side_ == Side::kBelow) {
    if (c > 0) {
      state_ = State::kInvalid;
      return Status::Ok();
    }
    if (c < 0) {
      LSM_RETURN_IF_ERROR(inner_->SeekGe(topic, key));
      if (InnerBelow()) return SetReal();
    }
    // Nothing real in [key, split): the boundary, if the last record below opens a gap.
    LSM_RETURN_IF_ERROR(BelowLast());
    if (state_ == State::kReal) state_ = State::kInvalid;
    return Status::Ok();
  }
  if (c <= 0) return AboveFirst();
  LSM_RETURN_IF_ERROR(inner_->SeekGe(topic, key));
  if (inner_->Valid()) return SetReal();
  state_ = State::kInvalid;
  return Status::Ok();
}

Status ClippedCursor::SeekLe(uint8_t topic, ByteView key) {
  const int c = CompareToSplit(topic, key);
  if (side_ == Side::kBelow) {
    if (c >= 0) return BelowLast();
    LSM_RETURN_IF_ERROR(inner_->SeekLe(topic, key));
    state_ = inner_->Valid() ? State::kReal : State::kInvalid;
    return Status::Ok();
  }
  if (c < 0) {
    state_ = State::kInvalid;
    return Status::Ok();
  }
  if (c > 0) {
    LSM_RETURN_IF_ERROR(inner_->SeekLe(topic, key));
    if (InnerAtOrAbove()) return SetReal();
  }
  // Nothing real in [split, key]: the boundary, if the first record above closes a gap that covers key.
  LSM_RETURN_IF_ERROR(AboveFirst());
  if (state_ != State::kBoundary && !(state_ != State::kInvalid && CompareToSplit(inner_->view()) == 0)) {
    state_ = State::kInvalid;
  }
  return Status::Ok();
}

}  // namespace lsm
