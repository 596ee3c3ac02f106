// The decision stream: every choice a simulation makes (which operation comes next, which key, where a
// crash lands, which unsynced writes survive it, whether a fault fires) is one call of Decisions::Below.
// Where the values come from is the implementation's business and the run cannot tell them apart:
//   - PrngDecisions: the seeded PRNG (prng.h) - a campaign;
//   - ReplayDecisions: a recorded list - a repro file, a shrunk case, an explorer's path;
//   - ByteDecisions: raw bytes - a fuzzer drives the schedule.
// RecordingDecisions wraps any of them and keeps what was drawn, for the repro file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sim/prng.h"

namespace lsm::sim {

class Decisions {
 public:
  virtual ~Decisions() = default;
  // A value in [0, n). n >= 1 (n == 1 draws nothing and returns 0, so impossible choices cost nothing).
  uint64_t Below(uint64_t n) { return n <= 1 ? 0 : Draw(n) % n; }
  // True with probability num/den.
  bool Chance(uint64_t num, uint64_t den) { return Below(den) < num; }

 protected:
  // Any value; Below reduces it modulo n.
  virtual uint64_t Draw(uint64_t n) = 0;
};

class PrngDecisions : public Decisions {
 public:
  explicit PrngDecisions(uint64_t seed) : prng_(seed) {}

 protected:
  uint64_t Draw(uint64_t) override { return prng_.Next(); }

 private:
  Prng prng_;
};

// Values in order; past the end, zeros (the smallest choice everywhere, which keeps shrunk runs short).
class ReplayDecisions : public Decisions {
 public:
  explicit ReplayDecisions(std::vector<uint64_t> values) : values_(std::move(values)) {}

 protected:
  uint64_t Draw(uint64_t) override { return next_ < values_.size() ? values_[next_++] : 0; }

 private:
  std::vector<uint64_t> values_;
  size_t next_ = 0;
};

// Each draw takes as many bytes as n needs (1 to 8, little-endian); zeros once the bytes run out.
class ByteDecisions : public Decisions {
 public:
  explicit ByteDecisions(std::span<const uint8_t> bytes) : bytes_(bytes) {}

 protected:
  uint64_t Draw(uint64_t n) override {
    uint64_t v = 0;
    int shift = 0;
    for (uint64_t left = n - 1; left != 0 && pos_ < bytes_.size(); left >>= 8, shift += 8) {
      v |= uint64_t{bytes_[pos_++]} << shift;
    }
    return v;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// Forwards to another stream and records each value as Below returned it.
class RecordingDecisions : public Decisions {
 public:
  explicit RecordingDecisions(Decisions* source) : source_(source) {}
  const std::vector<uint64_t>& values() const { return values_; }
  // The values drawn, moved out: the stream is done.
  std::vector<uint64_t> TakeValues() { return std::move(values_); }

 protected:
  uint64_t Draw(uint64_t n) override {
    values_.push_back(source_->Below(n));
    return values_.back();
  }

 private:
  Decisions* source_;
  std::vector<uint64_t> values_;
};

}  // namespace lsm::sim
