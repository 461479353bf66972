/* Opens N loopback TCP connections for the tcp scale scenario. Worker
 * processes of at most <per worker> connections each (one file descriptor
 * per socket: a worker stays under the hard RLIMIT_NOFILE, whose raising
 * takes CAP_SYS_RESOURCE) each listen on 127.0.0.1 and connect to
 * themselves: a connection is two sockets, the connecting end and the
 * accepted end, so 2N + workers sockets in all. Every socket has SO_LINGER
 * {1, 0}: however a worker ends, its sockets are reset, none is left in
 * TIME_WAIT. Prints "ready <sockets>" once all are connected, then waits
 * until stdin closes (the harness exits or crashes) or a signal arrives,
 * and kills the workers (which also die with it: PR_SET_PDEATHSIG).
 * usage: tcp_pairs <connections> <per worker> */
#include "common.h"
#include "load_helper.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>


static void no_linger(int s) {
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  if (setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0) die("SO_LINGER");
}

/* A worker: one listener, `n` connections to it; then wait to be killed. */
static void worker(long n, int ready_fd) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit");
  rl.rlim_cur = (rlim_t)(2 * n + 64);
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit RLIMIT_NOFILE (per worker too large)");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) die("socket");
  no_linger(l);
  if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("bind");
  socklen_t len = sizeof(addr);
  if (getsockname(l, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
  if (listen(l, 1024) < 0) die("listen");
  for (long i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0) die("socket");
    no_linger(c);
    if (connect(c, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("connect");
    int a = accept(l, NULL, NULL);
    if (a < 0) die("accept");
    no_linger(a);
  }
  char ok = 1;
  if (write(ready_fd, &ok, 1) != 1) _exit(1);
  for (;;) pause();
}

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: tcp_pairs <connections> <per worker>");
  long n = atol(argv[1]);
  long per = atol(argv[2]);
  if (n < 1 || per < 1) fail("connections and per worker must be positive");
  stop_on_signals();
  int workers = (int)((n + per - 1) / per);
  pid_t *kids = calloc((size_t)workers, sizeof(*kids));
  pid_t parent = getpid();
  int ready[2];
  if (pipe(ready) < 0) die("pipe");
  int made = 0;
  for (; made < workers && !stop; made++) {
    long mine = made == workers - 1 ? n - per * (workers - 1) : per;
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      die_with_parent(parent);
      close(ready[0]);
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      worker(mine, ready[1]);
    }
    kids[made] = pid;
  }
  close(ready[1]);
  int up = 0;
  char c;
  while (up < made && read(ready[0], &c, 1) == 1) up++;
  if (up == workers && !stop) {
    printf("ready %ld\n", 2 * n + workers);
    fflush(stdout);
    wait_for_stdin_to_close();
  } else {
    fprintf(stderr, "error: only %d of %d workers connected\n", up, workers);
  }
  kill_children(kids, made);
  return up == workers ? 0 : 1;
}
