/* Keeps N extra threads alive for the task scale scenario: one process,
 * N threads blocked in read() of a pipe nobody writes (small stacks: 50,000
 * threads fit in well under a gigabyte). Prints "ready <N>" once all exist,
 * then waits until stdin closes (the harness exits or crashes) or a signal
 * arrives, and exits: the threads end with the process. It dies with the
 * harness (PR_SET_PDEATHSIG) even if the harness is SIGKILLed.
 * usage: threads <N> */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

static int block_fd;

static void *sleeper(void *arg) {
  (void)arg;
  char c;
  for (;;) {
    if (read(block_fd, &c, 1) <= 0) pause();
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: threads <N>");
  int n = atoi(argv[1]);
  if (n < 1) fail("N must be positive");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int pipefd[2];
  if (pipe(pipefd) < 0) die("pipe");
  block_fd = pipefd[0];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old); /* signals go to the main thread */
  int made = 0;
  for (; made < n; made++) {
    pthread_t t;
    int err = pthread_create(&t, &attr, sleeper, NULL);
    if (err) {
      fprintf(stderr, "error: made only %d of %d threads: %s\n", made, n, strerror(err));
      return 1;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  printf("ready %d\n", made);
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
