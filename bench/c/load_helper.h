/*
 * What the bench's load helpers (spawner, fd_holder, tcp_pairs) share: they
 * live exactly as long as the harness. A signal sets `stop`; children die with
 * their parent (PR_SET_PDEATHSIG); the parent, once its load is up, waits until
 * stdin closes (the harness exits or crashes) and then kills and reaps them.
 */
#pragma once
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

/** SIGTERM, SIGINT and SIGHUP set `stop` instead of killing the helper before it reaps. */
static void stop_on_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

/** In a child just forked from `parent`: die with it (and now, if it is already gone). */
static void die_with_parent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
}

/** Blocks until stdin closes or a signal sets `stop`. */
static void wait_for_stdin_to_close(void) {
  char c;
  while (!stop && read(0, &c, 1) > 0) {
  }
}

/** Kills and reaps the first `n` children. */
static void kill_children(const pid_t *kids, int n) {
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
}
