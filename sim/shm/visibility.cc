#include "sim/shm/visibility.h"

#include <algorithm>
#include <cstring>

namespace lsm::sim {

ShmVisibility::Chunk& ShmVisibility::Memory(uint32_t chunk) {
  auto& slot = memory_[chunk];
  if (!slot) slot = std::make_unique<Chunk>(Chunk{});
  return *slot;
}

ShmVisibility::Chunk& ShmVisibility::ViewOf(Process& proc, uint32_t chunk) {
  auto& view = proc.view[chunk];
  if (!view) {  // first mapped: the process sees what has arrived
    view = std::make_unique<Chunk>(Memory(chunk));
    proc.seen[chunk] = std::make_unique<Chunk>(*view);
  }
  return *view;
}

ShmVisibility::Process& ShmVisibility::Proc(int p) {
  if (size_t(p) >= procs_.size()) procs_.resize(size_t(p) + 1);
  return procs_[size_t(p)];
}

uint8_t* ShmVisibility::Map(int p, uint32_t chunk) {
  return reinterpret_cast<uint8_t*>(ViewOf(Proc(p), chunk).data());
}

void ShmVisibility::Capture(Process& proc) {
  for (auto& [chunk, view] : proc.view) {
    Chunk& seen = *proc.seen[chunk];
    if (std::memcmp(view->data(), seen.data(), sizeof(Chunk)) == 0) continue;
    for (uint32_t w = 0; w < kWords; ++w) {
      if ((*view)[w] == seen[w]) continue;
      if (proc.batches.empty()) proc.batches.emplace_back();
      proc.batches.back().push_back(Store{chunk, w, (*view)[w]});
      seen[w] = (*view)[w];
    }
  }
}

void ShmVisibility::Barrier(int p, const ShmFaults& faults) {
  Process& proc = Proc(p);
  Capture(proc);
  if (!faults.missing_barrier && !proc.batches.empty() && !proc.batches.back().empty()) proc.batches.emplace_back();
}

bool ShmVisibility::PendingAt(const Process& proc, uint32_t chunk, uint32_t word) const {
  for (const auto& batch : proc.batches) {
    for (const Store& s : batch) {
      if (s.chunk == chunk && s.word == word) return true;
    }
  }
  return false;
}

void ShmVisibility::Deliver(size_t from, const Store& s) {
  Memory(s.chunk)[s.word] = s.value;
  for (size_t q = 0; q < procs_.size(); ++q) {
    if (q == from) continue;
    Process& other = procs_[q];
    auto it = other.view.find(s.chunk);
    if (it == other.view.end()) continue;  // mapped later: it copies the memory then
    Chunk& view = *it->second;
    Chunk& seen = *other.seen[s.chunk];
    // The other's own store to the word, captured or not, wins in its own view.
    if (view[s.word] != seen[s.word] || PendingAt(other, s.chunk, s.word)) continue;
    view[s.word] = seen[s.word] = s.value;
  }
}

namespace {

// Which stores of an n-store batch arrive now. Shaped, so that every kind of partial view comes up:
// each store on a coin (tears a record), all but one to three (a record whole, something it points
// at not yet), a prefix in program order (the drain of a store buffer), or a suffix.
std::vector<bool> PickArrivals(size_t n, Decisions& d) {
  std::vector<bool> arrive(n, false);
  if (n == 0) return arrive;
  switch (d.Below(4)) {
    case 0:
      for (size_t i = 0; i < n; ++i) arrive[i] = d.Below(2) == 1;
      break;
    case 1: {
      arrive.assign(n, true);
      const uint64_t held = 1 + d.Below(3);
      for (uint64_t h = 0; h < held; ++h) arrive[size_t(d.Below(n))] = false;
      break;
    }
    case 2: {
      const size_t cut = size_t(d.Below(n + 1));
      for (size_t i = 0; i < cut; ++i) arrive[i] = true;
      break;
    }
    default: {
      const size_t cut = size_t(d.Below(n + 1));
      for (size_t i = cut; i < n; ++i) arrive[i] = true;
      break;
    }
  }
  return arrive;
}

}  // namespace

void ShmVisibility::Arrive(int p, Decisions& d, const ShmFaults& faults) {
  Process& proc = Proc(p);
  Capture(proc);
  while (!proc.batches.empty() && proc.batches.front().empty()) proc.batches.erase(proc.batches.begin());
  if (proc.batches.empty()) return;
  std::vector<std::vector<Store>> left;
  if (faults.reordered_barrier) {  // any store of any batch
    for (auto& batch : proc.batches) {
      std::vector<Store> kept;
      const std::vector<bool> arrive = PickArrivals(batch.size(), d);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (arrive[i]) {
          Deliver(size_t(p), batch[i]);
        } else {
          kept.push_back(batch[i]);
        }
      }
      left.push_back(std::move(kept));
    }
  } else {  // the first k batches whole, then any subset of the next
    const size_t k = size_t(d.Below(proc.batches.size() + 1));
    for (size_t b = 0; b < proc.batches.size(); ++b) {
      std::vector<Store> kept;
      const std::vector<Store>& batch = proc.batches[b];
      const std::vector<bool> arrive = b == k ? PickArrivals(batch.size(), d) : std::vector<bool>(batch.size(), b < k);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (arrive[i]) {
          Deliver(size_t(p), batch[i]);
        } else {
          kept.push_back(batch[i]);
        }
      }
      left.push_back(std::move(kept));
    }
  }
  // Batches keep their order; a batch emptied ahead of a pending one stays empty (its barrier holds).
  while (!left.empty() && left.front().empty()) left.erase(left.begin());
  proc.batches = std::move(left);
}

void ShmVisibility::ArriveAll(int p) {
  Process& proc = Proc(p);
  Capture(proc);
  for (const auto& batch : proc.batches) {
    for (const Store& s : batch) Deliver(size_t(p), s);
  }
  proc.batches.clear();
}

void ShmVisibility::Crash(int p) {
  Process& proc = Proc(p);
  proc.batches.clear();
  for (auto& [chunk, view] : proc.view) {
    *view = Memory(chunk);
    *proc.seen[chunk] = *view;
  }
}

void ShmVisibility::Clear() {  // zeroed in place: the pointers Map gave stay valid
  for (auto& [chunk, words] : memory_) words->fill(0);
  for (Process& proc : procs_) {
    for (auto& [chunk, view] : proc.view) view->fill(0);
    for (auto& [chunk, seen] : proc.seen) seen->fill(0);
    proc.batches.clear();
  }
}

size_t ShmVisibility::Pending(int p) {
  Process& proc = Proc(p);
  Capture(proc);
  size_t n = 0;
  for (const auto& batch : proc.batches) n += batch.size();
  return n;
}

uint32_t ShmVisibility::Visible(uint32_t chunk, uint32_t offset) const {
  auto it = memory_.find(chunk);
  return it == memory_.end() ? 0 : (*it->second)[offset / 4];
}

}  // namespace lsm::sim
