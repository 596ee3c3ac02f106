#include "sim/trace.h"

#include "absl/strings/str_format.h"

namespace lsm::sim {

uint64_t ContentHash(ByteView bytes) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001B3ull;
  return h;
}

void Trace::Mix(uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) hash_ = (hash_ ^ (v & 0xFF)) * 0x100000001B3ull;
}

void Trace::Mix(std::string_view s) {
  Mix(uint64_t(s.size()));
  for (char c : s) hash_ = (hash_ ^ uint8_t(c)) * 0x100000001B3ull;
}

void Trace::Add(const TraceEvent& e) {
  Mix(e.step);
  Mix(uint64_t(e.process));
  Mix(e.kind);
  Mix(e.file);
  Mix(e.offset);
  Mix(e.length);
  Mix(e.content);
  Mix(e.detail);
  ++events_;
  if (sink_ != nullptr) sink_->push_back(e);
  if (last_.size() < kKeep) {
    last_.push_back(e);
  } else {
    last_[(events_ - 1) % kKeep] = e;
  }
}

std::deque<TraceEvent> Trace::last() const {
  std::deque<TraceEvent> out;
  const size_t first = last_.size() < kKeep ? 0 : events_ % kKeep;
  for (size_t i = 0; i < last_.size(); ++i) out.push_back(last_[(first + i) % last_.size()]);
  return out;
}

std::string HashHex(uint64_t h) { return absl::StrFormat("%016x", h); }

}  // namespace lsm::sim
