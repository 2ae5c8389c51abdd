/* C reference receiver: epoll_wait, then drain with recv() until EAGAIN (one syscall per
 * datagram), or with recvmmsg() (--mmsg, up to 64 per syscall). --fds: each datagram
 * carries descriptors (SCM_RIGHTS), which are closed. Stops at the end marker. --size N: the
 * datagrams' size (shorter ones count as truncated; buffers grow past 256 KiB to fit N).
 * It connects to --peer only with --connect; otherwise (and with --listen, the deployed
 * setting) it is bound at --self and receives from anyone, as a server does.
 * --ring N (a diagnostic, not an option): each datagram lands at the next slot (of --size
 * bytes) of an N MiB region on page boundaries, faulted in once at the start, so it is written
 * into memory last touched N MiB of datagrams ago, as a receiver that hands out a buffer per
 * datagram writes fresh memory each time.
 * --seqpacket: a SOCK_SEQPACKET socket bound at --self and listening; after "ready" it
 * accepts one connection and receives from it (issue 20).
 * --memfd: an empty datagram carrying one descriptor is a payload sent as a sealed memfd
 * (send --memfd): checked sealed (F_GET_SEALS), sized (fstat), mapped MAP_PRIVATE as
 * unixgram maps it, unmapped and closed; its size is the datagram's length (issue 18).
 * usage: recv --self P [--peer P --connect | --listen] [--fd N] [--mmsg] [--fds] [--size N]
 *        [--ring N] [--seqpacket] [--memfd] */
#include "common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* --seqpacket: accept one connection on the listening socket `s` (non-blocking); the
 * connection, non-blocking. */
static int accept_one(int s) {
  struct pollfd pfd = {.fd = s, .events = POLLIN};
  if (poll(&pfd, 1, 10000) != 1) {
    fprintf(stderr, "recv: no connection for 10 s\n");
    exit(3);
  }
  int c = accept4(s, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) die("accept4");
  close(s);
  return c;
}

#define BATCH 64

static long count, truncated, fds_closed, expect;
static double t_first, t_last, c_first;

static void close_fds(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (int i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      close(fd);
      fds_closed++;
    }
  }
}

/* --memfd: the payload a datagram's one descriptor holds, mapped and let go; its size. */
static ssize_t take_memfd(struct msghdr *m) {
  struct cmsghdr *c = CMSG_FIRSTHDR(m);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  struct stat st;
  if ((fcntl(fd, F_GET_SEALS) & want) != want || fstat(fd, &st) < 0) {
    close(fd);
    return -1;
  }
  void *map = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  if (map == MAP_FAILED) die("mmap");
  if (map) munmap(map, (size_t)st.st_size);
  close(fd);
  return (ssize_t)st.st_size;
}

/* Account one datagram; returns 1 at the end marker. The clock is read at the first datagram
 * and at the end marker only (as the Node peers do), never per datagram. */
static int got(const char *buf, ssize_t len, int flags) {
  if (len > 0 && buf[0] == MARK_END) {
    t_last = now_s();
    return 1;
  }
  if (count == 0) {
    t_first = now_s();
    c_first = cpu_us();
  }
  count++;
  if ((flags & MSG_TRUNC) || (expect && len != expect)) truncated++;
  return 0;
}

int main(int argc, char **argv) {
  int mmsg = arg_flag(argc, argv, "--mmsg"), want_fds = arg_flag(argc, argv, "--fds");
  int memfd = arg_flag(argc, argv, "--memfd");
  int seqpacket = arg_flag(argc, argv, "--seqpacket") && !arg_str(argc, argv, "--fd", NULL);
  int s = open_socket(argc, argv, 1);
  if (seqpacket && listen(s, 1) < 0) die("listen");
  if (!seqpacket && arg_flag(argc, argv, "--connect") && !arg_flag(argc, argv, "--listen")) connect_peer(s, argc, argv); /* else: from anyone */
  /* A slot per datagram of a batch: MAX_DGRAM (static, its untouched pages cost nothing), or
   * --size bytes when that is more (the memfd group's plain 1 MiB datagrams). */
  static char small[BATCH][MAX_DGRAM];
  expect = atol(arg_str(argc, argv, "--size", "0"));
  size_t slot = expect > MAX_DGRAM ? (size_t)expect : MAX_DGRAM;
  char *bufs = slot > MAX_DGRAM ? malloc(BATCH * slot) : small[0];
  if (!bufs) die("malloc");
  size_t ring = (size_t)(atof(arg_str(argc, argv, "--ring", "0")) * (1 << 20)), ring_at = 0;
  char *ring_mem = NULL;
  if (ring) {
    /* Room past the end for the last batch's full slots. */
    if (!(ring_mem = aligned_alloc(4096, ring + BATCH * slot))) die("--ring");
    memset(ring_mem, 0, ring + BATCH * slot);
  }
  static union { char buf[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } ctl[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  say("ready {}");
  if (seqpacket) s = accept_one(s);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) die("epoll_ctl");
  int done = 0;
  while (!done) {
    struct epoll_event out;
    int n = epoll_wait(ep, &out, 1, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "recv: idle for 10 s\n");
      return 3;
    }
    while (!done) {
      int batch = mmsg ? BATCH : 1;
      size_t step = slot;
      if (ring) {
        step = expect ? (size_t)expect : slot;
        bufs = ring_mem + ring_at;
        ring_at = (ring_at + batch * step) % ring;
      }
      for (int i = 0; i < batch; i++) {
        iovs[i] = (struct iovec){bufs + i * step, slot};
        msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iovs[i], .msg_iovlen = 1};
        if (want_fds || memfd) {
          msgs[i].msg_hdr.msg_control = ctl[i].buf;
          msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
        }
      }
      int got_n;
      if (mmsg) {
        got_n = recvmmsg(s, msgs, BATCH, MSG_CMSG_CLOEXEC, NULL);
      } else {
        ssize_t r = recvmsg(s, &msgs[0].msg_hdr, MSG_CMSG_CLOEXEC);
        msgs[0].msg_len = (unsigned)r;
        got_n = r < 0 ? -1 : 1;
      }
      if (got_n < 0) {
        if (errno == EAGAIN) break;
        die("recv");
      }
      for (int i = 0; i < got_n && !done; i++) {
        if (want_fds) close_fds(&msgs[i].msg_hdr);
        ssize_t len = msgs[i].msg_len;
        if (memfd && len == 0) len = take_memfd(&msgs[i].msg_hdr);
        done = got(bufs + i * step, len, msgs[i].msg_hdr.msg_flags);
      }
    }
  }
  double c1 = cpu_us();
  printf("result {\"count\":%ld,\"elapsed\":%.6f,\"cpu_us\":%.0f,\"hwm_kb\":%ld,\"truncated\":%ld,\"fds_closed\":%ld}\n",
         count, t_last - t_first, c1 - c_first, hwm_kb(), truncated, fds_closed);
  return 0;
}
