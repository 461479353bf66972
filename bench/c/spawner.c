/* Keeps N extra processes alive for the task-listing scenario.
 * Prints "ready <N>" once all children exist, then waits until stdin closes
 * (the harness exits, crashes or closes the pipe) or a signal arrives, and
 * kills and reaps every child. Children also die with the spawner
 * (PR_SET_PDEATHSIG), so none can outlive a SIGKILLed harness.
 * usage: spawner <N> */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: spawner <N>");
  int n = atoi(argv[1]);
  pid_t *kids = calloc((size_t)n, sizeof(*kids));
  pid_t parent = getpid();
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  int made = 0;
  for (; made < n && !stop; made++) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
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
    char c;
    while (!stop && read(0, &c, 1) > 0) {
    }
  } else {
    fprintf(stderr, "error: spawned only %d of %d: %s\n", made, n, strerror(errno));
  }
  for (int i = 0; i < made; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < made; i++) waitpid(kids[i], NULL, 0);
  return made == n ? 0 : 1;
}
