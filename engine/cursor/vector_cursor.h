// A RecordCursor over records held in a sorted vector (the free-list delta a run carries, test inputs).
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/cursor/record.h"

namespace lsm {

class VectorCursor : public RecordCursor {
 public:
  // REQUIRES: `records` strictly ascending by (topic, key).
  explicit VectorCursor(std::vector<Record> records) : records_(std::move(records)), pos_(records_.size()) {}

  Status First() override { return At(0); }
  Status Last() override { return At(records_.empty() ? 0 : records_.size() - 1); }
  Status Next() override { return At(pos_ + 1); }
  Status Prev() override { return At(pos_ == 0 ? records_.size() : pos_ - 1); }
  Status SeekGe(uint8_t topic, ByteView key) override { return At(LowerBound(topic, key)); }
  Status SeekLe(uint8_t topic, ByteView key) override {
    size_t i = LowerBound(topic, key);
    if (i < records_.size() && CompareKeys(records_[i].topic(), records_[i].key, topic, key) == 0) return At(i);
    return At(i == 0 ? records_.size() : i - 1);
  }
  bool Valid() const override { return pos_ < records_.size(); }
  const Record& record() const override { return records_[pos_]; }

 private:
  Status At(size_t i) {
    pos_ = std::min(i, records_.size());
    return Status::Ok();
  }
  size_t LowerBound(uint8_t topic, ByteView key) const {
    auto it = std::lower_bound(records_.begin(), records_.end(), 0, [&](const Record& r, int) {
      return CompareKeys(r.topic(), r.key, topic, key) < 0;
    });
    return size_t(it - records_.begin());
  }

  std::vector<Record> records_;
  size_t pos_;
};

}  // namespace lsm
