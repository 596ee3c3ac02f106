// lsmsim db load|dump|get|put|check|bench: the engine on real files (PosixEnv), default options except
// what db load's flags set for the database it creates.
// dump, load, get and put close the database cleanly, as the seed's last disconnect does: recovery may
// write (log replay is flushed and checkpointed) and the log is deleted. check writes nothing.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "engine/db.h"
#include "engine/env/posix_env.h"
#include "sim/cli/command.h"

// The geometry and behaviour of a database db load creates; the defaults are Options' (engine/db.h).
ABSL_FLAG(int64_t, page_size, 4096, "db load: page size in bytes (a power of two, 256..65536)");
ABSL_FLAG(int64_t, block_size, 1 << 20, "db load: block size in bytes (a power of two, 65536..67108864)");
ABSL_FLAG(std::string, safety, "normal", "db load: off | normal | full (what each commit promises)");
ABSL_FLAG(int64_t, automerge, 4, "db load: levels of one age merged together (2..16)");

namespace lsm::cli {
namespace {

constexpr const char* kUsage =
    "db load FILE [--page_size B] [--block_size B] [--safety off|normal|full] [--automerge N] < TSV | "
    "db dump FILE | db get FILE KEY_HEX | db put FILE KEY_HEX VALUE_HEX | db check FILE | db bench";

// The engine merges early when a checkpoint would overflow, so any automerge >= 2 is safe; more than
// 16 levels of one age waiting for a merge is no useful configuration, and likely a typo.
constexpr int64_t kMaxAutomerge = 16;
// One TSV line: hex of a key and a value. 64 MiB (32 MiB of bytes) is far beyond any real record and
// keeps a stream without newlines (/dev/zero) from eating memory.
constexpr size_t kMaxLine = size_t{64} << 20;

bool PowerOfTwoIn(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi && (v & (v - 1)) == 0; }

// db load's options from its flags, or a one-line error naming the flag.
bool LoadOptions(Options* o) {
  const int64_t page = absl::GetFlag(FLAGS_page_size), block = absl::GetFlag(FLAGS_block_size);
  const int64_t automerge = absl::GetFlag(FLAGS_automerge);
  const std::string safety = absl::GetFlag(FLAGS_safety);
  if (!PowerOfTwoIn(page, 256, 65536)) {
    UsageError(absl::StrFormat("--page_size %d is not a power of two in 256..65536 (bytes)", page));
    return false;
  }
  if (!PowerOfTwoIn(block, 64 << 10, 64 << 20)) {
    UsageError(absl::StrFormat("--block_size %d is not a power of two in 65536..67108864 (bytes: 64 KB..64 MB)", block));
    return false;
  }
  if (block < 2 * page) {
    UsageError(absl::StrFormat("--block_size %d holds fewer than 2 pages of --page_size %d", block, page));
    return false;
  }
  if (automerge < 2 || automerge > kMaxAutomerge) {
    UsageError(absl::StrFormat("--automerge %d is outside 2..%d", automerge, kMaxAutomerge));
    return false;
  }
  if (safety == "off") {
    o->safety = Safety::kOff;
  } else if (safety == "normal") {
    o->safety = Safety::kNormal;
  } else if (safety == "full") {
    o->safety = Safety::kFull;
  } else {
    UsageError(absl::StrFormat("--safety '%s' is not off, normal or full", safety));
    return false;
  }
  o->page_size = uint32_t(page);
  o->block_size = uint32_t(block);
  o->automerge = uint32_t(automerge);
  return true;
}

// The load flags shape a new database only; on any other command they would be silently ignored.
bool NoLoadFlags(const std::string& verb) {
  const Options defaults;
  const char* set = absl::GetFlag(FLAGS_page_size) != int64_t(defaults.page_size)     ? "--page_size"
                    : absl::GetFlag(FLAGS_block_size) != int64_t(defaults.block_size) ? "--block_size"
                    : absl::GetFlag(FLAGS_safety) != SafetyName(defaults.safety)      ? "--safety"
                    : absl::GetFlag(FLAGS_automerge) != int64_t(defaults.automerge)   ? "--automerge"
                                                                                       : nullptr;
  if (set == nullptr) return true;
  UsageError(absl::StrFormat("%s applies to db load only, not db %s", set, verb));
  return false;
}

// Reads one line of stdin without its newline into *line: false at end of input, and *error set when
// reading failed or the line is longer than kMaxLine.
bool ReadLine(std::string* line, std::string* error) {
  line->clear();
  for (;;) {
    int c = getc_unlocked(stdin);  // one thread reads stdin
    if (c == EOF) {
      if (std::ferror(stdin)) *error = absl::StrFormat("cannot read stdin: %s", std::strerror(errno));
      return !line->empty() && error->empty();
    }
    if (c == '\n') return true;
    if (line->size() == kMaxLine) {
      *error = absl::StrFormat("longer than %u bytes", kMaxLine);
      return false;
    }
    line->push_back(char(c));
  }
}

// Opens an existing database (dump, get, put, check must not create one by accident).
Result<std::unique_ptr<Db>> OpenExisting(const std::string& path) {
  auto exists = PosixEnv::Default()->Exists(path);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status::NotFound(path + ": no such database file");
  return Db::Open(PosixEnv::Default(), path, Options{});
}

// Status of an engine call as an exit code: corrupt or foreign files and bad input are exit 2.
int Finish(std::unique_ptr<Db> db, int code) {
  Status s = db->Close();
  if (!s.ok()) return InputError(s);
  return code;
}

bool ParseHex(const std::string& hex, const char* what, Bytes* out) {
  if (FromHex(hex, out)) return true;
  UsageError(absl::StrFormat("%s '%s' is not hex (an even number of 0-9a-f digits)", what, hex));
  return false;
}

int Dump(const std::string& path) {
  auto db = OpenExisting(path);
  if (!db.ok()) return InputError(db.status());
  auto c = (*db)->NewCursor();
  if (!c.ok()) return InputError(c.status());
  Status s = (*c)->First();
  std::string out;
  while (s.ok() && (*c)->Valid()) {
    out += ToHex((*c)->key());
    out += '\t';
    out += ToHex((*c)->value());
    out += '\n';
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
    s = (*c)->Next();
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  c->reset();
  if (!s.ok()) return InputError(s);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    Finish(std::move(*db), kExitOk);
    return UsageError(absl::StrFormat("cannot write to stdout: %s", std::strerror(errno)));
  }
  return Finish(std::move(*db), kExitOk);
}

// Creates the database from stdin's lines. On bad input the new files are removed again: db load
// never leaves half a database behind (the path did not exist before).
int Load(const std::string& path) {
  Options options;
  if (!LoadOptions(&options)) return kExitUsage;
  auto exists = PosixEnv::Default()->Exists(path);
  if (!exists.ok()) return InputError(exists.status());
  if (*exists) return UsageError(path + ": already exists (db load creates a new database)");
  auto db = Db::Open(PosixEnv::Default(), path, options);
  if (!db.ok()) return InputError(db.status());
  auto fail = [&](const std::string& message) {
    (*db)->Close().ok();  // closed before the unlink, so nothing writes to the removed file
    db->reset();
    PosixEnv::Default()->Unlink(path).ok();
    PosixEnv::Default()->Unlink(path + "-log").ok();
    return UsageError(message + " (nothing loaded: " + path + " removed)");
  };
  std::string line, error;
  uint64_t lineno = 0;
  Bytes key, value;
  Status s = (*db)->Begin();
  uint64_t in_txn = 0;
  while (s.ok() && ReadLine(&line, &error)) {
    ++lineno;
    size_t tab = line.find('\t');
    if (tab == std::string::npos || !FromHex(line.substr(0, tab), &key) || !FromHex(line.substr(tab + 1), &value)) {
      return fail(absl::StrFormat("stdin line %u: expected HEX_KEY<TAB>HEX_VALUE", lineno));
    }
    s = (*db)->Put(key, value);
    // Transactions of 1000 puts: far fewer log commits than one per line, still bounded undo.
    if (s.ok() && ++in_txn == 1000) {
      s = (*db)->Commit();
      if (s.ok()) s = (*db)->Begin();
      in_txn = 0;
    }
  }
  if (!error.empty()) return fail(absl::StrFormat("stdin line %u: %s", lineno + 1, error));
  if (s.ok()) s = (*db)->Commit();
  if (!s.ok()) return InputError(s);
  return Finish(std::move(*db), kExitOk);
}

int Get(const std::string& path, const std::string& key_hex) {
  Bytes key;
  if (!ParseHex(key_hex, "key", &key)) return kExitUsage;
  auto db = OpenExisting(path);
  if (!db.ok()) return InputError(db.status());
  auto v = (*db)->Get(key);
  if (!v.ok()) return InputError(v.status());
  if (!*v) {
    std::fprintf(stderr, "lsmsim: key %s not found\n", key_hex.c_str());
    return Finish(std::move(*db), kExitFailed);
  }
  std::printf("%s\n", ToHex(**v).c_str());
  return Finish(std::move(*db), kExitOk);
}

int Put(const std::string& path, const std::string& key_hex, const std::string& value_hex) {
  Bytes key, value;
  if (!ParseHex(key_hex, "key", &key) || !ParseHex(value_hex, "value", &value)) return kExitUsage;
  auto db = OpenExisting(path);
  if (!db.ok()) return InputError(db.status());
  Status s = (*db)->Put(key, value);
  if (!s.ok()) return InputError(s);
  return Finish(std::move(*db), kExitOk);
}

// Read-only: reports what is wrong with the file as it is on disk, including the problems for which
// every other command refuses it.
int Check(const std::string& path) {
  auto check = Db::CheckFile(PosixEnv::Default(), path);
  if (!check.ok()) return InputError(check.status());
  if (!check->problems.empty()) {
    std::printf("%s", check->problems.c_str());
    return kExitFailed;
  }
  const Checkpoint& s = check->snapshot;
  std::printf("ok: checkpoint %llu, %zu levels, %u blocks (%zu free), page size %u, block size %u\n",
              (unsigned long long)s.id, s.levels.size(), s.nblock, check->free_blocks, s.pgsz, s.blksz);
  return kExitOk;
}

}  // namespace

int RunDb(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError(std::string("usage: lsmsim ") + kUsage);
  const std::string& verb = args[0];
  auto need = [&](size_t n) {
    if (args.size() == n + 1) return true;
    UsageError(absl::StrFormat("db %s takes %u argument%s (usage: lsmsim %s)", verb, n, n == 1 ? "" : "s", kUsage));
    return false;
  };
  if (verb != "load" && !NoLoadFlags(verb)) return kExitUsage;
  if (verb == "dump") return need(1) ? Dump(args[1]) : kExitUsage;
  if (verb == "load") return need(1) ? Load(args[1]) : kExitUsage;
  if (verb == "get") return need(2) ? Get(args[1], args[2]) : kExitUsage;
  if (verb == "put") return need(3) ? Put(args[1], args[2], args[3]) : kExitUsage;
  if (verb == "check") return need(1) ? Check(args[1]) : kExitUsage;
  if (verb == "bench") return need(0) ? RunDbBench() : kExitUsage;
  return UsageError(absl::StrFormat("unknown db command '%s' (usage: lsmsim %s)", verb, kUsage));
}

}  // namespace lsm::cli
