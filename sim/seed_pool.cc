#include "sim/seed_pool.h"

namespace lsm::sim {

int DefaultJobs() { return int(std::max(1u, std::thread::hardware_concurrency())); }

SeedPool::SeedPool(const Scenario& scenario, uint64_t first, uint64_t last, int jobs)
    : scenario_(scenario), last_(last), window_(size_t(std::max(jobs, 1)) * 4), next_(first), taken_(first) {
  if (jobs <= 1) return;
  workers_.reserve(size_t(jobs));
  for (int i = 0; i < jobs; ++i) workers_.emplace_back([this] { Work(); });
}

SeedPool::~SeedPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void SeedPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [&] { return stop_ || (next_ - taken_ < window_ && next_ <= last_ && next_ >= taken_); });
    if (stop_) return;
    const uint64_t seed = next_++;
    lock.unlock();
    SeedResult r = RunSeed(scenario_, seed);
    lock.lock();
    done_.emplace(seed, std::move(r));
    changed_.notify_all();
    if (seed == last_) {  // nothing after the last seed (and next_ must not wrap past ~0)
      stop_ = true;
      changed_.notify_all();
      return;
    }
  }
}

SeedResult SeedPool::Take(uint64_t seed) {
  if (workers_.empty()) return RunSeed(scenario_, seed);
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return done_.count(seed) != 0; });
  SeedResult r = std::move(done_[seed]);
  done_.erase(seed);
  taken_ = seed + 1;
  changed_.notify_all();
  return r;
}

}  // namespace lsm::sim
