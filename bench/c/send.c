/* C reference sender: send() on a connected blocking socket, so a full peer queue puts
 * the sender to sleep until the receiver drains (what a well-behaved sender does).
 * usage: send --self P --peer P --size N (--secs T | --count N) [--pass-fd] [--fd N] */
#include "common.h"

static ssize_t send_one(int s, const char *buf, size_t len, int pass_fd, int fd) {
  if (!pass_fd) return send(s, buf, len, 0);
  struct iovec iov = {(void *)buf, len};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(s, &msg, 0);
}

int main(int argc, char **argv) {
  size_t size = atol(arg_str(argc, argv, "--size", "64"));
  double secs = atof(arg_str(argc, argv, "--secs", "1"));
  long limit = atol(arg_str(argc, argv, "--count", "0")); /* a fixed count instead of a time */
  int pass_fd = arg_flag(argc, argv, "--pass-fd");
  int s = open_socket(argc, argv, 0);
  int sndbuf = (int)size * 2 + 4096;
  if (sndbuf > 212992) setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct timeval tv = {10, 0}; /* never hang forever on a dead receiver */
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char *buf = calloc(1, size < 1 ? 1 : size);
  say("bound");
  wait_go();
  connect_peer(s, argc, argv);
  double t0 = now_s(), c0 = cpu_us(), t = t0;
  long sent = 0;
  buf[0] = MARK_DATA;
  while (limit ? sent < limit : t - t0 < secs) {
    for (int i = 0; i < 64; i++) {
      if (send_one(s, buf, size, pass_fd, devnull) < 0) die("send");
      sent++;
    }
    t = now_s();
  }
  double c1 = cpu_us();
  buf[0] = MARK_END;
  if (send_one(s, buf, size, 0, -1) < 0) die("send end");
  printf("result {\"sent\":%ld,\"elapsed\":%.6f,\"cpu_us\":%.0f,\"hwm_kb\":%ld}\n", sent, t - t0, c1 - c0, hwm_kb());
  return 0;
}
