#include "sim/sched/scheduler.h"

namespace lsm::sim {

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ending_ = true;
    for (auto& p : procs_) p->wake.notify_one();
  }
  for (auto& p : procs_) {
    if (p->thread.joinable()) p->thread.join();
  }
}

int Scheduler::Spawn(std::function<void(int)> body) {
  auto p = std::make_unique<Process>();
  p->body = std::move(body);
  procs_.push_back(std::move(p));
  return int(procs_.size()) - 1;
}

void Scheduler::Body(int self) {
  std::unique_lock<std::mutex> lock(mu_);
  try {
    WaitTurn(lock, self);
    lock.unlock();
    procs_[size_t(self)]->body(self);
    lock.lock();
    procs_[size_t(self)]->state = State::kDone;
  } catch (const Killed&) {
    if (!lock.owns_lock()) lock.lock();
    if (ending_) return;  // woken to unwind after the run: nobody is waiting for the baton
  }
  HandOver(lock);
}

void Scheduler::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (size_t i = 0; i < procs_.size(); ++i) {
    procs_[i]->thread = std::thread([this, i] { Body(int(i)); });
  }
  HandOver(lock);
  main_wake_.wait(lock, [&] { return running_ == kMain; });
}

void Scheduler::HandOver(std::unique_lock<std::mutex>&) {
  std::vector<int> live;
  for (size_t i = 0; i < procs_.size(); ++i) {
    if (procs_[i]->state == State::kLive) live.push_back(int(i));
  }
  const int next = live.empty() ? kMain : live[size_t(d_->Below(live.size()))];
  if (next != running_) ++switches_;
  running_ = next;
  if (next != kMain && on_switch_) on_switch_(next);
  if (next == kMain) {
    main_wake_.notify_one();
  } else {
    procs_[size_t(next)]->wake.notify_one();
  }
}

void Scheduler::WaitTurn(std::unique_lock<std::mutex>& lock, int self) {
  Process& p = *procs_[size_t(self)];
  p.wake.wait(lock, [&] { return running_ == self || ending_; });
  if (p.state == State::kKilled || ending_) throw Killed{};
}

void Scheduler::Yield() {
  std::unique_lock<std::mutex> lock(mu_);
  const int self = running_;
  HandOver(lock);
  if (running_ == self) return;  // picked itself: runs on
  WaitTurn(lock, self);
}

void Scheduler::Kill(int p) {
  std::unique_lock<std::mutex> lock(mu_);
  procs_[size_t(p)]->state = State::kKilled;
  if (p == running_) {
    lock.unlock();
    throw Killed{};  // Body hands the baton on
  }
}

}  // namespace lsm::sim
