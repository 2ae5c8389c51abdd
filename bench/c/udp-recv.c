/* C UDP reference receiver (issue 20): a udp4 socket bound at 127.0.0.1 (an ephemeral port),
 * never connected (it receives from anyone, as a server does), SO_RCVBUF set to --rcvbuf N
 * before anything arrives (Linux doubles what it is asked, up to 2 × net.core.rmem_max; the
 * ready line and the result say what it gave). epoll_wait, then drain with recvmmsg() (64
 * per call) until EAGAIN; --recv: recv(), one datagram per call. --gro: UDP_GRO on, as
 * unixgram's UDP receivers have it: a GSO sender's burst arrives as one buffer of datagrams
 * of the size its UDP_GRO control message says (loopback coalesces nothing else), each
 * counted. Stops at the first end marker (first byte 1); the clock is read at the first
 * datagram and at the end marker only.
 * usage: udp-recv [--rcvbuf N] [--recv] [--gro] [--size N] */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define BATCH 64
#define SLOT 65536

/* The datagram size of a coalesced buffer (its UDP_GRO control message), or its length. */
static long gro_size(struct msghdr *m, long len) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof size);
      if (size > 0) return size;
    }
  }
  return len > 0 ? len : 1;
}

int main(int argc, char **argv) {
  int one_by_one = arg_flag(argc, argv, "--recv"), gro = arg_flag(argc, argv, "--gro");
  long expect = atol(arg_str(argc, argv, "--size", "0"));
  int rcvbuf = atoi(arg_str(argc, argv, "--rcvbuf", "0"));
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) die("socket");
  if (rcvbuf > 0 && setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) die("setsockopt SO_RCVBUF");
  int got_buf = 0;
  socklen_t len = sizeof got_buf;
  if (getsockopt(s, SOL_SOCKET, SO_RCVBUF, &got_buf, &len) < 0) die("getsockopt SO_RCVBUF");
  int on = 1;
  if (gro && setsockopt(s, IPPROTO_UDP, UDP_GRO, &on, sizeof on) < 0) die("setsockopt UDP_GRO");
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  len = sizeof sa;
  if (getsockname(s, (struct sockaddr *)&sa, &len) < 0) die("getsockname");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) die("epoll_ctl");
  static char bufs[BATCH][SLOT];
  static union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iovs[i] = (struct iovec){bufs[i], SLOT};
    msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iovs[i], .msg_iovlen = 1};
    if (gro) msgs[i].msg_hdr.msg_control = ctl[i].buf;
  }
  printf("ready {\"port\":%d,\"rcvbuf\":%d}\n", ntohs(sa.sin_port), got_buf);
  fflush(stdout);

  long count = 0, truncated = 0, calls = 0;
  double t_first = 0, t_last = 0, c_first = 0;
  int done = 0;
  while (!done) {
    struct epoll_event out;
    int n = epoll_wait(ep, &out, 1, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "udp-recv: idle for 10 s\n");
      return 3;
    }
    while (!done) {
      int got_n;
      if (gro) /* the kernel shortens msg_controllen to what it wrote */
        for (int i = 0; i < BATCH; i++) msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
      if (one_by_one) {
        ssize_t r = recvmsg(s, &msgs[0].msg_hdr, 0);
        msgs[0].msg_len = (unsigned)r;
        got_n = r < 0 ? -1 : 1;
      } else {
        got_n = recvmmsg(s, msgs, BATCH, 0, NULL);
      }
      if (got_n < 0) {
        if (errno == EAGAIN) break;
        die("recv");
      }
      calls++;
      for (int i = 0; i < got_n && !done; i++) {
        long total = msgs[i].msg_len, seg = total;
        if (gro) seg = gro_size(&msgs[i].msg_hdr, total);
        for (long off = 0; off < total || total == 0; off += seg) {
          long one = total - off < seg ? total - off : seg; /* this datagram's length */
          if (one > 0 && bufs[i][off] == MARK_END) {
            t_last = now_s();
            done = 1;
            break;
          }
          if (count++ == 0) {
            t_first = now_s();
            c_first = cpu_us();
          }
          if (expect && one != expect) truncated++;
          if (total == 0) break;
        }
      }
    }
  }
  double c1 = cpu_us();
  printf("result {\"count\":%ld,\"elapsed\":%.6f,\"cpu_us\":%.0f,\"hwm_kb\":%ld,\"truncated\":%ld,\"rcvbuf\":%d,\"calls\":%ld,\"mode\":\"%s%s\"}\n",
         count, t_last - t_first, c1 - c_first, hwm_kb(), truncated, got_buf, calls, one_by_one ? "recv" : "recvmmsg",
         gro ? ", UDP_GRO" : "");
  return 0;
}
