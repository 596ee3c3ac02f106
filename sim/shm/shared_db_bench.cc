// lsmsim_shm_bench: fill and read through PosixEnv by one process without shared memory (today's fast
// path), one process with it, and two processes sharing the database (forked, each doing half), all in
// the same run, so the ratios compare like with like. Wall-clock figures: a benchmark, not a test.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "engine/db.h"
#include "engine/env/posix_env.h"

namespace {

using lsm::Bytes;

constexpr int kKeys = 200000;
constexpr size_t kValue = 100;

Bytes Key(int i) {
  char buf[32];
  // Scattered order, distinct keys.
  std::snprintf(buf, sizeof buf, "key%012u", unsigned((uint64_t(i) * 2654435761u) % 4294967291u));
  return Bytes(buf, buf + 15);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

lsm::Options OptionsFor(bool shared) {
  lsm::Options o;
  o.shared_memory = shared;
  o.safety = lsm::Safety::kOff;  // the cost of sharing, not of fsync
  return o;
}

// Writes (or reads) keys [from, to) of the database at `path`; exits non-zero on an error.
int Work(const std::string& path, bool shared, bool write, int from, int to) {
  auto db = lsm::Db::Open(lsm::PosixEnv::Default(), path, OptionsFor(shared));
  while (!db.ok() && db.status().code() == lsm::Code::kBusy) db = lsm::Db::Open(lsm::PosixEnv::Default(), path, OptionsFor(shared));
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 2;
  }
  const Bytes value(kValue, 'v');
  for (int i = from; i < to; ++i) {
    if (write) {
      lsm::Status s;
      do {
        s = (*db)->Put(Key(i), value);
      } while (s.code() == lsm::Code::kBusy);
      if (!s.ok()) return 3;
    } else {
      auto v = (*db)->Get(Key(i));
      if (!v.ok() || !*v) return 4;
    }
  }
  return (*db)->Close().ok() ? 0 : 5;
}

// Runs `procs` processes, each on an equal share of the keys; seconds of wall time.
double Run(const std::string& path, bool shared, bool write, int procs) {
  const auto start = std::chrono::steady_clock::now();
  if (procs == 1) {
    if (Work(path, shared, write, 0, kKeys) != 0) std::exit(1);
    return Seconds(start);
  }
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(Work(path, shared, write, kKeys / procs * p, kKeys / procs * (p + 1)));
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "a child failed (status %d)\n", status);
      std::exit(1);
    }
  }
  return Seconds(start);
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/lsmsim_shm_bench_XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (dir == nullptr) return 1;
  std::printf("%d keys of 15 bytes, values of %zu bytes, safety off, PosixEnv in %s\n", kKeys, kValue, dir);
  struct Case {
    const char* name;
    bool shared;
    int procs;
  };
  double base_fill = 0, base_read = 0;
  for (const Case& c : {Case{"1 process, no shared memory", false, 1}, Case{"1 process, shared memory", true, 1},
                        Case{"2 processes, shared memory", true, 2}}) {
    const std::string path = std::string(dir) + "/" + (c.shared ? "s" : "p") + std::to_string(c.procs) + ".db";
    const double fill = Run(path, c.shared, true, c.procs);
    const double read = Run(path, c.shared, false, c.procs);
    if (base_fill == 0) {
      base_fill = fill;
      base_read = read;
    }
    std::printf("%-30s fill %9.0f ops/s (%.2fx)   read %9.0f ops/s (%.2fx)\n", c.name, kKeys / fill, base_fill / fill,
                kKeys / read, base_read / read);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
