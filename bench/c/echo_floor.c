/*
 * The floor: the book's line-echo protocol in as little C as does it right, one thread on an
 * edge-triggered epoll instance. The bench compiles it with `cc -O2` (when there is a cc) and
 * reads every Java server's figures against it: what the kernel allows on this machine, with no
 * JVM, no FFM downcall and no garbage collector in between.
 *
 * The same rules as day 4's engine, and nothing more:
 * - a line is bytes up to '\n', at most 65,536 bytes newline included; the answer is the line;
 *   a longer line gets "ERR line too long\n" and the connection is closed after it;
 * - read until EAGAIN (edge-triggered: no second report of bytes left in the socket);
 * - send first, and arm EPOLLOUT only after send returned EAGAIN; disarm once drained;
 * - stop reading a connection while more than 64 KiB of its answers are unsent, resume below
 *   32 KiB (the same water marks as Netty's defaults and day 4's outbox);
 * - half-close: answer the complete lines already read, then close; bytes after the last
 *   newline are discarded;
 * - TCP_NODELAY on every accepted socket, as Netty and the load generator set it.
 * An idle connection holds only its struct: the read buffer is one per loop, and a
 * connection's partial line and unsent answers are allocated only while it has some.
 *
 * Not here, because the bench does not exercise them: timeouts, graceful shutdown (SIGTERM
 * simply ends the process), a lingering close after the error line (a client that is still
 * sending may get RST instead of it), EMFILE handling beyond waiting for the next edge.
 *
 * usage: echo_floor [--host 127.0.0.1] [--port 0]; prints "listening on HOST:PORT" when ready.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LINE 65536
#define HIGH_WATER (64 * 1024)
#define LOW_WATER (32 * 1024)
#define MAX_EVENTS 256

static const char ERR_TOO_LONG[] = "ERR line too long\n";

struct conn {
    int fd;
    int armed_out;    /* EPOLLOUT is in the interest set */
    int paused;       /* reading stopped: answers above the high water mark */
    int closing;      /* no more reading: EOF or an error line queued; close once drained */
    char *part;       /* the partial line after the last newline, or NULL */
    size_t part_len;
    char *out;        /* unsent answers, or NULL */
    size_t out_off, out_len, out_cap;
};

static int ep;
static char rbuf[64 * 1024];

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void close_conn(struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->part);
    free(c->out);
    free(c);
}

static int set_interest(struct conn *c, int want_out) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) return -1;
    c->armed_out = want_out;
    return 0;
}

static void queue(struct conn *c, const char *p, size_t n) {
    if (c->out_off + c->out_len + n > c->out_cap) {
        if (c->out_off > 0) {   /* slide the unsent part to the front first */
            memmove(c->out, c->out + c->out_off, c->out_len);
            c->out_off = 0;
        }
        if (c->out_len + n > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap : 4096;
            while (cap < c->out_len + n) cap *= 2;
            char *grown = realloc(c->out, cap);
            if (!grown) die("realloc");
            c->out = grown;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_off + c->out_len, p, n);
    c->out_len += n;
}

/* Sends what is queued until done or EAGAIN. Returns -1 when the connection is broken. */
static int flush(struct conn *c) {
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += n;
            c->out_len -= n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return c->armed_out ? 0 : set_interest(c, 1);   /* only now: EPOLLOUT */
        } else {
            return -1;
        }
    }
    free(c->out);   /* drained: an idle connection keeps no buffer */
    c->out = NULL;
    c->out_off = c->out_cap = 0;
    return c->armed_out ? set_interest(c, 0) : 0;
}

/* Frames the bytes just read: every complete line is queued as its own answer. */
static void frame(struct conn *c, const char *p, size_t n) {
    while (n > 0 && !c->closing) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t) (nl - p) + 1 : n;
        if (c->part_len + seg > MAX_LINE || (!nl && c->part_len + seg == MAX_LINE)) {
            queue(c, ERR_TOO_LONG, sizeof ERR_TOO_LONG - 1);
            c->closing = 1;
            break;
        }
        if (!nl) {   /* keep the partial line for the next read */
            char *grown = realloc(c->part, c->part_len + seg);
            if (!grown) die("realloc");
            c->part = grown;
            memcpy(c->part + c->part_len, p, seg);
            c->part_len += seg;
            break;
        }
        if (c->part_len > 0) {
            queue(c, c->part, c->part_len);
            free(c->part);
            c->part = NULL;
            c->part_len = 0;
        }
        queue(c, p, seg);
        p += seg;
        n -= seg;
    }
}

/* Reads until EAGAIN, EOF or the high water mark; answers as it goes. Returns -1 to close. */
static int on_readable(struct conn *c) {
    while (!c->paused && !c->closing) {
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (n > 0) {
            frame(c, rbuf, (size_t) n);
            if (c->out_len > HIGH_WATER) {
                if (flush(c) < 0) return -1;
                if (c->out_len > HIGH_WATER) c->paused = 1;   /* resumed by on_writable */
            }
        } else if (n == 0) {
            c->closing = 1;   /* half-close: answer what is complete, drop the partial line */
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN) {
            break;
        } else {
            return -1;
        }
    }
    if (flush(c) < 0) return -1;   /* send first: EPOLLOUT only if this hits EAGAIN */
    return c->closing && c->out_len == 0 ? -1 : 0;
}

static int on_writable(struct conn *c) {
    if (flush(c) < 0) return -1;
    if (c->closing && c->out_len == 0) return -1;
    if (c->paused && c->out_len < LOW_WATER) {
        c->paused = 0;
        return on_readable(c);   /* bytes may wait in the socket with no edge to come */
    }
    return 0;
}

static void on_accept(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN) return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == ENOBUFS || errno == ENOMEM
                || errno == EPERM || errno == ENETDOWN || errno == ENOPROTOOPT || errno == EHOSTDOWN
                || errno == ENONET || errno == EHOSTUNREACH || errno == EOPNOTSUPP || errno == ENETUNREACH)
                continue;
            return;   /* EMFILE and the like: the next connection's edge retries */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
        else if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: echo_floor [--host H] [--port P]\n");
            return 2;
        }
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "echo_floor: not an IPv4 address: %s\n", host);
        return 2;
    }
    if (bind(lfd, (struct sockaddr *) &a, sizeof a) < 0) die("bind");
    if (listen(lfd, 4096) < 0) die("listen");
    socklen_t len = sizeof a;
    getsockname(lfd, (struct sockaddr *) &a, &len);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl");
    printf("listening on %s:%d\n", host, ntohs(a.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                on_accept(lfd);
                continue;
            }
            uint32_t e = events[i].events;
            int broken = 0;
            /* EPOLLIN and EPOLLOUT of one event handled independently: an else-if loses an edge */
            if (e & EPOLLOUT) broken = on_writable(c) < 0;
            if (!broken && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) broken = on_readable(c) < 0;
            if (broken) close_conn(c);
        }
    }
}
