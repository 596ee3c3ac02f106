// The trace: every event of a run (each Env call with its step id, process, file, offset, length and a
// hash of the bytes; syncs; crashes; recoveries; checks; the verdict), folded into one 64-bit hash. Two
// runs of the same seed must end with the same hash, on every build: the hash covers a canonical
// encoding of each event (fixed field order, little-endian integers), never pointers or iteration order
// of hashed containers. FoundationDB's lesson: determinism is checked, not assumed.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "engine/bytes.h"

namespace lsm::sim {

struct TraceEvent {
  uint64_t step = 0;       // the Env step counter (0 for events outside the Env: checks, verdicts)
  int process = 0;         // simulated process
  std::string_view kind;   // "write", "sync", "crash", "recover", "check", "op", ... (static strings)
  std::string file;        // path, or empty
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t content = 0;    // ContentHash of the bytes involved, or an outcome code
  std::string detail;      // free text (error messages, op descriptions)
};

// FNV-1a 64 of `bytes`: the content hash events carry.
uint64_t ContentHash(ByteView bytes);

class Trace {
 public:
  void Add(const TraceEvent& e);
  // Every event from now on is also appended to *sink (a whole run for --trace); null stops it.
  void KeepAll(std::vector<TraceEvent>* sink) { sink_ = sink; }
  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  // The most recent events (up to kKeep), oldest first: what a repro file shows.
  std::deque<TraceEvent> last() const;
  static constexpr size_t kKeep = 64;

 private:
  void Mix(uint64_t v);
  void Mix(std::string_view s);
  uint64_t hash_ = 0xCBF29CE484222325ull;
  uint64_t events_ = 0;
  // A ring of the last kKeep events, overwritten in place (their strings' storage is reused).
  std::vector<TraceEvent> last_;
  std::vector<TraceEvent>* sink_ = nullptr;
};

std::string HashHex(uint64_t h);

}  // namespace lsm::sim
