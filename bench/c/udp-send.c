/* C UDP reference sender (issue 20): a udp4 socket bound at 127.0.0.1 (an ephemeral port),
 * connected at "go" to the receiver's port (the JSON of the go line; its own port goes in the
 * bound line, for a receiver that connects to it), sendmmsg() in batches
 * of --mmsg N (default 64) as fast as the kernel takes them. A UDP sender on loopback never
 * waits for its receiver: the datagram is handed to the receiver's queue at once, and what
 * the queue (its SO_RCVBUF) cannot hold is dropped there. The receiver counts what came; the
 * sender reports what it sent, so the harness computes the loss.
 * --gso K: each message is K datagrams of --size bytes in one buffer, split by the kernel
 * (UDP_SEGMENT, as UDP GSO); K is cut to what one IPv4 packet can carry (65 507 B of payload:
 * 63 × 1 KiB, not 64), and the result line says how many it used (`gso_segments`).
 * The end marker (first byte 1) goes out every 2 ms after the last data until the receiver
 * has gone (ECONNREFUSED: its port is closed) or 2 s have passed, since any one of them can
 * be dropped like a data datagram.
 * usage: udp-send --size N (--secs T | --count N) [--mmsg N] [--gso K] */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define MAX_MMSG 1024
#define UDP_MAX 65507

/* The port in the orchestrator's "go {\"port\":N,...}" line. */
static int go_port(void) {
  char line[1024];
  if (!fgets(line, sizeof line, stdin)) {
    fprintf(stderr, "no go line\n");
    exit(2);
  }
  const char *p = strstr(line, "\"port\":");
  if (!p) {
    fprintf(stderr, "udp-send: no port in the go line: %s", line);
    exit(2);
  }
  return atoi(p + 7);
}

int main(int argc, char **argv) {
  size_t size = atol(arg_str(argc, argv, "--size", "64"));
  double secs = atof(arg_str(argc, argv, "--secs", "1"));
  long limit = atol(arg_str(argc, argv, "--count", "0"));
  int batch = atoi(arg_str(argc, argv, "--mmsg", "64"));
  int gso = atoi(arg_str(argc, argv, "--gso", "0"));
  if (size < 1 || size > UDP_MAX || batch < 1 || batch > MAX_MMSG) {
    fprintf(stderr, "udp-send: --size 1..%d, --mmsg 1..%d\n", UDP_MAX, MAX_MMSG);
    return 2;
  }
  if (gso > 0 && gso * size > UDP_MAX) gso = UDP_MAX / size; /* one IP packet's payload at most */
  int per_msg = gso > 0 ? gso : 1;                          /* datagrams per message */

  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  if (gso > 0) {
    int seg = (int)size;
    if (setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof seg) < 0) die("setsockopt UDP_SEGMENT");
  }
  char *buf = calloc(1, size * per_msg);
  if (!buf) die("calloc");
  static struct mmsghdr msgs[MAX_MMSG];
  struct iovec iov = {buf, size * per_msg};
  for (int i = 0; i < batch; i++) msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
  struct sockaddr_in self;
  socklen_t self_len = sizeof self;
  if (getsockname(s, (struct sockaddr *)&self, &self_len) < 0) die("getsockname");
  printf("bound {\"port\":%d}\n", ntohs(self.sin_port)); /* for a receiver that connects to it */
  fflush(stdout);
  sa.sin_port = htons((uint16_t)go_port());
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");

  double t0 = now_s(), c0 = cpu_us(), t = t0;
  long sent = 0, calls = 0;
  while (limit ? sent < limit : t - t0 < secs) {
    int n = batch;
    if (limit && (limit - sent) / per_msg < n) n = (int)((limit - sent + per_msg - 1) / per_msg);
    int r = sendmmsg(s, msgs, n, 0);
    if (r < 0) {
      /* ECONNREFUSED: an ICMP error of an earlier datagram (none while the receiver lives);
       * ENOBUFS/EAGAIN: the device queue, never on loopback. Counted as not sent. */
      if (errno == ECONNREFUSED || errno == ENOBUFS || errno == EAGAIN) r = 0;
      else die("sendmmsg");
    }
    sent += (long)r * per_msg;
    calls++;
    t = now_s();
  }
  double c1 = cpu_us();
  /* The end marker, repeated: the first may be dropped by a full queue. */
  char end[UDP_MAX];
  memset(end, 0, size);
  end[0] = MARK_END;
  int markers = 0;
  for (double t_end = now_s(); now_s() - t_end < 2.0; markers++) {
    if (send(s, end, size, 0) < 0) {
      if (errno == ECONNREFUSED) break; /* the receiver has its marker and has gone */
      if (errno != ENOBUFS && errno != EAGAIN) die("send end");
    }
    usleep(2000);
  }
  printf("result {\"sent\":%ld,\"elapsed\":%.6f,\"cpu_us\":%.0f,\"hwm_kb\":%ld,\"calls\":%ld,\"gso_segments\":%d,\"end_markers\":%d}\n",
         sent, t - t0, c1 - c0, hwm_kb(), calls, gso, markers);
  return 0;
}
