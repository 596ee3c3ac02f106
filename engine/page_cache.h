// A read cache over the database file: page-sized chunks, least recently used out first. It sits above
// the Env (part of the engine, like the seed's page cache), so a simulated crash discards it with the
// Db. Writes and truncates go straight through and drop the chunks they touch, so a read never sees
// bytes older than the last write; chunks a write covers whole are cached with the new bytes (a merge
// reads the runs written just before it). The file size is tracked so that cursors need no Size() call.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <memory>
#include <unordered_map>

#include "engine/bytes.h"
#include "engine/env.h"

namespace lsm {

class CachedFile : public FileWrapper {
 public:
  CachedFile(std::unique_ptr<File> target, uint32_t chunk_size, size_t capacity_bytes);

  Status Read(uint64_t offset, std::span<uint8_t> out) override;
  Status Write(uint64_t offset, std::span<const uint8_t> data) override;
  Status Truncate(uint64_t size) override;
  Result<uint64_t> Size() override;
  // Chunk `index` (bytes [index * chunk_size, (index + 1) * chunk_size)), shared with the cache: no copy.
  Result<std::shared_ptr<const Bytes>> ReadChunk(uint64_t index);
  uint32_t chunk_size() const { return chunk_size_; }

 private:
  struct Chunk {
    uint64_t index;
    std::shared_ptr<Bytes> bytes;  // handed out as const
  };
  void Drop(uint64_t first_chunk, uint64_t last_chunk);
  void Insert(uint64_t index, std::span<const uint8_t> bytes);  // REQUIRES: index not cached
  std::shared_ptr<Bytes> TakeBuffer();  // a chunk-sized buffer, evicting the oldest chunk if full

  const uint32_t chunk_size_;
  const size_t max_chunks_;
  std::list<Chunk> lru_;  // most recent first
  // Looked up only, never iterated: its order cannot leak into behaviour.
  std::unordered_map<uint64_t, std::list<Chunk>::iterator> index_;
  std::optional<uint64_t> size_;
};

}  // namespace lsm
