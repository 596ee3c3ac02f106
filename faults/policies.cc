#include "faults/policies.h"

#include <algorithm>

#include "sim/prng.h"

namespace lsm::faults {

using sim::PendingOp;

void TearSectors(const PendingOp& op, uint32_t sector, Bytes* image, sim::Decisions& d) {
  const uint64_t end = op.offset + op.data.size();
  if (image->size() < end) image->resize(end, 0);
  sim::Prng garbage(d.Below(kGarbageSeeds));
  const uint64_t first = op.offset / sector * sector;
  for (uint64_t s = first; s < end; s += sector) {
    const uint64_t lo = s, hi = std::min<uint64_t>(s + sector, image->size());
    switch (d.Below(4)) {
      case kSectorOld:
        break;
      case kSectorNew:
        if (const uint64_t from = std::max(lo, op.offset), to = std::min(hi, end); from < to) {
          std::copy(op.data.begin() + std::ptrdiff_t(from - op.offset), op.data.begin() + std::ptrdiff_t(to - op.offset),
                    image->begin() + std::ptrdiff_t(from));
        }
        break;
      case kSectorGarbage:
        for (uint64_t i = lo; i < hi; ++i) (*image)[i] = uint8_t(garbage.Next());
        break;
      default:  // zeros
        std::fill(image->begin() + std::ptrdiff_t(lo), image->begin() + std::ptrdiff_t(hi), 0);
        break;
    }
  }
}

void ExplorePolicy::BeginFile(const std::string&, size_t count, sim::Decisions& d) {
  count_ = count;
  index_ = 0;
  const uint64_t mode = d.Below(3);
  drop_all_ = mode == 0;
  window_ = mode == 2 ? d.Below(count + 1) : 0;
}

sim::CrashPolicy::Outcome ExplorePolicy::Decide(const std::string&, const PendingOp& op, uint32_t sector, Bytes* image,
                                                sim::Decisions& d) {
  const size_t i = index_++;
  if (drop_all_) return kDropped;
  uint64_t choice = 1;
  if (i + window_ >= count_) choice = d.Below(3);
  if (choice == 0) return kDropped;
  if (choice == 2 && op.kind == PendingOp::kWrite && !op.data.empty()) {
    TearSectors(op, sector, image, d);
    return kTorn;
  }
  sim::ApplyOp(op, image);
  return kApplied;
}

sim::CrashPolicy::Outcome TornPolicy::Decide(const std::string&, const PendingOp& op, uint32_t sector, Bytes* image,
                                             sim::Decisions& d) {
  if (op.kind != PendingOp::kWrite || op.data.empty()) return CrashPolicy::Decide("", op, sector, image, d);
  const uint64_t choice = d.Below(3);
  if (choice == 0) return kDropped;
  const Bytes old_slice = [&] {
    Bytes b(op.data.size(), 0);
    for (size_t i = 0; i < b.size() && op.offset + i < image->size(); ++i) b[i] = (*image)[op.offset + i];
    return b;
  }();
  const uint64_t end = op.offset + op.data.size();
  if (image->size() < end) image->resize(end, 0);
  if (choice == 1) {
    sim::ApplyOp(op, image);
    return kApplied;
  }
  if (bytes_) {
    const uint64_t cut = d.Below(op.data.size() + 1);  // new [0, cut), old after
    std::copy_n(op.data.begin(), cut, image->begin() + std::ptrdiff_t(op.offset));
  } else {
    TearSectors(op, sector, image, d);
  }
  // A tear that left exactly the old or exactly the new bytes changed nothing a whole outcome could not.
  const Bytes now(image->begin() + std::ptrdiff_t(op.offset), image->begin() + std::ptrdiff_t(end));
  return now == op.data || now == old_slice ? kApplied : kTorn;
}

}  // namespace lsm::faults
