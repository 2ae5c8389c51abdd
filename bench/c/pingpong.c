/* C reference round trip: "ping" sends a datagram and waits for the echo with epoll_wait +
 * recv, "echo" sends back what it receives. Both ends use epoll, as a server would.
 * echo --listen: bound at --self and never connected, as a server: recvfrom() and sendto()
 * back to the sender's address (the ping is bound and connected to it).
 * --spin N: busy polling, the reference of unixgram's busyPoll rows: on EAGAIN, recv again
 * for up to N µs before epoll_wait.
 * usage: pingpong ping|echo --self P --peer P [--fd N] [--listen] [--spin N] --size N --secs T */
#include "common.h"
#include <sys/epoll.h>

static double spin_s; /* --spin, in seconds (0: off) */

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static ssize_t wait_recv(int ep, int s, char *buf, struct sockaddr_un *from, socklen_t *fromlen) {
  double spin_until = 0;
  for (;;) {
    if (fromlen) *fromlen = sizeof *from;
    ssize_t r = recvfrom(s, buf, MAX_DGRAM, 0, (struct sockaddr *)from, fromlen);
    if (r >= 0) return r;
    if (errno != EAGAIN) die("recv");
    if (spin_s > 0) {
      double t = now_s();
      if (spin_until == 0) spin_until = t + spin_s;
      if (t < spin_until) continue;
    }
    struct epoll_event out;
    if (epoll_wait(ep, &out, 1, 10000) == 0) {
      fprintf(stderr, "pingpong: idle for 10 s\n");
      exit(3);
    }
  }
}

int main(int argc, char **argv) {
  int ping = argc > 1 && strcmp(argv[1], "ping") == 0;
  size_t size = atol(arg_str(argc, argv, "--size", "64"));
  double secs = atof(arg_str(argc, argv, "--secs", "1"));
  spin_s = atof(arg_str(argc, argv, "--spin", "0")) / 1e6;
  int s = open_socket(argc, argv, 1);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) die("epoll_ctl");
  static char buf[MAX_DGRAM];
  if (!ping) {
    int listen = arg_flag(argc, argv, "--listen");
    if (!listen) connect_peer(s, argc, argv);
    say("ready {}");
    long n = 0;
    double c0 = 0;
    struct sockaddr_un from;
    socklen_t fromlen;
    for (;;) {
      ssize_t r = wait_recv(ep, s, buf, listen ? &from : NULL, listen ? &fromlen : NULL);
      if (r > 0 && buf[0] == MARK_END) break;
      if (n++ == 0) c0 = cpu_us();
      if (!listen) {
        if (send(s, buf, r, 0) < 0) die("send");
      } else if (fromlen <= offsetof(struct sockaddr_un, sun_path)) {
        fprintf(stderr, "pingpong: an unnamed sender cannot be answered\n");
        return 2;
      } else if (sendto(s, buf, r, 0, (struct sockaddr *)&from, fromlen) < 0) {
        die("sendto"); /* one datagram in flight: the ping's queue always has room */
      }
    }
    printf("result {\"count\":%ld,\"cpu_us\":%.0f,\"hwm_kb\":%ld}\n", n, cpu_us() - c0, hwm_kb());
    return 0;
  }
  say("bound");
  wait_go();
  connect_peer(s, argc, argv);
  size_t cap = 4 << 20, n = 0;
  double *rtt = malloc(cap * sizeof *rtt);
  memset(buf, 0, size);
  double t0 = now_s(), c0 = cpu_us(), t = t0;
  for (int i = 0; i < 200; i++) { /* warm-up, not recorded */
    if (send(s, buf, size, 0) < 0) die("send");
    wait_recv(ep, s, buf, NULL, NULL);
  }
  while (t - t0 < secs && n < cap) {
    double a = now_s();
    if (send(s, buf, size, 0) < 0) die("send");
    wait_recv(ep, s, buf, NULL, NULL);
    t = now_s();
    rtt[n++] = (t - a) * 1e6;
  }
  double c1 = cpu_us();
  buf[0] = MARK_END;
  send(s, buf, size, 0);
  qsort(rtt, n, sizeof *rtt, cmp);
  printf("result {\"count\":%zu,\"p50_us\":%.2f,\"p99_us\":%.2f,\"cpu_us\":%.0f,\"hwm_kb\":%ld}\n", n, rtt[n / 2],
         rtt[n * 99 / 100], c1 - c0, hwm_kb());
  return 0;
}
