// A read cache over the database file: page-sized chunks, least recently used out first. It sits above
// the Env (part of the engine, like the seed's page cache), so a simulated crash discards it with the
// Db. Writes and truncates go straight through and drop the chunks they touch, so a read never sees
// bytes older than the last write; chunks a write covers whole are cached with the new bytes (a merge
// reads the runs written just before it). The file size is tracked so that cursors need no Size() call.
//
// With `map` (and an Env that maps, PosixEnv), chunks inside the file come straight from a read-only
// map of it instead, as the reference engine reads its database file (LSM_CONFIG_MMAP): no copy, no
// bookkeeping, and the OS's page cache holds them. The map is made on first use, made larger when the
// file outgrows it, and dropped by Truncate; the cache then serves only what the map cannot.
//
// Every Get looks a page up here, so the bookkeeping avoids pointer chasing: chunks live in one array
// of slots, the LRU list links slot numbers, and the index is an open-addressing table of slot numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/bytes.h"
#include "engine/env/env.h"

namespace lsm {

class CachedFile : public FileWrapper {
 public:
  CachedFile(std::unique_ptr<File> target, uint32_t chunk_size, size_t capacity_bytes, bool map = false);

  Status Read(uint64_t offset, std::span<uint8_t> out) override;
  Status Write(uint64_t offset, std::span<const uint8_t> data) override;
  Status Truncate(uint64_t size) override;
  Result<uint64_t> Size() override;
  // Forgets every cached chunk, the map and the size: another process wrote the file (with shared
  // memory, once its worker published), so nothing cached may be trusted.
  void Invalidate();
  // Chunk `index` (bytes [index * chunk_size, (index + 1) * chunk_size)), shared with the cache or the
  // map: no copy. The pointer keeps its bytes alive.
  // On a miss, up to `ahead` following chunks that are not cached either come in with it, in one ReadV:
  // a cursor walking a run sequentially says how far the run goes on. A read-ahead that fails is
  // dropped and the chunk is read alone, so only the chunk asked for can fail the call.
  Result<std::shared_ptr<const uint8_t>> ReadChunk(uint64_t index, uint32_t ahead = 0);
  uint32_t chunk_size() const { return chunk_size_; }
  size_t cached_chunks() const { return count_; }
  bool mapped() const { return map_ != nullptr; }

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  struct Slot {
    uint64_t index = 0;
    std::shared_ptr<Bytes> bytes;  // handed out as const; null while the slot is free
    uint32_t newer = kNone;        // LRU neighbours
    uint32_t older = kNone;
  };

  void Drop(uint64_t first_chunk, uint64_t last_chunk);
  // Chunk `index` from the map, (re)mapping when the file has outgrown it; null if it cannot come from
  // there (not mapping, or the chunk is not wholly inside the file).
  std::shared_ptr<const uint8_t> MappedChunk(uint64_t index);
  bool Cached(uint64_t index) const { return table_[Probe(index)] != 0; }
  // Reads chunks [index, index + n) into new slots with one ReadV and caches them (the first newest).
  Status Fetch(uint64_t index, uint32_t n);
  void FreeSlot(uint32_t slot);  // back to the free slots, its buffer dropped (not in the list or index)
  void Place(uint32_t slot, uint64_t index);  // the slot now caches chunk `index`, as the newest
  std::shared_ptr<const uint8_t> Image(uint32_t slot) const;  // its bytes, shared with the cache
  void Insert(uint64_t index, std::span<const uint8_t> bytes);  // REQUIRES: index not cached
  // A slot for a new chunk with a chunk-sized buffer, evicting the oldest chunk if the cache would be
  // full with `pending` slots already taken and not yet inserted (its buffer is reused unless a cursor
  // still holds it).
  uint32_t TakeSlot(uint32_t pending = 0);
  void Remove(uint32_t slot);  // from the list and the index; the slot becomes free
  void PushFront(uint32_t slot);
  void Unlink(uint32_t slot);
  // The table position holding `index`, or of the empty entry where it would go.
  size_t Probe(uint64_t index) const;
  void IndexInsert(uint32_t slot);
  void IndexErase(uint64_t index);

  const uint32_t chunk_size_;
  const size_t max_chunks_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;    // free slots
  uint32_t newest_ = kNone;       // LRU list ends
  uint32_t oldest_ = kNone;
  size_t count_ = 0;              // cached chunks
  // Slot number + 1 per entry (0: empty), linear probing, at most half full. Looked up only, never
  // iterated: its order cannot leak into behaviour.
  std::vector<uint32_t> table_;
  std::optional<uint64_t> size_;
  bool map_wanted_;                     // map when the Env can; false once it could not
  std::shared_ptr<const uint8_t> map_;  // the file's bytes [0, mapped_)
  uint64_t mapped_ = 0;
};

}  // namespace lsm
