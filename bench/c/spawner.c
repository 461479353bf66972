/* Keeps N extra processes alive for the task-listing scenario.
 * Prints "ready <N>" once all children exist, then waits until stdin closes
 * (the harness exits, crashes or closes the pipe) or a signal arrives, and
 * kills and reaps every child. Children also die with the spawner
 * (PR_SET_PDEATHSIG), so none can outlive a SIGKILLed harness.
 * usage: spawner <N> */
#include "common.h"
#include "load_helper.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>


int main(int argc, char **argv) {
  if (argc != 2) fail("usage: spawner <N>");
  int n = atoi(argv[1]);
  pid_t *kids = calloc((size_t)n, sizeof(*kids));
  pid_t parent = getpid();
  stop_on_signals();
  int made = 0;
  for (; made < n && !stop; made++) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      die_with_parent(parent);
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      for (;;) pause();
    }
    kids[made] = pid;
  }
  if (made == n && !stop) {
    printf("ready %d\n", made);
    fflush(stdout);
    wait_for_stdin_to_close();
  } else {
    fprintf(stderr, "error: spawned only %d of %d: %s\n", made, n, strerror(errno));
  }
  kill_children(kids, made);
  return made == n ? 0 : 1;
}
