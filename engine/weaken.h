// Weakened engine variants, for proving that the fault catalogue finds bugs (faults/README.md). Each
// removes one defence and is named after it. They exist only in a second copy of the engine built with
// the compile definition LSM_WEAKENED_BUILD (the CMake target lsm_engine_weakened, linked by the variant
// tests and `lsmsim_variants` alone): in the production library LSM_WEAKENED(...) is the constant
// false and the code it guards compiles away.
#pragma once

namespace lsm::weaken {

enum class Variant {
  kNone,
  kFullCommitNotSynced,        // a FULL commit returns before the log is synced
  kFullCommitNotSectorPadded,  // a commit does not pad its log record to its own sector
  kNoMetaPageFallback,         // recovery tries only the meta page with the larger id
  kFailedSyncIgnored,          // a failed log Sync at commit is taken for success
  kFailedLogWriteIgnored,      // a failed log Write is taken for success
  kReadErrorIgnored,           // the page cache uses a page whose Read failed
  kLogChecksumIgnored,         // log recovery accepts every stored checksum
  kRecoverySkipsSync,          // recovery relies on the checkpoint it read without syncing it first
  kWorkWithoutMerging,         // a work call loops without taking a merge step (a hang, no Env call)
  kNoBarrierBeforePublication,  // shm::Publish writes its copies without first ordering the stores before it
  kPublicationChecksumIgnored,  // shm::ReadPublished takes a copy without checking its checksum
  kNoReaderRevalidation,       // a reader takes its slot and trusts what it read before, without a second look
  kNoRepairAfterDeadPeer,      // the next writer or worker publishes without repairing a dead one's half-publication
  // Not a weakening but a deliberate on-disk format change, for lsmsim compat's test: the checkpoint
  // header stores nwrite before pgsz (both written and read so), so files of other builds misread.
  kCheckpointLayoutChanged,
};

#ifdef LSM_WEAKENED_BUILD
inline Variant active = Variant::kNone;
#define LSM_WEAKENED(v) (::lsm::weaken::active == ::lsm::weaken::Variant::v)
#else
#define LSM_WEAKENED(v) false
#endif

}  // namespace lsm::weaken
