#include "engine/format/checkpoint.h"

#include <bit>

#include "absl/strings/str_format.h"
#include "engine/weaken.h"

namespace lsm {

Checkpoint Checkpoint::Empty(uint32_t pgsz, uint32_t blksz) {
  Checkpoint c;
  c.id = kEmptyCheckpointId;
  c.cmpid = kCompressionEmpty;
  c.pgsz = pgsz;
  c.blksz = blksz;
  c.log.cksum0 = kEmptyLogChecksum0;
  c.log.cksum1 = kEmptyLogChecksum1;
  return c;
}

std::string CheckpointError::ToString() const {
  if (field.empty()) return absl::StrFormat("checkpoint word %u: %s", word, detail);
  return absl::StrFormat("checkpoint word %u (%s): %s", word, field, detail);
}

std::pair<uint32_t, uint32_t> CheckpointChecksum(const uint32_t* words, size_t count) {
  uint32_t c1 = 1;
  uint32_t c2 = 2;
  if (count % 2 == 1) {
    c1 += words[count - 1] & 0x0000FFFFu;
    c2 += words[count - 1] & 0xFFFF0000u;
  }
  for (size_t i = 0; i + 1 < count; i += 2) {
    c1 += c2 + words[i];
    c2 += c1 + words[i + 1];
  }
  return {c1, c2};
}

uint32_t RhsUnits(const Level& level) {
  if (level.rhs.empty()) return 1;
  return std::max<uint32_t>(uint32_t(level.rhs.size()), 2);
}

namespace {

using Kind = CheckpointError::Kind;

bool IsPowerOfTwoIn(uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v <= hi && std::has_single_bit(v); }

// Page geometry of an uncompressed database, used to check that page numbers lie in the file.
struct Geometry {
  uint64_t pgsz;
  uint64_t blksz;
  uint64_t nblock;
  uint64_t PagesPerBlock() const { return blksz / pgsz; }
  // Pages 1..8192/pgsz overlap the meta pages and do not exist.
  uint64_t FirstPage() const { return (2 * kMetaPageSize + pgsz - 1) / pgsz + 1; }
  uint64_t LastPage() const { return nblock * PagesPerBlock(); }
  bool Contains(uint64_t page) const { return page >= FirstPage() && page <= LastPage(); }
  uint64_t BlockOf(uint64_t page) const { return (page - 1) / PagesPerBlock() + 1; }
  uint64_t BlockLastPage(uint64_t block) const { return block * PagesPerBlock(); }
  uint64_t BlockFirstPage(uint64_t block) const {
    return block == 1 ? FirstPage() : (block - 1) * PagesPerBlock() + 1;
  }
};

// Reads words in order, bounds-checked against the end of the data words, naming each field.
class Parser {
 public:
  Parser(const std::vector<uint32_t>& words, uint32_t data_end) : words_(words), end_(data_end) {}

  bool failed() const { return error_.kind != Kind::kNone; }
  const CheckpointError& error() const { return error_; }
  uint32_t pos() const { return pos_; }
  void set_scope(std::string scope) { scope_ = std::move(scope); }

  bool Fail(Kind kind, std::string_view field, uint32_t word, std::string detail) {
    if (!failed()) error_ = {kind, scope_ + std::string(field), word, std::move(detail)};
    return false;
  }

  bool Need(uint64_t nwords, std::string_view field, std::string_view what) {
    if (pos_ + nwords <= end_) return true;
    return Fail(Kind::kOverrun, field, pos_,
                absl::StrFormat("%s needs %u more words but only %u remain before the checksum",
                                std::string(what), nwords, end_ - pos_));
  }

  bool Take32(std::string_view field, uint32_t* out) {
    if (!Need(1, field, "field")) return false;
    *out = words_[pos_++];
    return true;
  }
  bool Take64(std::string_view field, uint64_t* out) {
    if (!Need(2, field, "field")) return false;
    *out = (uint64_t{words_[pos_]} << 32) | words_[pos_ + 1];
    pos_ += 2;
    return true;
  }

 private:
  const std::vector<uint32_t>& words_;
  uint32_t end_;
  uint32_t pos_ = 0;
  std::string scope_;
  CheckpointError error_;
};

class Decoder {
 public:
  Decoder(const std::vector<uint32_t>& words, uint32_t nckpt) : p_(words, nckpt - 2), nckpt_(nckpt) {}

  Result<Checkpoint, CheckpointError> Run() {
    if (!Header() || !Levels() || !Redirects() || !Freelist()) return p_.error();
    p_.set_scope("");
    const uint32_t trailer = p_.pos();
    uint32_t tag = 0;
    if (nckpt_ - 2 - trailer == 2 && p_.Take32("user_version_tag", &tag) && tag == kUserVersionTag) {
      if (!p_.Take32("user_version", &c_.user_version)) return p_.error();
      if (c_.user_version == 0) {
        p_.Fail(Kind::kBadValue, "user_version", trailer + 1, "a user version of 0 is never stored");
        return p_.error();
      }
      return std::move(c_);
    }
    if (trailer != nckpt_ - 2) {
      p_.Fail(Kind::kTrailingWords, "nckpt", trailer,
              absl::StrFormat("%u words between the free list and the checksum belong to no field",
                              nckpt_ - 2 - trailer));
      return p_.error();
    }
    return std::move(c_);
  }

 private:
  bool Header() {
    uint32_t w[kCheckpointHeaderWords];
    static constexpr const char* kNames[] = {"id", "id", "nckpt", "cmpid", "nblock",
                                             "blksz", "nlevel", "pgsz", "nwrite"};
    for (uint32_t i = 0; i < kCheckpointHeaderWords; ++i) {
      if (!p_.Take32(kNames[i], &w[i])) return false;
    }
    c_.id = (uint64_t{w[0]} << 32) | w[1];
    c_.cmpid = w[3];
    c_.nblock = w[4];
    c_.blksz = w[5];
    nlevel_ = w[6];
    c_.pgsz = w[LSM_WEAKENED(kCheckpointLayoutChanged) ? 8 : 7];
    c_.nwrite = w[LSM_WEAKENED(kCheckpointLayoutChanged) ? 7 : 8];
    if (c_.id >> 63) return p_.Fail(Kind::kBadValue, "id", 0, "checkpoint id is negative as a signed 64-bit value");
    if (!IsPowerOfTwoIn(c_.pgsz, 256, 65536)) {
      return p_.Fail(Kind::kBadValue, "pgsz", 7,
                     absl::StrFormat("page size %u is not a power of two in [256, 65536]", c_.pgsz));
    }
    if (!IsPowerOfTwoIn(c_.blksz, 64 * 1024, 64 * 1024 * 1024)) {
      return p_.Fail(Kind::kBadValue, "blksz", 5,
                     absl::StrFormat("block size %u is not a power of two in [64 KiB, 64 MiB]", c_.blksz));
    }
    // Compressed databases number pages by byte offset, so page geometry applies only without it.
    if (c_.cmpid == kCompressionEmpty || c_.cmpid == kCompressionNone) {
      geometry_ = Geometry{c_.pgsz, c_.blksz, c_.nblock};
    }
    if (!p_.Take64("log.offset", &c_.log.offset) || !p_.Take32("log.cksum0", &c_.log.cksum0) ||
        !p_.Take32("log.cksum1", &c_.log.cksum1)) {
      return false;
    }
    for (uint32_t i = 0; i < kAppendPoints; ++i) {
      std::string name = absl::StrFormat("append[%u]", i);
      uint32_t at = p_.pos();
      if (!p_.Take64(name, &c_.append[i])) return false;
      if (c_.append[i] != 0 && !PageInFile(c_.append[i], name, at)) return false;
    }
    return true;
  }

  bool PageInFile(uint64_t page, std::string_view field, uint32_t at) {
    if (!geometry_ || geometry_->Contains(page)) return true;
    return p_.Fail(Kind::kBadValue, field, at,
                   absl::StrFormat("page %u is outside the file's pages [%u, %u] (nblock %u)", page,
                                   geometry_->FirstPage(), geometry_->LastPage(), c_.nblock));
  }

  bool ReadSegment(std::string_view name, Segment* s) {
    uint32_t at = p_.pos();
    std::string n(name);
    if (!p_.Take64(n + ".first", &s->first) || !p_.Take64(n + ".last", &s->last) ||
        !p_.Take64(n + ".root", &s->root) || !p_.Take64(n + ".size", &s->size)) {
      return false;
    }
    if (s->first == 0 || s->last == 0) return p_.Fail(Kind::kBadValue, n + ".first", at, "segment has no pages");
    if (s->size == 0) return p_.Fail(Kind::kBadValue, n + ".size", at + 6, "segment size is 0");
    if (!PageInFile(s->first, n + ".first", at) || !PageInFile(s->last, n + ".last", at + 2)) return false;
    if (s->root != 0 && !PageInFile(s->root, n + ".root", at + 4)) return false;
    if (!geometry_) return true;
    const Geometry& g = *geometry_;
    if (g.BlockOf(s->first) == g.BlockOf(s->last)) {
      // A chain never returns to a block it left, so a run that starts and ends in one block lives in it.
      if (s->first > s->last) {
        return p_.Fail(Kind::kBadValue, n + ".last", at + 2,
                       absl::StrFormat("last page %u precedes first page %u in the same block", s->last, s->first));
      }
      if (s->size != s->last - s->first + 1) {
        return p_.Fail(Kind::kBadValue, n + ".size", at + 6,
                       absl::StrFormat("size %u but pages %u..%u lie in one block", s->size, s->first, s->last));
      }
      if (s->root != 0 && (s->root < s->first || s->root > s->last)) {
        return p_.Fail(Kind::kBadValue, n + ".root", at + 4,
                       absl::StrFormat("root %u outside the segment's pages %u..%u", s->root, s->first, s->last));
      }
    } else {
      uint64_t at_least = (g.BlockLastPage(g.BlockOf(s->first)) - s->first + 1) +
                          (s->last - g.BlockFirstPage(g.BlockOf(s->last)) + 1);
      if (s->size < at_least || s->size > g.LastPage()) {
        return p_.Fail(Kind::kBadValue, n + ".size", at + 6,
                       absl::StrFormat("size %u impossible for a run from page %u to page %u", s->size,
                                       s->first, s->last));
      }
    }
    return true;
  }

  bool ReadCursor(const std::string& name, MergeCursor* cursor) {
    uint32_t at = p_.pos();
    if (!p_.Take64(name + ".page", &cursor->page) || !p_.Take32(name + ".cell", &cursor->cell)) return false;
    return cursor->page == 0 || PageInFile(cursor->page, name + ".page", at);
  }

  bool Levels() {
    // Each level record is at least 10 words; refuse a count that cannot fit before allocating.
    uint32_t remaining = nckpt_ - 2 - p_.pos();
    if (uint64_t{nlevel_} * 10 > remaining) {
      return p_.Fail(Kind::kOverrun, "nlevel", 6,
                     absl::StrFormat("%u levels need at least %u words but only %u remain", nlevel_,
                                     uint64_t{nlevel_} * 10, remaining));
    }
    c_.levels.resize(nlevel_);
    for (uint32_t i = 0; i < nlevel_; ++i) {
      Level& level = c_.levels[i];
      p_.set_scope(absl::StrFormat("level[%u].", i));
      uint32_t at = p_.pos();
      uint32_t w0 = 0;
      uint32_t nright = 0;
      if (!p_.Take32("age", &w0) || !p_.Take32("nright", &nright)) return false;
      level.age = uint16_t(w0 & 0xFFFF);
      level.flags = uint16_t(w0 >> 16);
      if (level.flags & ~kKnownLevelFlags) {
        return p_.Fail(Kind::kBadValue, "flags", at, absl::StrFormat("unknown level flags 0x%x", level.flags));
      }
      if (!ReadSegment("lhs", &level.lhs)) return false;
      if (!p_.Need(uint64_t{nright} * 8, "nright", "rhs segments")) return false;
      level.rhs.resize(nright);
      for (uint32_t r = 0; r < nright; ++r) {
        if (!ReadSegment(absl::StrFormat("rhs[%u]", r), &level.rhs[r])) return false;
      }
      if (nright > 0 && !ReadMerge(nright, &level.merge)) return false;
    }
    p_.set_scope("");
    return true;
  }

  bool ReadMerge(uint32_t nright, Merge* merge) {
    uint32_t at = p_.pos();
    uint32_t ninput = 0;
    if (!p_.Take32("merge.ninput", &ninput) || !p_.Take32("merge.nskip", &merge->nskip)) return false;
    if (ninput != nright && ninput != nright + 1) {
      return p_.Fail(Kind::kBadValue, "merge.ninput", at,
                     absl::StrFormat("%u merge inputs for %u rhs segments (must be %u or %u)", ninput, nright,
                                     nright, nright + 1));
    }
    merge->inputs.resize(ninput);
    for (uint32_t i = 0; i < ninput; ++i) {
      if (!ReadCursor(absl::StrFormat("merge.inputs[%u]", i), &merge->inputs[i])) return false;
    }
    uint32_t ptr_at = 0;
    if (!ReadCursor("merge.splitkey", &merge->splitkey)) return false;
    ptr_at = p_.pos();
    if (!p_.Take64("merge.current_ptr", &merge->current_ptr)) return false;
    return merge->current_ptr == 0 || PageInFile(merge->current_ptr, "merge.current_ptr", ptr_at);
  }

  bool Redirects() {
    uint32_t at = p_.pos();
    uint32_t n = 0;
    if (!p_.Take32("nredirect", &n)) return false;
    if (n > kMaxBlockRedirects) {
      return p_.Fail(Kind::kBadValue, "nredirect", at,
                     absl::StrFormat("%u block redirects (at most %u)", n, kMaxBlockRedirects));
    }
    if (!p_.Need(uint64_t{n} * 2, "nredirect", "block redirects")) return false;
    c_.redirects.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t from_at = p_.pos();
      BlockRedirect& r = c_.redirects[i];
      p_.Take32("redirect.from", &r.from);
      p_.Take32("redirect.to", &r.to);
      if (!BlockInFile(r.from, absl::StrFormat("redirects[%u].from", i), from_at) ||
          !BlockInFile(r.to, absl::StrFormat("redirects[%u].to", i), from_at + 1)) {
        return false;
      }
    }
    return true;
  }

  bool BlockInFile(uint32_t block, std::string_view field, uint32_t at) {
    if (block >= 1 && block <= c_.nblock) return true;
    return p_.Fail(Kind::kBadValue, field, at,
                   absl::StrFormat("block %u is outside the file's blocks [1, %u]", block, c_.nblock));
  }

  bool Freelist() {
    uint32_t at = p_.pos();
    uint32_t n = 0;
    if (!p_.Take32("nfree", &n)) return false;
    if (n > kMaxFreelistEntries) {
      return p_.Fail(Kind::kBadValue, "nfree", at,
                     absl::StrFormat("%u free-list entries (at most %u)", n, kMaxFreelistEntries));
    }
    if (!p_.Need(uint64_t{n} * 3, "nfree", "free-list entries")) return false;
    c_.freelist.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t entry_at = p_.pos();
      FreeEntry& e = c_.freelist[i];
      uint64_t id = 0;
      p_.Take32("freelist.block", &e.block);
      p_.Take64("freelist.id", &id);
      e.id = int64_t(id);
      std::string name = absl::StrFormat("freelist[%u]", i);
      if (!BlockInFile(e.block, name + ".block", entry_at)) return false;
      if (i > 0 && e.block <= c_.freelist[i - 1].block) {
        return p_.Fail(Kind::kBadValue, name + ".block", entry_at,
                       absl::StrFormat("block %u does not follow block %u (the list is sorted, unique)", e.block,
                                       c_.freelist[i - 1].block));
      }
      if (e.id != kFreeEntryDelete && (e.id < 0 || uint64_t(e.id) >= c_.id)) {
        return p_.Fail(Kind::kBadValue, name + ".id", entry_at + 1,
                       absl::StrFormat("free id %d is neither -1 nor an earlier checkpoint id (< %u)", e.id, c_.id));
      }
    }
    return true;
  }

  Parser p_;
  uint32_t nckpt_;
  uint32_t nlevel_ = 0;
  std::optional<Geometry> geometry_;
  Checkpoint c_;
};

}  // namespace

Result<Checkpoint, CheckpointError> DecodeCheckpoint(ByteView bytes) {
  if (bytes.size() < 12) {
    return CheckpointError{Kind::kTooShort, "nckpt", 2,
                           absl::StrFormat("blob is %u bytes; the header needs at least 12", bytes.size())};
  }
  uint32_t nckpt = LoadBe32(bytes.data() + 8);
  if (nckpt <= 2 || nckpt > kMaxCheckpointWords) {
    return CheckpointError{Kind::kBadLength, "nckpt", 2,
                           absl::StrFormat("nckpt %u is outside (2, %u]", nckpt, kMaxCheckpointWords)};
  }
  if (uint64_t{nckpt} * 4 > bytes.size()) {
    return CheckpointError{Kind::kTooShort, "nckpt", 2,
                           absl::StrFormat("nckpt %u words but only %u bytes", nckpt, bytes.size())};
  }
  std::vector<uint32_t> words(nckpt);
  for (uint32_t i = 0; i < nckpt; ++i) words[i] = LoadBe32(bytes.data() + 4 * i);
  auto [c1, c2] = CheckpointChecksum(words.data(), nckpt - 2);
  if (c1 != words[nckpt - 2] || c2 != words[nckpt - 1]) {
    return CheckpointError{Kind::kBadChecksum, "checksum", nckpt - 2,
                           absl::StrFormat("stored %08x %08x, computed %08x %08x", words[nckpt - 2],
                                           words[nckpt - 1], c1, c2)};
  }
  if (nckpt < kMinCheckpointWords) {
    return CheckpointError{Kind::kBadLength, "nckpt", 2,
                           absl::StrFormat("nckpt %u is below the smallest well-formed blob (%u words)", nckpt,
                                           kMinCheckpointWords)};
  }
  return Decoder(words, nckpt).Run();
}

size_t CheckpointWords(const Checkpoint& c) {
  size_t n = kCheckpointFixedWords;
  for (const Level& level : c.levels) {
    n += 2 + 8 * (1 + level.rhs.size());
    if (!level.rhs.empty()) n += 2 + 3 * level.merge.inputs.size() + 3 + 2;
  }
  n += 1 + 2 * c.redirects.size();
  n += 1 + 3 * c.freelist.size();
  if (c.user_version != 0) n += 2;
  return n + 2;
}

Result<Bytes> EncodeCheckpoint(const Checkpoint& c) {
  size_t nwords = CheckpointWords(c);
  if (nwords > kMaxCheckpointWords) {
    return Status::Full(absl::StrFormat("checkpoint needs %u words; a meta page holds %u", nwords,
                                        kMaxCheckpointWords));
  }
  std::vector<uint32_t> w;
  w.reserve(nwords);
  auto put64 = [&w](uint64_t v) {
    w.push_back(uint32_t(v >> 32));
    w.push_back(uint32_t(v));
  };
  auto put_segment = [&](const Segment& s) {
    put64(s.first);
    put64(s.last);
    put64(s.root);
    put64(s.size);
  };
  put64(c.id);
  w.push_back(uint32_t(nwords));
  w.push_back(c.cmpid);
  w.push_back(c.nblock);
  w.push_back(c.blksz);
  w.push_back(uint32_t(c.levels.size()));
  if (LSM_WEAKENED(kCheckpointLayoutChanged)) {
    w.push_back(c.nwrite);
    w.push_back(c.pgsz);
  } else {
    w.push_back(c.pgsz);
    w.push_back(c.nwrite);
  }
  put64(c.log.offset);
  w.push_back(c.log.cksum0);
  w.push_back(c.log.cksum1);
  for (uint64_t a : c.append) put64(a);
  for (size_t i = 0; i < c.levels.size(); ++i) {
    const Level& level = c.levels[i];
    size_t ninput = level.merge.inputs.size();
    if (level.rhs.empty() ? level.merge != Merge{} : (ninput != level.rhs.size() && ninput != level.rhs.size() + 1)) {
      return Status::InvalidArgument(
          absl::StrFormat("level %u: %u merge inputs for %u rhs segments", i, ninput, level.rhs.size()));
    }
    w.push_back(uint32_t(level.age) | (uint32_t(level.flags) << 16));
    w.push_back(uint32_t(level.rhs.size()));
    put_segment(level.lhs);
    for (const Segment& s : level.rhs) put_segment(s);
    if (!level.rhs.empty()) {
      w.push_back(uint32_t(ninput));
      w.push_back(level.merge.nskip);
      for (const MergeCursor& in : level.merge.inputs) {
        put64(in.page);
        w.push_back(in.cell);
      }
      put64(level.merge.splitkey.page);
      w.push_back(level.merge.splitkey.cell);
      put64(level.merge.current_ptr);
    }
  }
  w.push_back(uint32_t(c.redirects.size()));
  for (const BlockRedirect& r : c.redirects) {
    w.push_back(r.from);
    w.push_back(r.to);
  }
  w.push_back(uint32_t(c.freelist.size()));
  for (const FreeEntry& e : c.freelist) {
    w.push_back(e.block);
    put64(uint64_t(e.id));
  }
  if (c.user_version != 0) {
    w.push_back(kUserVersionTag);
    w.push_back(c.user_version);
  }
  auto [c1, c2] = CheckpointChecksum(w.data(), w.size());
  w.push_back(c1);
  w.push_back(c2);

  Bytes out(w.size() * 4);
  for (size_t i = 0; i < w.size(); ++i) StoreBe32(out.data() + 4 * i, w[i]);
  return out;
}

}  // namespace lsm
