#include "engine/lsm/tree.h"

#include <algorithm>

namespace lsm {

namespace {

constexpr size_t kEntryOverhead = 48;
// Waste the arena may hold beyond the live entries before they are copied to a fresh one.
constexpr size_t kCompactionSlack = size_t{1} << 20;

size_t EntryBytes(const Tree::Key& key, const Tree::Entry& e) { return key.key.size() + e.value.size() + kEntryOverhead; }

}  // namespace

Tree::Tree() : store_(std::make_unique<Store>()) {}

bool Tree::Covered(const Key& key) const {
  auto next = store_->map.upper_bound(key);
  return next != store_->map.end() && (next->second.flags & kEndDelete);
}

// `entry`'s value must already be in the arena; the key is copied when it becomes a new node.
void Tree::Set(const Key& key, std::optional<Entry> entry) {
  Map& map = store_->map;
  auto it = map.find(key);
  if (it != map.end()) {
    if (recording_) undo_.emplace_back(it->first, it->second);
    bytes_ -= EntryBytes(it->first, it->second);
    if (entry) {
      it->second = *entry;
      bytes_ += EntryBytes(it->first, it->second);
    } else {
      map.erase(it);
    }
  } else if (entry) {
    bytes_ += EntryBytes(key, *entry);
    it = map.emplace(Key{key.topic, store_->arena.Copy(key.key)}, *entry).first;
    if (recording_) undo_.emplace_back(it->first, std::nullopt);
  }
}

// One search: the hot path of every write.
void Tree::Put(uint8_t topic, ByteView key, ByteView value) {
  Map& map = store_->map;
  const Key k{topic, key};
  auto it = map.lower_bound(k);
  if (it != map.end() && !Less()(k, it->first)) {
    Entry& e = it->second;
    if (recording_) undo_.emplace_back(it->first, e);
    bytes_ -= EntryBytes(it->first, e);
    e.flags = uint8_t(kInsert | (e.flags & kRangeMask));
    e.value = store_->arena.Copy(value);
    bytes_ += EntryBytes(it->first, e);
  } else {
    // A new key inside a deleted range stays inside it: it takes both range flags.
    const bool covered = it != map.end() && (it->second.flags & kEndDelete);
    Entry e{uint8_t(kInsert | (covered ? kRangeMask : 0)), store_->arena.Copy(value)};
    bytes_ += EntryBytes(k, e);
    it = map.emplace_hint(it, Key{topic, store_->arena.Copy(key)}, e);
    if (recording_) undo_.emplace_back(it->first, std::nullopt);
  }
  CompactIfWasteful();
}

void Tree::Erase(uint8_t topic, ByteView key) {
  const Key k{topic, key};
  auto it = store_->map.find(k);
  uint8_t range = it != store_->map.end() ? (it->second.flags & kRangeMask) : (Covered(k) ? kRangeMask : 0);
  Set(k, Entry{uint8_t(kPointDelete | range), {}});
  CompactIfWasteful();
}

void Tree::EraseRange(ByteView start, ByteView end) {
  if (CompareKeys(kTopicUser, start, kTopicUser, end) >= 0) return;
  const Key a{kTopicUser, start};
  const Key b{kTopicUser, end};
  Map& map = store_->map;
  // Flags of the two boundary records, computed before the interior goes so that the gaps outside
  // the range keep whatever coverage they had.
  auto entry_at = [&](const Key& k) {
    auto it = map.find(k);
    if (it != map.end()) return it->second;
    // A new boundary inside a deleted range is itself deleted.
    return Entry{uint8_t(Covered(k) ? (kRangeMask | kPointDelete) : 0), {}};
  };
  Entry ea = entry_at(a);
  Entry eb = entry_at(b);
  ea.flags |= kStartDelete;
  eb.flags |= kEndDelete;
  std::vector<Key> interior;  // views of node keys: valid after the nodes go, the arena keeps the bytes
  for (auto it = map.upper_bound(a); it != map.end() && Less()(it->first, b); ++it) interior.push_back(it->first);
  for (const Key& k : interior) Set(k, std::nullopt);
  Set(a, ea);
  Set(b, eb);
  CompactIfWasteful();
}

void Tree::set_recording(bool on) {
  recording_ = on;
  if (!on) undo_.clear();
}

void Tree::RollbackTo(size_t mark) {
  bool was = recording_;
  recording_ = false;
  while (undo_.size() > mark) {
    auto [key, entry] = undo_.back();
    undo_.pop_back();
    Set(key, entry);
  }
  recording_ = was;
}

void Tree::Clear() {
  store_ = std::make_unique<Store>();
  undo_.clear();
  bytes_ = 0;
}

// Undo entries point into the arena, so it is only replaced when there are none.
void Tree::CompactIfWasteful() {
  if (!undo_.empty() || store_->arena.allocated() <= 2 * bytes_ + kCompactionSlack) return;
  auto fresh = std::make_unique<Store>();
  CopyEntries(store_->map, fresh.get());
  store_ = std::move(fresh);
}

void Tree::CopyEntries(const Map& from, Store* to) {
  for (const auto& [k, e] : from) {
    to->map.emplace_hint(to->map.end(), Key{k.topic, to->arena.Copy(k.key)}, Entry{e.flags, to->arena.Copy(e.value)});
  }
}

Tree::Tree(const Tree& other)
    : store_(std::make_unique<Store>()), bytes_(other.bytes_), recording_(other.recording_) {
  CopyEntries(other.store_->map, store_.get());
  undo_.reserve(other.undo_.size());
  for (const auto& [k, e] : other.undo_) {
    std::optional<Entry> old;
    if (e) old = Entry{e->flags, store_->arena.Copy(e->value)};
    undo_.emplace_back(Key{k.topic, store_->arena.Copy(k.key)}, old);
  }
}

class Tree::Cursor : public RecordCursor {
 public:
  explicit Cursor(const Map& map) : map_(map), it_(map.end()) {}
  Status First() override { return Position(map_.begin()); }
  Status Last() override { return Position(map_.empty() ? map_.end() : std::prev(map_.end())); }
  Status Next() override { return Position(std::next(it_)); }
  Status Prev() override { return Position(it_ == map_.begin() ? map_.end() : std::prev(it_)); }
  Status SeekGe(uint8_t topic, ByteView key) override { return Position(map_.lower_bound(Key{topic, key})); }
  Status SeekLe(uint8_t topic, ByteView key) override {
    auto it = map_.upper_bound(Key{topic, key});
    return Position(it == map_.begin() ? map_.end() : std::prev(it));
  }
  bool Valid() const override { return it_ != map_.end(); }
  const Record& record() const override { return record_; }

 private:
  Status Position(Map::const_iterator it) {
    it_ = it;
    if (it_ != map_.end()) {
      record_.flags = uint8_t(it_->second.flags | it_->first.topic);
      record_.key.assign(it_->first.key.begin(), it_->first.key.end());
      record_.value.assign(it_->second.value.begin(), it_->second.value.end());
    }
    return Status::Ok();
  }

  const Map& map_;
  Map::const_iterator it_;
  Record record_;  // a copy: a stale cursor's record stays readable after the tree drops its arena
};

std::unique_ptr<RecordCursor> Tree::NewCursor() const { return std::make_unique<Cursor>(store_->map); }

}  // namespace lsm
