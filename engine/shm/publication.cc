#include "engine/shm/publication.h"

#include <optional>

#include "absl/strings/str_format.h"
#include "engine/weaken.h"

namespace lsm::shm {
namespace {

uint32_t Load(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
void Store(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

// Length, version, record: the checksummed words of a slot.
void WriteSlot(uint32_t* slot, std::span<const uint32_t> words) {
  const auto sum = PublicationChecksum(words);
  for (size_t i = 0; i < words.size(); ++i) Store(slot + i, words[i]);
  Store(slot + words.size(), sum.first);
  Store(slot + words.size() + 1, sum.second);
}

// The slot's checksummed words if its length fits and its checksum holds; otherwise why not.
std::optional<std::vector<uint32_t>> ReadSlot(const uint32_t* slot, size_t slot_words, std::string* why) {
  const uint32_t n = Load(slot);
  if (n > RecordCapacity(slot_words)) {
    *why = absl::StrFormat("length %u exceeds the slot's %u words", n, RecordCapacity(slot_words));
    return std::nullopt;
  }
  std::vector<uint32_t> words(size_t{n} + 2);
  for (size_t i = 0; i < words.size(); ++i) words[i] = Load(slot + i);
  if (words[0] != n) {
    *why = "its length changed while it was read";
    return std::nullopt;
  }
  const auto sum = PublicationChecksum(words);
  if (LSM_WEAKENED(kPublicationChecksumIgnored)) return words;
  if (sum.first != Load(slot + n + 2) || sum.second != Load(slot + n + 3)) {
    *why = absl::StrFormat("checksum of its %u-word record does not match", n);
    return std::nullopt;
  }
  return words;
}

uint32_t Version(const std::vector<uint32_t>& words) { return words[1]; }

}  // namespace

std::pair<uint32_t, uint32_t> PublicationChecksum(std::span<const uint32_t> words) {
  uint32_t c1 = 0x12345678u, c2 = 0x9ABCDEF0u;
  for (size_t i = 0; i < words.size(); i += 2) {
    c1 += words[i] + c2;
    c2 += (i + 1 < words.size() ? words[i + 1] : 0u) + c1;
  }
  return {c1, c2};
}

Status Publish(uint32_t* copy1, uint32_t* copy2, size_t slot_words, std::span<const uint32_t> record,
               const std::function<void()>& barrier, uint32_t* version_out) {
  if (record.size() > RecordCapacity(slot_words)) {
    return Status::InvalidArgument(absl::StrFormat("a %u-word record does not fit a %u-word publication slot",
                                                   record.size(), slot_words));
  }
  // The version after the newest valid copy (the writer's own last one, or what Repair left).
  std::string why;
  uint32_t version = 0;
  for (const uint32_t* slot : {copy1, copy2}) {
    if (auto words = ReadSlot(slot, slot_words, &why)) version = std::max(version, Version(*words));
  }
  std::vector<uint32_t> words;
  words.reserve(record.size() + 2);
  words.push_back(uint32_t(record.size()));
  words.push_back(version + 1);
  words.insert(words.end(), record.begin(), record.end());
  if (!LSM_WEAKENED(kNoBarrierBeforePublication)) barrier();  // what the record points at comes first
  WriteSlot(copy2, words);
  barrier();  // copy 2 whole before copy 1 changes: one of them is always valid
  WriteSlot(copy1, words);
  if (version_out) *version_out = version + 1;
  return Status::Ok();
}

Status Repair(uint32_t* copy1, uint32_t* copy2, size_t slot_words, const std::function<void()>& barrier) {
  std::string why1, why2;
  const auto w1 = ReadSlot(copy1, slot_words, &why1), w2 = ReadSlot(copy2, slot_words, &why2);
  if (!w1 && !w2) {
    return Status::Corrupt(absl::StrFormat("neither copy of the published record is valid (copy 1: %s; copy 2: %s)", why1, why2));
  }
  if (w1 && w2 && *w1 == *w2) return Status::Ok();
  const bool first = w1 && (!w2 || Version(*w1) >= Version(*w2));
  WriteSlot(first ? copy2 : copy1, first ? *w1 : *w2);
  barrier();
  return Status::Ok();
}

Result<Published> ReadPublished(const uint32_t* copy1, const uint32_t* copy2, size_t slot_words,
                                const std::function<void()>& barrier, int attempts, uint32_t at_least) {
  std::string why1, why2;
  auto read = [&](const uint32_t* slot, std::string* why) {
    auto words = ReadSlot(slot, slot_words, why);
    if (words && Version(*words) < at_least) {
      *why = absl::StrFormat("version %u is older than the %u this reader took", Version(*words), at_least);
      words.reset();
    }
    return words;
  };
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    auto w1 = read(copy1, &why1);
    auto w2 = read(copy2, &why2);
    if (w1 || w2) {
      const bool first = w1 && (!w2 || Version(*w1) >= Version(*w2));
      std::vector<uint32_t>& words = first ? *w1 : *w2;
      return Published{std::vector<uint32_t>(words.begin() + 2, words.end()), Version(words), first ? 1 : 2, attempt};
    }
    barrier();
  }
  return Status::Busy(absl::StrFormat("no valid copy of the published record after %d attempts (copy 1: %s; copy 2: %s)",
                                      attempts, why1, why2));
}

}  // namespace lsm::shm
