#include "sim/checkpoint_json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lsm {

namespace {

Json SegmentJson(const Segment& s) {
  return Json::Array().Push(Json::Uint(s.first)).Push(Json::Uint(s.last)).Push(Json::Uint(s.root)).Push(
      Json::Uint(s.size));
}

Json CursorJson(const MergeCursor& c) { return Json::Array().Push(Json::Uint(c.page)).Push(Json::Uint(c.cell)); }

struct RawHeader {
  uint64_t id = 0;
  uint32_t nckpt = 0;
  bool checksum_ok = false;
  uint32_t cksum1 = 0, cksum2 = 0;
};

RawHeader ReadRawHeader(ByteView page) {
  RawHeader h;
  uint8_t head[12] = {};
  std::copy_n(page.begin(), std::min<size_t>(page.size(), 12), head);
  h.id = LoadBe64(head);
  h.nckpt = LoadBe32(head + 8);
  if (h.nckpt > 2 && h.nckpt <= kMaxCheckpointWords && size_t{h.nckpt} * 4 <= page.size()) {
    std::vector<uint32_t> words(h.nckpt);
    for (uint32_t i = 0; i < h.nckpt; ++i) words[i] = LoadBe32(page.data() + 4 * i);
    auto [c1, c2] = CheckpointChecksum(words.data(), h.nckpt - 2);
    h.cksum1 = words[h.nckpt - 2];
    h.cksum2 = words[h.nckpt - 1];
    h.checksum_ok = c1 == h.cksum1 && c2 == h.cksum2;
  }
  return h;
}

class JsonReader {
 public:
  Status status() const { return status_; }

  bool Fail(const std::string& path, const std::string& what) {
    if (status_.ok()) status_ = Status::InvalidArgument(absl::StrCat(path, ": ", what));
    return false;
  }

  const Json* Field(const Json& obj, const std::string& path, std::string_view key) {
    const Json* v = obj.Find(key);
    if (v == nullptr) Fail(path.empty() ? std::string(key) : path + "." + std::string(key), "missing");
    return v;
  }

  template <typename T>
  bool Uint(const Json* v, const std::string& path, T* out) {
    if (v == nullptr) return false;
    auto n = v->AsUint64();
    if (!n || *n > std::numeric_limits<T>::max()) {
      return Fail(path, absl::StrFormat("expected an integer in [0, %u]", uint64_t(std::numeric_limits<T>::max())));
    }
    *out = T(*n);
    return true;
  }

  template <typename T>
  bool UintField(const Json& obj, const std::string& path, std::string_view key, T* out) {
    return Uint(Field(obj, path, key), path.empty() ? std::string(key) : path + "." + std::string(key), out);
  }

  bool Array(const Json* v, const std::string& path, size_t min, size_t max) {
    if (v == nullptr) return false;
    if (!v->is_array()) return Fail(path, "expected an array");
    if (v->size() < min || v->size() > max) {
      return Fail(path, min == max ? absl::StrFormat("expected %u items", min)
                                   : absl::StrFormat("expected %u to %u items", min, max));
    }
    return true;
  }

  bool SegmentValue(const Json* v, const std::string& path, Segment* s) {
    if (!Array(v, path, 4, 4)) return false;
    return Uint(&(*v)[0], path + "[0]", &s->first) && Uint(&(*v)[1], path + "[1]", &s->last) &&
           Uint(&(*v)[2], path + "[2]", &s->root) && Uint(&(*v)[3], path + "[3]", &s->size);
  }

  bool CursorValue(const Json* v, const std::string& path, MergeCursor* c) {
    if (!Array(v, path, 2, 2)) return false;
    return Uint(&(*v)[0], path + "[0]", &c->page) && Uint(&(*v)[1], path + "[1]", &c->cell);
  }

 private:
  Status status_;
};

}  // namespace

Json CheckpointToJson(const Checkpoint& c) {
  Json j = Json::Object();
  j.Set("id", Json::Uint(c.id));
  j.Set("nckpt", Json::Uint(CheckpointWords(c)));
  j.Set("cmpid", Json::Uint(c.cmpid));
  j.Set("nblock", Json::Uint(c.nblock));
  j.Set("blksz", Json::Uint(c.blksz));
  j.Set("pgsz", Json::Uint(c.pgsz));
  j.Set("nlevel", Json::Uint(c.levels.size()));
  j.Set("nwrite", Json::Uint(c.nwrite));
  j.Set("log", Json::Object()
                   .Set("offset", Json::Uint(c.log.offset))
                   .Set("cksum0", Json::Uint(c.log.cksum0))
                   .Set("cksum1", Json::Uint(c.log.cksum1)));
  Json append = Json::Array();
  for (uint64_t a : c.append) append.Push(Json::Uint(a));
  j.Set("append", std::move(append));
  Json levels = Json::Array();
  for (const Level& level : c.levels) {
    Json l = Json::Object();
    l.Set("age", Json::Uint(level.age));
    l.Set("flags", Json::Uint(level.flags));
    l.Set("lhs", SegmentJson(level.lhs));
    Json rhs = Json::Array();
    for (const Segment& s : level.rhs) rhs.Push(SegmentJson(s));
    l.Set("rhs", std::move(rhs));
    if (!level.rhs.empty()) {
      Json inputs = Json::Array();
      for (const MergeCursor& in : level.merge.inputs) inputs.Push(CursorJson(in));
      l.Set("merge", Json::Object()
                         .Set("nskip", Json::Uint(level.merge.nskip))
                         .Set("inputs", std::move(inputs))
                         .Set("splitkey", CursorJson(level.merge.splitkey))
                         .Set("current_ptr", Json::Uint(level.merge.current_ptr)));
    }
    levels.Push(std::move(l));
  }
  j.Set("levels", std::move(levels));
  Json redirects = Json::Array();
  for (const BlockRedirect& r : c.redirects) redirects.Push(Json::Array().Push(Json::Uint(r.from)).Push(Json::Uint(r.to)));
  j.Set("redirects", std::move(redirects));
  Json freelist = Json::Array();
  for (const FreeEntry& e : c.freelist) freelist.Push(Json::Array().Push(Json::Uint(e.block)).Push(Json::Int(e.id)));
  j.Set("freelist", std::move(freelist));
  return j;
}

Json MetaPageReport(ByteView page) {
  RawHeader raw = ReadRawHeader(page);
  auto decoded = DecodeCheckpoint(page);
  Json j = Json::Object();
  if (decoded.ok()) {
    Json body = CheckpointToJson(*decoded);
    j.Set("id", Json::Uint(raw.id));
    j.Set("nckpt", Json::Uint(raw.nckpt));
    j.Set("checksum_ok", Json::Bool(true));
    j.Set("valid", Json::Bool(true));
    for (const auto& [k, v] : body.items()) {
      if (k != "id" && k != "nckpt") j.Set(k, v);
    }
    j.Set("checksum", Json::Array().Push(Json::Uint(raw.cksum1)).Push(Json::Uint(raw.cksum2)));
    return j;
  }
  j.Set("id", Json::Uint(raw.id));
  j.Set("nckpt", Json::Uint(raw.nckpt));
  j.Set("checksum_ok", Json::Bool(raw.checksum_ok));
  j.Set("valid", Json::Bool(false));
  j.Set("error", Json::String(decoded.error().ToString()));
  return j;
}

Result<Checkpoint> CheckpointFromJson(const Json& json) {
  JsonReader r;
  Checkpoint c;
  if (!json.is_object()) return Status::InvalidArgument("checkpoint JSON must be an object");
  bool ok = r.UintField(json, "", "id", &c.id) && r.UintField(json, "", "cmpid", &c.cmpid) &&
            r.UintField(json, "", "nblock", &c.nblock) && r.UintField(json, "", "blksz", &c.blksz) &&
            r.UintField(json, "", "pgsz", &c.pgsz) && r.UintField(json, "", "nwrite", &c.nwrite);
  if (ok && c.id >> 63) ok = r.Fail("id", "must be below 2^63");
  const Json* log = ok ? r.Field(json, "", "log") : nullptr;
  ok = ok && log != nullptr && r.UintField(*log, "log", "offset", &c.log.offset) &&
       r.UintField(*log, "log", "cksum0", &c.log.cksum0) && r.UintField(*log, "log", "cksum1", &c.log.cksum1);
  const Json* append = ok ? r.Field(json, "", "append") : nullptr;
  ok = ok && r.Array(append, "append", kAppendPoints, kAppendPoints);
  for (size_t i = 0; ok && i < kAppendPoints; ++i) ok = r.Uint(&(*append)[i], absl::StrFormat("append[%u]", i), &c.append[i]);

  const Json* levels = ok ? r.Field(json, "", "levels") : nullptr;
  ok = ok && r.Array(levels, "levels", 0, kMaxCheckpointWords);
  for (size_t i = 0; ok && i < levels->size(); ++i) {
    std::string path = absl::StrFormat("levels[%u]", i);
    const Json& lj = (*levels)[i];
    if (!lj.is_object()) {
      ok = r.Fail(path, "expected an object");
      break;
    }
    Level& level = c.levels.emplace_back();
    ok = r.UintField(lj, path, "age", &level.age) && r.UintField(lj, path, "flags", &level.flags) &&
         r.SegmentValue(r.Field(lj, path, "lhs"), path + ".lhs", &level.lhs);
    const Json* rhs = ok ? r.Field(lj, path, "rhs") : nullptr;
    ok = ok && r.Array(rhs, path + ".rhs", 0, kMaxCheckpointWords);
    for (size_t k = 0; ok && k < rhs->size(); ++k) {
      ok = r.SegmentValue(&(*rhs)[k], absl::StrFormat("%s.rhs[%u]", path, k), &level.rhs.emplace_back());
    }
    if (!ok || level.rhs.empty()) continue;
    const Json* merge = r.Field(lj, path, "merge");
    std::string mpath = path + ".merge";
    ok = merge != nullptr && r.UintField(*merge, mpath, "nskip", &level.merge.nskip) &&
         r.CursorValue(r.Field(*merge, mpath, "splitkey"), mpath + ".splitkey", &level.merge.splitkey) &&
         r.UintField(*merge, mpath, "current_ptr", &level.merge.current_ptr);
    const Json* inputs = ok ? r.Field(*merge, mpath, "inputs") : nullptr;
    ok = ok && r.Array(inputs, mpath + ".inputs", 0, kMaxCheckpointWords);
    for (size_t k = 0; ok && k < inputs->size(); ++k) {
      ok = r.CursorValue(&(*inputs)[k], absl::StrFormat("%s.inputs[%u]", mpath, k), &level.merge.inputs.emplace_back());
    }
  }

  const Json* redirects = ok ? r.Field(json, "", "redirects") : nullptr;
  ok = ok && r.Array(redirects, "redirects", 0, kMaxCheckpointWords);
  for (size_t i = 0; ok && i < redirects->size(); ++i) {
    std::string path = absl::StrFormat("redirects[%u]", i);
    const Json* pair = &(*redirects)[i];
    BlockRedirect& br = c.redirects.emplace_back();
    ok = r.Array(pair, path, 2, 2) && r.Uint(&(*pair)[0], path + "[0]", &br.from) &&
         r.Uint(&(*pair)[1], path + "[1]", &br.to);
  }

  const Json* freelist = ok ? r.Field(json, "", "freelist") : nullptr;
  ok = ok && r.Array(freelist, "freelist", 0, kMaxCheckpointWords);
  for (size_t i = 0; ok && i < freelist->size(); ++i) {
    std::string path = absl::StrFormat("freelist[%u]", i);
    const Json* pair = &(*freelist)[i];
    FreeEntry& e = c.freelist.emplace_back();
    ok = r.Array(pair, path, 2, 2) && r.Uint(&(*pair)[0], path + "[0]", &e.block);
    if (!ok) break;
    auto id = (*pair)[1].AsInt64();
    if (!id) {
      ok = r.Fail(path + "[1]", "expected a 64-bit signed integer");
      break;
    }
    e.id = *id;
  }
  if (!ok) return r.status();
  return c;
}

std::string MetaPageText(ByteView page) {
  RawHeader raw = ReadRawHeader(page);
  auto decoded = DecodeCheckpoint(page);
  std::string out = absl::StrFormat("checkpoint id %u, %u words, checksum %s\n", raw.id, raw.nckpt,
                                    raw.checksum_ok ? "ok" : "BAD");
  if (!decoded.ok()) return out + "INVALID: " + decoded.error().ToString() + "\n";
  const Checkpoint& c = *decoded;
  absl::StrAppendFormat(&out, "  compression %u, page size %u, block size %u, %u blocks, %u pages written\n",
                        c.cmpid, c.pgsz, c.blksz, c.nblock, c.nwrite);
  absl::StrAppendFormat(&out, "  log: byte offset %u (toggle %u), checksums %08x %08x\n", c.log.offset >> 1,
                        c.log.offset & 1, c.log.cksum0, c.log.cksum1);
  absl::StrAppendFormat(&out, "  append points: %u %u %u %u\n", c.append[0], c.append[1], c.append[2], c.append[3]);
  auto seg = [](const Segment& s) {
    return absl::StrFormat("pages %u..%u root %u size %u", s.first, s.last, s.root, s.size);
  };
  absl::StrAppendFormat(&out, "  %u levels (newest first):\n", c.levels.size());
  for (size_t i = 0; i < c.levels.size(); ++i) {
    const Level& l = c.levels[i];
    absl::StrAppendFormat(&out, "    level %u: age %u flags %u, %s\n", i, l.age, l.flags, seg(l.lhs));
    for (size_t k = 0; k < l.rhs.size(); ++k) absl::StrAppendFormat(&out, "      rhs %u: %s\n", k, seg(l.rhs[k]));
    if (!l.rhs.empty()) {
      std::string inputs;
      for (const MergeCursor& in : l.merge.inputs) absl::StrAppendFormat(&inputs, " %u:%u", in.page, in.cell);
      absl::StrAppendFormat(&out, "      merge: nskip %u, inputs%s, split key %u:%u, current pointer %u\n",
                            l.merge.nskip, inputs, l.merge.splitkey.page, l.merge.splitkey.cell, l.merge.current_ptr);
    }
  }
  absl::StrAppendFormat(&out, "  %u block redirects:", c.redirects.size());
  for (const BlockRedirect& r : c.redirects) absl::StrAppendFormat(&out, " %u->%u", r.from, r.to);
  absl::StrAppendFormat(&out, "\n  %u free-list entries:", c.freelist.size());
  for (const FreeEntry& e : c.freelist) {
    if (e.id == kFreeEntryDelete) {
      absl::StrAppendFormat(&out, " %u(delete)", e.block);
    } else {
      absl::StrAppendFormat(&out, " %u(id %d)", e.block, e.id);
    }
  }
  absl::StrAppendFormat(&out, "\n  checksum %08x %08x\n", raw.cksum1, raw.cksum2);
  return out;
}

}  // namespace lsm
