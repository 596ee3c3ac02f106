// The checkpoint blob: the database layout at one point in time, stored in a meta page.
//
// Bit-exact with SQLite4 LSM (seed 000_9ff8aebaac99146d). The blob is an array of big-endian u32 words:
//
//   word  0, 1   checkpoint id (MSW, LSW); ids only grow; the empty database is id 10
//         2      nckpt: words in the whole blob, including the two checksum words (2 < nckpt <= 1024)
//         3      compression id (0 = empty database, 1 = uncompressed)
//         4      nblock: blocks in the database file
//         5      block size in bytes
//         6      nlevel: number of level records below
//         7      page size in bytes
//         8      nwrite: pages written over the database's life (drives auto-checkpoint)
//         9, 10  log pointer = (byte offset << 1) | toggle; the low bit flips on every change so the
//                pointer changes even when logging is off
//        11, 12  log checksum words at that offset (the running log checksum seeds)
//    13 .. 20    4 append points, 64-bit page numbers (0 = unused)
//   then nlevel level records, newest level first:
//         w0     age (low 16 bits) | flags << 16
//         w1     nright: right-hand (input) segments of a merge in progress; 0 = no merge
//                lhs segment: first, last, root, size (4 x 64-bit)
//                nright rhs segments, same shape
//                if nright > 0: ninput (nright or nright+1), nskip,
//                               ninput x (page 64-bit, cell), split key (page 64-bit, cell),
//                               current pointer (64-bit)
//   then nredirect (<= 16) and nredirect x (from block, to block)
//   then nfree (<= 24) and nfree x (block, id 64-bit); id -1 marks a delete entry
//   then, only when the user version is not 0 (lsmsim extension): kUserVersionTag, user version
//   then the checksum: 2 words (see CheckpointChecksum)
//
// The user version. The seed keeps it only in shared memory, so it is lost at every restart (its
// defect B12). lsmsim stores it in a 2-word trailer that the seed's reader never looks at (it reads
// fields in order and uses nckpt only to find the checksum); a blob without a user version is
// byte-identical with the seed's.
//
// Segments chain blocks, so a segment's first page may sit in a later block than its last page; only a
// segment inside a single block has first <= last (and then size == last - first + 1).
//
// Size budget. A meta page holds 1024 words. An idle level is 10 words; a merging level with R rhs
// segments and I inputs is 17 + 8R + 3I words (I <= R + 1). The engine bounds the level records by
// "rhs units" (an idle level is 1 unit, a merging level max(R, 2)), at most 40; the worst case per unit
// is a merging level with R = 2 (21 words per unit). With 16 redirects and 24 free-list entries the
// largest blob is 21 + 40*21 + 33 + 73 + 2 + 2 = 971 words (with the user-version trailer). engine/tests/format/checkpoint_budget_test.cc
// recomputes this from encode() so that a wider field cannot silently break the budget again (the seed
// notes it broke once when page numbers grew to 64 bits). Free blocks beyond the 24 in the blob live in
// the LSM itself as system records.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/bytes.h"
#include "engine/status.h"

namespace lsm {

inline constexpr uint32_t kMetaPageSize = 4096;
inline constexpr uint32_t kMaxCheckpointWords = kMetaPageSize / 4;
inline constexpr uint32_t kCheckpointHeaderWords = 9;
inline constexpr uint32_t kCheckpointLogPointerWords = 4;
inline constexpr uint32_t kAppendPoints = 4;
// Header, log pointer and append points: the fixed words before the first level record.
inline constexpr uint32_t kCheckpointFixedWords =
    kCheckpointHeaderWords + kCheckpointLogPointerWords + 2 * kAppendPoints;
// The smallest well-formed blob: fixed words, empty redirect and free lists, checksum.
inline constexpr uint32_t kMinCheckpointWords = kCheckpointFixedWords + 2 + 2;

inline constexpr uint32_t kMaxRhsUnits = 40;
inline constexpr uint32_t kMaxBlockRedirects = 16;
inline constexpr uint32_t kMaxFreelistEntries = 24;

inline constexpr uint32_t kUserVersionTag = 0x55564552;  // "UVER"

inline constexpr uint32_t kCompressionEmpty = 0;
inline constexpr uint32_t kCompressionNone = 1;

inline constexpr uint16_t kLevelFreelistOnly = 1;  // the level holds only free-list system records
inline constexpr uint16_t kLevelIncomplete = 2;    // a merge into this level has not finished
inline constexpr uint16_t kKnownLevelFlags = kLevelFreelistOnly | kLevelIncomplete;

inline constexpr uint64_t kEmptyCheckpointId = 10;
// Ids grow by one per published snapshot and the decoder refuses ids >= 2^63, so a file whose id is
// above this is refused at open (integrity.h, CheckWriteSafety): no writer gets near it (2^62
// snapshots), and a file at the top of the range would make the next checkpoint unreadable.
inline constexpr uint64_t kMaxOpenCheckpointId = uint64_t{1} << 62;
inline constexpr uint32_t kEmptyLogChecksum0 = 1234;
inline constexpr uint32_t kEmptyLogChecksum1 = 5678;

struct Segment {
  uint64_t first = 0;  // first page of the run
  uint64_t last = 0;   // last page of the run
  uint64_t root = 0;   // root of the in-segment b-tree, or 0 when the run has none
  uint64_t size = 0;   // pages in the run
  bool operator==(const Segment&) const = default;
};

struct MergeCursor {
  uint64_t page = 0;
  uint32_t cell = 0;
  bool operator==(const MergeCursor&) const = default;
};

struct Merge {
  uint32_t nskip = 0;
  std::vector<MergeCursor> inputs;  // next cell to read in each input (rhs segments, then maybe the
                                    // separators of the next level)
  MergeCursor splitkey;             // where the current split key lives
  uint64_t current_ptr = 0;         // current pointer into the next-older segment
  bool operator==(const Merge&) const = default;
};

struct Level {
  uint16_t age = 0;
  uint16_t flags = 0;
  Segment lhs;
  std::vector<Segment> rhs;  // non-empty iff a merge is in progress
  Merge merge;               // meaningful only when rhs is non-empty; default otherwise
  bool operator==(const Level&) const = default;
};

struct BlockRedirect {
  uint32_t from = 0;
  uint32_t to = 0;
  bool operator==(const BlockRedirect&) const = default;
};

inline constexpr int64_t kFreeEntryDelete = -1;

struct FreeEntry {
  uint32_t block = 0;
  int64_t id = 0;  // id of the last checkpoint that still used the block, or kFreeEntryDelete
  bool operator==(const FreeEntry&) const = default;
};

struct LogPointer {
  uint64_t offset = 0;  // byte offset << 1 | toggle bit
  uint32_t cksum0 = 0;
  uint32_t cksum1 = 0;
  bool operator==(const LogPointer&) const = default;
};

// Every field of the blob except the derived ones (nckpt, nlevel and the checksum words).
struct Checkpoint {
  uint64_t id = 0;
  uint32_t cmpid = kCompressionNone;
  uint32_t nblock = 0;
  uint32_t blksz = 0;
  uint32_t pgsz = 0;
  uint32_t nwrite = 0;
  LogPointer log;
  std::array<uint64_t, kAppendPoints> append{};
  std::vector<Level> levels;  // newest first
  std::vector<BlockRedirect> redirects;
  std::vector<FreeEntry> freelist;
  uint32_t user_version = 0;  // lsmsim extension (see above)
  bool operator==(const Checkpoint&) const = default;

  // The blob recovery synthesises when neither meta page is valid.
  static Checkpoint Empty(uint32_t pgsz, uint32_t blksz);
};

// Why a blob was rejected: the field, the word offset where it was found, and what is wrong.
struct CheckpointError {
  enum class Kind {
    kNone,
    kTooShort,     // the bytes end before the words the blob says it has
    kBadLength,    // nckpt outside (2, 1024]
    kBadChecksum,  // checksum words do not match
    kOverrun,      // a count points past the end of the blob
    kBadValue,     // a field holds a value the engine never writes
    kTrailingWords,
  };
  Kind kind = Kind::kNone;
  std::string field;
  uint32_t word = 0;
  std::string detail;

  // "checkpoint word 37 (level[1].rhs[0].size): segment size is 0".
  std::string ToString() const;
  Status ToStatus() const { return Status::Corrupt(ToString()); }
};

// The seed's checksum over the data words (everything before the two checksum words): two u32
// accumulators from 1 and 2, Fletcher-like over word pairs; an odd last word is folded in first,
// its low half into the first accumulator and its high half into the second.
std::pair<uint32_t, uint32_t> CheckpointChecksum(const uint32_t* words, size_t count);

// Decodes the blob at the start of `bytes` (any length: a meta page, a bare blob, garbage). Reads only
// the first nckpt words; never reads past `bytes`. Rejects anything the engine could not have written.
Result<Checkpoint, CheckpointError> DecodeCheckpoint(ByteView bytes);

// Words the encoded blob of `c` will have (nckpt).
size_t CheckpointWords(const Checkpoint& c);

// Encodes `c` bit-exactly: nckpt * 4 bytes. kFull if it would exceed 1024 words; kInvalidArgument if a
// level's merge is inconsistent with its rhs segments.
Result<Bytes> EncodeCheckpoint(const Checkpoint& c);

// Rhs units of one level (see the size budget above).
uint32_t RhsUnits(const Level& level);

}  // namespace lsm
