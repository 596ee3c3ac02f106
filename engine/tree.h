// The in-memory tree: the newest records, in the same record model as the runs on disk (record.h),
// so flushing it is a plain copy. Modifications inside a transaction keep undo entries, so nested
// transactions roll back to a mark.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "engine/record.h"

namespace lsm {

class Tree {
 public:
  struct Entry {
    uint8_t flags = 0;  // the topic bit is part of the key, not repeated here
    Bytes value;
  };
  using Key = std::pair<uint8_t, Bytes>;  // (topic, key): std::pair's order is CompareKeys' order
  // A key to look up without building a Key (no allocation on the read and write paths).
  struct Probe {
    uint8_t topic;
    ByteView key;
  };
  struct Less {
    using is_transparent = void;
    static int Cmp(uint8_t ta, ByteView a, uint8_t tb, ByteView b) { return CompareKeys(ta, a, tb, b); }
    bool operator()(const Key& a, const Key& b) const { return a < b; }
    bool operator()(const Key& a, const Probe& b) const { return Cmp(a.first, a.second, b.topic, b.key) < 0; }
    bool operator()(const Probe& a, const Key& b) const { return Cmp(a.topic, a.key, b.first, b.second) < 0; }
  };
  using Map = std::map<Key, Entry, Less>;

  void Put(uint8_t topic, ByteView key, ByteView value);
  void Erase(uint8_t topic, ByteView key);
  // Deletes every key strictly between `start` and `end` (user topic); no-op unless start < end.
  void EraseRange(ByteView start, ByteView end);

  // Undo support: while recording, every change logs the previous entry; RollbackTo(mark) restores
  // them newest first. Marks are positions in the undo log.
  void set_recording(bool on);
  size_t Mark() const { return undo_.size(); }
  void RollbackTo(size_t mark);

  // Approximate bytes held (keys, values and per-entry overhead), for autoflush.
  size_t bytes() const { return bytes_; }
  bool empty() const { return map_.empty(); }
  size_t size() const { return map_.size(); }
  void Clear();
  const Map& map() const { return map_; }

  // A cursor over the tree's records; invalidated by any change to the tree.
  std::unique_ptr<RecordCursor> NewCursor() const;

 private:
  bool Covered(const Key& key) const;
  void Set(const Key& key, std::optional<Entry> entry);

  Map map_;
  size_t bytes_ = 0;
  bool recording_ = false;
  std::vector<std::pair<Key, std::optional<Entry>>> undo_;
};

}  // namespace lsm
