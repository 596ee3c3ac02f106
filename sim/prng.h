// The run's pseudo-random generator, implemented here so that every build and platform draws the same
// stream (std:: distributions and absl::random differ between implementations).
//
// Version 1: xoshiro256** (Blackman & Vigna), its four words seeded by four successive outputs of
// SplitMix64 starting from the seed. Output k is the k-th call of Next(). Below(n) is Next() % n (the
// bias is below 2^-40 for every n the simulator uses, and exactness across builds matters more).
// Changing any of this changes every trace hash: bump kPrngVersion, which repro files record.
#pragma once

#include <cstdint>

namespace lsm::sim {

inline constexpr int kPrngVersion = 1;

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Prng {
 public:
  explicit Prng(uint64_t seed) {
    for (uint64_t& w : s_) w = SplitMix64(&seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); n >= 1.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace lsm::sim
