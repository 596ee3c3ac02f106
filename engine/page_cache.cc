#include "engine/page_cache.h"

#include <algorithm>
#include <cstring>

namespace lsm {

CachedFile::CachedFile(std::unique_ptr<File> target, uint32_t chunk_size, size_t capacity_bytes)
    : FileWrapper(std::move(target)), chunk_size_(chunk_size), max_chunks_(std::max<size_t>(capacity_bytes / chunk_size, 1)) {}

Result<std::shared_ptr<const Bytes>> CachedFile::ReadChunk(uint64_t index) {
  auto it = index_.find(index);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return std::shared_ptr<const Bytes>(lru_.front().bytes);
  }
  std::shared_ptr<Bytes> bytes = TakeBuffer();
  Status s = target()->Read(index * chunk_size_, *bytes);
  if (!s.ok()) return s;
  lru_.push_front(Chunk{index, std::move(bytes)});
  index_[index] = lru_.begin();
  return std::shared_ptr<const Bytes>(lru_.front().bytes);
}

Status CachedFile::Read(uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = offset + done;
    const size_t skip = size_t(at % chunk_size_);
    const size_t n = std::min(out.size() - done, size_t(chunk_size_) - skip);
    auto chunk = ReadChunk(at / chunk_size_);
    if (!chunk.ok()) return chunk.status();
    std::memcpy(out.data() + done, (*chunk)->data() + skip, n);
    done += n;
  }
  return Status::Ok();
}

void CachedFile::Drop(uint64_t first_chunk, uint64_t last_chunk) {
  if (last_chunk - first_chunk >= index_.size()) {
    for (auto it = lru_.begin(); it != lru_.end();) {
      if (it->index >= first_chunk && it->index <= last_chunk) {
        index_.erase(it->index);
        it = lru_.erase(it);
      } else {
        ++it;
      }
    }
    return;
  }
  for (uint64_t i = first_chunk; i <= last_chunk; ++i) {
    auto it = index_.find(i);
    if (it == index_.end()) continue;
    lru_.erase(it->second);
    index_.erase(it);
  }
}

Status CachedFile::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return Status::Ok();
  Drop(offset / chunk_size_, (offset + data.size() - 1) / chunk_size_);
  Status s = target()->Write(offset, data);
  if (s.ok() && size_) size_ = std::max(*size_, offset + data.size());
  if (!s.ok()) {
    size_.reset();
    return s;
  }
  // Whole pages just written are what a merge reads next: keep them.
  for (uint64_t at = (offset + chunk_size_ - 1) / chunk_size_ * chunk_size_; at + chunk_size_ <= offset + data.size();
       at += chunk_size_) {
    Insert(at / chunk_size_, data.subspan(at - offset, chunk_size_));
  }
  return s;
}

std::shared_ptr<Bytes> CachedFile::TakeBuffer() {
  std::shared_ptr<Bytes> buf;
  if (lru_.size() >= max_chunks_) {
    // Evict the oldest chunk; reuse its buffer unless a cursor still holds it.
    index_.erase(lru_.back().index);
    if (lru_.back().bytes.use_count() == 1) buf = std::move(lru_.back().bytes);
    lru_.pop_back();
  }
  return buf ? buf : std::make_shared<Bytes>(chunk_size_);
}

void CachedFile::Insert(uint64_t index, std::span<const uint8_t> bytes) {
  std::shared_ptr<Bytes> buf = TakeBuffer();
  std::copy(bytes.begin(), bytes.end(), buf->begin());
  lru_.push_front(Chunk{index, std::move(buf)});
  index_[index] = lru_.begin();
}

Status CachedFile::Truncate(uint64_t size) {
  lru_.clear();
  index_.clear();
  size_.reset();
  return target()->Truncate(size);
}

Result<uint64_t> CachedFile::Size() {
  if (!size_) {
    auto s = target()->Size();
    if (!s.ok()) return s;
    size_ = *s;
  }
  return *size_;
}

}  // namespace lsm
