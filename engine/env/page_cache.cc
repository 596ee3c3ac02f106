#include "engine/env/page_cache.h"
#include "engine/weaken.h"

#include <algorithm>
#include <cstring>

namespace lsm {

CachedFile::CachedFile(std::unique_ptr<File> target, uint32_t chunk_size, size_t capacity_bytes, bool map)
    : FileWrapper(std::move(target)), chunk_size_(chunk_size), max_chunks_(std::max<size_t>(capacity_bytes / chunk_size, 1)),
      table_(16, 0), map_wanted_(map) {}

std::shared_ptr<const uint8_t> CachedFile::MappedChunk(uint64_t index) {
  const uint64_t end = (index + 1) * chunk_size_;
  auto size = Size();
  if (!size.ok() || end > *size) return nullptr;
  if (end > mapped_) {
    // Room to grow, so that a growing file is not remapped at every block.
    const uint64_t length = std::max<uint64_t>(2 * *size, uint64_t{64} << 20);
    std::shared_ptr<const uint8_t> fresh = target()->MapForReading(length);
    if (fresh == nullptr) {
      map_wanted_ = false;
      return nullptr;
    }
    map_ = std::move(fresh);
    mapped_ = length;
  }
  return std::shared_ptr<const uint8_t>(map_, map_.get() + index * chunk_size_);
}

size_t CachedFile::Probe(uint64_t index) const {
  const size_t mask = table_.size() - 1;
  for (size_t i = size_t((index * 0x9E3779B97F4A7C15ull) >> 32) & mask;; i = (i + 1) & mask) {
    if (table_[i] == 0 || slots_[table_[i] - 1].index == index) return i;
  }
}

void CachedFile::IndexInsert(uint32_t slot) {
  if (2 * (count_ + 1) > table_.size()) {
    std::vector<uint32_t> old(table_.size() * 2, 0);
    old.swap(table_);
    for (uint32_t s : old) {
      if (s != 0) table_[Probe(slots_[s - 1].index)] = s;
    }
  }
  table_[Probe(slots_[slot].index)] = slot + 1;
  ++count_;
}

// Backward-shift deletion: later entries of the probe run move up, so lookups need no tombstones.
void CachedFile::IndexErase(uint64_t index) {
  const size_t mask = table_.size() - 1;
  size_t hole = Probe(index);
  if (table_[hole] == 0) return;
  --count_;
  for (size_t i = (hole + 1) & mask; table_[i] != 0; i = (i + 1) & mask) {
    const size_t home = size_t((slots_[table_[i] - 1].index * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    // The entry may fill the hole iff its home is not cyclically in (hole, i].
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      table_[hole] = table_[i];
      hole = i;
    }
  }
  table_[hole] = 0;
}

void CachedFile::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.newer != kNone) slots_[s.newer].older = s.older; else newest_ = s.older;
  if (s.older != kNone) slots_[s.older].newer = s.newer; else oldest_ = s.newer;
  s.newer = s.older = kNone;
}

void CachedFile::PushFront(uint32_t slot) {
  Slot& s = slots_[slot];
  s.newer = kNone;
  s.older = newest_;
  if (newest_ != kNone) slots_[newest_].newer = slot; else oldest_ = slot;
  newest_ = slot;
}

void CachedFile::Remove(uint32_t slot) {
  Unlink(slot);
  IndexErase(slots_[slot].index);
  FreeSlot(slot);
}

void CachedFile::Place(uint32_t slot, uint64_t index) {
  slots_[slot].index = index;
  IndexInsert(slot);
  PushFront(slot);
}

std::shared_ptr<const uint8_t> CachedFile::Image(uint32_t slot) const {
  return std::shared_ptr<const uint8_t>(slots_[slot].bytes, slots_[slot].bytes->data());
}

uint32_t CachedFile::TakeSlot(uint32_t pending) {
  std::shared_ptr<Bytes> buf;
  if (count_ + pending >= max_chunks_ && oldest_ != kNone) {
    const uint32_t victim = oldest_;
    if (slots_[victim].bytes.use_count() == 1) buf = std::move(slots_[victim].bytes);
    Remove(victim);
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = uint32_t(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot].bytes = buf ? std::move(buf) : std::make_shared<Bytes>(chunk_size_);
  return slot;
}

void CachedFile::FreeSlot(uint32_t slot) {
  slots_[slot].bytes.reset();
  free_.push_back(slot);
}

Status CachedFile::Fetch(uint64_t index, uint32_t n) {
  constexpr uint32_t kMaxFetch = 64;
  n = std::min(n, kMaxFetch);
  uint32_t taken[kMaxFetch];
  std::span<uint8_t> spans[kMaxFetch];
  for (uint32_t i = 0; i < n; ++i) {
    taken[i] = TakeSlot(i);
    spans[i] = *slots_[taken[i]].bytes;
  }
  Status s = target()->ReadV(index * chunk_size_, std::span(spans, n));
  if (LSM_WEAKENED(kReadErrorIgnored)) s = Status::Ok();
  // Inserted last to first, so the chunk asked for is the newest and the furthest ahead goes out first.
  for (uint32_t i = n; i-- > 0;) {
    if (s.ok()) {
      Place(taken[i], index + i);
    } else {
      FreeSlot(taken[i]);
    }
  }
  return s;
}

Result<std::shared_ptr<const uint8_t>> CachedFile::ReadChunk(uint64_t index, uint32_t ahead) {
  if (map_wanted_) {
    if (std::shared_ptr<const uint8_t> mapped = MappedChunk(index)) return mapped;
  }
  uint32_t found = table_[Probe(index)];
  if (found != 0) {
    const uint32_t slot = found - 1;
    if (slot != newest_) {
      Unlink(slot);
      PushFront(slot);
    }
    return Image(slot);
  }
  // Never more than a quarter of the cache ahead, so a read-ahead cannot flush what a walk still needs.
  ahead = uint32_t(std::min<uint64_t>(ahead, max_chunks_ / 4));
  uint32_t n = 1;
  while (n <= ahead && !Cached(index + n)) ++n;
  Status s = Fetch(index, n);
  if (!s.ok() && n > 1) s = Fetch(index, 1);
  LSM_RETURN_IF_ERROR(s);
  return Image(table_[Probe(index)] - 1);
}

Status CachedFile::Read(uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = offset + done;
    const size_t skip = size_t(at % chunk_size_);
    const size_t n = std::min(out.size() - done, size_t(chunk_size_) - skip);
    auto chunk = ReadChunk(at / chunk_size_);
    if (!chunk.ok()) return chunk.status();
    std::memcpy(out.data() + done, chunk->get() + skip, n);
    done += n;
  }
  return Status::Ok();
}

void CachedFile::Drop(uint64_t first_chunk, uint64_t last_chunk) {
  if (last_chunk - first_chunk >= count_) {
    for (uint32_t slot = newest_; slot != kNone;) {
      const uint32_t next = slots_[slot].older;
      if (slots_[slot].index >= first_chunk && slots_[slot].index <= last_chunk) Remove(slot);
      slot = next;
    }
    return;
  }
  for (uint64_t i = first_chunk; i <= last_chunk; ++i) {
    const uint32_t found = table_[Probe(i)];
    if (found != 0) Remove(found - 1);
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
  // Whole pages just written are what a merge reads next: keep them, unless the map shows them.
  if (map_ != nullptr && offset + data.size() <= mapped_) return s;
  for (uint64_t at = (offset + chunk_size_ - 1) / chunk_size_ * chunk_size_; at + chunk_size_ <= offset + data.size();
       at += chunk_size_) {
    Insert(at / chunk_size_, data.subspan(at - offset, chunk_size_));
  }
  return s;
}

void CachedFile::Insert(uint64_t index, std::span<const uint8_t> bytes) {
  const uint32_t slot = TakeSlot();
  std::copy(bytes.begin(), bytes.end(), slots_[slot].bytes->begin());
  Place(slot, index);
}

Status CachedFile::Truncate(uint64_t size) {
  Invalidate();
  return target()->Truncate(size);
}

void CachedFile::Invalidate() {
  slots_.clear();
  free_.clear();
  newest_ = oldest_ = kNone;
  count_ = 0;
  table_.assign(16, 0);
  size_.reset();
  map_.reset();  // cursors holding chunks of it read nothing past the new end (see File::MapForReading)
  mapped_ = 0;
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
