#include "engine/run_filter.h"

#include <algorithm>

namespace lsm {
namespace {

constexpr int kProbes = 7;
constexpr uint64_t kBitsPerKey = 10;

// FNV-1a, then a SplitMix64 finaliser to spread the bits: fixed by this file, the same on every build.
uint64_t Hash(ByteView key) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : key) h = (h ^ b) * 0x100000001B3ull;
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

}  // namespace

void RunFilter::Builder::Add(const Record& r) {
  if (r.topic() != kTopicUser) return;
  if (open_gap_ && (r.flags & kEndDelete)) gaps_.emplace_back(gap_start_, r.key);
  open_gap_ = (r.flags & kStartDelete) != 0;
  if (open_gap_) gap_start_ = r.key;
  if (r.flags & kPointMask) hashes_.push_back(Hash(r.key));
}

RunFilter RunFilter::Builder::Finish() {
  RunFilter f;
  const uint64_t nbits = std::max<uint64_t>(64, hashes_.size() * kBitsPerKey);
  f.bits_.assign((nbits + 63) / 64, 0);
  const uint64_t m = f.bits_.size() * 64;
  for (uint64_t h : hashes_) {
    const uint64_t delta = (h >> 33) | 1;
    for (int i = 0; i < kProbes; ++i, h += delta) f.bits_[(h % m) / 64] |= uint64_t{1} << (h % 64);
  }
  f.gaps_ = std::move(gaps_);
  return f;
}

bool RunFilter::MayDecide(ByteView key) const {
  uint64_t h = Hash(key);
  const uint64_t m = bits_.size() * 64;
  const uint64_t delta = (h >> 33) | 1;
  bool hit = true;
  for (int i = 0; i < kProbes && hit; ++i, h += delta) hit = (bits_[(h % m) / 64] >> (h % 64)) & 1;
  if (hit) return true;
  // The last gap starting below the key is the only one that can cover it.
  auto it = std::lower_bound(gaps_.begin(), gaps_.end(), key, [](const std::pair<Bytes, Bytes>& g, ByteView k) {
    return CompareKeys(kTopicUser, g.first, kTopicUser, k) < 0;
  });
  if (it == gaps_.begin()) return false;
  --it;
  return CompareKeys(kTopicUser, key, kTopicUser, it->second) < 0;
}

}  // namespace lsm
