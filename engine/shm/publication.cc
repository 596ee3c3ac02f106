#include "engine/shm/publication.h"

#include "absl/strings/str_format.h"
#include "engine/weaken.h"

namespace lsm::shm {
namespace {

uint32_t Load(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
void Store(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

void WriteSlot(uint32_t* slot, std::span<const uint32_t> words, std::pair<uint32_t, uint32_t> sum) {
  for (size_t i = 0; i < words.size(); ++i) Store(slot + i, words[i]);
  Store(slot + words.size(), sum.first);
  Store(slot + words.size() + 1, sum.second);
}

// The slot's record if its length fits and its checksum holds; otherwise why not, in `why`.
bool ReadSlot(const uint32_t* slot, size_t slot_words, std::vector<uint32_t>* words, std::string* why) {
  const uint32_t n = Load(slot);
  if (n > RecordCapacity(slot_words)) {
    *why = absl::StrFormat("length %u exceeds the slot's %u words", n, RecordCapacity(slot_words));
    return false;
  }
  words->resize(size_t{n} + 1);
  for (size_t i = 0; i <= n; ++i) (*words)[i] = Load(slot + i);
  const auto sum = PublicationChecksum(*words);
  if (LSM_WEAKENED(kPublicationChecksumIgnored)) return true;
  if (sum.first != Load(slot + n + 1) || sum.second != Load(slot + n + 2)) {
    *why = absl::StrFormat("checksum of its %u words does not match", n);
    return false;
  }
  return true;
}

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
               const std::function<void()>& barrier) {
  if (record.size() > RecordCapacity(slot_words)) {
    return Status::InvalidArgument(absl::StrFormat("a %u-word record does not fit a %u-word publication slot",
                                                   record.size(), slot_words));
  }
  std::vector<uint32_t> words;
  words.reserve(record.size() + 1);
  words.push_back(uint32_t(record.size()));
  words.insert(words.end(), record.begin(), record.end());
  const auto sum = PublicationChecksum(words);
  if (!LSM_WEAKENED(kNoBarrierBeforePublication)) barrier();  // what the record points at comes first
  WriteSlot(copy2, words, sum);
  barrier();  // copy 2 whole before copy 1 changes: one of them is always valid
  WriteSlot(copy1, words, sum);
  return Status::Ok();
}

Result<Published> ReadPublished(const uint32_t* copy1, const uint32_t* copy2, size_t slot_words,
                                const std::function<void()>& barrier, int attempts) {
  std::vector<uint32_t> words;
  std::string why1, why2;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    for (int copy : {1, 2}) {
      if (ReadSlot(copy == 1 ? copy1 : copy2, slot_words, &words, copy == 1 ? &why1 : &why2)) {
        words.erase(words.begin());
        return Published{std::move(words), copy, attempt};
      }
    }
    barrier();
  }
  return Status::Busy(absl::StrFormat("no valid copy of the published record after %d attempts (copy 1: %s; copy 2: %s)",
                                      attempts, why1, why2));
}

}  // namespace lsm::shm
