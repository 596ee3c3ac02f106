#include "engine/log/log.h"

#include <algorithm>
#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "engine/format/varint.h"
#include "engine/weaken.h"

namespace lsm {

void LogChecksum(ByteView data, uint32_t* s0, uint32_t* s1) {
  uint32_t c0 = *s0;
  uint32_t c1 = *s1;
  size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) {
    c0 += LoadLe32(&data[i]) + c1;
    c1 += LoadLe32(&data[i + 4]) + c0;
  }
  if (whole != data.size()) {
    uint8_t tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::copy(data.begin() + whole, data.end(), tail);
    c0 += LoadLe32(tail) + c1;
    c1 += LoadLe32(tail + 4) + c0;
  }
  *s0 = c0;
  *s1 = c1;
}

LogRecovery LogRecovery::Empty(LogPosition start) {
  LogRecovery r;
  r.end = start;
  r.regions[2] = {start.offset, start.offset};
  r.stop_offset = start.offset;
  return r;
}

namespace {

// Bytes a varint occupies, from its first byte (lsmVarintSize).
size_t VarintSize(uint8_t first) {
  if (first <= 240) return 1;
  if (first <= 248) return 2;
  return size_t(first) - 246;
}

// The seed's LogReader, reproduced exactly: its 512-byte buffer decides where checksum stretches are
// cut and when the "32 KB unverified" count restarts, and so which logs replay. The checksum covers
// buf_[cksummed_, ...) lazily: whole 8-byte words at each refill, everything at a checksum record.
class Reader {
 public:
  Reader(File* file, uint64_t file_size, LogPosition start)
      : file_(file), file_size_(file_size), end_of_buf_(start.offset), s0_(start.cksum0),
        s1_(start.cksum1) {}

  // Offset of the next unread byte.
  uint64_t Tell() const { return end_of_buf_ - buf_.size() + pos_; }
  uint64_t Remaining() const { return Tell() < file_size_ ? file_size_ - Tell() : 0; }
  uint32_t s0() const { return s0_; }
  uint32_t s1() const { return s1_; }

  // Reads n bytes, appending them to *out unless out is null.
  Status Blob(uint64_t n, Bytes* out) {
    while (n > 0) {
      if (pos_ == buf_.size()) {
        // A long body nobody keeps (a deferred record, a huge PAD2): whole buffers in big reads.
        if (out == nullptr && n > kLogMaxUnverified) {
          uint64_t whole = (n - 1) / kLogReadSize;  // leaves 1..kLogReadSize for the last buffer
          LSM_RETURN_IF_ERROR(SkipBuffers(whole));
          n -= whole * kLogReadSize;
        }
        LSM_RETURN_IF_ERROR(Refill());
      }
      size_t take = size_t(std::min<uint64_t>(buf_.size() - pos_, n));
      if (out != nullptr) out->insert(out->end(), buf_.begin() + pos_, buf_.begin() + pos_ + take);
      pos_ += take;
      n -= take;
    }
    return Status::Ok();
  }

  Status Byte(uint8_t* b) {
    if (pos_ == buf_.size()) LSM_RETURN_IF_ERROR(Refill());
    *b = buf_[pos_++];
    return Status::Ok();
  }

  Status Varint(uint64_t* v) {
    if (pos_ == buf_.size()) LSM_RETURN_IF_ERROR(Refill());
    Bytes bytes;
    LSM_RETURN_IF_ERROR(Blob(VarintSize(buf_[pos_]), &bytes));
    GetVarint(bytes, v);  // complete by construction
    return Status::Ok();
  }

  // Reads a stored checksum and compares it with the running one (logReaderCksum).
  Status Checksum(bool* match) {
    LogChecksum(ByteView(buf_).subspan(size_t(cksummed_), pos_ - size_t(cksummed_)), &s0_, &s1_);
    cksummed_ = int64_t(pos_) + 8;  // a refill inside the 8 bytes must not sum them
    Bytes stored;
    LSM_RETURN_IF_ERROR(Blob(8, &stored));
    *match = LoadBe32(stored.data()) == s0_ && LoadBe32(stored.data() + 4) == s1_;
    if (LSM_WEAKENED(kLogChecksumIgnored)) *match = true;
    cksummed_ = int64_t(pos_);
    return Status::Ok();
  }

  // Whether a plain record whose body is `body` bytes must have carried a checksum.
  bool RequiresChecksum(uint64_t body) const {
    if (body > kLogMaxUnverified) return true;  // (pos_ >= cksummed_ here; avoids overflow)
    return int64_t(pos_) + int64_t(body) - cksummed_ > int64_t(kLogMaxUnverified);
  }

  // Continues at `offset`: the next read refills from there, carrying the unsummed tail.
  void Jump(uint64_t offset) {
    end_of_buf_ = offset;
    buf_.resize(pos_);
  }

 private:
  // Folds the consumed bytes not yet summed into the running checksum, whole 8-byte words only; returns
  // how many trailing bytes (< 8) still wait for their word.
  size_t SumConsumed() {
    const int64_t unsummed = int64_t(pos_) - cksummed_;
    if (unsummed <= 0) return 0;
    const size_t carry = size_t(unsummed % 8);
    const size_t whole = size_t(unsummed) - carry;
    if (whole > 0) LogChecksum(ByteView(buf_).subspan(size_t(cksummed_), whole), &s0_, &s1_);
    return carry;
  }

  Status Refill() {
    const size_t carry = SumConsumed();
    std::copy(buf_.begin() + (pos_ - carry), buf_.begin() + pos_, buf_.begin());
    buf_.resize(carry + kLogReadSize);
    pos_ = carry;
    cksummed_ = 0;
    Status s = file_->Read(end_of_buf_, std::span<uint8_t>(buf_).subspan(carry));
    end_of_buf_ += kLogReadSize;
    return s;
  }

  // Consumes the next k * kLogReadSize bytes of the file, at an empty buffer, leaving the checksum,
  // the carried tail and the offset exactly as k Refills consuming them would; reads 64 KB at a time.
  Status SkipBuffers(uint64_t k) {
    const size_t carry = SumConsumed();
    Bytes chunk(buf_.begin() + (pos_ - carry), buf_.begin() + pos_);
    constexpr uint64_t kChunk = 128 * kLogReadSize;
    for (uint64_t left = k * kLogReadSize; left > 0;) {
      const size_t n = size_t(std::min(left, kChunk));
      chunk.resize(carry + n);
      LSM_RETURN_IF_ERROR(file_->Read(end_of_buf_, std::span<uint8_t>(chunk).subspan(carry)));
      end_of_buf_ += n;
      left -= n;
      // n is a multiple of 8, so the same `carry` bytes stay unsummed, as after every Refill.
      LogChecksum(ByteView(chunk).first(n), &s0_, &s1_);
      std::copy(chunk.begin() + n, chunk.end(), chunk.begin());
      chunk.resize(carry);
    }
    buf_ = std::move(chunk);
    pos_ = carry;
    cksummed_ = 0;
    return Status::Ok();
  }

  File* const file_;
  const uint64_t file_size_;
  uint64_t end_of_buf_;   // file offset just after buf_'s last byte (the seed's iOff)
  Bytes buf_;
  size_t pos_ = 0;        // next byte in buf_ (iBuf)
  int64_t cksummed_ = 0;  // buf_[0, cksummed_) is in (s0_, s1_) (iCksumBuf; may run ahead by 8)
  uint32_t s0_;
  uint32_t s1_;
};

// Whether a writer emits records of this type (ScanLog's cases but EOF).
bool KnownType(uint8_t type) {
  switch (type) {
    case kLogPad1:
    case kLogPad2:
    case kLogCommit:
    case kLogJump:
      return true;
    default: {
      uint8_t base = type & uint8_t(~kLogWithChecksum);
      return base == kLogWrite || base == kLogDelete || base == kLogDeleteRange || base == kLogUserVersion;
    }
  }
}

// An op of the transaction whose COMMIT has not been read yet. A long key or value is not kept but
// located (offset, length) and read when the COMMIT verifies.
struct Pending {
  struct Extent {
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  LogOp op;
  Extent key;
  Extent value;

  Status Load(File* log) {
    for (auto [extent, bytes] : {std::pair{key, &op.key}, std::pair{value, &op.value}}) {
      if (extent.length == 0) continue;
      bytes->resize(size_t(extent.length));
      LSM_RETURN_IF_ERROR(log->Read(extent.offset, *bytes));
    }
    return Status::Ok();
  }
};

// One pass of the seed's pass 0 and pass 1 at once: ops are applied when their COMMIT verifies, and
// the position and regions are snapshotted there. `jumps` counts JUMPs across restarts, as the seed's
// nJump does.
Result<LogRecovery> ScanLog(File* log, uint64_t file_size, LogPosition start, int* jumps,
                            const std::function<Status(const LogOp&)>& apply,
                            const std::function<void(const LogPosition&)>& on_commit) {
  LogRecovery done = LogRecovery::Empty(start);
  std::array<LogRegion, 3> regions = done.regions;
  std::vector<Pending> pending;
  Reader r(log, file_size, start);
  auto stop = [&](LogStop why, uint64_t at) {
    done.stop = why;
    done.stop_offset = at;
    return done;
  };

  for (;;) {
    uint64_t at = r.Tell();
    uint8_t type = 0;
    LSM_RETURN_IF_ERROR(r.Byte(&type));
    switch (type) {
      case kLogPad1:
        break;

      case kLogPad2: {
        uint64_t n = 0;
        LSM_RETURN_IF_ERROR(r.Varint(&n));
        // Past the end of the file everything reads as zero, so the seed would stop right after.
        if (n > r.Remaining()) return stop(LogStop::kPastEndOfFile, at);
        LSM_RETURN_IF_ERROR(r.Blob(n, nullptr));
        break;
      }

      case kLogWrite:
      case kLogWrite | kLogWithChecksum:
      case kLogDelete:
      case kLogDelete | kLogWithChecksum:
      case kLogDeleteRange:
      case kLogDeleteRange | kLogWithChecksum:
      case kLogUserVersion:
      case kLogUserVersion | kLogWithChecksum: {
        uint8_t base = type & uint8_t(~kLogWithChecksum);
        uint64_t nkey = 0;
        uint64_t nval = 0;
        LSM_RETURN_IF_ERROR(r.Varint(&nkey));
        if (base != kLogDelete) LSM_RETURN_IF_ERROR(r.Varint(&nval));
        // Lengths no writer emits (the format's are below 2^31; a user version is 0 and 4 bytes).
        if (nkey > kLogMaxLength || nval > kLogMaxLength ||
            (base == kLogUserVersion && (nkey != 0 || nval != 4))) {
          return stop(LogStop::kBadLength, at);
        }
        if (type & kLogWithChecksum) {
          bool match = false;
          LSM_RETURN_IF_ERROR(r.Checksum(&match));
          if (!match) return stop(LogStop::kBadChecksum, at);
        } else if (r.RequiresChecksum(nkey + nval)) {
          return stop(LogStop::kUnverified, at);
        }
        if (nkey > r.Remaining() || nval > r.Remaining() - nkey) {
          return stop(LogStop::kPastEndOfFile, at);
        }
        Pending p;
        p.op.kind = base == kLogWrite    ? LogOp::kPut
                    : base == kLogDelete ? LogOp::kDelete
                    : base == kLogDeleteRange ? LogOp::kDeleteRange
                                              : LogOp::kUserVersion;
        if (nkey + nval <= kLogMaxUnverified) {
          LSM_RETURN_IF_ERROR(r.Blob(nkey, &p.op.key));
          LSM_RETURN_IF_ERROR(r.Blob(nval, &p.op.value));
          pending.push_back(std::move(p));
          break;
        }
        // A long body. Whatever follows it must be a record for its transaction to commit: if that is
        // the end of the log (a sparse tail, a garbage length), the scan stops there as it would
        // after reading the body, without reading it.
        const uint64_t next = r.Tell() + nkey + nval;
        uint8_t next_type = 0;
        LSM_RETURN_IF_ERROR(log->Read(next, std::span<uint8_t>(&next_type, 1)));
        if (next_type == kLogEof || !KnownType(next_type)) {
          return stop(next_type == kLogEof ? LogStop::kEndOfLog : LogStop::kUnknownType, next);
        }
        // Otherwise it is summed but not kept: its bytes are read again only once its COMMIT verifies,
        // so memory follows what is committed, not what a record claims.
        p.key = {r.Tell(), nkey};
        p.value = {r.Tell() + nkey, nval};
        LSM_RETURN_IF_ERROR(r.Blob(nkey + nval, nullptr));
        pending.push_back(std::move(p));
        break;
      }

      case kLogCommit: {
        bool match = false;
        LSM_RETURN_IF_ERROR(r.Checksum(&match));
        if (!match) return stop(LogStop::kBadChecksum, at);
        for (Pending& p : pending) {
          LSM_RETURN_IF_ERROR(p.Load(log));
          LSM_RETURN_IF_ERROR(apply(p.op));
          p.op = {};
        }
        pending.clear();
        done.commits++;
        done.end = {r.Tell(), r.s0(), r.s1()};
        done.regions = regions;
        done.regions[2].end = r.Tell();
        if (on_commit) on_commit(done.end);
        break;
      }

      case kLogJump: {
        uint64_t target = 0;
        LSM_RETURN_IF_ERROR(r.Varint(&target));
        // The seed tests nJump++ == 2 and carries nJump into the restart at offset 0, so a restart
        // after a 3rd JUMP would never stop at a JUMP again (a jump cycle hangs it); >= stops there.
        if ((*jumps)++ >= 2) return stop(LogStop::kTooManyJumps, at);
        if (target > uint64_t(INT32_MAX)) return stop(LogStop::kBadJump, at);
        // The seed's pass 1: the piece just read becomes region 1 if it started at offset 0, else
        // region 0 (the seed ends region 1 at its read buffer's end; the exact end is used here).
        if (regions[2].start == 0) {
          regions[1] = {0, r.Tell()};
        } else {
          regions[0] = {regions[2].start, r.Tell()};
        }
        regions[2] = {target, target};
        r.Jump(target);
        break;
      }

      default:
        return stop(type == kLogEof ? LogStop::kEndOfLog : LogStop::kUnknownType, at);
    }
  }
}

}  // namespace

Result<LogRecovery> RecoverLog(File* log, LogPosition start,
                               const std::function<Status(const LogOp&)>& apply,
                               const std::function<void(const LogPosition&)>& on_commit) {
  Result<uint64_t> size = log->Size();
  if (!size.ok()) return size.status();
  int jumps = 0;
  Result<LogRecovery> r = ScanLog(log, *size, start, &jumps, apply, on_commit);
  if (!r.ok() || r->commits > 0 || start.offset == 0) return r;
  // No commit from a non-zero pointer: the log may have been deleted at close and recreated.
  LogPosition zero{0, start.cksum0, start.cksum1};
  r = ScanLog(log, *size, zero, &jumps, apply, on_commit);
  if (r.ok()) r->restarted_at_zero = true;
  return r;
}

// ---------------------------------------------------------------------------------------------------
// LogWriter: lsmLogBegin / lsmLogWrite / logFlush / lsmLogEnd / logReclaimSpace.

LogWriter::LogWriter(File* log, const LogRecovery& state, Safety safety)
    : file_(log), safety_(safety), regions_(state.regions), cksum0_(state.end.cksum0),
      cksum1_(state.end.cksum1) {
  regions_[2].end = state.end.offset;
}

Status LogWriter::Write(uint64_t offset, ByteView bytes) {
  if (bytes.empty()) return Status::Ok();
  Status s = file_->Write(offset, bytes);
  if (LSM_WEAKENED(kFailedLogWriteIgnored)) return Status::Ok();
  return s;
}

void LogWriter::UpdateChecksum(size_t upto) {
  if (upto > t_cksummed_) {
    LogChecksum(ByteView(buf_).subspan(t_cksummed_, upto - t_cksummed_), &t_cksum0_, &t_cksum1_);
  }
  t_cksummed_ = upto;
}

Status LogWriter::ChecksumAndFlush() {
  UpdateChecksum(buf_.size());
  AppendBe32(buf_, t_cksum0_);
  AppendBe32(buf_, t_cksum1_);
  Status s = Write(t_offset_, buf_);
  t_offset_ += buf_.size();
  buf_.clear();
  t_cksummed_ = 0;
  return s;
}

void LogWriter::Reclaim(uint64_t offset) {
  size_t i = 0;
  while (i < 3 && !(offset >= regions_[i].start && offset <= regions_[i].end)) ++i;
  if (i == 3) return;  // not a position of this log; the seed asserts
  for (size_t j = 0; j < i; ++j) regions_[j] = {};
  regions_[i].start = offset;
}

void LogWriter::CheckpointSynced(LogPosition pos) {
  if (open_) {
    reclaim_ = pos.offset;
  } else {
    Reclaim(pos.offset);
  }
}

Status LogWriter::Begin() {
  if (reclaim_) {
    Reclaim(*reclaim_);
    reclaim_.reset();
  }
  t_cksum0_ = cksum0_;
  t_cksum1_ = cksum1_;
  t_offset_ = 0;
  t_cksummed_ = 0;
  buf_.clear();
  sector_ = safety_ == Safety::kFull ? std::max<uint32_t>(1, file_->SectorSize()) : 1;
  jump_ = {};
  region1_end_ = 0;
  region2_start_ = 0;
  error_ = Status::Ok();

  LogRegion* reg = regions_.data();
  if (reg[0].end == 0 && reg[1].end == 0 && reg[2].start >= kLogWrapOffset) {
    // Case 1: wrap to offset 0. PAD2(4)+JUMP(0) fills one checksum word, so it is summed at once.
    buf_ = {kLogPad2, 0x04, 0x00, 0x00, 0x00, 0x00, kLogJump, 0x00};
    UpdateChecksum(buf_.size());
    LSM_RETURN_IF_ERROR(Write(reg[2].end, buf_));
    buf_.clear();
    t_cksummed_ = 0;
    reg[2].end += 8;
    jump_ = reg[0] = reg[2];
    reg[2] = {};
    // The seed keeps the old checksum here until the transaction commits, so a rollback right after
    // a wrap leaves the next commit's checksums without the JUMP bytes that recovery will sum (the
    // log then stops replaying there). The wrap is part of the shared state, so is its checksum.
    cksum0_ = t_cksum0_;
    cksum1_ = t_cksum1_;
  } else if (reg[1].end == 0 && reg[2].end < reg[0].end) {
    // Case 2: region 2 lies before region 0; append, jumping over region 0 when close to it.
    t_offset_ = reg[2].end;
    jump_ = reg[0];
  } else {
    // Case 3: region 2 is the last in the file.
    t_offset_ = reg[2].end;
  }

  if (jump_.start != 0) {
    uint64_t round = jump_.start / sector_ * sector_;
    if (round > t_offset_) jump_.start = round;
    jump_.end = jump_.end / sector_ * sector_ + sector_ - 1;
  }
  open_ = true;
  return Status::Ok();
}

Status LogWriter::JumpIfRequired(size_t nreq, bool* jumped) {
  uint64_t here = t_offset_ + buf_.size();
  if (!(jump_.start > here && jump_.start < here + nreq + 17)) return Status::Ok();

  uint64_t target = jump_.end + 1;
  uint8_t record[1 + kMaxVarintLength];
  record[0] = kLogJump;
  size_t nrecord = 1 + PutVarint(record + 1, target);
  // Pad so that the buffer ends on a checksum word after the JUMP.
  size_t pad = (buf_.size() + nrecord) % 8;
  if (pad != 0) {
    pad = 8 - pad;
    if (pad == 1) {
      buf_.push_back(kLogPad1);
    } else {
      buf_.push_back(kLogPad2);
      buf_.push_back(uint8_t(pad - 2));
      buf_.insert(buf_.end(), pad - 2, 0x00);
    }
  }
  buf_.insert(buf_.end(), record, record + nrecord);
  LSM_RETURN_IF_ERROR(Write(t_offset_, buf_));
  UpdateChecksum(buf_.size());
  region1_end_ = t_offset_ + buf_.size();
  region2_start_ = target;
  t_offset_ = target;
  buf_.clear();
  t_cksummed_ = 0;
  if (jumped != nullptr) *jumped = true;
  return Status::Ok();
}

Status LogWriter::Append(const LogOp& op) { return Append(op.kind, op.key, op.value); }

Status LogWriter::Append(LogOp::Kind kind, ByteView key, ByteView value) {
  if (key.size() > kLogMaxLength || value.size() > kLogMaxLength) {
    return Status::InvalidArgument("log record: key or value of 2^31 bytes or more");
  }
  if (!open_) LSM_RETURN_IF_ERROR(Begin());
  if (!error_.ok()) return error_;

  uint8_t type = kind == LogOp::kPut           ? kLogWrite
                 : kind == LogOp::kDelete      ? kLogDelete
                 : kind == LogOp::kDeleteRange ? kLogDeleteRange
                                               : kLogUserVersion;
  bool has_value = type != kLogDelete;
  size_t nreq = 1 + VarintLength(key.size()) + 8 + key.size();
  if (has_value) nreq += VarintLength(value.size()) + value.size();

  bool cksum = false;
  error_ = JumpIfRequired(nreq, &cksum);
  if (!error_.ok()) return error_;
  if (buf_.size() + nreq > kLogMaxUnverified) cksum = true;

  buf_.push_back(uint8_t(type | (cksum ? kLogWithChecksum : 0)));
  AppendVarint(buf_, key.size());
  if (has_value) AppendVarint(buf_, value.size());
  if (cksum) {
    error_ = ChecksumAndFlush();
    if (!error_.ok()) return error_;
  }
  buf_.insert(buf_.end(), key.begin(), key.end());
  if (has_value) buf_.insert(buf_.end(), value.begin(), value.end());
  return Status::Ok();
}

Result<LogPosition> LogWriter::Commit() {
  if (!open_) {
    Status s = Begin();
    if (!s.ok()) return s;
  }
  Status s = error_;
  if (s.ok()) {
    size_t nreq = 9;
    if (sector_ > 1) nreq += sector_ + 17;
    s = JumpIfRequired(nreq, nullptr);
  }
  if (s.ok()) {
    if (sector_ > 1 && !LSM_WEAKENED(kFullCommitNotSectorPadded)) {
      // Pad so that the COMMIT record ends on a sector boundary.
      size_t pad = size_t((t_offset_ + buf_.size() + 9) % sector_);
      if (pad != 0) pad = sector_ - pad;
      while (pad > 0) {
        if (pad == 1) {
          buf_.push_back(kLogPad1);
          pad = 0;
        } else {
          size_t n = std::min<size_t>(200, pad - 2);
          buf_.push_back(kLogPad2);
          buf_.push_back(uint8_t(n));
          buf_.insert(buf_.end(), n, kLogPadFiller);
          pad -= 2 + n;
        }
      }
    }
    buf_.push_back(kLogCommit);
    s = ChecksumAndFlush();
  }
  if (s.ok() && safety_ == Safety::kFull && !LSM_WEAKENED(kFullCommitNotSynced)) {
    s = file_->Sync();
    if (LSM_WEAKENED(kFailedSyncIgnored)) s = Status::Ok();
  }
  if (!s.ok()) {
    Rollback();
    return s;
  }

  // lsmLogEnd(commit).
  regions_[2].end = t_offset_;
  cksum0_ = t_cksum0_;
  cksum1_ = t_cksum1_;
  if (region1_end_ != 0) {
    regions_[1] = {regions_[2].start, region1_end_};
    regions_[2].start = region2_start_;
  }
  open_ = false;
  buf_.clear();
  return position();
}

void LogWriter::Rollback() {
  open_ = false;
  buf_.clear();
  error_ = Status::Ok();
  if (reclaim_) {
    Reclaim(*reclaim_);
    reclaim_.reset();
  }
}

}  // namespace lsm
