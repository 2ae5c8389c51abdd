/* Shared helpers for the C reference peers: argument parsing, the stdin/stdout handshake
 * with bench/run.mjs, sockets, timing and the result line. Linux only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MARK_DATA 0
#define MARK_END 1
#define MAX_DGRAM (256 * 1024)

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(2);
}

/* "--name value" from argv, or def. */
static inline const char *arg_str(int argc, char **argv, const char *name, const char *def) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

static inline int arg_flag(int argc, char **argv, const char *name) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* VmHWM (peak RSS) in KiB from /proc/self/status. */
static inline long hwm_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

static inline socklen_t make_addr(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa->sun_path) {
    errno = ENAMETOOLONG;
    die("address");
  }
  strcpy(sa->sun_path, path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

/* A datagram socket (SOCK_SEQPACKET with --seqpacket): inherited (--fd N, already
 * connected) or bound to --self. */
static inline int open_socket(int argc, char **argv, int nonblock) {
  const char *fd = arg_str(argc, argv, "--fd", NULL);
  int s;
  if (fd) {
    s = atoi(fd);
  } else {
    struct sockaddr_un sa;
    s = socket(AF_UNIX, (arg_flag(argc, argv, "--seqpacket") ? SOCK_SEQPACKET : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    const char *self = arg_str(argc, argv, "--self", NULL);
    if (self) {
      socklen_t len = make_addr(&sa, self);
      if (bind(s, (struct sockaddr *)&sa, len) < 0) die("bind");
    }
  }
  int fl = fcntl(s, F_GETFL); /* an inherited fd may come non-blocking */
  fcntl(s, F_SETFL, nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
  return s;
}

static inline void connect_peer(int s, int argc, char **argv) {
  const char *peer = arg_str(argc, argv, "--peer", NULL);
  if (!peer || arg_str(argc, argv, "--fd", NULL)) return;
  struct sockaddr_un sa;
  socklen_t len = make_addr(&sa, peer);
  if (connect(s, (struct sockaddr *)&sa, len) < 0) die("connect");
}

static inline void say(const char *line) {
  fputs(line, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

/* Block until the orchestrator writes its "go" line. */
static inline void wait_go(void) {
  char line[1024];
  if (!fgets(line, sizeof line, stdin)) {
    fprintf(stderr, "no go line\n");
    exit(2);
  }
}
