// The in-memory tree: the newest records, in the same record model as the runs on disk (record.h),
// so flushing it is a plain copy. Modifications inside a transaction keep undo entries, so nested
// transactions roll back to a mark.
//
// Nodes, keys and values live in an arena (arena.h) and are never written in place: an entry that
// changes gets new value bytes, so undo entries are plain views of the old ones. What changes leave
// behind is reclaimed by copying the live entries to a fresh arena once the waste outgrows them.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "engine/lsm/arena.h"
#include "engine/cursor/record.h"

namespace lsm {

class Tree {
 public:
  Tree();
  // A deep copy with its own arena (undo log included): what a commit writes to while a reader's
  // snapshot holds the original.
  Tree(const Tree& other);
  Tree& operator=(const Tree&) = delete;

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
  bool empty() const { return store_->map.empty(); }
  size_t size() const { return store_->map.size(); }
  // Memory the tree's arena has handed out, live or not (bounded by a small multiple of bytes()
  // outside transactions).
  size_t arena_bytes() const { return store_->arena.allocated(); }
  void Clear();

  // A cursor over the tree's records; invalidated by any change to the tree.
  std::unique_ptr<RecordCursor> NewCursor() const;

  // A (topic, key) whose bytes belong to the caller until the tree copies them into its arena.
  struct Key {
    uint8_t topic;
    ByteView key;
  };
  struct Entry {
    uint8_t flags = 0;  // the topic bit is part of the key, not repeated here
    ByteView value;     // in the arena
  };

 private:
  struct Less {
    bool operator()(const Key& a, const Key& b) const { return CompareKeys(a.topic, a.key, b.topic, b.key) < 0; }
  };
  using Map = std::pmr::map<Key, Entry, Less>;
  struct Store {
    Arena arena;  // declared first: outlives the map's nodes
    Map map{&arena};
  };

  class Cursor;

  bool Covered(const Key& key) const;
  void Set(const Key& key, std::optional<Entry> entry);
  void CompactIfWasteful();
  // Copies every entry of `from` into `to`'s arena and map.
  static void CopyEntries(const Map& from, Store* to);

  std::unique_ptr<Store> store_;
  size_t bytes_ = 0;
  bool recording_ = false;
  std::vector<std::pair<Key, std::optional<Entry>>> undo_;  // views into the arena
};

}  // namespace lsm
