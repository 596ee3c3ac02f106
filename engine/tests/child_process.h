// Forked child processes for tests across real OS processes: spawn one running a body that ends with
// _exit, and read back how it ended.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace lsm::testing {

// Exit code of a child whose body returned instead of calling _exit.
inline constexpr int kChildBodyReturned = 99;

inline pid_t SpawnChild(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(kChildBodyReturned);
  }
  return pid;
}

// Waits for the child: its exit code, or 100 + the signal that killed it.
inline int ChildExitCode(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace lsm::testing
