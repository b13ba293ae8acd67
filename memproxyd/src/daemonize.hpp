// Going to the background the traditional way (SMF's contract model, init
// scripts), while start-up failures still reach the caller: the parent waits
// until the child reports its start-up outcome and exits with it.
#ifndef MEMPROXYD_DAEMONIZE_HPP
#define MEMPROXYD_DAEMONIZE_HPP

namespace memproxy::daemon {

class Detacher {
 public:
  // Forks. Only the child returns; the parent exits with the status the child
  // passes to ready(), or 1 if the child dies first.
  void detach();

  // In the child: releases the parent with `exit_code` and points stdout and
  // stderr at /dev/null. A no-op when detach() was not called.
  void ready(int exit_code);

 private:
  int ready_fd_ = -1;
};

}  // namespace memproxy::daemon

#endif
