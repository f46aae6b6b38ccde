/* Does io_uring make one-frame-per-socket fan-out cheaper than one send() per socket?
 * N connected loopback TCP socket pairs. Every round writes one 152-byte WebSocket text frame to each
 * server end twice, reading the client ends empty after each pass: once with a plain send() per
 * socket, once through io_uring (IORING_OP_SEND, the sockets registered as fixed files, up to PER
 * submissions per io_uring_enter). The passes alternate (send, io_uring, io_uring, send, ...), so a busy box
 * slows both alike and neither always follows the other. Prints the CPU per frame (user + system, the loopback receive softirq included, as for
 * a server) of each pass, and their ratio.
 * Build and run: cc -O2 -o /tmp/uring_floor scripts/uring_floor.c && /tmp/uring_floor 5000 100 4096
 * (N is bounded by the open-files limit: 2N + a few descriptors). Linux 5.19 or later. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
static double cpu(void) { struct rusage r; getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6; }
#define QD 4096
static void drain(int *cli, int n) { char buf[65536]; for (int i = 0; i < n; i++) while (read(cli[i], buf, sizeof buf) > 0) {} }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5000, rounds = argc > 2 ? atoi(argv[2]) : 100, per = argc > 3 ? atoi(argv[3]) : QD;
  if (n < 1 || rounds < 1 || per < 1 || per > QD) { fprintf(stderr, "usage: uring_floor N ROUNDS [PER<=%d]\n", QD); return 2; }
  int l = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0}; socklen_t al = sizeof a;
  a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(l, (void *)&a, sizeof a) || listen(l, 4096) || getsockname(l, (void *)&a, &al)) { perror("listen"); return 1; }
  int *srv = malloc(n * sizeof *srv), *cli = malloc(n * sizeof *cli), one = 1;
  for (int i = 0; i < n; i++) {
    cli[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cli[i], (void *)&a, sizeof a)) { perror("connect"); return 1; }
    srv[i] = accept(l, 0, 0);
    if (srv[i] < 0) { perror("accept"); return 1; }
    setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(cli[i], F_SETFL, O_NONBLOCK);
  }
  struct io_uring_params p = {0};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  p.cq_entries = 2 * QD;
  int ring = syscall(__NR_io_uring_setup, QD, &p); if (ring < 0) { perror("io_uring_setup"); return 1; }
  char *sq = mmap(0, p.sq_off.array + p.sq_entries * 4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  char *cq = mmap(0, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 1; }
  unsigned *stail = (void *)(sq + p.sq_off.tail), *smask = (void *)(sq + p.sq_off.ring_mask), *sarr = (void *)(sq + p.sq_off.array);
  unsigned *chead = (void *)(cq + p.cq_off.head), *ctail = (void *)(cq + p.cq_off.tail), *cmask = (void *)(cq + p.cq_off.ring_mask);
  struct io_uring_cqe *cqes = (void *)(cq + p.cq_off.cqes);
  if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, srv, n) < 0) { perror("io_uring_register"); return 1; }
  char frame[152]; frame[0] = (char)0x81; frame[1] = 150; memset(frame + 2, 'x', 150);
  double t_send = 0, t_uring = 0;
  for (int pass = 0; pass < 2 * rounds; pass++) {
    int by_send = (pass ^ (pass >> 1)) & 1; /* send, uring, uring, send, ...: neither always goes first */
    double c0 = cpu();
    if (by_send) {
      for (int i = 0; i < n; i++)
        if (send(srv[i], frame, 152, MSG_DONTWAIT | MSG_NOSIGNAL) != 152) { perror("send"); return 1; }
    } else for (int i = 0; i < n; i += per) {
      int k = n - i < per ? n - i : per;
      unsigned t = *stail;
      for (int j = 0; j < k; j++) {
        unsigned idx = (t + j) & *smask; struct io_uring_sqe *s = &sqes[idx]; memset(s, 0, sizeof *s);
        s->opcode = IORING_OP_SEND; s->fd = i + j; s->flags = IOSQE_FIXED_FILE;
        s->addr = (unsigned long)frame; s->len = 152; s->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL; s->user_data = i + j; sarr[idx] = idx;
      }
      __atomic_store_n(stail, t + k, __ATOMIC_RELEASE);
      if (syscall(__NR_io_uring_enter, ring, k, k, IORING_ENTER_GETEVENTS, 0, 0) != k) { perror("io_uring_enter"); return 1; }
      unsigned h = *chead, end = __atomic_load_n(ctail, __ATOMIC_ACQUIRE);
      for (; h != end; h++)
        if (cqes[h & *cmask].res != 152) { fprintf(stderr, "send %llu: %d\n", (unsigned long long)cqes[h & *cmask].user_data, cqes[h & *cmask].res); return 1; }
      __atomic_store_n(chead, h, __ATOMIC_RELEASE);
    }
    *(by_send ? &t_send : &t_uring) += cpu() - c0;
    drain(cli, n);
  }
  double d = (double)n * rounds;
  printf("{\"sockets\":%d,\"rounds\":%d,\"per_enter\":%d,\"send_us_per_frame\":%.2f,\"uring_us_per_frame\":%.2f,\"uring_over_send\":%.3f}\n",
         n, rounds, per, t_send / d * 1e6, t_uring / d * 1e6, t_uring / t_send);
  return 0;
}
