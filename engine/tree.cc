#include "engine/tree.h"

#include <algorithm>

namespace lsm {

namespace {

constexpr size_t kEntryOverhead = 48;

size_t EntryBytes(const Tree::Key& key, const Tree::Entry& e) {
  return key.second.size() + e.value.size() + kEntryOverhead;
}

Tree::Key MakeKey(uint8_t topic, ByteView key) { return {topic, Bytes(key.begin(), key.end())}; }

}  // namespace

int CompareKeys(uint8_t topic_a, ByteView a, uint8_t topic_b, ByteView b) {
  if (topic_a != topic_b) return topic_a < topic_b ? -1 : 1;
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

bool Tree::Covered(const Key& key) const {
  auto next = map_.upper_bound(key);
  return next != map_.end() && (next->second.flags & kEndDelete);
}

void Tree::Set(const Key& key, std::optional<Entry> entry) {
  auto it = map_.find(key);
  if (recording_) undo_.emplace_back(key, it == map_.end() ? std::nullopt : std::optional<Entry>(it->second));
  if (it != map_.end()) {
    bytes_ -= EntryBytes(it->first, it->second);
    if (entry) {
      it->second = std::move(*entry);
      bytes_ += EntryBytes(it->first, it->second);
    } else {
      map_.erase(it);
    }
  } else if (entry) {
    bytes_ += EntryBytes(key, *entry);
    map_.emplace(key, std::move(*entry));
  }
}

// One search: the hot path of every write.
void Tree::Put(uint8_t topic, ByteView key, ByteView value) {
  auto it = map_.lower_bound(Probe{topic, key});
  const bool found = it != map_.end() && CompareKeys(it->first.first, it->first.second, topic, key) == 0;
  if (recording_) undo_.emplace_back(MakeKey(topic, key), found ? std::optional<Entry>(it->second) : std::nullopt);
  if (found) {
    Entry& e = it->second;
    bytes_ -= EntryBytes(it->first, e);
    e.flags = uint8_t(kInsert | (e.flags & kRangeMask));
    e.value.assign(value.begin(), value.end());
    bytes_ += EntryBytes(it->first, e);
    return;
  }
  // A new key inside a deleted range stays inside it: it takes both range flags.
  const bool covered = it != map_.end() && (it->second.flags & kEndDelete);
  Entry e{uint8_t(kInsert | (covered ? kRangeMask : 0)), Bytes(value.begin(), value.end())};
  Key k = MakeKey(topic, key);
  bytes_ += EntryBytes(k, e);
  map_.emplace_hint(it, std::move(k), std::move(e));
}

void Tree::Erase(uint8_t topic, ByteView key) {
  Key k = MakeKey(topic, key);
  auto it = map_.find(k);
  uint8_t range = it != map_.end() ? (it->second.flags & kRangeMask) : (Covered(k) ? kRangeMask : 0);
  Set(k, Entry{uint8_t(kPointDelete | range), {}});
}

void Tree::EraseRange(ByteView start, ByteView end) {
  if (CompareKeys(kTopicUser, start, kTopicUser, end) >= 0) return;
  Key a = MakeKey(kTopicUser, start);
  Key b = MakeKey(kTopicUser, end);
  // Flags of the two boundary records, computed before the interior goes so that the gaps outside
  // the range keep whatever coverage they had.
  auto entry_at = [&](const Key& k) {
    auto it = map_.find(k);
    if (it != map_.end()) return it->second;
    // A new boundary inside a deleted range is itself deleted.
    return Entry{uint8_t(Covered(k) ? (kRangeMask | kPointDelete) : 0), {}};
  };
  Entry ea = entry_at(a);
  Entry eb = entry_at(b);
  ea.flags |= kStartDelete;
  eb.flags |= kEndDelete;
  std::vector<Key> interior;
  for (auto it = map_.upper_bound(a); it != map_.end() && it->first < b; ++it) interior.push_back(it->first);
  for (const Key& k : interior) Set(k, std::nullopt);
  Set(a, std::move(ea));
  Set(b, std::move(eb));
}

void Tree::set_recording(bool on) {
  recording_ = on;
  if (!on) undo_.clear();
}

void Tree::RollbackTo(size_t mark) {
  bool was = recording_;
  recording_ = false;
  while (undo_.size() > mark) {
    auto [key, entry] = std::move(undo_.back());
    undo_.pop_back();
    Set(key, std::move(entry));
  }
  recording_ = was;
}

void Tree::Clear() {
  map_.clear();
  undo_.clear();
  bytes_ = 0;
}

namespace {

class TreeCursor : public RecordCursor {
 public:
  explicit TreeCursor(const Tree::Map& map) : map_(map), it_(map.end()) {}
  Status First() override { return Position(map_.begin()); }
  Status Last() override { return Position(map_.empty() ? map_.end() : std::prev(map_.end())); }
  Status Next() override { return Position(std::next(it_)); }
  Status Prev() override { return Position(it_ == map_.begin() ? map_.end() : std::prev(it_)); }
  Status SeekGe(uint8_t topic, ByteView key) override { return Position(map_.lower_bound(Tree::Probe{topic, key})); }
  Status SeekLe(uint8_t topic, ByteView key) override {
    auto it = map_.upper_bound(Tree::Probe{topic, key});
    return Position(it == map_.begin() ? map_.end() : std::prev(it));
  }
  bool Valid() const override { return it_ != map_.end(); }
  const Record& record() const override { return record_; }

 private:
  Status Position(Tree::Map::const_iterator it) {
    it_ = it;
    if (it_ != map_.end()) {
      record_.flags = uint8_t(it_->second.flags | it_->first.first);
      record_.key = it_->first.second;
      record_.value = it_->second.value;
    }
    return Status::Ok();
  }

  const Tree::Map& map_;
  Tree::Map::const_iterator it_;
  Record record_;
};

}  // namespace

std::unique_ptr<RecordCursor> Tree::NewCursor() const { return std::make_unique<TreeCursor>(map_); }

}  // namespace lsm
