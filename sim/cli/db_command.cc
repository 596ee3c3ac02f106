// lsmsim db load|dump|get|put|check|bench: the engine on real files (PosixEnv), default options.
// dump, load, get and put close the database cleanly, as the seed's last disconnect does: recovery may
// write (log replay is flushed and checkpointed) and the log is deleted. check writes nothing.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "engine/db.h"
#include "engine/posix_env.h"
#include "sim/cli/command.h"

namespace lsm::cli {
namespace {

constexpr const char* kUsage =
    "db load FILE < TSV | db dump FILE | db get FILE KEY_HEX | db put FILE KEY_HEX VALUE_HEX | db check FILE | "
    "db bench";

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
  return Finish(std::move(*db), kExitOk);
}

int Load(const std::string& path) {
  auto exists = PosixEnv::Default()->Exists(path);
  if (!exists.ok()) return InputError(exists.status());
  if (*exists) return UsageError(path + ": already exists (db load creates a new database)");
  auto db = Db::Open(PosixEnv::Default(), path, Options{});
  if (!db.ok()) return InputError(db.status());
  std::string line;
  uint64_t lineno = 0;
  Bytes key, value;
  Status s = (*db)->Begin();
  uint64_t in_txn = 0;
  while (s.ok() && std::getline(std::cin, line)) {
    ++lineno;
    size_t tab = line.find('\t');
    if (tab == std::string::npos || !FromHex(line.substr(0, tab), &key) || !FromHex(line.substr(tab + 1), &value)) {
      (*db)->Close().ok();
      return UsageError(absl::StrFormat("stdin line %u: expected HEX_KEY<TAB>HEX_VALUE", lineno));
    }
    s = (*db)->Put(key, value);
    // Transactions of 1000 puts: far fewer log commits than one per line, still bounded undo.
    if (s.ok() && ++in_txn == 1000) {
      s = (*db)->Commit();
      if (s.ok()) s = (*db)->Begin();
      in_txn = 0;
    }
  }
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
  if (verb == "dump") return need(1) ? Dump(args[1]) : kExitUsage;
  if (verb == "load") return need(1) ? Load(args[1]) : kExitUsage;
  if (verb == "get") return need(2) ? Get(args[1], args[2]) : kExitUsage;
  if (verb == "put") return need(3) ? Put(args[1], args[2], args[3]) : kExitUsage;
  if (verb == "check") return need(1) ? Check(args[1]) : kExitUsage;
  if (verb == "bench") return need(0) ? RunDbBench() : kExitUsage;
  return UsageError(absl::StrFormat("unknown db command '%s' (usage: lsmsim %s)", verb, kUsage));
}

}  // namespace lsm::cli
