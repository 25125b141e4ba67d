package c10k.day07;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import c10k.day03.Libc;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * Listening sockets for io_uring: day 3's {@code Sockets.listen} with two differences.
 *
 * <ul>
 * <li>The socket stays <em>blocking</em>. io_uring never blocks our thread whatever the
 *     fd's mode: it tries the operation without waiting and, if it would block, arms an
 *     internal poll and completes the request when the socket is ready
 *     (IORING_FEAT_FAST_POLL, 5.7). On older kernels, an O_NONBLOCK fd could make a request
 *     complete with -EAGAIN instead; a blocking fd never does.</li>
 * <li>{@code SO_REUSEPORT} (socket(7), Linux 3.9) when several rings serve one port: each
 *     thread has a listener of its own bound to the same address, and the kernel spreads
 *     new connections between them by a hash of the peer's address and port. No accept
 *     queue is shared, so no thread is woken for a connection another one takes.</li>
 * </ul>
 */
final class Listeners {

    static final int SO_REUSEPORT = 15;
    private static final short AF_INET = 2;

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

    /* struct sockaddr_in { sa_family_t sin_family; in_port_t sin_port; struct in_addr sin_addr; char zero[8]; }  16 bytes */
    private static final long SOCKADDR_IN_SIZE = 16;

    private Listeners() {
    }

    /** A blocking TCP listener on {@code host:port}; with {@code reusePort}, one of several. */
    static int listen(String host, int port, int backlog, boolean reusePort) throws SyscallException, UnknownHostException {
        InetAddress address = InetAddress.getByName(host);
        if (!(address instanceof Inet4Address)) throw new UnknownHostException(host + " is not an IPv4 address");
        MemorySegment state = Libc.callState();
        int fd;
        try {
            fd = Libc.check("socket", (int) SOCKET.invokeExact(state, (int) AF_INET, Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC, 0), state);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_INT, 1);
            Libc.check("setsockopt(SO_REUSEADDR)",
                    (int) SETSOCKOPT.invokeExact(state, fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, one, 4), state);
            if (reusePort) {
                Libc.check("setsockopt(SO_REUSEPORT)",
                        (int) SETSOCKOPT.invokeExact(state, fd, Sockets.SOL_SOCKET, SO_REUSEPORT, one, 4), state);
            }
            MemorySegment sin = arena.allocate(SOCKADDR_IN_SIZE, 4);
            sin.set(JAVA_SHORT_UNALIGNED, 0, AF_INET);
            sin.set(JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) port);   // network byte order
            MemorySegment.copy(address.getAddress(), 0, sin, JAVA_BYTE, 4, 4);
            Libc.check("bind " + host + ":" + port, (int) BIND.invokeExact(state, fd, sin, (int) SOCKADDR_IN_SIZE), state);
            Libc.check("listen", (int) LISTEN.invokeExact(state, fd, backlog), state);
            return fd;
        } catch (SyscallException e) {
            Sockets.close(fd);
            throw e;
        } catch (Throwable t) {
            Sockets.close(fd);
            throw Libc.unreachable(t);
        }
    }

    /** The port a socket is bound to, from getsockname(2). */
    static int localPort(int fd) throws SyscallException {
        MemorySegment state = Libc.callState();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sin = arena.allocate(SOCKADDR_IN_SIZE, 4);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) SOCKADDR_IN_SIZE);
            Libc.check("getsockname", (int) GETSOCKNAME.invokeExact(state, fd, sin, length), state);
            return Short.toUnsignedInt(sin.get(JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2));
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }
}
