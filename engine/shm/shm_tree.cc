#include "engine/shm/shm_tree.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace lsm::shm {
namespace {

// Node words: left, right, priority, version, key offset, key length, value offset, value length,
// flags | topic << 8.
enum : uint32_t { kLeft, kRight, kPrio, kVersion, kKey, kKeyLen, kValue, kValueLen, kFlags, kNodeWords };
constexpr uint32_t kNodeBytes = kNodeWords * 4;
// Bytes up to this long are stored in one piece; longer ones as a chain of [next offset][bytes].
constexpr uint32_t kPiece = kShmChunkSize - kTreeChunkHeader;
constexpr uint32_t kChainData = kPiece - 4;
constexpr size_t kEntryOverhead = 48;  // as Tree's, so both trees flush at the same size

uint32_t Within(ShmOffset off) { return off & (kShmChunkSize - 1); }
uint32_t ChunkOf(ShmOffset off) { return off >> kChunkShift; }

uint32_t Priority(uint8_t topic, ByteView key) {
  uint64_t h = 0xcbf29ce484222325ull ^ topic;
  for (uint8_t b : key) h = (h ^ b) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return uint32_t(h);
}

// Where `len` bytes at `off` can be read in place (one piece inside a claimed chunk), else null.
const uint8_t* Contiguous(const ShmChunks* chunks, uint32_t nchunks, ShmOffset off, uint32_t len) {
  const uint32_t c = ChunkOf(off);
  if (c == 0 || c >= nchunks || Within(off) < kTreeChunkHeader || Within(off) + uint64_t{len} > kShmChunkSize) {
    return nullptr;
  }
  const uint8_t* base = chunks->Mapped(c);
  return base ? base + Within(off) : nullptr;
}

// The bytes [off, len) as stored by StoreBytes, into `out`; false if an offset is out of bounds.
bool ReadBytes(const ShmChunks* chunks, uint32_t nchunks, ShmOffset off, uint32_t len, Bytes* out) {
  out->clear();
  if (len == 0) return true;
  if (len <= kPiece) {
    const uint8_t* p = Contiguous(chunks, nchunks, off, len);
    if (!p) return false;
    out->assign(p, p + len);
    return true;
  }
  out->reserve(len);
  while (out->size() < len) {
    const uint32_t n = std::min<uint32_t>(kChainData, uint32_t(len - out->size()));
    const uint8_t* p = Contiguous(chunks, nchunks, off, n + 4);
    if (!p) return false;
    out->insert(out->end(), p + 4, p + 4 + n);
    std::memcpy(&off, p, 4);
  }
  return true;
}

const uint32_t* NodeAt(const ShmChunks* chunks, uint32_t nchunks, ShmOffset n) {
  if (n % 4 != 0) return nullptr;
  return reinterpret_cast<const uint32_t*>(Contiguous(chunks, nchunks, n, kNodeBytes));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

Result<uint8_t*> ShmChunks::Map(uint32_t chunk) {
  if (uint8_t* p = Mapped(chunk)) return p;
  auto p = file_->ShmMap(chunk);
  if (!p.ok()) return p.status();
  if (chunks_.size() <= chunk) chunks_.resize(chunk + 1, nullptr);
  chunks_[chunk] = *p;
  return *p;
}

Status ShmChunks::MapBelow(uint32_t n) {
  for (uint32_t c = 0; c < n; ++c) LSM_RETURN_IF_ERROR(Map(c).status());
  return Status::Ok();
}

void ShmTreeState::EncodeTo(std::vector<uint32_t>* out) const {
  out->insert(out->end(), {version, gen, root, nchunks, chunk, used, scan, uint32_t(bytes), uint32_t(bytes >> 32),
                           uint32_t(count), uint32_t(count >> 32)});
}

Result<ShmTreeState> ShmTreeState::Decode(std::span<const uint32_t> w) {
  if (w.size() < kWords) return Status::Corrupt(absl::StrFormat("tree header: %u words, want %u", w.size(), kWords));
  ShmTreeState s;
  s.version = w[0];
  s.gen = w[1];
  s.root = w[2];
  s.nchunks = w[3];
  s.chunk = w[4];
  s.used = w[5];
  s.scan = w[6];
  s.bytes = w[7] | uint64_t{w[8]} << 32;
  s.count = w[9] | uint64_t{w[10]} << 32;
  if (s.nchunks < 1 || s.nchunks > kMaxShmChunks) return Status::Corrupt(absl::StrFormat("tree header: %u chunks", s.nchunks));
  if (s.chunk >= s.nchunks) return Status::Corrupt(absl::StrFormat("tree header: chunk %u of %u", s.chunk, s.nchunks));
  if (s.used > kShmChunkSize || (s.chunk != 0 && s.used < kTreeChunkHeader)) {
    return Status::Corrupt(absl::StrFormat("tree header: %u bytes used of a chunk", s.used));
  }
  if (s.root != 0 && (ChunkOf(s.root) == 0 || ChunkOf(s.root) >= s.nchunks)) {
    return Status::Corrupt(absl::StrFormat("tree header: root at offset %u outside its %u chunks", s.root, s.nchunks));
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Writing

ShmTree::ShmTree(ShmChunks* chunks, ShmTreeState state, std::function<bool(uint32_t)> reusable)
    : chunks_(chunks), state_(state), reusable_(std::move(reusable)) {}

void ShmTree::StartGeneration() {
  ++state_.gen;
  state_.root = 0;
  state_.chunk = 0;
  state_.used = 0;
  state_.scan = 1;
  state_.bytes = 0;
  state_.count = 0;
}

Status ShmTree::ClaimChunk() {
  for (; state_.scan < state_.nchunks; ++state_.scan) {
    auto p = chunks_->Map(state_.scan);
    if (!p.ok()) return p.status();
    uint32_t gen;
    std::memcpy(&gen, *p, 4);
    if (gen < state_.gen && reusable_(gen)) break;
  }
  if (state_.scan == state_.nchunks) {
    if (state_.nchunks >= kMaxShmChunks) return Status::Full("shared memory: the in-memory tree has every chunk");
    ++state_.nchunks;
  }
  const uint32_t c = state_.scan++;
  auto p = chunks_->Map(c);
  if (!p.ok()) return p.status();
  const uint32_t header[2] = {state_.gen, 0};
  std::memcpy(*p, header, sizeof header);
  state_.chunk = c;
  state_.used = kTreeChunkHeader;
  return Status::Ok();
}

Result<ShmOffset> ShmTree::Alloc(uint32_t bytes) {
  bytes = (bytes + 3) & ~3u;
  if (state_.chunk == 0 || state_.used + bytes > kShmChunkSize) LSM_RETURN_IF_ERROR(ClaimChunk());
  const ShmOffset off = state_.chunk << kChunkShift | state_.used;
  state_.used += bytes;
  return off;
}

Result<ShmOffset> ShmTree::StoreBytes(ByteView bytes) {
  if (bytes.empty()) return ShmOffset{0};
  if (bytes.size() <= kPiece) {
    auto off = Alloc(uint32_t(bytes.size()));
    if (!off.ok()) return off;
    std::memcpy(chunks_->Mapped(ChunkOf(*off)) + Within(*off), bytes.data(), bytes.size());
    return off;
  }
  // A chain, written back to front so that each piece knows the next.
  ShmOffset next = 0;
  const size_t pieces = (bytes.size() + kChainData - 1) / kChainData;
  for (size_t i = pieces; i-- > 0;) {
    const size_t from = i * kChainData;
    const uint32_t n = uint32_t(std::min<size_t>(kChainData, bytes.size() - from));
    auto off = Alloc(n + 4);
    if (!off.ok()) return off;
    uint8_t* p = chunks_->Mapped(ChunkOf(*off)) + Within(*off);
    std::memcpy(p, &next, 4);
    std::memcpy(p + 4, bytes.data() + from, n);
    next = *off;
  }
  return next;
}

// Nodes the writer follows come from its own published header; a damaged one reads as an empty leaf
// (the reader's cursor reports it as corruption).
uint32_t* ShmTree::Node(ShmOffset n) const {
  thread_local uint32_t empty[kNodeWords];  // per thread: connections of other databases may write at once
  auto* p = const_cast<uint32_t*>(NodeAt(chunks_, state_.nchunks, n));
  if (p) return p;
  std::fill(empty, empty + kNodeWords, 0);
  return empty;
}

ByteView ShmTree::KeyOf(ShmOffset n, Bytes* scratch) const {
  const uint32_t* node = Node(n);
  if (node[kKeyLen] <= kPiece) {
    const uint8_t* p = Contiguous(chunks_, state_.nchunks, node[kKey], node[kKeyLen]);
    return p ? ByteView(p, node[kKeyLen]) : ByteView();
  }
  if (!ReadBytes(chunks_, state_.nchunks, node[kKey], node[kKeyLen], scratch)) scratch->clear();
  return *scratch;
}

int ShmTree::CompareAt(ShmOffset n, uint8_t topic, ByteView key) const {
  Bytes scratch;
  ByteView k = KeyOf(n, &scratch);
  return CompareKeys(uint8_t(Node(n)[kFlags] >> 8), k, topic, key);
}

Result<ShmOffset> ShmTree::Own(ShmOffset n) {
  if (Node(n)[kVersion] == Version()) return n;
  auto copy = Alloc(kNodeBytes);
  if (!copy.ok()) return copy;
  uint32_t* to = Node(*copy);
  std::memcpy(to, Node(n), kNodeBytes);
  to[kVersion] = Version();
  return copy;
}

ShmOffset ShmTree::Find(uint8_t topic, ByteView key) const {
  for (ShmOffset t = state_.root; t != 0;) {
    const int c = CompareAt(t, topic, key);
    if (c == 0) return t;
    t = Node(t)[c > 0 ? kLeft : kRight];
  }
  return 0;
}

ShmOffset ShmTree::Successor(uint8_t topic, ByteView key) const {
  ShmOffset best = 0;
  for (ShmOffset t = state_.root; t != 0;) {
    if (CompareAt(t, topic, key) > 0) {
      best = t;
      t = Node(t)[kLeft];
    } else {
      t = Node(t)[kRight];
    }
  }
  return best;
}

bool ShmTree::Covered(uint8_t topic, ByteView key) const {
  const ShmOffset next = Successor(topic, key);
  return next != 0 && (Node(next)[kFlags] & kEndDelete);
}

Result<ShmOffset> ShmTree::Update(ShmOffset t, uint8_t topic, ByteView key, uint8_t flags, ShmOffset value,
                                  uint32_t len) {
  const int c = CompareAt(t, topic, key);
  ShmOffset child = 0;
  if (c != 0) {
    auto r = Update(Node(t)[c > 0 ? kLeft : kRight], topic, key, flags, value, len);
    if (!r.ok()) return r;
    child = *r;
  }
  auto own = Own(t);
  if (!own.ok()) return own;
  uint32_t* node = Node(*own);
  if (c == 0) {
    state_.bytes -= node[kValueLen];
    state_.bytes += len;
    node[kFlags] = (node[kFlags] & 0xFF00) | flags;
    node[kValue] = value;
    node[kValueLen] = len;
  } else {
    node[c > 0 ? kLeft : kRight] = child;
  }
  return own;
}

Status ShmTree::Split(ShmOffset t, uint8_t topic, ByteView key, bool inclusive, ShmOffset* left, ShmOffset* right) {
  if (t == 0) {
    *left = *right = 0;
    return Status::Ok();
  }
  const int c = CompareAt(t, topic, key);
  const bool goes_left = c < 0 || (c == 0 && inclusive);
  ShmOffset l, r;
  LSM_RETURN_IF_ERROR(Split(Node(t)[goes_left ? kRight : kLeft], topic, key, inclusive, &l, &r));
  auto own = Own(t);
  if (!own.ok()) return own.status();
  if (goes_left) {
    Node(*own)[kRight] = l;
    *left = *own;
    *right = r;
  } else {
    Node(*own)[kLeft] = r;
    *left = l;
    *right = *own;
  }
  return Status::Ok();
}

Result<ShmOffset> ShmTree::Merge(ShmOffset a, ShmOffset b) {
  if (a == 0) return b;
  if (b == 0) return a;
  if (Node(a)[kPrio] >= Node(b)[kPrio]) {
    auto sub = Merge(Node(a)[kRight], b);
    if (!sub.ok()) return sub;
    auto own = Own(a);
    if (!own.ok()) return own;
    Node(*own)[kRight] = *sub;
    return own;
  }
  auto sub = Merge(a, Node(b)[kLeft]);
  if (!sub.ok()) return sub;
  auto own = Own(b);
  if (!own.ok()) return own;
  Node(*own)[kLeft] = *sub;
  return own;
}

Result<ShmOffset> ShmTree::Insert(ShmOffset t, ShmOffset n, uint8_t topic, ByteView key, uint32_t prio) {
  if (t == 0) return n;
  if (prio > Node(t)[kPrio]) {
    ShmOffset l, r;
    LSM_RETURN_IF_ERROR(Split(t, topic, key, false, &l, &r));
    Node(n)[kLeft] = l;
    Node(n)[kRight] = r;
    return n;
  }
  const bool left = CompareAt(t, topic, key) > 0;
  auto sub = Insert(Node(t)[left ? kLeft : kRight], n, topic, key, prio);
  if (!sub.ok()) return sub;
  auto own = Own(t);
  if (!own.ok()) return own;
  Node(*own)[left ? kLeft : kRight] = *sub;
  return own;
}

Status ShmTree::Set(uint8_t topic, ByteView key, uint8_t flags, ShmOffset value, uint32_t value_len) {
  if (Find(topic, key) != 0) {
    auto root = Update(state_.root, topic, key, flags, value, value_len);
    if (!root.ok()) return root.status();
    state_.root = *root;
    return Status::Ok();
  }
  auto key_off = StoreBytes(key);
  if (!key_off.ok()) return key_off.status();
  auto n = Alloc(kNodeBytes);
  if (!n.ok()) return n.status();
  const uint32_t prio = Priority(topic, key);
  const uint32_t words[kNodeWords] = {0,        0, prio, Version(), *key_off, uint32_t(key.size()), value, value_len,
                                      uint32_t(flags) | uint32_t(topic) << 8};
  std::memcpy(Node(*n), words, kNodeBytes);
  auto root = Insert(state_.root, *n, topic, key, prio);
  if (!root.ok()) return root.status();
  state_.root = *root;
  state_.bytes += key.size() + value_len + kEntryOverhead;
  ++state_.count;
  return Status::Ok();
}

Status ShmTree::Ready() {
  if (mapped_below_ >= state_.nchunks) return Status::Ok();
  LSM_RETURN_IF_ERROR(chunks_->MapBelow(state_.nchunks));
  mapped_below_ = state_.nchunks;
  return Status::Ok();
}

Status ShmTree::Put(uint8_t topic, ByteView key, ByteView value) {
  LSM_RETURN_IF_ERROR(Ready());
  const ShmOffset at = Find(topic, key);
  // A new key inside a deleted range stays inside it: it takes both range flags.
  const uint8_t range = at != 0 ? (Node(at)[kFlags] & kRangeMask) : (Covered(topic, key) ? kRangeMask : 0);
  auto v = StoreBytes(value);
  if (!v.ok()) return v.status();
  return Set(topic, key, uint8_t(kInsert | range), *v, uint32_t(value.size()));
}

Status ShmTree::Erase(uint8_t topic, ByteView key) {
  LSM_RETURN_IF_ERROR(Ready());
  const ShmOffset at = Find(topic, key);
  const uint8_t range = at != 0 ? (Node(at)[kFlags] & kRangeMask) : (Covered(topic, key) ? kRangeMask : 0);
  return Set(topic, key, uint8_t(kPointDelete | range), 0, 0);
}

// Takes the entries of a dropped subtree out of the counts.
void ShmTree::Forget(ShmOffset t) {
  std::vector<ShmOffset> todo;
  if (t != 0) todo.push_back(t);
  while (!todo.empty()) {
    const uint32_t* node = Node(todo.back());
    todo.pop_back();
    state_.bytes -= node[kKeyLen] + node[kValueLen] + kEntryOverhead;
    --state_.count;
    for (uint32_t side : {kLeft, kRight}) {
      if (node[side] != 0) todo.push_back(node[side]);
    }
  }
}

Status ShmTree::EraseRange(ByteView start, ByteView end) {
  if (CompareKeys(kTopicUser, start, kTopicUser, end) >= 0) return Status::Ok();
  LSM_RETURN_IF_ERROR(Ready());
  // The boundaries' entries are worked out first, so that the gaps outside the range keep their
  // coverage (as Tree::EraseRange).
  struct Boundary {
    uint8_t flags;
    ShmOffset value;
    uint32_t len;
  };
  auto entry_at = [&](ByteView k) {
    const ShmOffset at = Find(kTopicUser, k);
    if (at != 0) return Boundary{uint8_t(Node(at)[kFlags]), Node(at)[kValue], Node(at)[kValueLen]};
    return Boundary{uint8_t(Covered(kTopicUser, k) ? (kRangeMask | kPointDelete) : 0), 0, 0};
  };
  Boundary a = entry_at(start);
  Boundary b = entry_at(end);
  ShmOffset low, rest, interior, high;
  LSM_RETURN_IF_ERROR(Split(state_.root, kTopicUser, start, true, &low, &rest));
  LSM_RETURN_IF_ERROR(Split(rest, kTopicUser, end, false, &interior, &high));
  Forget(interior);
  auto root = Merge(low, high);
  if (!root.ok()) return root.status();
  state_.root = *root;
  LSM_RETURN_IF_ERROR(Set(kTopicUser, start, uint8_t(a.flags | kStartDelete), a.value, a.len));
  return Set(kTopicUser, end, uint8_t(b.flags | kEndDelete), b.value, b.len);
}

// ---------------------------------------------------------------------------------------------------
// Reading

namespace {

class ShmTreeCursor : public RecordCursor {
 public:
  ShmTreeCursor(const ShmChunks* chunks, const ShmTreeState& state) : chunks_(chunks), state_(state) {}

  Status First() override { return Edge(kLeft); }
  Status Last() override { return Edge(kRight); }
  Status Next() override { return Step(kRight, kLeft); }
  Status Prev() override { return Step(kLeft, kRight); }
  Status SeekGe(uint8_t topic, ByteView key) override { return Seek(topic, key, true); }
  Status SeekLe(uint8_t topic, ByteView key) override { return Seek(topic, key, false); }
  bool Valid() const override { return !path_.empty(); }
  const Record& record() const override { return record_; }

 private:
  const uint32_t* NodeOrNull(ShmOffset n) const { return NodeAt(chunks_, state_.nchunks, n); }

  Status Damaged(ShmOffset n) {
    path_.clear();
    return Status::Corrupt(absl::StrFormat("shared memory: tree node at offset %u is outside the tree's %u chunks",
                                           n, state_.nchunks));
  }
  // Descends from `n` (pushed) along `side` to the end.
  Status Descend(ShmOffset n, uint32_t side) {
    // A tree in a sound shared memory is far shallower than this; more is a cycle.
    for (; n != 0; n = NodeOrNull(n)[side]) {
      if (!NodeOrNull(n) || path_.size() > kMaxDepth) return Damaged(n);
      path_.push_back(n);
    }
    return Load();
  }
  Status Edge(uint32_t side) {
    path_.clear();
    return Descend(state_.root, side);
  }
  // Next (towards `side`) or Prev.
  Status Step(uint32_t side, uint32_t other) {
    if (path_.empty()) return Status::Ok();
    const ShmOffset down = NodeOrNull(path_.back())[side];
    if (down != 0) {
      if (!NodeOrNull(down)) return Damaged(down);
      path_.push_back(down);
      return Descend(NodeOrNull(down)[other], other);
    }
    for (;;) {
      const ShmOffset child = path_.back();
      path_.pop_back();
      if (path_.empty() || NodeOrNull(path_.back())[other] == child) break;
    }
    return Load();
  }
  Status Seek(uint8_t topic, ByteView key, bool ge) {
    path_.clear();
    size_t keep = 0;
    for (ShmOffset n = state_.root; n != 0;) {
      const uint32_t* node = NodeOrNull(n);
      if (!node || path_.size() > kMaxDepth) return Damaged(n);
      path_.push_back(n);
      Bytes scratch;
      ByteView k;
      if (!KeyAt(node, &scratch, &k)) return Damaged(n);
      const int c = CompareKeys(uint8_t(node[kFlags] >> 8), k, topic, key);
      if (c == 0) return Load();
      if ((c > 0) == ge) keep = path_.size();
      n = node[c > 0 ? kLeft : kRight];
    }
    path_.resize(keep);
    return Load();
  }
  bool KeyAt(const uint32_t* node, Bytes* scratch, ByteView* out) const {
    if (node[kKeyLen] <= kPiece) {
      const uint8_t* p = node[kKeyLen] == 0 ? nullptr : Contiguous(chunks_, state_.nchunks, node[kKey], node[kKeyLen]);
      if (node[kKeyLen] != 0 && !p) return false;
      *out = ByteView(p, node[kKeyLen]);
      return true;
    }
    if (!ReadBytes(chunks_, state_.nchunks, node[kKey], node[kKeyLen], scratch)) return false;
    *out = *scratch;
    return true;
  }
  Status Load() {
    if (path_.empty()) return Status::Ok();
    const uint32_t* node = NodeOrNull(path_.back());
    record_.flags = uint8_t(node[kFlags] | (node[kFlags] >> 8));
    if (!ReadBytes(chunks_, state_.nchunks, node[kKey], node[kKeyLen], &record_.key) ||
        !ReadBytes(chunks_, state_.nchunks, node[kValue], node[kValueLen], &record_.value)) {
      return Damaged(path_.back());
    }
    return Status::Ok();
  }

  static constexpr size_t kMaxDepth = 4096;
  const ShmChunks* chunks_;
  ShmTreeState state_;
  std::vector<ShmOffset> path_;  // root to the current node
  Record record_;
};

}  // namespace

std::unique_ptr<RecordCursor> ShmTree::NewCursor(const ShmChunks* chunks, const ShmTreeState& state) {
  return std::make_unique<ShmTreeCursor>(chunks, state);
}

}  // namespace lsm::shm
