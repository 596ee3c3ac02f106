// Simulated processes, one running at a time, switched at scheduling points the decision stream
// chooses (issue 14's scheduler). Each process is a thread that runs only while it holds the baton;
// Yield hands the baton to the process the decisions pick (perhaps itself). With one thread running at
// a time, and the choice a decision, a run is as deterministic as the decisions.
//
// Why threads and a baton, not fibers: the engine's code runs unchanged on a thread's own stack, and
// ASan and UBSan need no fiber annotations (a swapcontext fiber confuses ASan's stack tracking unless
// every switch is annotated). The price (BENCHMARKS.md, lsmsim_switch_bench): about 2 us per switch on
// one core, 10x a ucontext fiber's and about half of a simulated Env step. Should switching at every
// step show in the campaigns' seeds/s, fibers with ASan's fiber annotations are the next step.
//
// A killed process never runs again; when the run ends, its thread is woken and unwinds (Yield throws
// Killed, which the process body must let through: RAII cleans up, as a crash leaves nothing to run).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sim/decisions.h"

namespace lsm::sim {

class Scheduler {
 public:
  struct Killed {};  // thrown by Yield in a killed process, to unwind it

  explicit Scheduler(Decisions* d) : d_(d) {}
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Adds a process; body(id) runs when the scheduler first picks it. Before Run only.
  int Spawn(std::function<void(int)> body);
  // Runs until every process has returned or been killed.
  void Run();
  // A scheduling point of the running process: the decisions pick who runs next among the live ones.
  void Yield();
  // Kills process p (from the running process, or before Run): it never runs again. A process that
  // kills itself stops at once (Yield throws Killed).
  void Kill(int p);

  // Called (baton held) with the process about to run, at every hand-over: SimEnv::set_process.
  void set_on_switch(std::function<void(int)> fn) { on_switch_ = std::move(fn); }

  int current() const { return running_; }
  bool alive(int p) const { return procs_[size_t(p)]->state == State::kLive; }
  uint64_t switches() const { return switches_; }  // hand-overs between different processes

 private:
  enum class State { kLive, kDone, kKilled };
  struct Process {
    std::function<void(int)> body;
    std::thread thread;
    std::condition_variable wake;
    State state = State::kLive;
  };
  static constexpr int kMain = -1;  // the caller of Run waits as "process -1"

  // Picks the next live process (or kMain when none is left) and hands it the baton; lock held.
  void HandOver(std::unique_lock<std::mutex>& lock);
  // Waits until process `self` holds the baton again; throws Killed if it was killed meanwhile.
  void WaitTurn(std::unique_lock<std::mutex>& lock, int self);
  void Body(int self);

  Decisions* d_;
  std::function<void(int)> on_switch_;
  std::mutex mu_;
  std::condition_variable main_wake_;
  std::vector<std::unique_ptr<Process>> procs_;
  int running_ = kMain;
  bool ending_ = false;
  uint64_t switches_ = 0;
};

}  // namespace lsm::sim
