#include "engine/lsm/run_filter.h"

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

// Blocked Bloom filter: the probes of one key all fall in one 512-bit block (a cache line), so a
// lookup costs one memory miss, not seven.
constexpr uint64_t kWordsPerBlock = 8;

RunFilter RunFilter::Builder::Finish() {
  RunFilter f;
  const uint64_t blocks = std::max<uint64_t>(1, (hashes_.size() * kBitsPerKey + 511) / 512);
  f.bits_.assign(blocks * kWordsPerBlock, 0);
  for (uint64_t h : hashes_) f.Set(h);
  f.gaps_ = std::move(gaps_);
  return f;
}

void RunFilter::Set(uint64_t h) {
  uint64_t* block = &bits_[((h >> 32) % (bits_.size() / kWordsPerBlock)) * kWordsPerBlock];
  const uint32_t delta = uint32_t(h >> 17) | 1;
  uint32_t b = uint32_t(h);
  for (int i = 0; i < kProbes; ++i, b += delta) block[(b >> 6) % kWordsPerBlock] |= uint64_t{1} << (b & 63);
}

bool RunFilter::Test(uint64_t h) const {
  const uint64_t* block = &bits_[((h >> 32) % (bits_.size() / kWordsPerBlock)) * kWordsPerBlock];
  const uint32_t delta = uint32_t(h >> 17) | 1;
  uint32_t b = uint32_t(h);
  for (int i = 0; i < kProbes; ++i, b += delta) {
    if (!((block[(b >> 6) % kWordsPerBlock] >> (b & 63)) & 1)) return false;
  }
  return true;
}

uint64_t RunFilter::HashKey(ByteView key) { return Hash(key); }

bool RunFilter::MayDecide(ByteView key, uint64_t hash) const {
  if (Test(hash)) return true;
  // The last gap starting below the key is the only one that can cover it.
  auto it = std::lower_bound(gaps_.begin(), gaps_.end(), key, [](const std::pair<Bytes, Bytes>& g, ByteView k) {
    return CompareKeys(kTopicUser, g.first, kTopicUser, k) < 0;
  });
  if (it == gaps_.begin()) return false;
  --it;
  return CompareKeys(kTopicUser, key, kTopicUser, it->second) < 0;
}

}  // namespace lsm
