// lsmsim_switch_bench: what one switch between simulated processes costs, for the choice of threads
// and a baton (sim/sched/scheduler.h) over fibers. Prints ns per switch for the scheduler (two and
// four processes, the decision stream picking) and, as the baseline, a ucontext fiber switch
// (swapcontext), which the simulator does not use (ASan needs every fiber switch annotated).
#include <ucontext.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sim/sched/scheduler.h"

namespace {

double SchedulerNs(int processes, int yields) {
  lsm::sim::PrngDecisions d(1);
  lsm::sim::Scheduler s(&d);
  for (int p = 0; p < processes; ++p) {
    s.Spawn([&](int) {
      for (int i = 0; i < yields; ++i) s.Yield();
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  s.Run();
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  return ns / double(s.switches());
}

ucontext_t main_ctx, fiber_ctx;
long fiber_left = 0;

void FiberBody() {
  while (fiber_left-- > 0) swapcontext(&fiber_ctx, &main_ctx);
}

double FiberNs(long switches) {
  std::vector<char> stack(256 * 1024);
  getcontext(&fiber_ctx);
  fiber_ctx.uc_stack.ss_sp = stack.data();
  fiber_ctx.uc_stack.ss_size = stack.size();
  fiber_ctx.uc_link = &main_ctx;
  makecontext(&fiber_ctx, FiberBody, 0);
  fiber_left = switches / 2;
  const auto t0 = std::chrono::steady_clock::now();
  while (fiber_left > 0) swapcontext(&main_ctx, &fiber_ctx);
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  return ns / double(switches);
}

}  // namespace

int main(int argc, char** argv) {
  const int yields = argc > 1 ? std::atoi(argv[1]) : 100000;
  const double two = SchedulerNs(2, yields), four = SchedulerNs(4, yields / 2);
  const double fiber = FiberNs(2L * yields);
  std::printf("scheduler (threads, baton), 2 processes: %.0f ns per switch\n", two);
  std::printf("scheduler (threads, baton), 4 processes: %.0f ns per switch\n", four);
  std::printf("ucontext fiber (swapcontext, baseline):  %.0f ns per switch\n", fiber);
  std::printf("ratio, scheduler (2) / fiber: %.1fx\n", two / fiber);
  return 0;
}
