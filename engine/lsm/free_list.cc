#include "engine/lsm/free_list.h"

#include <string>

namespace lsm {

Bytes FreeListKey(uint32_t block) {
  Bytes key(4);
  StoreBe32(key.data(), ~block);
  return key;
}

std::optional<uint32_t> FreeListBlock(ByteView key) {
  if (key.size() != 4) return std::nullopt;
  return ~LoadBe32(key.data());
}

Status FreeList::Load(std::map<uint32_t, int64_t> in_lsm, const std::vector<FreeEntry>& delta) {
  in_lsm_ = std::move(in_lsm);
  entries_ = in_lsm_;
  std::map<uint32_t, bool> seen;
  for (const FreeEntry& e : delta) {
    if (!seen.emplace(e.block, true).second) {
      return Status::Corrupt("free list: block " + std::to_string(e.block) + " appears twice in the checkpoint");
    }
    if (e.id == kFreeEntryDelete) {
      // The reference records every block it takes for reuse as a delete entry, whether the block came
      // from a record or from the checkpoint's own list: a delete with no record behind it means "not
      // free", which is what leaving it out of entries_ says.
      entries_.erase(e.block);
    } else {
      entries_[e.block] = e.id;
    }
  }
  return Status::Ok();
}

std::optional<uint32_t> FreeList::TakeReusable(uint64_t synced_id) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second == 0 || (it->second > 0 && uint64_t(it->second) < synced_id)) {
      uint32_t block = it->first;
      entries_.erase(it);
      return block;
    }
  }
  return std::nullopt;
}

void FreeList::Free(uint32_t block, int64_t id) { entries_[block] = id; }

std::vector<FreeEntry> FreeList::Delta() const {
  std::vector<FreeEntry> out;
  auto a = entries_.begin();
  auto b = in_lsm_.begin();
  while (a != entries_.end() || b != in_lsm_.end()) {
    if (b == in_lsm_.end() || (a != entries_.end() && a->first < b->first)) {
      out.push_back({a->first, a->second});
      ++a;
    } else if (a == entries_.end() || b->first < a->first) {
      out.push_back({b->first, kFreeEntryDelete});
      ++b;
    } else {
      if (a->second != b->second) out.push_back({a->first, a->second});
      ++a;
      ++b;
    }
  }
  return out;
}

std::vector<Record> FreeList::DeltaRecords() const {
  std::vector<FreeEntry> delta = Delta();
  std::vector<Record> out;
  out.reserve(delta.size());
  // Keys are ~block, so descending blocks give ascending keys.
  for (auto it = delta.rbegin(); it != delta.rend(); ++it) {
    Record r;
    r.key = FreeListKey(it->block);
    if (it->id == kFreeEntryDelete) {
      r.flags = kSystemKey | kPointDelete;
    } else {
      r.flags = kSystemKey | kInsert;
      r.value.resize(8);
      StoreBe64(r.value.data(), uint64_t(it->id));
    }
    out.push_back(std::move(r));
  }
  return out;
}

void FreeList::DeltaWritten(const std::vector<FreeEntry>& written) {
  for (const FreeEntry& e : written) {
    if (e.id == kFreeEntryDelete) {
      in_lsm_.erase(e.block);
    } else {
      in_lsm_[e.block] = e.id;
    }
  }
}

}  // namespace lsm
