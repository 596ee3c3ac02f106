// lsmsim db bench: the engine on PosixEnv against LevelDB on the same workload, in one program run.
// Workload (LevelDB's db_bench shapes): fill-random (N puts of 16-byte keys and 100-byte values in
// random order, one commit each, no sync: safety normal / WriteOptions::sync false), read-random (N gets
// of keys that exist), scan (full forward scans, the fastest of --bench_scans counting for each engine: one
// scan of a million keys takes about 0.1 s, short enough for a scheduler's hiccup to halve it). LevelDB runs without compression, since our format has
// none. Both buffer 4 MB of writes in memory (LevelDB's default write buffer). Prints ops/s per engine and the ratio; timing uses the wall clock, which is fine here: this is a
// measurement, not a simulation.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "engine/db.h"
#include "engine/env/posix_env.h"
#include "leveldb/db.h"
#include "leveldb/options.h"
#include "sim/cli/command.h"
#include "sim/prng.h"

ABSL_FLAG(int64_t, bench_keys, 1000000, "db bench: number of keys");
ABSL_FLAG(int, bench_cache_kb, 64 * 1024, "db bench: lsmsim's page cache (KB; the engine's default)");
ABSL_FLAG(int, bench_rounds, 3, "db bench: rounds (fresh databases each); figures are medians over rounds");
ABSL_FLAG(int, bench_scans, 5, "db bench: full scans per engine and round; the fastest counts (a scan takes ~0.1 s, so one is mostly noise)");
ABSL_FLAG(std::string, bench_dir, "", "db bench: where a fresh directory for the databases is made (default /tmp)");

namespace lsm::cli {
namespace {

constexpr size_t kKeySize = 16;
constexpr size_t kValueSize = 100;

// Key i: 16 decimal digits, so keys are distinct and sort like their numbers.
std::string Key(uint64_t i) { return absl::StrFormat("%016u", i); }

struct Workload {
  std::vector<uint64_t> fill_order;  // a permutation of 0..n-1
  std::vector<uint64_t> read_order;
  std::string values;  // a pool the values are cut from
};

Workload MakeWorkload(uint64_t n) {
  Workload w;
  uint64_t rng = 42;  // SplitMix64 (sim/prng.h): the workload must not depend on std:: generators
  w.fill_order.resize(n);
  for (uint64_t i = 0; i < n; ++i) w.fill_order[i] = i;
  for (uint64_t i = n; i > 1; --i) std::swap(w.fill_order[i - 1], w.fill_order[sim::SplitMix64(&rng) % i]);
  w.read_order.resize(n);
  for (uint64_t i = 0; i < n; ++i) w.read_order[i] = sim::SplitMix64(&rng) % n;
  w.values.resize(1 << 20);
  for (char& c : w.values) c = char('a' + sim::SplitMix64(&rng) % 26);
  return w;
}

std::string_view Value(const Workload& w, uint64_t i) {
  return std::string_view(w.values).substr((i * 7919) % (w.values.size() - kValueSize), kValueSize);
}

struct Figures {
  double fill = 0, read = 0, scan = 0;  // ops/s
  uint64_t found = 0, scanned = 0;
  std::string shape;  // lsmsim's database after the fill
};

using Clock = std::chrono::steady_clock;
double OpsPerSecond(uint64_t ops, Clock::time_point start) {
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  return s > 0 ? double(ops) / s : 0;
}

// --bench_scans full scans, each by `scan` (which returns the keys it saw): f->scan gets the fastest one's
// keys/s, f->scanned the fewest keys any of them saw.
Status TimeScans(Figures* f, const std::function<Result<uint64_t>()>& scan) {
  f->scanned = ~uint64_t{0};
  for (int i = 0; i < absl::GetFlag(FLAGS_bench_scans); ++i) {
    const auto start = Clock::now();
    auto scanned = scan();
    if (!scanned.ok()) return scanned.status();
    f->scan = std::max(f->scan, OpsPerSecond(*scanned, start));
    f->scanned = std::min(f->scanned, *scanned);
  }
  return Status::Ok();
}

Result<Figures> RunLsm(const Workload& w, const std::string& path) {
  Figures f;
  Options options;
  options.safety = Safety::kNormal;
  options.cache_kb = uint32_t(absl::GetFlag(FLAGS_bench_cache_kb));
  options.autoflush_kb = 4096;  // LevelDB's default write buffer: both engines buffer 4 MB in memory
  auto db = Db::Open(PosixEnv::Default(), path, options);
  if (!db.ok()) return db.status();
  auto start = Clock::now();
  for (uint64_t i : w.fill_order) {
    std::string k = Key(i);
    LSM_RETURN_IF_ERROR((*db)->Put(AsBytes(k), AsBytes(Value(w, i))));
  }
  f.fill = OpsPerSecond(w.fill_order.size(), start);
  start = Clock::now();
  for (uint64_t i : w.read_order) {
    std::string k = Key(i);
    auto v = (*db)->Get(AsBytes(k));
    if (!v.ok()) return v.status();
    f.found += v->has_value();
  }
  f.read = OpsPerSecond(w.read_order.size(), start);
  LSM_RETURN_IF_ERROR(TimeScans(&f, [&]() -> Result<uint64_t> {
    uint64_t scanned = 0;
    auto c = (*db)->NewCursor();
    if (!c.ok()) return c.status();
    for (Status s = (*c)->First(); (*c)->Valid(); s = (*c)->Next()) {
      LSM_RETURN_IF_ERROR(s);
      ++scanned;
    }
    return scanned;
  }));
  const Checkpoint& snap = (*db)->snapshot();
  f.shape = absl::StrFormat("%u levels, %u blocks, %u flushes, %u merges", snap.levels.size(), snap.nblock,
                            (*db)->stats().flushes, (*db)->stats().merges);
  LSM_RETURN_IF_ERROR((*db)->Close());
  return f;
}

Result<Figures> RunLevelDb(const Workload& w, const std::string& path) {
  Figures f;
  leveldb::Options options;
  options.create_if_missing = true;
  options.compression = leveldb::kNoCompression;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, path, &raw);
  if (!s.ok()) return Status::IoError("leveldb: " + s.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  auto start = Clock::now();
  for (uint64_t i : w.fill_order) {
    std::string k = Key(i);
    std::string_view v = Value(w, i);
    s = db->Put(leveldb::WriteOptions(), k, leveldb::Slice(v.data(), v.size()));
    if (!s.ok()) return Status::IoError("leveldb: " + s.ToString());
  }
  f.fill = OpsPerSecond(w.fill_order.size(), start);
  start = Clock::now();
  std::string value;
  for (uint64_t i : w.read_order) {
    f.found += db->Get(leveldb::ReadOptions(), Key(i), &value).ok();
  }
  f.read = OpsPerSecond(w.read_order.size(), start);
  LSM_RETURN_IF_ERROR(TimeScans(&f, [&]() -> Result<uint64_t> {
    uint64_t scanned = 0;
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++scanned;
    return scanned;
  }));
  return f;
}

}  // namespace

// Bounds, so a typo fails at once instead of after exhausting memory: the workload keeps two orders
// of 8 bytes a key in memory (20 million keys: 320 MB, plus both databases on disk).
constexpr int64_t kMaxBenchKeys = 20'000'000;
constexpr int kMaxBenchRounds = 100;
// 0 runs without a page cache; 16 GB is more than any machine here has.
constexpr int kMaxBenchCacheKb = 16 * 1024 * 1024;

int RunDbBench() {
  const int64_t n = absl::GetFlag(FLAGS_bench_keys);
  if (n < 1 || n > kMaxBenchKeys) {
    return UsageError(absl::StrFormat("--bench_keys %d is outside 1..%d", n, kMaxBenchKeys));
  }
  const int rounds = absl::GetFlag(FLAGS_bench_rounds);
  if (rounds < 1 || rounds > kMaxBenchRounds) {
    return UsageError(absl::StrFormat("--bench_rounds %d is outside 1..%d", rounds, kMaxBenchRounds));
  }
  const int scans = absl::GetFlag(FLAGS_bench_scans);
  if (scans < 1 || scans > kMaxBenchRounds) {
    return UsageError(absl::StrFormat("--bench_scans %d is outside 1..%d", scans, kMaxBenchRounds));
  }
  const int cache_kb = absl::GetFlag(FLAGS_bench_cache_kb);
  if (cache_kb < 0 || cache_kb > kMaxBenchCacheKb) {
    return UsageError(absl::StrFormat("--bench_cache_kb %d is outside 0..%d", cache_kb, kMaxBenchCacheKb));
  }
  // The databases live in a directory of our own, made fresh under --bench_dir, and only it is
  // removed at the end: --bench_dir may be a directory full of someone's files.
  std::string base = absl::GetFlag(FLAGS_bench_dir);
  std::error_code ec;
  if (base.empty()) base = "/tmp";
  if (!std::filesystem::create_directories(base, ec) && ec) {
    return UsageError("cannot create " + base + ": " + ec.message());
  }
  std::string tmpl = base + "/lsmsim-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return UsageError(absl::StrFormat("cannot create a directory under %s: %s", base, std::strerror(errno)));
  }
  const std::string dir = tmpl;
  struct RemoveAtExit {
    const std::string& dir;
    ~RemoveAtExit() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_at_exit{dir};
  std::printf("db bench: %lld keys of %zu bytes, values of %zu bytes, in %s\n", (long long)n, kKeySize, kValueSize, dir.c_str());
  Workload w = MakeWorkload(uint64_t(n));
  std::vector<Figures> lsm_runs, ldb_runs;
  for (int r = 0; r < rounds; ++r) {
    // Alternate which engine goes first, so neither always runs on a warmer or cooler machine.
    const std::string lsm_dir = absl::StrFormat("%s/lsm%d.db", dir, r), ldb_dir = absl::StrFormat("%s/leveldb%d", dir, r);
    Result<Figures> lsm = Status::Ok(), ldb = Status::Ok();
    if (r % 2 == 0) {
      lsm = RunLsm(w, lsm_dir);
      ldb = RunLevelDb(w, ldb_dir);
    } else {
      ldb = RunLevelDb(w, ldb_dir);
      lsm = RunLsm(w, lsm_dir);
    }
    if (!lsm.ok()) return InputError(lsm.status());
    if (!ldb.ok()) return InputError(ldb.status());
    std::filesystem::remove_all(lsm_dir, ec);
    std::filesystem::remove_all(lsm_dir + "-log", ec);
    std::filesystem::remove_all(ldb_dir, ec);
    if (lsm->found != uint64_t(n) || ldb->found != uint64_t(n) || lsm->scanned != uint64_t(n) ||
        ldb->scanned != uint64_t(n)) {
      std::printf("MISMATCH: lsmsim found %llu scanned %llu, leveldb found %llu scanned %llu (expected %lld)\n",
                  (unsigned long long)lsm->found, (unsigned long long)lsm->scanned, (unsigned long long)ldb->found,
                  (unsigned long long)ldb->scanned, (long long)n);
      return kExitFailed;
    }
    std::printf("round %d: fill %.2fx, read %.2fx, scan %.2fx (lsmsim %.0f / %.0f / %.0f ops/s)\n", r + 1,
                lsm->fill / ldb->fill, lsm->read / ldb->read, lsm->scan / ldb->scan, lsm->fill, lsm->read, lsm->scan);
    std::fflush(stdout);
    lsm_runs.push_back(*lsm);
    ldb_runs.push_back(*ldb);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto row = [&](const char* name, double Figures::*field) {
    std::vector<double> a, b, ratio;
    for (size_t i = 0; i < lsm_runs.size(); ++i) {
      a.push_back(lsm_runs[i].*field);
      b.push_back(ldb_runs[i].*field);
      ratio.push_back(ldb_runs[i].*field > 0 ? lsm_runs[i].*field / (ldb_runs[i].*field) : 0);
    }
    std::printf("%-12s lsmsim %12.0f ops/s   leveldb %12.0f ops/s   ratio %.2fx\n", name, median(a), median(b),
                median(ratio));
  };
  std::printf("median of %d rounds:\n", rounds);
  row("fill-random", &Figures::fill);
  row("read-random", &Figures::read);
  row("scan", &Figures::scan);
  std::printf("lsmsim database: %s\n", lsm_runs.back().shape.c_str());
  return kExitOk;
}

}  // namespace lsm::cli
