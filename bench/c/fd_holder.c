/* Holds many open file descriptors for the task_file scale scenario:
 * <procs> child processes, each with <fds> descriptors (dup()s of one
 * /dev/null open: one struct file shared, a table entry each), its soft
 * RLIMIT_NOFILE raised to fit; <fds> must fit under the hard limit (raising
 * that takes CAP_SYS_RESOURCE, which a container may not give: the harness
 * spreads the fds over enough processes). Prints "pid <pid>" per
 * child and "ready <total>" once all are open, then waits until stdin closes
 * or a signal arrives and kills its children (which also die with it:
 * PR_SET_PDEATHSIG). Closing is the kernel's: the fds go with the processes.
 * usage: fd_holder <procs> <fds per proc> */
#include "common.h"
#include "load_helper.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>


int main(int argc, char **argv) {
  if (argc != 3) fail("usage: fd_holder <procs> <fds per proc>");
  int procs = atoi(argv[1]);
  long fds = atol(argv[2]);
  if (procs < 1 || fds < 1) fail("procs and fds must be positive");
  stop_on_signals();
  pid_t parent = getpid();
  pid_t *kids = calloc((size_t)procs, sizeof(*kids));
  int ready[2];
  if (pipe(ready) < 0) die("pipe");
  int made = 0;
  for (; made < procs && !stop; made++) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      die_with_parent(parent);
      close(ready[0]);
      struct rlimit rl;
      if (getrlimit(RLIMIT_NOFILE, &rl) < 0) _exit(1);
      rl.rlim_cur = (rlim_t)fds + 64;
      if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "error: RLIMIT_NOFILE %ld: %s\n", fds + 64, strerror(errno));
        _exit(1);
      }
      int base = open("/dev/null", O_RDONLY);
      if (base < 0) _exit(1);
      for (long i = 1; i < fds; i++) {
        if (dup(base) < 0) {
          fprintf(stderr, "error: dup %ld: %s\n", i, strerror(errno));
          _exit(1);
        }
      }
      char ok = 1;
      if (write(ready[1], &ok, 1) != 1) _exit(1);
      for (;;) pause();
    }
    kids[made] = pid;
  }
  close(ready[1]);
  int up = 0;
  char c;
  while (up < made && read(ready[0], &c, 1) == 1) up++;
  if (up == procs && !stop) {
    for (int i = 0; i < made; i++) printf("pid %d\n", kids[i]);
    printf("ready %ld\n", (long)procs * fds);
    fflush(stdout);
    wait_for_stdin_to_close();
  } else {
    fprintf(stderr, "error: only %d of %d holders opened their fds\n", up, procs);
  }
  kill_children(kids, made);
  return up == procs ? 0 : 1;
}
