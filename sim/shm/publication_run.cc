#include "sim/shm/publication_run.h"

#include "absl/strings/str_format.h"
#include "engine/shm/publication.h"
#include "sim/sched/scheduler.h"
#include "sim/sim_env.h"

namespace lsm::sim {
namespace {

constexpr uint32_t kSlotWords = 8;        // two slots at words 0 and 8 of chunk 0
constexpr uint32_t kBlockWords = 4;       // a data block per sequence number, from word 64 on
constexpr uint32_t kBlocks = 1024;

uint32_t BlockWord(uint32_t seq, uint32_t i) { return seq * 0x9E3779B1u + i * 0x85EBCA77u + 1; }

}  // namespace

PublicationResult RunPublication(uint64_t seed, const ShmFaults& faults, bool kill_writer, int rounds) {
  PrngDecisions d(seed);
  SimEnv env(nullptr, SimEnv::Options{});
  env.set_shm_visibility(&d, faults);
  Scheduler sched(&d);
  sched.set_on_switch([&](int p) { env.set_process(p); });
  PublicationResult r;
  const uint32_t last_seq = uint32_t(rounds);
  bool writer_done = false, writer_killed = false;
  auto fail = [&](const std::string& what) {
    if (!r.pass) return;
    r.pass = false;
    r.message = what;
  };
  // A process's handle on the database and its view of chunk 0 (opened as that process).
  struct Handle {
    std::unique_ptr<File> file;
    uint32_t* mem = nullptr;
  };
  auto attach = [&](Handle* h) {
    auto file = env.Open("db", OpenMode::kReadWriteCreate);
    if (!file.ok()) return fail("open: " + file.status().ToString());
    h->file = std::move(file).value();
    auto chunk = h->file->ShmMap(0);
    if (!chunk.ok()) return fail("shm map: " + chunk.status().ToString());
    h->mem = reinterpret_cast<uint32_t*>(*chunk);
  };
  // Nothing is published at first: both slots are zeros, which no checksum accepts (the reader is busy
  // until the first record arrives, and then takes whichever copy is whole).
  // A writer from `seq` on. With kill_writer the first one may die at any of its barriers (the
  // decisions pick): the successor repairs and goes on from the record it finds.
  auto write = [&](int self, Handle& h, uint32_t seq) {
    for (; seq <= last_seq; ++seq) {
      const uint32_t block = 64 + (seq % kBlocks) * kBlockWords;
      for (uint32_t i = 0; i < kBlockWords; ++i) h.mem[block + i] = BlockWord(seq, i);
      const uint32_t record[] = {seq, block};
      Status s = shm::Publish(h.mem, h.mem + kSlotWords, kSlotWords, record, [&] {
        h.file->ShmBarrier();
        if (kill_writer && self == 0 && d.Below(8) == 0) {
          writer_killed = true;
          env.KillProcess(self);
          sched.Kill(self);  // does not return
        }
        sched.Yield();
      });
      if (!s.ok()) fail(s.ToString());
      sched.Yield();
    }
    writer_done = true;
  };
  sched.Spawn([&](int self) {  // the writer: each barrier is a visibility point and a scheduling point
    Handle h;
    attach(&h);
    if (h.mem != nullptr) write(self, h, 1);
  });
  sched.Spawn([&](int) {  // the reader, until the writer is done (bounded, should the writer starve)
    Handle h;
    attach(&h);
    if (h.mem == nullptr) return;
    uint32_t version = 0;  // its last: it never takes an older record
    for (int i = 0; i < 100000 && !writer_done; ++i) {
      const uint32_t* mem = h.mem;
      auto got = shm::ReadPublished(mem, mem + kSlotWords, kSlotWords, [&] {
        h.file->ShmBarrier();
        sched.Yield();
      }, 3, version);
      if (!got.ok()) {
        ++r.busy;
        sched.Yield();
        continue;
      }
      ++r.reads;
      version = got->version;
      const std::vector<uint32_t>& rec = got->record;
      if (rec.size() != 2 || rec[0] == 0 || rec[0] > last_seq || rec[1] != 64 + (rec[0] % kBlocks) * kBlockWords) {
        fail(absl::StrFormat("the reader took a record the writer never published (copy %d)", got->copy));
        sched.Yield();
        continue;
      }
      for (uint32_t w = 0; w < kBlockWords; ++w) {
        if (mem[rec[1] + w] != BlockWord(rec[0], w)) {
          fail(absl::StrFormat("the reader took record %u (copy %d) but its block's word %u is %08x, not %08x: "
                               "the record became visible before what it points at",
                               rec[0], got->copy, w, mem[rec[1] + w], BlockWord(rec[0], w)));
          break;
        }
      }
      sched.Yield();  // after the check: what arrives later must not hide a premature record
    }
  });
  if (kill_writer) {
    sched.Spawn([&](int self) {  // the successor: waits for the first writer's death (or end)
      while (!writer_killed && !writer_done) sched.Yield();
      if (writer_done) return;
      Handle h;
      attach(&h);
      if (h.mem == nullptr) return;
      // Neither copy valid is right only if no record ever reached the reader (the dead writer's stores
      // that had not arrived are lost, a whole publication's included).
      if (Status s = shm::Repair(h.mem, h.mem + kSlotWords, kSlotWords, [&] { h.file->ShmBarrier(); }); !s.ok() && r.reads > 0) {
        return fail("repair after the writer died: " + s.ToString());
      }
      auto got = shm::ReadPublished(h.mem, h.mem + kSlotWords, kSlotWords, [] {}, 1);
      write(self, h, got.ok() ? got->record[0] + 1 : 1);
    });
  }
  sched.Run();
  r.switches = sched.switches();
  r.writer_killed = writer_killed;
  if (kill_writer && !writer_done && r.pass) fail("the successor never finished");
  return r;
}

}  // namespace lsm::sim
