// Tour 5: TaskHandle, one thread of any process, addressed by its pidfd so a recycled pid is never it.
#include <taskmpol/task.hpp>

#include <cstdlib>
#include <iostream>

#include <unistd.h>

int main(int argc, char** argv) {
  using namespace taskmpol;
  const pid_t pid = argc > 1 ? static_cast<pid_t>(std::atoi(argv[1])) : ::getpid();

  result<TaskHandle> task = TaskHandle::open(pid);  // the process's main thread
  if (!task) {
    std::cerr << "open " << pid << ": " << task.error().message() << '\n';
    return 1;
  }
  const result<Policy> bind0 = Policy::make(Mode::bind, {}, NodeMask::of<0>());
  if (!bind0) return 1;

  // The series' syscalls, else its procfs file, else (for the caller) the stock syscalls.
  TaskDiagnostic why;
  if (const result<void> set = task.value().set_policy(bind0.value(), &why); set) {
    std::cout << "bound via " << backend_name(why.backend) << '\n';  // self-only on a stock kernel
  } else {
    std::cout << why.message() << '\n';  // e.g. "... lacks task mempolicy support ..."
  }

  // Every thread, including threads created meanwhile; failures come back per thread.
  if (const auto all = set_policy_on_all_threads(task.value(), Policy{}); all) {
    std::cout << all.value().threads_set << " threads reset, " << all.value().failures.size() << " refused\n";
  } else {
    std::cout << "all threads: " << all.error().message() << '\n';
  }
}
