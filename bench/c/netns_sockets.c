/* Fills network namespaces with TCP sockets for the netns scenario.
 * For each namespace path given (/run/netns/<name>, made by `ip netns add`)
 * it enters the namespace (setns), brings loopback up and opens <per-ns>
 * TCP sockets there: two listeners, and connections to the first one (each
 * connection is two sockets: the connecting end and the accepted end), all
 * on 127.0.0.1. A socket stays in the namespace it was made in, so one
 * process holds them all. Prints "ready <total>" and keeps them until stdin
 * closes (the harness exits or crashes) or a signal arrives.
 * usage: netns_sockets <per-ns (even, >= 2)> <netns path>... */
#include "common.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS lo");
  close(s);
}

static int listener(struct sockaddr_in *addr, int backlog) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  addr->sin_port = 0;
  if (bind(s, (struct sockaddr *)addr, sizeof(*addr)) < 0) die("bind");
  if (listen(s, backlog) < 0) die("listen");
  socklen_t len = sizeof(*addr);
  if (getsockname(s, (struct sockaddr *)addr, &len) < 0) die("getsockname");
  return s;
}

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: netns_sockets <per-ns> <netns path>...");
  int per = atoi(argv[1]);
  if (per < 2 || per % 2 != 0) fail("per-ns must be even and at least 2");
  int namespaces = argc - 2;
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  int connections = (per - 2) / 2;
  long total = 0;
  for (int i = 0; i < namespaces && !stop; i++) {
    int ns = open(argv[i + 2], O_RDONLY | O_CLOEXEC);
    if (ns < 0) die(argv[i + 2]);
    if (setns(ns, CLONE_NEWNET) < 0) die("setns");
    close(ns);
    loopback_up();
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int first = listener(&addr, connections + 1);
    struct sockaddr_in other = addr;
    listener(&other, 1);
    for (int c = 0; c < connections; c++) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (s < 0) die("socket");
      if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("connect");
      if (accept(first, NULL, NULL) < 0) die("accept");
    }
    total += per;
  }
  if (stop) return 1;
  printf("ready %ld\n", total);
  fflush(stdout);
  char c;
  while (!stop && read(0, &c, 1) > 0) {
  }
  return 0;
}
