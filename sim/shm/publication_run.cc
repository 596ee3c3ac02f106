#include "sim/shm/publication_run.h"

#include "absl/strings/str_format.h"
#include "engine/shm/publication.h"
#include "sim/sched/scheduler.h"

namespace lsm::sim {
namespace {

constexpr uint32_t kSlotWords = 8;        // two slots at words 0 and 8 of chunk 0
constexpr uint32_t kBlockWords = 4;       // a data block per sequence number, from word 64 on
constexpr uint32_t kBlocks = 1024;

uint32_t BlockWord(uint32_t seq, uint32_t i) { return seq * 0x9E3779B1u + i * 0x85EBCA77u + 1; }

}  // namespace

PublicationResult RunPublication(uint64_t seed, const ShmFaults& faults, int rounds) {
  PrngDecisions d(seed);
  ShmVisibility vis(2);
  Scheduler sched(&d);
  PublicationResult r;
  auto words = [&](int p) { return reinterpret_cast<uint32_t*>(vis.Map(p, 0)); };
  const uint32_t last_seq = uint32_t(rounds);
  bool writer_done = false;
  uint32_t version = 0;  // the reader's last: it never takes an older record
  auto read = [&] {
    const uint32_t* mem = words(1);
    auto got = shm::ReadPublished(mem, mem + kSlotWords, kSlotWords, [&] {
      vis.Barrier(1, faults);
      sched.Yield();
    }, 3, version);
    if (!got.ok()) {
      ++r.busy;
      return;
    }
    ++r.reads;
    version = got->version;
    if (!r.pass) return;
    const std::vector<uint32_t>& rec = got->record;
    if (rec.size() != 2 || rec[0] == 0 || rec[0] > last_seq || rec[1] != 64 + (rec[0] % kBlocks) * kBlockWords) {
      r.pass = false;
      r.message = absl::StrFormat("the reader took a record the writer never published (copy %d)", got->copy);
      return;
    }
    for (uint32_t i = 0; i < kBlockWords; ++i) {
      if (mem[rec[1] + i] != BlockWord(rec[0], i)) {
        r.pass = false;
        r.message = absl::StrFormat("the reader took record %u (copy %d) but its block's word %u is %08x, not %08x: "
                                    "the record became visible before what it points at",
                                    rec[0], got->copy, i, mem[rec[1] + i], BlockWord(rec[0], i));
        return;
      }
    }
  };
  // Nothing is published at first: both slots are zeros, which no checksum accepts (the reader is busy
  // until the first record arrives, and then takes whichever copy is whole).
  sched.Spawn([&](int) {  // the writer: each barrier is a visibility point and a scheduling point
    for (uint32_t seq = 1; seq <= last_seq; ++seq) {
      uint32_t* mem = words(0);
      const uint32_t block = 64 + (seq % kBlocks) * kBlockWords;
      for (uint32_t i = 0; i < kBlockWords; ++i) mem[block + i] = BlockWord(seq, i);
      const uint32_t record[] = {seq, block};
      Status s = shm::Publish(mem, mem + kSlotWords, kSlotWords, record, [&] {
        vis.Barrier(0, faults);
        vis.Arrive(0, d, faults);
        sched.Yield();
      });
      if (!s.ok() && r.pass) {
        r.pass = false;
        r.message = s.ToString();
      }
      vis.Arrive(0, d, faults);
      sched.Yield();
    }
    writer_done = true;
  });
  sched.Spawn([&](int) {  // the reader, until the writer is done (bounded, should the writer starve)
    for (int i = 0; i < 100000 && !writer_done; ++i) {
      read();
      sched.Yield();
    }
  });
  sched.Run();
  r.switches = sched.switches();
  return r;
}

}  // namespace lsm::sim
