/* Accept latency of an SMTP server under a fixed offered load (open loop), in C.

   The same measurement and output as accept-latency.py, for a client that takes little of the
   cores it shares with the server it measures: one thread, epoll, non-blocking sockets.

   Starts one message every 1/RATE seconds for DURATION seconds, each on a new connection (as
   smtp-source does): connect, EHLO, MAIL, RCPT, DATA, the message, QUIT. The accept latency of
   a message is the time from writing the message's final "." to reading the server's reply to
   it (for a durable server: storing it). A message that is refused or times out (30 s) is
   counted, not timed. Prints one line: count, failures, p50, p99 and max in milliseconds.

   build: cc -O2 -o accept-latency accept-latency.c
   usage: accept-latency HOST:PORT[,HOST:PORT...] RATE DURATION [SIZE] [FROM] [TO]
   (several targets take the messages in turn; HOST is an IPv4 address) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 30.0
#define MAX_TARGETS 16

enum step { GREETING, EHLO, MAIL, RCPT, DATA, MESSAGE, DONE };
static const int expected[] = {2, 2, 2, 2, 3, 2};

struct conn {
  int fd;
  enum step step;
  double opened, sent;   /* when the connection was started, when the final "." was written */
  const char *out;       /* what is left to write of the current command */
  size_t out_len;
  char in[1024];         /* the reply being read (only its last line matters) */
  size_t in_len;
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static struct conn **conns; /* by file descriptor */
static int conns_size, open_count, epfd;
static double *latencies;
static long latency_count, failures;
static char *commands[MESSAGE + 1];
static size_t command_len[MESSAGE + 1];

static void finish(struct conn *c, int ok) {
  if (ok) latencies[latency_count++] = now() - c->sent;
  else failures++;
  if (ok) { static const char quit[] = "QUIT\r\n"; (void)!write(c->fd, quit, sizeof quit - 1); }
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  conns[c->fd] = NULL;
  open_count--;
  free(c);
}

/* Writes what is left of the current command; 0 when all is written, 1 when the socket is full,
   -1 on an error. */
static int flush(struct conn *c) {
  while (c->out_len > 0) {
    ssize_t n = write(c->fd, c->out, c->out_len);
    if (n < 0) return errno == EAGAIN ? 1 : -1;
    c->out += n;
    c->out_len -= (size_t)n;
  }
  return 0;
}

static void send_step(struct conn *c) {
  c->out = commands[c->step];
  c->out_len = command_len[c->step];
  if (c->step == MESSAGE) c->sent = now();
  int r = flush(c);
  if (r < 0) { finish(c, 0); return; }
  struct epoll_event ev = {.events = EPOLLIN | (r ? EPOLLOUT : 0), .data.fd = c->fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Reads what the server sent; on a complete reply checks its code and goes to the next step. */
static void on_readable(struct conn *c) {
  for (;;) {
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n == 0) { finish(c, 0); return; }
    if (n < 0) { if (errno != EAGAIN) finish(c, 0); return; }
    c->in_len += (size_t)n;
    /* Complete lines: a reply ends with a line whose fourth character is not "-". */
    char *line = c->in, *end;
    while ((end = memchr(line, '\n', c->in_len - (size_t)(line - c->in))) != NULL) {
      size_t len = (size_t)(end - line) + 1;
      if (len >= 4 && line[3] == '-') { line = end + 1; continue; }
      int code = len >= 3 ? (line[0] - '0') : -1;
      if (code != expected[c->step]) { finish(c, 0); return; }
      if (c->step == MESSAGE) { finish(c, 1); return; }
      c->step++;
      line = end + 1;
      size_t rest = c->in_len - (size_t)(line - c->in);
      memmove(c->in, line, rest);
      c->in_len = rest;
      line = c->in;
      send_step(c);
      if (conns[c->fd] != c) return;
    }
    size_t rest = c->in_len - (size_t)(line - c->in);
    memmove(c->in, line, rest);
    c->in_len = rest;
    if (c->in_len == sizeof c->in) c->in_len = 0; /* an overlong line: keep its end only */
  }
}

static void open_one(const struct sockaddr_in *target) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { failures++; return; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr *)target, sizeof *target) < 0 && errno != EINPROGRESS) {
    close(fd); failures++; return;
  }
  if (fd >= conns_size) { close(fd); failures++; return; }
  struct conn *c = calloc(1, sizeof *c);
  c->fd = fd;
  c->step = GREETING;
  c->opened = now();
  conns[fd] = c;
  open_count++;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static char *format(const char *fmt, const char *arg, size_t *len) {
  char *s;
  *len = (size_t)asprintf(&s, fmt, arg);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST:PORT[,HOST:PORT...] RATE DURATION [SIZE] [FROM] [TO]\n", argv[0]);
    return 2;
  }
  double rate = atof(argv[2]), duration = atof(argv[3]);
  int size = argc > 4 ? atoi(argv[4]) : 2000;
  const char *sender = argc > 5 ? argv[5] : "bench@sender.example";
  const char *rcpt = argc > 6 ? argv[6] : "rcpt@rcpt.example";

  struct sockaddr_in targets[MAX_TARGETS];
  int target_count = 0;
  for (char *t = strtok(argv[1], ","); t && target_count < MAX_TARGETS; t = strtok(NULL, ",")) {
    char *colon = strrchr(t, ':');
    if (!colon) { fprintf(stderr, "target %s: HOST:PORT expected\n", t); return 2; }
    *colon = 0;
    struct sockaddr_in *a = &targets[target_count++];
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, t, &a->sin_addr) != 1) { fprintf(stderr, "%s: not an IPv4 address\n", t); return 2; }
  }

  /* As accept-latency.py: a Subject and lines of 76 X, about SIZE octets, then the final ".". */
  int lines = size / 78 > 0 ? size / 78 : 1;
  size_t body_len = strlen("Subject: latency\r\n\r\n") + (size_t)lines * 78 + 3;
  char *body = malloc(body_len + 1), *p = body;
  p += sprintf(p, "Subject: latency\r\n\r\n");
  for (int i = 0; i < lines; i++) { memset(p, 'X', 76); p[76] = '\r'; p[77] = '\n'; p += 78; }
  memcpy(p, ".\r\n", 3);
  commands[GREETING] = ""; command_len[GREETING] = 0;
  commands[EHLO] = format("EHLO %s\r\n", "latency.bench", &command_len[EHLO]);
  commands[MAIL] = format("MAIL FROM:<%s>\r\n", sender, &command_len[MAIL]);
  commands[RCPT] = format("RCPT TO:<%s>\r\n", rcpt, &command_len[RCPT]);
  commands[DATA] = format("%s", "DATA\r\n", &command_len[DATA]);
  commands[MESSAGE] = body; command_len[MESSAGE] = body_len;

  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  conns_size = limit.rlim_cur > 65536 ? 65536 : (int)limit.rlim_cur;
  conns = calloc((size_t)conns_size, sizeof *conns);
  long total = (long)(rate * duration);
  latencies = malloc(sizeof(double) * (size_t)(total > 0 ? total : 1));
  epfd = epoll_create1(EPOLL_CLOEXEC);

  struct epoll_event events[256];
  double start = now(), last_sweep = start;
  long started = 0;
  while (started < total || open_count > 0) {
    /* Open loop: each message starts at its time, whether or not earlier ones are done. */
    double t = now();
    while (started < total && start + started / rate <= t) {
      open_one(&targets[started % target_count]);
      started++;
    }
    int wait_ms = 100;
    if (started < total) {
      double next = start + started / rate - now();
      wait_ms = next <= 0 ? 0 : (int)(next * 1000) + 1;
      if (wait_ms > 100) wait_ms = 100;
    }
    int n = epoll_wait(epfd, events, 256, wait_ms);
    for (int i = 0; i < n; i++) {
      struct conn *c = conns[events[i].data.fd];
      if (!c) continue;
      if (events[i].events & (EPOLLERR | EPOLLHUP) && !(events[i].events & EPOLLIN)) { finish(c, 0); continue; }
      if (events[i].events & EPOLLOUT) {
        int r = flush(c);
        if (r < 0) { finish(c, 0); continue; }
        if (r == 0) {
          struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->fd};
          epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        }
      }
      if (events[i].events & EPOLLIN) on_readable(c);
    }
    if (now() - last_sweep > 1) {
      last_sweep = now();
      for (int fd = 0; fd < conns_size; fd++)
        if (conns[fd] && last_sweep - conns[fd]->opened > TIMEOUT) finish(conns[fd], 0);
    }
  }

  if (latency_count == 0) { printf("count=0 failures=%ld\n", failures); return 0; }
  qsort(latencies, (size_t)latency_count, sizeof *latencies, by_value);
#define PICK(q) (latencies[(long)((q) * latency_count) < latency_count ? (long)((q) * latency_count) : latency_count - 1] * 1000)
  printf("count=%ld failures=%ld p50=%.1f p99=%.1f max=%.1f\n", latency_count, failures, PICK(0.5), PICK(0.99),
         latencies[latency_count - 1] * 1000);
  return 0;
}
