// The write-ahead log (`<db>-log`): committed transactions not yet in a checkpoint, replayed at
// recovery. Byte-compatible with SQLite4 LSM's lsm_log.c for every record the reference writes.
//
// Records (one type byte, then the body; varints as in varint.h):
//
//   0x00  EOF            –                        (also what a read past end of file returns)
//   0x01  PAD1           –
//   0x02  PAD2           varint N, N filler bytes (0x2B before a FULL commit, 0x00 before a JUMP)
//   0x03  COMMIT         8-byte checksum
//   0x04  JUMP           varint absolute offset of the next record
//   0x06  WRITE          varint nKey, varint nVal, key, value
//   0x07  WRITE+CKSUM    varint nKey, varint nVal, 8-byte checksum, key, value
//   0x08  DELETE         varint nKey, key
//   0x09  DELETE+CKSUM   varint nKey, 8-byte checksum, key
//   0x0A  DRANGE         varint nKey1, varint nKey2, key1, key2         (lsmsim extension)
//   0x0B  DRANGE+CKSUM   varint nKey1, varint nKey2, 8-byte checksum, key1, key2
//   0x0C  USERVERSION    varint 0, varint 4, user version (u32 big-endian)   (lsmsim extension)
//   0x0D  USERVERSION+CKSUM  varint 0, varint 4, 8-byte checksum, user version
//
// Range deletes. The seed never logs lsm_delete_range (a defect: a crash loses them). lsmsim logs
// them as DRANGE records, laid out like WRITE (the later SQLite lsm1 uses the same bytes). The seed's
// reader stops at an unknown type, so a log holding a DRANGE is fully readable only by lsmsim: the
// seed would replay the transactions before it and drop the rest, never apply garbage. A log without
// range deletes is byte-identical with the seed's. Likewise USERVERSION: the seed keeps the user version
// only in shared memory (lost at every restart); lsmsim logs it and checkpoints it (checkpoint.h).
//
// Checksum. A running pair (s0, s1), seeded from the checkpoint's log pointer, never restarted (it
// continues across transactions, jumps and wraps). Bytes are taken as little-endian u32 pairs
// (s0 += x0 + s1; s1 += x1 + s0); each stretch between two checksum points is zero-padded to a
// multiple of 8. A stored checksum is 8 bytes, s0 then s1, big-endian, and is itself excluded from the
// sum. Every COMMIT carries one; a WRITE/DELETE/DRANGE carries one when a jump was just taken or when
// the writer's unflushed buffer would pass 32 KB (kLogMaxUnverified) with it.
//
// Regions. The file holds up to three regions, replayed in the order 0, 1, 2; appends go to the end of
// region 2. A checkpoint that is synced frees everything before its log pointer (CheckpointSynced).
// When regions 0 and 1 are empty and region 2 starts at or after kLogWrapOffset, the next transaction
// writes PAD2(4)+JUMP(0) at the end of region 2 and wraps: region 2 becomes region 0 (a "do not
// touch" zone) and a new region 2 starts at offset 0. If region 2 then grows to within a record of
// region 0, the writer JUMPs past it (the zone is widened to whole sectors), region 2 becomes region 1
// and a new region 2 starts after region 0. Recovery follows at most two jumps.
//
// Durability (Safety). OFF and NORMAL write the log but never sync it. FULL pads every COMMIT with
// PAD1/PAD2 so that it ends on a sector boundary (File::SectorSize) and syncs the log before Commit
// returns; the next transaction therefore starts in a fresh sector and cannot tear a committed one.
//
// Recovery (RecoverLog) reads records from the checkpoint's pointer, verifying the chain, and stops at
// the first of: EOF or an unknown type; a checksum mismatch (COMMIT or *+CKSUM); a plain record whose
// body would leave more than 32 KB unverified; the 3rd JUMP. The "32 KB unverified" count is the
// seed reader's (bytes since the last checksum point *within its current 512-byte read buffer*, so it
// resets at every refill) - RecoverLog reproduces that buffer exactly and so accepts exactly what the
// seed accepts. Lengths are bounded before anything is allocated: a key or value length of 2^31 or
// more, or one that runs past the end of the file, ends the log (kBadLength, kPastEndOfFile). A
// body longer than 32 KB is not held in memory while its transaction is open: if the byte after it
// is not a record the scan stops there at once (as the seed would after reading the body: a sparse
// or garbage tail costs nothing), else the body is summed in big reads and read again only when its
// COMMIT verifies. Recovery's memory therefore follows what is committed, not what a record claims. If no commit is found from a non-zero pointer, the scan is repeated from offset 0 (a
// log deleted at close and recreated); the caller must then reset the checkpoint's log offset to 0.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "engine/bytes.h"
#include "engine/format/checkpoint.h"
#include "engine/env/env.h"
#include "engine/status.h"

namespace lsm {

enum class Safety { kOff = 0, kNormal = 1, kFull = 2 };
// The names scenario files and the CLI use.
inline const char* SafetyName(Safety s) {
  return s == Safety::kOff ? "off" : s == Safety::kNormal ? "normal" : "full";
}

inline constexpr uint8_t kLogEof = 0x00;
inline constexpr uint8_t kLogPad1 = 0x01;
inline constexpr uint8_t kLogPad2 = 0x02;
inline constexpr uint8_t kLogCommit = 0x03;
inline constexpr uint8_t kLogJump = 0x04;
inline constexpr uint8_t kLogWrite = 0x06;
inline constexpr uint8_t kLogDelete = 0x08;
inline constexpr uint8_t kLogDeleteRange = 0x0A;
inline constexpr uint8_t kLogUserVersion = 0x0C;
inline constexpr uint8_t kLogWithChecksum = 0x01;  // OR-ed into WRITE, DELETE, DRANGE, USERVERSION
inline constexpr uint8_t kLogPadFiller = 0x2B;     // filler of the PAD2 records before a FULL commit

inline constexpr size_t kLogMaxUnverified = 32 * 1024;  // LSM_CKSUM_MAXDATA
inline constexpr uint64_t kLogWrapOffset = 128 * 1024;  // LSM_MIN_LOGWRAP
inline constexpr size_t kLogReadSize = 512;             // the seed reader's buffer refill size
inline constexpr uint64_t kLogMaxLength = 0x7FFFFFFF;   // longest key or value (the seed's int)

struct LogOp {
  enum Kind { kPut, kDelete, kDeleteRange, kUserVersion };
  Kind kind = kPut;
  Bytes key;    // kDeleteRange: the start key (exclusive, as lsm_delete_range); kUserVersion: empty
  Bytes value;  // kPut: the value; kDeleteRange: the end key (exclusive); kDelete: empty;
                // kUserVersion: 4 bytes, big-endian
  bool operator==(const LogOp&) const = default;
};

// A point in the log: a byte offset and the running checksum there. A checkpoint stores it as
// LogPointer (offset << 1 | toggle bit).
struct LogPosition {
  uint64_t offset = 0;
  uint32_t cksum0 = 0;
  uint32_t cksum1 = 0;
  bool operator==(const LogPosition&) const = default;
};

inline LogPosition LogPositionOf(const LogPointer& p) { return {p.offset >> 1, p.cksum0, p.cksum1}; }

// [start, end) in the log file; empty when end == 0 (the seed's convention).
struct LogRegion {
  uint64_t start = 0;
  uint64_t end = 0;
  bool operator==(const LogRegion&) const = default;
};

// Why the recovery scan stopped (diagnostics; every reason is a normal end of log after a crash).
enum class LogStop {
  kEndOfLog,       // a 0x00 byte (or the end of the file)
  kUnknownType,    // a type byte no writer emits here
  kBadChecksum,    // a COMMIT or *+CKSUM record whose checksum does not match
  kUnverified,     // a plain record that would leave more than 32 KB unverified
  kTooManyJumps,   // the 3rd JUMP
  kPastEndOfFile,  // a record body that would extend past the end of the file
  kBadJump,        // a JUMP to an offset the seed cannot represent (>= 2^31)
  kBadLength,      // a key or value length no writer emits (>= 2^31; a USERVERSION not of 0 and 4)
};

struct LogRecovery {
  LogPosition end;                      // just after the last good COMMIT (the start if there is none)
  std::array<LogRegion, 3> regions{};   // replay order 0, 1, 2; regions[2].end == end.offset
  uint64_t commits = 0;                 // committed transactions replayed
  bool restarted_at_zero = false;       // no commit from the pointer, so the scan restarted at 0
  LogStop stop = LogStop::kEndOfLog;    // where and why the scan stopped
  uint64_t stop_offset = 0;             // offset of the record that ended the scan

  // The state of an empty log whose replay starts (and finds nothing) at `start`.
  static LogRecovery Empty(LogPosition start);
};

// Replays the committed transactions of `log` from `start` (offset and the checksum there): calls
// apply(op) for every op of every committed transaction, in log order, and never for a transaction
// whose COMMIT is missing or damaged (ops are held back until their COMMIT verifies). Returns the
// position after the last good commit and the regions a LogWriter needs to continue. Errors: the
// File's (kIoError) or apply's, as returned; damage in the log is never an error, it ends the log.
// on_commit, if given, is called after the ops of each committed transaction with the position after
// its COMMIT.
Result<LogRecovery> RecoverLog(File* log, LogPosition start,
                               const std::function<Status(const LogOp&)>& apply,
                               const std::function<void(const LogPosition&)>& on_commit = nullptr);

// Updates the running checksum (s0, s1) with `data`, zero-padded to a multiple of 8.
void LogChecksum(ByteView data, uint32_t* s0, uint32_t* s1);

// Appends transactions to the log. One transaction at a time: Append... then Commit or Rollback. The
// transaction begins at its first Append (or Commit); that is when the region decisions are taken.
// Not thread-safe (REQUIRES: external synchronization); the File must outlive the writer.
class LogWriter {
 public:
  LogWriter(File* log, const LogRecovery& state, Safety safety);
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Adds `op` to the open transaction. Buffered, but bytes reach the file at every checksum point or
  // jump. After an error the transaction can only be rolled back (Commit returns the same error).
  // kInvalidArgument for a key or value of 2^31 bytes or more.
  Status Append(const LogOp& op);
  Status Append(LogOp::Kind kind, ByteView key, ByteView value);

  // Writes the COMMIT record (FULL: padded to end on a sector boundary, then the log is synced) and
  // returns the position after it. On failure the transaction is rolled back in memory, but its
  // bytes may already be in the file (and even durable): a later recovery may replay it.
  Result<LogPosition> Commit();

  // Drops the open transaction (its bytes on disk, if any, are overwritten by the next one). Nested
  // transactions are the caller's business: it Appends only what survives.
  void Rollback();

  // A checkpoint whose log pointer is `pos` is synced, so nothing before `pos` in replay order will be
  // read again: the regions before it are freed (applied at once, or at the next transaction's start
  // if one is open). `pos` must lie in a region; anything else is ignored.
  void CheckpointSynced(LogPosition pos);

  // The end of the last committed transaction (where recovery would stop) and its checksum.
  LogPosition position() const { return {regions_[2].end, cksum0_, cksum1_}; }
  const std::array<LogRegion, 3>& regions() const { return regions_; }
  bool in_transaction() const { return open_; }

 private:
  Status Begin();
  void Reclaim(uint64_t offset);
  void UpdateChecksum(size_t upto);
  Status ChecksumAndFlush();
  Status JumpIfRequired(size_t nreq, bool* jumped);
  Status Write(uint64_t offset, ByteView bytes);

  File* const file_;
  const Safety safety_;

  // State between transactions (the seed keeps it in shared memory).
  std::array<LogRegion, 3> regions_{};
  uint32_t cksum0_ = 0;
  uint32_t cksum1_ = 0;
  std::optional<uint64_t> reclaim_;  // a CheckpointSynced that arrived during a transaction

  // The open transaction (the seed's LogWriter).
  bool open_ = false;
  Status error_;               // sticky failure of the open transaction
  uint32_t t_cksum0_ = 0;      // running checksum at t_offset_ + t_cksummed_
  uint32_t t_cksum1_ = 0;
  uint64_t t_offset_ = 0;      // file offset of buf_[0]
  size_t t_cksummed_ = 0;      // bytes of buf_ already in the checksum (a multiple of 8)
  Bytes buf_;                  // bytes not yet written
  uint32_t sector_ = 1;        // commits end on multiples of this (1 unless FULL)
  LogRegion jump_;             // the zone this transaction must jump over (start 0: none)
  uint64_t region1_end_ = 0;   // set when this transaction jumped: end of the JUMP record
  uint64_t region2_start_ = 0;  // and the offset it jumped to
};

}  // namespace lsm
