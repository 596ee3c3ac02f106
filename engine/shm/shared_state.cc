#include "engine/shm/shared_state.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_format.h"
#include "engine/bytes.h"
#include "engine/shm/publication.h"

namespace lsm::shm {
namespace {

constexpr uint32_t kMagic = 0x4C534D53;  // "LSMS"
constexpr uint32_t kLayoutVersion = 1;
constexpr size_t kTreeSlot = 40;
constexpr size_t kWorkerSlot = 1048;
constexpr size_t kTree1 = 16, kTree2 = kTree1 + kTreeSlot;
constexpr size_t kWorker1 = kTree2 + kTreeSlot, kWorker2 = kWorker1 + kWorkerSlot;
constexpr size_t kSlots = kWorker2 + kWorkerSlot;
constexpr size_t kSlotWords = 4;
static_assert(kSlots + kReaderSlots * kSlotWords <= kShmChunkSize / 4);
constexpr size_t kWorkerExtra = 11;
static_assert(RecordCapacity(kWorkerSlot) >= kWorkerExtra + kMaxCheckpointWords);
constexpr size_t kTreeHeaderWords = ShmTreeState::kWords + 19;
static_assert(RecordCapacity(kTreeSlot) >= kTreeHeaderWords);

uint32_t Load(const uint32_t* w) { return std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(w)).load(std::memory_order_relaxed); }
void Store(uint32_t* w, uint32_t v) { std::atomic_ref<uint32_t>(*w).store(v, std::memory_order_relaxed); }

void Put64(std::vector<uint32_t>* out, uint64_t v) { out->insert(out->end(), {uint32_t(v), uint32_t(v >> 32)}); }
uint64_t Get64(const uint32_t* w) { return w[0] | uint64_t{w[1]} << 32; }
void PutPosition(std::vector<uint32_t>* out, const LogPosition& p) {
  Put64(out, p.offset);
  out->insert(out->end(), {p.cksum0, p.cksum1});
}
LogPosition GetPosition(const uint32_t* w) { return {Get64(w), w[2], w[3]}; }

}  // namespace

// Where each published record's two copies are, and its name for errors.
struct RecordPlace {
  size_t copy1, copy2, slot_words;
  const char* name;
};
constexpr RecordPlace kTreeRecord{kTree1, kTree2, kTreeSlot, "tree header"};
constexpr RecordPlace kWorkerRecord{kWorker1, kWorker2, kWorkerSlot, "worker record"};

SharedState::SharedState(File* file) : file_(file), chunks_(file) {}

uint32_t* SharedState::Words() const { return reinterpret_cast<uint32_t*>(chunks_.Mapped(0)); }

Result<uint32_t> SharedState::PublishAt(const RecordPlace& at, std::span<const uint32_t> record) {
  uint32_t version = 0;
  LSM_RETURN_IF_ERROR(Publish(Words() + at.copy1, Words() + at.copy2, at.slot_words, record,
                              [this] { file_->ShmBarrier(); }, &version));
  return version;
}

Result<Published> SharedState::ReadAt(const RecordPlace& at) {
  auto got = ReadPublished(Words() + at.copy1, Words() + at.copy2, at.slot_words, [this] { file_->ShmBarrier(); },
                           kReadAttempts);
  if (!got.ok()) return Status(got.status().code(), absl::StrFormat("shared memory: %s: %s", at.name, got.status().message()));
  return got;
}

Status SharedState::RepairAt(const RecordPlace& at) {
  return Repair(Words() + at.copy1, Words() + at.copy2, at.slot_words, [this] { file_->ShmBarrier(); });
}

Status SharedState::Attach() {
  auto p = chunks_.Map(0);
  if (!p.ok()) return p.status();
  const uint32_t* w = Words();
  if (Load(w) == 0) return Status::Ok();
  if (Load(w) != kMagic || Load(w + 1) != kLayoutVersion) {
    return Status::Corrupt(absl::StrFormat("shared memory: header words %08x %08x are not lsmsim layout %u", Load(w),
                                           Load(w + 1), kLayoutVersion));
  }
  return Status::Ok();
}

void SharedState::Clear() {
  uint32_t* w = Words();
  for (size_t i = 0; i < kSlots + kReaderSlots * kSlotWords; ++i) Store(w + i, 0);
  Store(w, kMagic);
  Store(w + 1, kLayoutVersion);
  file_->ShmBarrier();
}

bool SharedState::Initialized() const {
  const uint32_t* w = Words();
  return Load(w + kTree1) != 0 && Load(w + kWorker1) != 0;
}

Result<uint32_t> SharedState::PublishTree(const TreeHeader& h) {
  std::vector<uint32_t> rec;
  h.tree.EncodeTo(&rec);
  Put64(&rec, h.commit_seq);
  rec.push_back(h.user_version);
  PutPosition(&rec, h.log_end);
  for (const LogRegion& r : h.regions) {
    Put64(&rec, r.start);
    Put64(&rec, r.end);
  }
  return PublishAt(kTreeRecord, rec);
}

Result<std::pair<TreeHeader, uint32_t>> SharedState::ReadTree() {
  auto got = ReadAt(kTreeRecord);
  if (!got.ok()) return got.status();
  const std::vector<uint32_t>& w = got->record;
  if (w.size() != kTreeHeaderWords) {
    return Status::Corrupt(absl::StrFormat("shared memory: tree header of %u words", w.size()));
  }
  TreeHeader h;
  auto tree = ShmTreeState::Decode(std::span(w).first(ShmTreeState::kWords));
  if (!tree.ok()) return Status::Corrupt("shared memory: " + tree.status().message());
  h.tree = *tree;
  const uint32_t* p = w.data() + ShmTreeState::kWords;
  h.commit_seq = Get64(p);
  h.user_version = p[2];
  h.log_end = GetPosition(p + 3);
  for (size_t i = 0; i < 3; ++i) h.regions[i] = {Get64(p + 7 + 4 * i), Get64(p + 9 + 4 * i)};
  return std::make_pair(h, got->version);
}

Result<uint32_t> SharedState::PublishWorker(const WorkerRecord& r) {
  Checkpoint c = r.snap;
  c.cmpid = kCompressionNone;
  auto blob = EncodeCheckpoint(c);
  if (!blob.ok()) return blob.status();
  std::vector<uint32_t> rec;
  Put64(&rec, r.synced_id);
  rec.push_back(uint32_t(r.meta_page));
  PutPosition(&rec, r.synced_log);
  Put64(&rec, r.pages_since_checkpoint);
  rec.push_back(r.flushed_gen);
  rec.push_back(uint32_t(blob->size() / 4));
  for (size_t i = 0; i + 4 <= blob->size(); i += 4) rec.push_back(LoadBe32(blob->data() + i));
  return PublishAt(kWorkerRecord, rec);
}

Result<std::pair<WorkerRecord, uint32_t>> SharedState::ReadWorker() {
  auto got = ReadAt(kWorkerRecord);
  if (!got.ok()) return got.status();
  const std::vector<uint32_t>& w = got->record;
  if (w.size() < kWorkerExtra || w.size() != kWorkerExtra + w[10]) {
    return Status::Corrupt(absl::StrFormat("shared memory: worker record of %u words", w.size()));
  }
  WorkerRecord r;
  r.synced_id = Get64(w.data());
  if (w[2] > uint32_t(MetaPage::kPage2)) return Status::Corrupt(absl::StrFormat("shared memory: meta page %u", w[2]));
  r.meta_page = MetaPage(w[2]);
  r.synced_log = GetPosition(w.data() + 3);
  r.pages_since_checkpoint = Get64(w.data() + 7);
  r.flushed_gen = w[9];
  Bytes blob(size_t{w[10]} * 4);
  for (size_t i = 0; i < w[10]; ++i) StoreBe32(blob.data() + 4 * i, w[kWorkerExtra + i]);
  auto snap = DecodeCheckpoint(blob);
  if (!snap.ok()) return Status::Corrupt("shared memory: worker record's snapshot: " + snap.error().ToString());
  r.snap = std::move(*snap);
  return std::make_pair(std::move(r), got->version);
}

Status SharedState::RepairTree() { return RepairAt(kTreeRecord); }

Status SharedState::RepairWorker() { return RepairAt(kWorkerRecord); }

ReaderMark SharedState::SlotValues(int slot) const {
  const uint32_t* w = Words() + kSlots + size_t(slot) * kSlotWords;
  return {Load(w), Load(w + 1) | uint64_t{Load(w + 2)} << 32};
}

Result<int> SharedState::TakeReaderSlot(const ReaderMark& mark) {
  auto no_newer = [&](int i) {
    const ReaderMark v = SlotValues(i);
    return v.gen <= mark.gen && v.snap_id <= mark.snap_id;
  };
  for (int i = 0; i < kReaderSlots; ++i) {
    if (held_[i] > 0 && no_newer(i)) {
      ++held_[i];
      return i;
    }
  }
  // A free slot: exclusive to write its values, then shared.
  for (int i = 0; i < kReaderSlots; ++i) {
    if (held_[i] > 0) continue;
    Status s = file_->Lock(kReaderLock0 + i, LockMode::kExclusive);
    if (s.code() == Code::kBusy) continue;
    LSM_RETURN_IF_ERROR(s);
    uint32_t* w = Words() + kSlots + size_t(i) * kSlotWords;
    Store(w, mark.gen);
    Store(w + 1, uint32_t(mark.snap_id));
    Store(w + 2, uint32_t(mark.snap_id >> 32));
    file_->ShmBarrier();
    LSM_RETURN_IF_ERROR(file_->Lock(kReaderLock0 + i, LockMode::kShared));
    held_[i] = 1;
    return i;
  }
  // Share another process's slot whose values protect us too (they cannot change while we hold it).
  for (int i = 0; i < kReaderSlots; ++i) {
    if (held_[i] > 0 || !no_newer(i)) continue;
    Status s = file_->Lock(kReaderLock0 + i, LockMode::kShared);
    if (s.code() == Code::kBusy) continue;
    LSM_RETURN_IF_ERROR(s);
    if (no_newer(i)) {
      held_[i] = 1;
      return i;
    }
    (void)file_->Lock(kReaderLock0 + i, LockMode::kUnlocked);
  }
  return Status::Busy("shared memory: every reader slot is held with newer values");
}

void SharedState::ReleaseReaderSlot(int slot) {
  if (slot < 0 || slot >= kReaderSlots || held_[slot] == 0) return;
  if (--held_[slot] == 0) (void)file_->Lock(kReaderLock0 + slot, LockMode::kUnlocked);
}

Result<std::optional<ReaderMark>> SharedState::OldestReader() {
  std::optional<ReaderMark> oldest;
  for (int i = 0; i < kReaderSlots; ++i) {
    // Our own lock hides others' on the same slot; its values count either way.
    if (held_[i] == 0) {
      auto busy = file_->TestLock(kReaderLock0 + i, 1, LockMode::kExclusive);
      if (!busy.ok()) return busy.status();
      if (!*busy) continue;
    }
    const ReaderMark v = SlotValues(i);
    if (!oldest) {
      oldest = v;
    } else {
      oldest->gen = std::min(oldest->gen, v.gen);
      oldest->snap_id = std::min(oldest->snap_id, v.snap_id);
    }
  }
  return oldest;
}

}  // namespace lsm::shm
