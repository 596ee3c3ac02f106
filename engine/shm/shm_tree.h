// The in-memory tree in shared memory, so that every process sharing a database reads the same
// committed records (engine-reference.md §5.1): nodes, keys and values live in shm chunks and point at
// each other with 32-bit offsets (chunk << 15 | byte), never with pointers, because each process maps
// the chunks at its own addresses.
//
// The tree is a treap whose published nodes are never written again: a change copies the path it
// touches (nodes made since the last publication are the writer's own and change in place). A reader
// that holds a published root therefore reads a fixed snapshot however the writer goes on, and a writer
// that dies mid-change leaves the published tree intact: the next writer starts from the published
// header and overwrites whatever the dead one allocated after it. This is what the reference gets from
// its multi-version nodes and rollback list, with less to repair.
//
// Memory comes from chunks claimed one at a time for a generation of the tree (a flush starts the next
// generation with an empty tree). A chunk is claimed again by a later generation only when the caller
// says no reader can still read its generation (reader slots, shared_state.h).
//
// Priorities are a hash of the key, so the shape depends only on the keys: same seed, same tree.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "engine/bytes.h"
#include "engine/cursor/record.h"
#include "engine/env/env.h"
#include "engine/status.h"

namespace lsm::shm {

using ShmOffset = uint32_t;  // 0 is null: chunk 0 holds the shared header, never tree data

inline constexpr uint32_t kChunkShift = 15;
static_assert((uint32_t{1} << kChunkShift) == kShmChunkSize);
// Each tree chunk starts with its generation and a spare word.
inline constexpr uint32_t kTreeChunkHeader = 8;

// This process's map of the shared memory (File::ShmMap pointers, cached by chunk).
class ShmChunks {
 public:
  explicit ShmChunks(File* file) : file_(file) {}
  Result<uint8_t*> Map(uint32_t chunk);
  // Maps chunks [0, n): a reader does it before following a tree whose header says n.
  Status MapBelow(uint32_t n);
  // The mapped chunk, or null.
  uint8_t* Mapped(uint32_t chunk) const { return chunk < chunks_.size() ? chunks_[chunk] : nullptr; }
  // After ShmUnmap: every pointer is gone.
  void Forget() { chunks_.clear(); }

 private:
  File* file_;
  std::vector<uint8_t*> chunks_;
};

// The tree's header: what a writer publishes after each commit (shared_state.h puts it in a
// checksummed publication).
struct ShmTreeState {
  uint32_t version = 0;  // of the last publication; nodes of later versions are the writer's own
  uint32_t gen = 1;      // tree generation
  ShmOffset root = 0;
  uint32_t nchunks = 1;  // chunks [1, nchunks) have been claimed by some generation
  uint32_t chunk = 0;    // the chunk being filled (0: none yet)
  uint32_t used = 0;     // bytes of it in use
  uint32_t scan = 1;     // where the next search for a chunk to claim again starts
  uint64_t bytes = 0;    // approximate bytes held, as Tree::bytes
  uint64_t count = 0;    // entries

  static constexpr size_t kWords = 11;
  void EncodeTo(std::vector<uint32_t>* out) const;
  // kCorrupt naming the field that cannot be a header's.
  static Result<ShmTreeState> Decode(std::span<const uint32_t> words);
  bool operator==(const ShmTreeState&) const = default;
};

// The writer's handle on the tree: changes the working state; the caller publishes state().
class ShmTree {
 public:
  // `reusable(gen)`: no reader can still read the chunks of generation `gen` (< the current one).
  ShmTree(ShmChunks* chunks, ShmTreeState state, std::function<bool(uint32_t)> reusable);

  // Same meaning as Tree's (tree.h): the records of a flushed tree are the same either way.
  Status Put(uint8_t topic, ByteView key, ByteView value);
  Status Erase(uint8_t topic, ByteView key);
  Status EraseRange(ByteView start, ByteView end);

  const ShmTreeState& state() const { return state_; }
  bool empty() const { return state_.count == 0; }
  // The state is about to be published: its nodes become read-only.
  void Published() { ++state_.version; }
  // An empty tree in the next generation (after a flush); its chunks are claimed afresh.
  void StartGeneration();
  // Back to a published state (a failed commit, or another process's publication).
  void Reset(const ShmTreeState& state) { state_ = state; }

  // A cursor over the tree `state` describes, in a process that mapped its chunks (MapBelow).
  static std::unique_ptr<RecordCursor> NewCursor(const ShmChunks* chunks, const ShmTreeState& state);

 private:
  struct Found;
  uint32_t Version() const { return state_.version + 1; }
  // Maps every chunk the state names (another process may have claimed them).
  Status Ready();
  Result<ShmOffset> Alloc(uint32_t bytes);
  Status ClaimChunk();
  Result<ShmOffset> StoreBytes(ByteView bytes);
  uint32_t* Node(ShmOffset n) const;
  ByteView KeyOf(ShmOffset n, Bytes* scratch) const;
  int CompareAt(ShmOffset n, uint8_t topic, ByteView key) const;
  Result<ShmOffset> Own(ShmOffset n);
  ShmOffset Find(uint8_t topic, ByteView key) const;
  ShmOffset Successor(uint8_t topic, ByteView key) const;
  bool Covered(uint8_t topic, ByteView key) const;
  // Sets (inserting if new) the entry for a key with `flags` and a value already stored.
  Status Set(uint8_t topic, ByteView key, uint8_t flags, ShmOffset value, uint32_t value_len);
  Result<ShmOffset> Update(ShmOffset t, uint8_t topic, ByteView key, uint8_t flags, ShmOffset value, uint32_t len);
  Result<ShmOffset> Insert(ShmOffset t, ShmOffset n, uint8_t topic, ByteView key, uint32_t prio);
  // (keys < k or <= k with `inclusive`, the rest).
  Status Split(ShmOffset t, uint8_t topic, ByteView key, bool inclusive, ShmOffset* left, ShmOffset* right);
  Result<ShmOffset> Merge(ShmOffset a, ShmOffset b);
  void Forget(ShmOffset t);

  ShmChunks* chunks_;
  ShmTreeState state_;
  std::function<bool(uint32_t)> reusable_;
  uint32_t mapped_below_ = 0;
};

}  // namespace lsm::shm
