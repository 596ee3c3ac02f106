#include "sim/seed_pool.h"

namespace lsm::sim {

int DefaultJobs() { return int(std::max(1u, std::thread::hardware_concurrency())); }

SeedPool::SeedPool(const Scenario& scenario, uint64_t first, uint64_t last, uint64_t stride, int jobs,
                   const RunOptions& options)
    : scenario_(scenario), options_(options), first_(first), stride_(std::max<uint64_t>(stride, 1)),
      count_(last == ~uint64_t{0} ? ~uint64_t{0} : (last - first) / std::max<uint64_t>(stride, 1) + 1),
      window_(uint64_t(std::max(jobs, 1)) * 4) {
  if (jobs <= 1 || options_.events != nullptr || count_ == 1) return;
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
    changed_.wait(lock, [&] { return stop_ || (next_ - taken_ < window_ && next_ < count_); });
    if (stop_) return;
    const uint64_t seed = first_ + next_++ * stride_;
    lock.unlock();
    SeedResult r = RunSeed(scenario_, seed, options_);
    lock.lock();
    done_.emplace(seed, std::move(r));
    changed_.notify_all();
  }
}

SeedResult SeedPool::Take(uint64_t seed) {
  if (workers_.empty()) return RunSeed(scenario_, seed, options_);
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return done_.count(seed) != 0; });
  SeedResult r = std::move(done_[seed]);
  done_.erase(seed);
  taken_ = (seed - first_) / stride_ + 1;
  changed_.notify_all();
  return r;
}

}  // namespace lsm::sim
