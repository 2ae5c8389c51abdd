/* C reference sender. Default: send() on a connected blocking socket, so a full peer queue
 * puts the sender to sleep until the receiver drains (what a well-behaved sender does).
 * --nonblock: non-blocking sockets, sendmmsg() in batches of --mmsg N (default 256), and
 * poll(POLLOUT) on EAGAIN. The socket is connect()ed to the receiver, so POLLOUT waits for
 * room in the receiver's queue (an unconnected sender's POLLOUT does not: Linux only wakes
 * a sender connected to the receiver). Fast enough to keep a receiver's queue full.
 * --senders K (with --nonblock): K sockets, each bound to <self>.<i> (or unnamed), all
 * connected to the receiver, sending round-robin: each one a batch until EAGAIN, then the
 * next; poll on all once all are blocked. --unnamed: never bind (an unnamed sender, like
 * logger(1)). The end marker goes last, from socket 0, once everything else is queued.
 * --seqpacket (blocking sender only): a SOCK_SEQPACKET socket bound at --self, connected to
 * a listening receiver at --peer (issue 20).
 * --memfd (blocking sender only): each payload of --size bytes goes as journald's native
 * protocol sends an entry too large for a datagram: memfd_create, pwrite, F_ADD_SEALS
 * (shrink, grow, write, seal), then the descriptor in an empty datagram (issue 18).
 * usage: send --self P --peer P --size N (--secs T | --count N) [--pass-fd] [--fd N]
 *        [--nonblock [--mmsg N] [--senders K]] [--unnamed] [--seqpacket] [--memfd] */
#include "common.h"
#include <poll.h>
#include <sys/mman.h>

#define MAX_SENDERS 64
#define MAX_MMSG 1024

typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} fd_ctl;

/* One SCM_RIGHTS message carrying `fd`, into `ctl`. */
static void put_fd(struct msghdr *msg, fd_ctl *ctl, int fd) {
  msg->msg_control = ctl->buf;
  msg->msg_controllen = sizeof ctl->buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
}

static ssize_t send_one(int s, const char *buf, size_t len, int pass_fd, int fd) {
  if (!pass_fd) return send(s, buf, len, 0);
  struct iovec iov = {(void *)buf, len};
  fd_ctl ctl;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  put_fd(&msg, &ctl, fd);
  return sendmsg(s, &msg, 0);
}

/* A new memfd holding buf[0..size), sealed against any change. */
static int sealed_memfd(const char *buf, size_t size) {
  int fd = memfd_create("bench-payload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) die("memfd_create");
  for (size_t at = 0; at < size;) {
    ssize_t w = pwrite(fd, buf + at, size - at, (off_t)at);
    if (w < 0) die("pwrite");
    at += (size_t)w;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) die("F_ADD_SEALS");
  return fd;
}

/* Room in SO_SNDBUF for datagrams of `size` bytes (Linux refuses one past SO_SNDBUF - 32 with
 * EMSGSIZE). SO_SNDBUF is capped at twice net.core.wmem_max; as root, SO_SNDBUFFORCE goes past
 * it (what a 1 MiB datagram needs where wmem_max is the default 212 992). */
static void set_sndbuf(int s, size_t size) {
  int sndbuf = (int)size * 2 + 4096;
  if (sndbuf <= 212992) return;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, &got, &len) == 0 && (size_t)got < size + 32)
    setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf); /* fails unprivileged: the send says EMSGSIZE */
}

/* A new socket, bound to `path` unless it is NULL (unnamed). */
static int new_socket(const char *path, int nonblock) {
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (s < 0) die("socket");
  if (path) {
    struct sockaddr_un sa;
    socklen_t len = make_addr(&sa, path);
    if (bind(s, (struct sockaddr *)&sa, len) < 0) die("bind");
  }
  return s;
}

/* Wait until one of `socks` can send (POLLOUT: room in the receiver's queue); its index. */
static int wait_out(const int *socks, int n) {
  struct pollfd pfd[MAX_SENDERS];
  for (int i = 0; i < n; i++) pfd[i] = (struct pollfd){.fd = socks[i], .events = POLLOUT};
  for (;;) {
    int r = poll(pfd, n, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("poll");
    if (r == 0) {
      fprintf(stderr, "send: no room for 10 s\n");
      exit(3);
    }
    for (int i = 0; i < n; i++)
      if (pfd[i].revents) return i; /* POLLOUT, or an error the next send reports */
    return 0;
  }
}

/* The non-blocking sender: sendmmsg batches, round-robin over the sockets, poll on EAGAIN. */
static int run_nonblock(int argc, char **argv, size_t size, double secs, long limit, int pass_fd) {
  int batch = atoi(arg_str(argc, argv, "--mmsg", "256"));
  int nsock = atoi(arg_str(argc, argv, "--senders", "1"));
  int unnamed = arg_flag(argc, argv, "--unnamed");
  const char *self = arg_str(argc, argv, "--self", NULL);
  if (batch < 1 || batch > MAX_MMSG || nsock < 1 || nsock > MAX_SENDERS) {
    fprintf(stderr, "send: --mmsg 1..%d, --senders 1..%d\n", MAX_MMSG, MAX_SENDERS);
    return 2;
  }
  int socks[MAX_SENDERS];
  if (arg_str(argc, argv, "--fd", NULL)) {
    if (nsock != 1) {
      fprintf(stderr, "send: --fd takes one socket\n");
      return 2;
    }
    socks[0] = open_socket(argc, argv, 1);
  } else {
    char path[sizeof ((struct sockaddr_un *)0)->sun_path + 16];
    for (int i = 0; i < nsock; i++) {
      const char *p = NULL;
      if (!unnamed && self) {
        if (nsock == 1) p = self;
        else {
          snprintf(path, sizeof path, "%s.%d", self, i);
          p = path;
        }
      }
      socks[i] = new_socket(p, 1);
    }
  }
  for (int i = 0; i < nsock; i++) set_sndbuf(socks[i], size);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char *buf = calloc(1, size < 1 ? 1 : size);
  static struct mmsghdr msgs[MAX_MMSG];
  static fd_ctl ctls[MAX_MMSG];
  struct iovec iov = {buf, size};
  for (int i = 0; i < batch; i++) {
    msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    if (pass_fd) put_fd(&msgs[i].msg_hdr, &ctls[i], devnull);
  }
  say("bound");
  wait_go();
  if (!arg_str(argc, argv, "--fd", NULL)) {
    const char *peer = arg_str(argc, argv, "--peer", NULL);
    struct sockaddr_un sa;
    socklen_t len = make_addr(&sa, peer ? peer : "");
    for (int i = 0; i < nsock; i++)
      if (connect(socks[i], (struct sockaddr *)&sa, len) < 0) die("connect");
  }
  double t0 = now_s(), c0 = cpu_us(), t = t0;
  long sent = 0, waits = 0;
  buf[0] = MARK_DATA;
  int blocked = 0; /* consecutive sockets that met EAGAIN */
  int i = 0;
  while (limit ? sent < limit : t - t0 < secs) {
    int n = batch;
    if (limit && limit - sent < n) n = (int)(limit - sent);
    int r = sendmmsg(socks[i], msgs, n, 0);
    if (r < 0) {
      if (errno != EAGAIN) die("sendmmsg");
      r = 0;
    }
    sent += r;
    if (r == n) { /* a whole batch went out: this socket sends again */
      blocked = 0;
    } else if (++blocked >= nsock) { /* EAGAIN (now or at its next call) on every socket */
      i = wait_out(socks, nsock);
      waits++;
      blocked = 0;
    } else { /* this one is full: the next */
      i = (i + 1) % nsock;
    }
    t = now_s();
  }
  double c1 = cpu_us();
  /* Every sendmmsg above has returned, so everything sent is in the receiver's queue: the
   * end marker, from socket 0, is queued after all of it. */
  buf[0] = MARK_END;
  while (send(socks[0], buf, size, 0) < 0) {
    if (errno != EAGAIN) die("send end");
    wait_out(socks, 1);
  }
  printf("result {\"sent\":%ld,\"elapsed\":%.6f,\"cpu_us\":%.0f,\"hwm_kb\":%ld,\"waits\":%ld}\n", sent, t - t0, c1 - c0,
         hwm_kb(), waits);
  return 0;
}

int main(int argc, char **argv) {
  size_t size = atol(arg_str(argc, argv, "--size", "64"));
  double secs = atof(arg_str(argc, argv, "--secs", "1"));
  long limit = atol(arg_str(argc, argv, "--count", "0")); /* a fixed count instead of a time */
  int pass_fd = arg_flag(argc, argv, "--pass-fd");
  int memfd = arg_flag(argc, argv, "--memfd");
  if (arg_flag(argc, argv, "--nonblock") && (arg_flag(argc, argv, "--seqpacket") || memfd)) {
    fprintf(stderr, "send: --seqpacket and --memfd with the blocking sender only\n");
    return 2;
  }
  if (memfd && pass_fd) {
    fprintf(stderr, "send: --memfd passes its own descriptor, not --pass-fd's\n");
    return 2;
  }
  if (arg_flag(argc, argv, "--nonblock")) return run_nonblock(argc, argv, size, secs, limit, pass_fd);
  int s;
  if (arg_flag(argc, argv, "--unnamed") && !arg_str(argc, argv, "--fd", NULL)) s = new_socket(NULL, 0);
  else s = open_socket(argc, argv, 0);
  if (!memfd) set_sndbuf(s, size);
  struct timeval tv = {10, 0}; /* never hang forever on a dead receiver */
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char *buf = calloc(1, size < 1 ? 1 : size);
  /* Real bytes to copy (calloc's untouched pages would all read the one zero page). */
  if (memfd) memset(buf, 'x', size);
  say("bound");
  wait_go();
  connect_peer(s, argc, argv);
  double t0 = now_s(), c0 = cpu_us(), t = t0;
  long sent = 0;
  buf[0] = MARK_DATA;
  while (limit ? sent < limit : t - t0 < secs) {
    for (int i = 0; i < (memfd ? 1 : 64); i++) {
      if (memfd) {
        int fd = sealed_memfd(buf, size);
        if (send_one(s, buf, 0, 1, fd) < 0) die("send");
        close(fd);
      } else if (send_one(s, buf, size, pass_fd, devnull) < 0) {
        die("send");
      }
      sent++;
    }
    t = now_s();
  }
  double c1 = cpu_us();
  buf[0] = MARK_END;
  if (send_one(s, buf, memfd ? 1 : size, 0, -1) < 0) die("send end");
  printf("result {\"sent\":%ld,\"elapsed\":%.6f,\"cpu_us\":%.0f,\"hwm_kb\":%ld}\n", sent, t - t0, c1 - c0, hwm_kb());
  return 0;
}
