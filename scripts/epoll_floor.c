/* The kernel's cost of one-frame-per-socket fan-out over loopback TCP when the reader behaves like a
 * real client: N connected socket pairs; a child process holds the client ends in one epoll set
 * (edge-triggered, as tokio registers sockets), sleeps in epoll_wait and reads each ready socket until
 * EAGAIN. The parent writes one 152-byte WebSocket text frame to each server end per round, waits for
 * the child to have read the round, and reports its CPU per write; the child reports its CPU per frame.
 * The difference from a writer whose reader is not waiting is the kernel waking the sleeping reader.
 * Build and run: cc -O2 -o /tmp/epoll_floor scripts/epoll_floor.c && /tmp/epoll_floor 5000 100
 * (N is bounded by the open-files limit: 2N + a few descriptors). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
static double cpu(int who) { struct rusage r; getrusage(who, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5000, rounds = argc > 2 ? atoi(argv[2]) : 200;
  int l = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0}; socklen_t al = sizeof a;
  a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(l, (void *)&a, sizeof a) || listen(l, 4096) || getsockname(l, (void *)&a, &al)) { perror("listen"); return 1; }
  int *srv = malloc(n * sizeof *srv), *cli = malloc(n * sizeof *cli), one = 1;
  for (int i = 0; i < n; i++) {
    cli[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cli[i], (void *)&a, sizeof a)) { perror("connect"); return 1; }
    srv[i] = accept(l, 0, 0);
    setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(cli[i], F_SETFL, O_NONBLOCK);
  }
  int done[2]; if (pipe(done)) return 1;
  long total = (long)n * rounds * 152;
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < n; i++) close(srv[i]);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) { struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u32 = i}; epoll_ctl(ep, EPOLL_CTL_ADD, cli[i], &e); }
    char buf[65536]; struct epoll_event ev[1024]; long got = 0, round = 0; double c0 = cpu(RUSAGE_SELF);
    while (got < total) {
      int k = epoll_wait(ep, ev, 1024, -1);
      for (int j = 0; j < k; j++) { ssize_t r; while ((r = read(cli[ev[j].data.u32], buf, sizeof buf)) > 0) got += r; }
      if (got >= (round + 1) * (long)n * 152) { round++; if (write(done[1], "x", 1) != 1) return 1; }
    }
    printf("{\"reader_us_per_delivery\":%.2f}\n", (cpu(RUSAGE_SELF) - c0) / ((double)n * rounds) * 1e6);
    return 0;
  }
  char frame[152]; frame[0] = (char)0x81; frame[1] = 150; memset(frame + 2, 'x', 150);
  double tw = 0; char c;
  for (int r = 0; r < rounds; r++) {
    double c0 = cpu(RUSAGE_SELF);
    for (int i = 0; i < n; i++) if (write(srv[i], frame, 152) != 152) { perror("write"); return 1; }
    tw += cpu(RUSAGE_SELF) - c0;
    if (read(done[0], &c, 1) != 1) return 1;
  }
  waitpid(child, 0, 0);
  printf("{\"sockets\":%d,\"rounds\":%d,\"writer_us_per_delivery\":%.2f}\n", n, rounds, tw / ((double)n * rounds) * 1e6);
  return 0;
}
