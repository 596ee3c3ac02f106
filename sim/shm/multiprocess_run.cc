#include "sim/shm/multiprocess_run.h"

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/db.h"
#include "sim/sched/scheduler.h"
#include "sim/sim_env.h"

namespace lsm::sim {
namespace {

constexpr int kAttempts = 2000;         // retries of a kBusy call before the run counts as starved
constexpr uint64_t kKillOdds = 1000;    // a process dies at one Env call in this many (with kill)
constexpr int kMaxKills = 2;
constexpr int kSnapshotsPerReader = 12;
constexpr int kWorkRounds = 8;

Options SharedOptions() {
  Options o;
  o.shared_memory = true;
  o.page_size = 1024;
  o.block_size = 64 * 1024;
  o.autoflush_kb = 2;  // a flush (a new tree generation) every few commits
  o.autocheckpoint_kb = 16;
  o.cache_kb = 64;
  return o;
}

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string WriterKey(int w, int i) { return absl::StrFormat("w%d-%06d", w, i); }

// What a snapshot says, or why it is one no order of the commits could have made.
struct Snapshot {
  std::vector<int> counts;  // keys per writer
  std::string error;
};

Snapshot Judge(const std::map<std::string, std::string>& kv, int writers) {
  Snapshot s;
  s.counts.assign(size_t(writers), 0);
  std::vector<bool> seen;
  uint64_t c = 0;
  for (const auto& [k, v] : kv) {
    uint64_t value = 0;
    for (char ch : v) value = value * 10 + uint64_t(ch - '0');
    if (k == "c") {
      c = value;
      continue;
    }
    int w = -1, i = -1;
    if (std::sscanf(k.c_str(), "w%d-%d", &w, &i) != 2 || w < 0 || w >= writers) {
      s.error = "a key no writer wrote: " + k;
      return s;
    }
    if (i != s.counts[size_t(w)]) {
      s.error = absl::StrFormat("writer %d's keys are not a prefix: key %d present after %d keys", w, i,
                                s.counts[size_t(w)]);
      return s;
    }
    ++s.counts[size_t(w)];
    if (value == 0 || value > 1'000'000) {
      s.error = absl::StrFormat("%s holds counter value %s", k, v);
      return s;
    }
    if (seen.size() <= value) seen.resize(value + 1, false);
    if (seen[value]) {
      s.error = absl::StrFormat("two commits both read counter %u (a lost update)", value - 1);
      return s;
    }
    seen[value] = true;
  }
  uint64_t total = 0;
  for (int n : s.counts) total += uint64_t(n);
  if (c != total) {
    s.error = absl::StrFormat("counter c is %u but %u writer keys are present", c, total);
    return s;
  }
  for (uint64_t v = 1; v <= total; ++v) {
    if (v >= seen.size() || !seen[v]) {
      s.error = absl::StrFormat("no key holds counter value %u of %u", v, total);
      return s;
    }
  }
  return s;
}

Result<std::map<std::string, std::string>> Dump(Db& db) {
  auto c = db.NewCursor();
  if (!c.ok()) return c.status();
  std::map<std::string, std::string> kv;
  LSM_RETURN_IF_ERROR((*c)->First());
  while ((*c)->Valid()) {
    kv.emplace(std::string((*c)->key().begin(), (*c)->key().end()),
               std::string((*c)->value().begin(), (*c)->value().end()));
    LSM_RETURN_IF_ERROR((*c)->Next());
  }
  return kv;
}

}  // namespace

MultiprocessResult RunMultiprocess(uint64_t seed, const MultiprocessConfig& config) {
  PrngDecisions d(seed);
  SimEnv::Options env_options;
  env_options.max_yields_per_call = 0;  // calls span other processes' turns: no per-call watchdog
  SimEnv env(nullptr, env_options);
  env.set_shm_visibility(&d, config.faults);
  Scheduler sched(&d);
  sched.set_on_switch([&](int p) { env.set_process(p); });
  MultiprocessResult r;
  auto fail = [&](const std::string& what) {
    // What a killed process's calls return (they all fail) is not the engine's doing.
    if (!r.pass || (sched.current() >= 0 && env.killed(sched.current()))) return;
    r.pass = false;
    r.message = what;
  };
  // Every Env call and every barrier of a process is a scheduling point, and (with kill) a point where
  // it may die: at a barrier, that is between the two copies of a publication.
  auto point = [&] {
    const int p = sched.current();
    if (p < 0) return;  // the final check, run by the caller
    if (config.kill && r.kills < kMaxKills && d.Below(kKillOdds) == 0) {
      // From here on every Env call of p fails: its code runs on until it notices, touching nothing
      // (a dead process's stores never arrive, its locks are gone).
      ++r.kills;
      env.KillProcess(p);
      return;
    }
    sched.Yield();
  };
  env.set_step_hook([&](uint64_t, std::string_view, const std::string&, uint64_t, uint64_t) { point(); });
  env.set_barrier_hook(point);

  std::vector<int> acked(size_t(config.writers), 0);
  std::vector<bool> in_flight(size_t(config.writers), false);
  auto open = [&](Env* penv) -> std::unique_ptr<Db> {
    for (int attempt = 0; attempt < kAttempts && !env.killed(sched.current()); ++attempt) {
      auto db = Db::Open(penv, "db", SharedOptions());
      if (db.ok()) return std::move(db).value();
      if (db.status().code() != Code::kBusy) {
        fail("open: " + db.status().ToString());
        return nullptr;
      }
      ++r.busy;
      sched.Yield();
    }
    fail("open: busy for every attempt");
    return nullptr;
  };

  for (int w = 0; w < config.writers; ++w) {
    sched.Spawn([&, w](int self) {
      EnvWrapper penv(&env);
      std::unique_ptr<Db> db = open(&penv);
      if (!db) return;
      for (int i = 0; i < config.commits_per_writer && r.pass && !env.killed(self); ++i) {
        bool done = false;
        for (int attempt = 0; attempt < kAttempts && !done && r.pass && !env.killed(self); ++attempt) {
          // Read the counter, write it back incremented, and into this writer's next key.
          Status s = db->Begin();
          std::optional<Bytes> counter;
          if (s.ok()) {
            auto got = db->Get(B("c"));
            s = got.status();
            if (got.ok()) counter = *got;
          }
          uint64_t c = 0;
          if (counter) {
            for (uint8_t ch : *counter) c = c * 10 + uint64_t(ch - '0');
          }
          const std::string next = std::to_string(c + 1);
          if (s.ok()) s = db->Put(B("c"), B(next));
          if (s.ok()) s = db->Put(B(WriterKey(w, i)), B(next));
          if (s.ok()) {
            in_flight[size_t(w)] = true;
            s = db->Commit();
            // A process killed during its commit never hears back: whatever Commit returned to the
            // code running on, the commit stays in flight (made or not).
            if (env.killed(self)) return;
            in_flight[size_t(w)] = false;
            if (s.ok()) {
              acked[size_t(w)] = i + 1;
              ++r.commits;
              done = true;
              continue;
            }
          }
          if (db->transaction_depth() > 0) (void)db->Rollback();
          if (s.code() != Code::kBusy) return fail(absl::StrFormat("writer %d commit %d: %s", w, i, s.ToString()));
          ++r.busy;
          sched.Yield();
        }
        if (!done && r.pass) return fail(absl::StrFormat("writer %d starved at commit %d", w, i));
      }
      Status s = db->Close();
      if (!s.ok()) fail(absl::StrFormat("writer %d close: %s", w, s.ToString()));
    });
  }
  for (int rd = 0; rd < config.readers; ++rd) {
    sched.Spawn([&, rd](int self) {
      EnvWrapper penv(&env);
      std::unique_ptr<Db> db = open(&penv);
      if (!db) return;
      std::vector<int> last(size_t(config.writers), 0);
      for (int n = 0; n < kSnapshotsPerReader && r.pass && !env.killed(self); ++n) {
        auto kv = Dump(*db);
        if (!kv.ok()) {
          if (kv.status().code() != Code::kBusy) return fail(absl::StrFormat("reader %d: %s", rd, kv.status().ToString()));
          ++r.busy;
          sched.Yield();
          continue;
        }
        ++r.snapshots;
        Snapshot s = Judge(*kv, config.writers);
        if (!s.error.empty()) return fail(absl::StrFormat("reader %d snapshot %d: %s", rd, n, s.error));
        for (int w = 0; w < config.writers; ++w) {
          if (s.counts[size_t(w)] < last[size_t(w)]) {
            return fail(absl::StrFormat("reader %d went back in time: writer %d's keys %d after %d", rd, w,
                                        s.counts[size_t(w)], last[size_t(w)]));
          }
        }
        last = s.counts;
        sched.Yield();
      }
      Status s = db->Close();
      if (!s.ok()) fail(absl::StrFormat("reader %d close: %s", rd, s.ToString()));
    });
  }
  if (config.worker) {
    sched.Spawn([&](int self) {
      EnvWrapper penv(&env);
      std::unique_ptr<Db> db = open(&penv);
      if (!db) return;
      for (int n = 0; n < kWorkRounds && r.pass && !env.killed(self); ++n) {
        auto w = db->Work(2, 4);
        if (!w.ok() && w.status().code() != Code::kBusy) return fail("worker: " + w.status().ToString());
        Status s = db->Checkpoint();
        if (!s.ok() && s.code() != Code::kBusy) return fail("worker checkpoint: " + s.ToString());
        sched.Yield();
      }
      Status s = db->Close();
      if (!s.ok()) fail("worker close: " + s.ToString());
    });
  }
  sched.Run();
  r.switches = sched.switches();
  if (!r.pass) return r;

  // Everyone is gone: a fresh process rebuilds shared memory from the files and must find every
  // acknowledged commit (a process crash loses nothing written), and at most the one in flight.
  env.set_process(1000);
  EnvWrapper last_env(&env);
  auto db = Db::Open(&last_env, "db", SharedOptions());
  if (!db.ok()) {
    fail("final open: " + db.status().ToString());
    return r;
  }
  auto kv = Dump(**db);
  if (!kv.ok()) {
    fail("final dump: " + kv.status().ToString());
    return r;
  }
  Snapshot s = Judge(*kv, config.writers);
  if (!s.error.empty()) fail("after everyone left: " + s.error);
  for (int w = 0; w < config.writers && r.pass; ++w) {
    const int n = s.counts[size_t(w)];
    const int a = acked[size_t(w)];
    if (n != a && !(n == a + 1 && in_flight[size_t(w)])) {
      fail(absl::StrFormat("after everyone left writer %d has %d keys, but %d commits were acknowledged%s", w, n, a,
                           in_flight[size_t(w)] ? " (one more was in flight)" : ""));
    }
  }
  Status closed = (*db)->Close();
  if (!closed.ok() && r.pass) fail("final close: " + closed.ToString());
  return r;
}

}  // namespace lsm::sim
