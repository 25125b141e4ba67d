/*
 * The hold client: opens C connections to one server address and port, has each echo one line,
 * then holds them all; "echo" on stdin has every connection echo once more while all are held;
 * the end of stdin (or the death of the parent) closes them all and exits. One thread, one
 * epoll instance, every socket non-blocking, and a bounded number of connects and lines in
 * flight, so the server's accept queues and the kernel's TCP memory (tcp_mem) never see a
 * burst of a whole process's share at once.
 *
 * Light on purpose: a connection costs this process 8 bytes (its fd and its state); the line
 * it sends is computed from its number, not stored. The kernel's own cost per socket (several
 * KB) is what ./jbang hold measures; a client that added a JVM's hundreds of bytes per
 * connection and tens of MB per process would be read as the server's.
 *
 * Source addresses: connection g (a number unique over all client processes) binds before
 * connect to 127.0.0.1 + 1 + g / per_source, port 0, with IP_BIND_ADDRESS_NO_PORT (Linux 4.2):
 * the port is chosen at connect(2), when the kernel knows the whole four-tuple, so each
 * source address has the whole ephemeral range (ip_local_port_range) to this one server
 * address and port, and a port used here stays usable for any other destination. Without the
 * option, bind(2) would pick a port unique for the address alone and take it from everyone.
 *
 * At the end every socket is closed with SO_LINGER {1, 0}: an RST instead of a FIN, so that a
 * million closes leave no million TIME_WAIT entries behind (tcp_max_tw_buckets would overflow).
 *
 * usage: hold_client --port P --connections C [--first G] [--per-source S] [--server 127.0.0.1]
 *                    [--in-flight 64] [--line 24]
 * stdout: "progress CONNECTED ECHOED FAILED" twice a second while connecting, then "held H
 * ECHOED FAILED", then "echoed N FAILED" after each "echo" command; the first failures of a
 * kind are said in words on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { IDLE, CONNECTING, ECHOING, HELD, DEAD };

struct conn {
    int fd;
    uint8_t state;
    uint8_t got;     /* bytes of the answer read so far */
};

static struct conn *conns;
static int count, first, per_source = 12700, in_flight = 64, line_len = 24, ep;
static struct sockaddr_in server;
static long echoed, failed, connected;
static int seq;                /* 0: the line sent when opened; 1, 2, ...: each "echo" command */

/* The line of connection g for round seq: "g:seq " then x's, then '\n'. */
static void make_line(char *buf, long g) {
    int n = snprintf(buf, line_len, "%ld:%d ", g, seq);
    if (n >= line_len - 1) n = line_len - 1;
    memset(buf + n, 'x', line_len - 1 - n);
    buf[line_len - 1] = '\n';
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The first failure of a kind is said in words on stderr; the counts go to stdout. */
static void report_failure(int err, const char *what) {
    static int said;
    if (said++ < 3) fprintf(stderr, "hold_client: %s: %s\n", what, strerror(err));
}

/* The connection is lost: closed, and counted by the caller. */
static void lose(struct conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = DEAD;
}

/* Opens connection i: a socket bound to its source address (port chosen at connect), connect started. */
static int open_one(int i) {
    long g = (long) first + i;
    struct conn *c = &conns[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        report_failure(errno, "socket (the open-files limit, or fs.file-max)");
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
    src.sin_addr.s_addr = htonl(0x7f000001u + 1 + (uint32_t) (g / per_source));
    if (bind(fd, (struct sockaddr *) &src, sizeof src) < 0) {
        report_failure(errno, "bind to the source address");
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *) &server, sizeof server) < 0 && errno != EINPROGRESS) {
        report_failure(errno, errno == EADDRNOTAVAIL ? "connect: no ephemeral port left for this source address"
                                                     : "connect");
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = CONNECTING;
    c->got = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = (uint32_t) i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        report_failure(errno, "epoll_ctl (fs.epoll.max_user_watches?)");
        close(fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static int send_line(struct conn *c, int i) {
    char line[256];
    make_line(line, (long) first + i);
    ssize_t n = send(c->fd, line, line_len, MSG_NOSIGNAL);
    if (n != line_len) return -1;   /* a line this short fits any empty send buffer */
    c->state = ECHOING;
    c->got = 0;
    return 0;
}

/* Reads what there is of the answer; 1 when the whole line came back exact, 0 not yet, -1 broken. */
static int read_answer(struct conn *c, int i) {
    char want[256], got[256];
    make_line(want, (long) first + i);
    for (;;) {
        ssize_t n = recv(c->fd, got, line_len - c->got, 0);
        if (n > 0) {
            if (memcmp(got, want + c->got, n) != 0) return -1;
            c->got += n;
            if (c->got == line_len) return 1;
        } else if (n < 0 && errno == EAGAIN) {
            return 0;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return -1;
        }
    }
}

/* One event for connection i, in either phase; returns 1 when that connection finished its line. */
static int on_event(int i, uint32_t events) {
    struct conn *c = &conns[i];
    if (c->state == CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || send_line(c, i) < 0) {
            if (err) report_failure(err, "connect");
            lose(c);
            failed++;
            return 1;
        }
        connected++;
    }
    if (c->state == ECHOING && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        int r = read_answer(c, i);
        if (r == 0) return 0;
        if (r < 0) {
            lose(c);
            failed++;
            return 1;
        }
        c->state = HELD;
        echoed++;
        return 1;
    }
    if (c->state == HELD && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        lose(c);   /* the server closed a held connection: it is not held, and fails the next "echo" */
    }
    return 0;
}

/*
 * Runs one phase over all connections with at most in_flight started and unfinished: start(i)
 * begins connection i's part (a connect, or a line); events finish them.
 */
static void phase(int (*start)(int)) {
    struct epoll_event events[512];
    int next = 0, busy = 0, done = 0;
    double last = now();
    while (done < count) {
        while (busy < in_flight && next < count) {
            if (start(next) < 0) {
                lose(&conns[next]);
                failed++;
                done++;
            } else {
                busy++;
            }
            next++;
        }
        int n = epoll_wait(ep, events, 512, 1000);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            exit(1);
        }
        for (int k = 0; k < n; k++) {
            if (on_event((int) events[k].data.u32, events[k].events)) {
                busy--;
                done++;
            }
        }
        if (seq == 0 && now() - last >= 0.5) {
            printf("progress %ld %ld %ld\n", connected, echoed, failed);
            fflush(stdout);
            last = now();
        }
    }
}

static int start_connect(int i) {
    return open_one(i);
}

static int start_echo(int i) {
    struct conn *c = &conns[i];
    if (c->state != HELD) return -1;
    if (send_line(c, i) < 0) {
        lose(c);
        return -1;
    }
    return 0;
}

static long held(void) {
    long n = 0;
    for (int i = 0; i < count; i++) n += conns[i].state == HELD;
    return n;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--connections")) count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--first")) first = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--per-source")) per_source = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--server")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--in-flight")) in_flight = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--line")) line_len = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "hold_client: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || count <= 0 || per_source <= 0 || in_flight <= 0 || line_len < 16 || line_len > 255) {
        fprintf(stderr, "usage: hold_client --port P --connections C [--first G] [--per-source S] [--server H] [--in-flight N] [--line 16..255]\n");
        return 2;
    }
    /* The parent's end is ours: if it dies (even by SIGKILL), so do we, and the kernel closes every socket. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) return 1;
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1) {
        fprintf(stderr, "hold_client: not an IPv4 address: %s\n", host);
        return 2;
    }
    conns = calloc(count, sizeof *conns);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || ep < 0) {
        perror("hold_client");
        return 1;
    }
    for (int i = 0; i < count; i++) conns[i].fd = -1;

    phase(start_connect);
    printf("held %ld %ld %ld\n", held(), echoed, failed);
    fflush(stdout);

    char command[64];
    while (fgets(command, sizeof command, stdin)) {   /* holds until stdin ends */
        if (strncmp(command, "echo", 4) != 0) continue;
        seq++;
        long before = echoed;
        failed = 0;
        for (int i = 0; i < count; i++) conns[i].got = 0;
        phase(start_echo);
        printf("echoed %ld %ld\n", echoed - before, failed);
        fflush(stdout);
    }
    struct linger rst = {.l_onoff = 1, .l_linger = 0};
    for (int i = 0; i < count; i++) {
        if (conns[i].fd < 0) continue;
        setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
        close(conns[i].fd);
    }
    return 0;
}
