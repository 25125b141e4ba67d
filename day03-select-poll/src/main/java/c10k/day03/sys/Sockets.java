package c10k.day03.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.UnknownHostException;

/**
 * TCP sockets through the system calls themselves (socket(2), bind(2), listen(2),
 * accept4(2), recv(2), send(2), shutdown(2), close(2)), with no JDK networking in between.
 *
 * <p>Conventions, the same in every binding class of the book: each handle's comment shows
 * the C signature; a failure becomes a {@link SyscallException} naming the call and the
 * errno; "would block" ({@code EAGAIN}) is a result, not an error, because on a
 * non-blocking socket it is the normal way of saying "not now".
 *
 * <p>{@code recv} and {@code send} on a non-blocking socket never wait, so they are bound as
 * critical calls ({@link Linker.Option#critical}) allowed to touch the Java heap: the kernel
 * copies straight into or out of a {@code byte[]} with no off-heap staging buffer, and the
 * call skips the JVM's thread-state transition. Blocking calls (poll, epoll_wait) must never
 * be critical: the garbage collector would wait for them.
 */
public final class Sockets {

    public static final int AF_INET = 2;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = 0x800;     // O_NONBLOCK
    public static final int SOCK_CLOEXEC = 0x80000;    // O_CLOEXEC
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_REUSEPORT = 15;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int SHUT_WR = 1;

    /** What {@link #recv}, {@link #send} and {@link #accept} return for {@code EAGAIN}. */
    public static final int WOULD_BLOCK = -1;

    // int socket(int domain, int type, int protocol);
    private static final MethodHandle SOCKET = Libc.downcall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
    private static final MethodHandle SETSOCKOPT = Libc.downcall("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
    private static final MethodHandle BIND = Libc.downcall("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    // int listen(int sockfd, int backlog);
    private static final MethodHandle LISTEN = Libc.downcall("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
    private static final MethodHandle GETSOCKNAME = Libc.downcall("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    // int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
    private static final MethodHandle ACCEPT4 = Libc.downcall("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
    private static final MethodHandle RECV = Libc.downcall("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Linker.Option.critical(true));
    // ssize_t send(int sockfd, const void *buf, size_t len, int flags);
    private static final MethodHandle SEND = Libc.downcall("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Linker.Option.critical(true));
    // int shutdown(int sockfd, int how);
    private static final MethodHandle SHUTDOWN = Libc.downcall("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // int close(int fd);
    private static final MethodHandle CLOSE = Libc.downcall("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private Sockets() {
    }

    /**
     * A non-blocking TCP socket listening on {@code host:port} (port 0: the kernel picks).
     * {@code SO_REUSEADDR} lets a restarted server bind while old connections linger in
     * TIME_WAIT. The backlog is capped by the kernel at {@code net.core.somaxconn}.
     */
    public static int listen(String host, int port, int backlog) throws SyscallException, UnknownHostException {
        return listen(host, port, backlog, false);
    }

    /**
     * The same, and with {@code reusePort} also {@code SO_REUSEPORT} (socket(7), Linux 3.9),
     * set before bind: several sockets, each with the option and of the same user, may then
     * listen on one port, and the kernel spreads incoming connections over them by a hash of
     * the addresses and ports: several independent loops can share one port that way.
     */
    public static int listen(String host, int port, int backlog, boolean reusePort) throws SyscallException, UnknownHostException {
        return listen(host, port, backlog, reusePort, true);
    }

    /**
     * The same, blocking unless {@code nonBlocking}. A readiness loop must never block in
     * accept: it is told "ready" and takes what is there. A completion-based caller (io_uring)
     * wants a blocking listener instead: the kernel never blocks the caller's thread whatever the
     * fd's mode, it tries the operation and, if it would block, arms an internal poll and
     * completes the request when the socket is ready (IORING_FEAT_FAST_POLL, Linux 5.7); on older
     * kernels an O_NONBLOCK fd could make a request complete with -EAGAIN instead, and a blocking one never does.
     */
    public static int listen(String host, int port, int backlog, boolean reusePort, boolean nonBlocking)
            throws SyscallException, UnknownHostException {
        MemorySegment state = Libc.callState();
        int fd = socket(SOCK_STREAM | (nonBlocking ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_INT, 1);
            Libc.check("setsockopt(SO_REUSEADDR)",
                    (int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_REUSEADDR, one, 4), state);
            if (reusePort) {
                Libc.check("setsockopt(SO_REUSEPORT)",
                        (int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_REUSEPORT, one, 4), state);
            }
            MemorySegment address = arena.allocate(SockaddrIn.LAYOUT);
            SockaddrIn.set(address, host, port);
            Libc.check("bind " + host + ":" + port, (int) BIND.invokeExact(state, fd, address, (int) SockaddrIn.LAYOUT.byteSize()), state);
            Libc.check("listen " + host + ":" + port, (int) LISTEN.invokeExact(state, fd, backlog), state);
            return fd;
        } catch (SyscallException | UnknownHostException e) {
            close(fd);
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** {@code socket(AF_INET, type, 0)}. */
    public static int socket(int type) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            return Libc.check("socket", (int) SOCKET.invokeExact(state, AF_INET, type, 0), state);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** The port a socket is bound to, from getsockname(2). */
    public static int localPort(int fd) throws SyscallException {
        MemorySegment state = Libc.callState();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SockaddrIn.LAYOUT);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) SockaddrIn.LAYOUT.byteSize());
            Libc.check("getsockname", (int) GETSOCKNAME.invokeExact(state, fd, address, length), state);
            return SockaddrIn.port(address);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * Takes one connection off the listen queue, already non-blocking and close-on-exec (one
     * call instead of accept + fcntl). Returns the new fd, or {@link #WOULD_BLOCK} when the
     * queue is empty. {@code ECONNABORTED} (the peer gave up while queued) is retried at once:
     * that connection is gone from the queue, the ones behind it are not, and returning "empty"
     * would leave them waiting for an edge that an edge-triggered listener never gets again.
     * Throws on anything else, {@code EMFILE} above all: the caller must have a plan for
     * running out of descriptors, and for the errors accept(2) calls transient.
     */
    public static int accept(int listenFd) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            while (true) {
                int injected = Faults.take("accept4");
                if (injected != 0) throw new SyscallException("accept4", injected);
                int fd = (int) ACCEPT4.invokeExact(state, listenFd, MemorySegment.NULL, MemorySegment.NULL,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd >= 0) return fd;
                int errno = Libc.errno(state);
                if (errno == Errno.EINTR || errno == Errno.ECONNABORTED) continue;
                if (errno == Errno.EAGAIN) return WOULD_BLOCK;
                throw new SyscallException("accept4", errno);
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * Reads up to {@code length} bytes into {@code buf[offset...]}. Returns the count, 0 at end
     * of stream (the peer sent FIN), or {@link #WOULD_BLOCK}. Throws on a reset.
     */
    public static int recv(int fd, byte[] buf, int offset, int length) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            while (true) {
                long n = (long) RECV.invokeExact(state, fd, MemorySegment.ofArray(buf).asSlice(offset, length), (long) length, 0);
                if (n >= 0) return (int) n;
                int errno = Libc.errno(state);
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EAGAIN) return WOULD_BLOCK;
                throw new SyscallException("recv", errno);
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * Sends up to {@code length} bytes from {@code buf[offset...]}: returns how many the kernel
     * took (maybe fewer: its send buffer filled), or {@link #WOULD_BLOCK} if it took none.
     * {@code MSG_NOSIGNAL}: a peer that went away gives {@code EPIPE}, never a SIGPIPE that
     * would kill a process that does not ignore it (HotSpot does; our code must not rely on it).
     */
    public static int send(int fd, byte[] buf, int offset, int length) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            while (true) {
                long n = (long) SEND.invokeExact(state, fd, MemorySegment.ofArray(buf).asSlice(offset, length), (long) length, MSG_NOSIGNAL);
                if (n >= 0) return (int) n;
                int errno = Libc.errno(state);
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EAGAIN) return WOULD_BLOCK;
                throw new SyscallException("send", errno);
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** Sends FIN after what is queued: "I will send nothing more", while still reading. */
    public static void shutdownWrite(int fd) {
        MemorySegment state = Libc.callState();
        try {
            int ignored = (int) SHUTDOWN.invokeExact(state, fd, SHUT_WR);   // ENOTCONN if the peer is gone: fine
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * close(2). Never retried, even on EINTR: on Linux the fd is released whatever close
     * returns, and by the time we retried, another thread may own that number.
     */
    public static void close(int fd) {
        MemorySegment state = Libc.callState();
        try {
            int ignored = (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** An int 1 for setsockopt, made once: the kernel only reads it, so every thread may share it. */
    private static final MemorySegment ONE = Arena.global().allocateFrom(JAVA_INT, 1);

    /** Turns off Nagle's algorithm (tcp(7)): the event-loop servers set it on every accepted socket, as Netty does. */
    public static void setNoDelay(int fd) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            Libc.check("setsockopt(TCP_NODELAY)", (int) SETSOCKOPT.invokeExact(state, fd, IPPROTO_TCP, TCP_NODELAY, ONE, 4), state);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }
}
