// The record model shared by the in-memory tree and sorted runs on disk: a key in one of two topics
// (user keys sort before system keys, such as the free-list overflow records), a point part (insert
// with value, or point delete, or neither) and range-delete boundary flags. A source covers the gap
// between two adjacent records r1 < r2 iff r1 has kStartDelete iff r2 has kEndDelete; a covered gap
// hides every older record in it. Range deletes exclude their end points, as lsm_delete_range does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "engine/bytes.h"
#include "engine/status.h"

namespace lsm {

enum RecordFlag : uint8_t {
  kStartDelete = 0x01,
  kEndDelete = 0x02,
  kPointDelete = 0x04,
  kInsert = 0x08,
  kSeparator = 0x10,
  kSystemKey = 0x20,
};
inline constexpr uint8_t kPointMask = kInsert | kPointDelete;
inline constexpr uint8_t kRangeMask = kStartDelete | kEndDelete;
inline constexpr uint8_t kTopicUser = 0;
inline constexpr uint8_t kTopicSystem = kSystemKey;

// A record where its cursor holds it (a page image, a tree node): valid until that cursor moves. The
// merging cursor reads records this way, so a scan copies no key or value.
struct RecordView {
  uint8_t flags = 0;
  ByteView key;
  ByteView value;
  uint8_t topic() const { return flags & kSystemKey; }
};

struct Record {
  uint8_t flags = 0;
  Bytes key;
  Bytes value;
  uint64_t pointer = 0;  // page in the next-older run holding the first key >= this one (0: none)
  uint8_t topic() const { return flags & kSystemKey; }
  // Copies a view's flags, key and value (the pointer is left as it is).
  void Assign(const RecordView& v) {
    flags = v.flags;
    key.assign(v.key.begin(), v.key.end());
    value.assign(v.value.begin(), v.value.end());
  }
};

inline RecordView ViewOf(const Record& r) { return {r.flags, r.key, r.value}; }

// Orders by topic, then bytes (memcmp order, a proper prefix first). Inline: every search and merge
// step compares keys.
inline int CompareKeys(uint8_t topic_a, ByteView a, uint8_t topic_b, ByteView b) {
  if (topic_a != topic_b) return topic_a < topic_b ? -1 : 1;
  const size_t n = std::min(a.size(), b.size());
  const int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

// A bidirectional cursor over one source's records in key order. Seek functions position on the first
// record >= key (SeekGe) or the last record <= key (SeekLe); the cursor is invalid when none exists.
class RecordCursor {
 public:
  virtual ~RecordCursor() = default;
  virtual Status First() = 0;
  virtual Status Last() = 0;
  virtual Status Next() = 0;
  virtual Status Prev() = 0;
  virtual Status SeekGe(uint8_t topic, ByteView key) = 0;
  virtual Status SeekLe(uint8_t topic, ByteView key) = 0;
  virtual bool Valid() const = 0;
  virtual const Record& record() const = 0;
  // The current record in place (REQUIRES: Valid()); by default a view of record().
  virtual RecordView view() const { return ViewOf(record()); }
  // Next, then Valid and view in the same call (*view is set when *valid): the merge's step, one
  // virtual call instead of three for a cursor that overrides it.
  virtual Status NextView(RecordView* view, bool* valid) {
    Status s = Next();
    *valid = Valid();
    if (*valid) *view = this->view();
    return s;
  }
};

}  // namespace lsm
