package c10k.exercises.day04;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Libc;
import c10k.day03.sys.SockaddrIn;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.UnknownHostException;

/**
 * The two client-side calls exercise 4.4 needs and the book's servers never make: connect(2)
 * and getsockopt(2) for {@code SO_ERROR}. Bound as day 3's {@link Sockets} binds the rest
 * (errno captured by the downcall, "not now" a result rather than an exception), and kept here,
 * beside the test that uses them, because no server of the book connects anywhere.
 */
final class ClientSockets {

    static final int SO_ERROR = 4;

    // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
    private static final MethodHandle CONNECT = Libc.downcall("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
    private static final MethodHandle GETSOCKOPT = Libc.downcall("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    /** Per thread, made once (as day 3's errno capture): a sockaddr_in for connect, an int and its length for getsockopt. */
    private static final ThreadLocal<MemorySegment> ADDRESS_ARG =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SockaddrIn.LAYOUT));
    private static final ThreadLocal<MemorySegment> OPTION_VALUE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(JAVA_INT));
    private static final ThreadLocal<MemorySegment> OPTION_LENGTH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(JAVA_INT));

    private ClientSockets() {
    }

    /**
     * connect(2) on a non-blocking socket: 0 when the connection is made at once,
     * {@link EdgeTriggeredConnect#IN_PROGRESS} for {@code EINPROGRESS}; any other errno is thrown.
     * {@code EINTR} cannot come from a non-blocking connect on Linux (only the wait for the
     * handshake can be interrupted, and a non-blocking connect does not wait); were it to come,
     * POSIX says the attempt goes on without us, so it is reported as in progress, never retried:
     * a second connect on the same socket would answer {@code EALREADY}.
     */
    static int connect(int fd, String host, int port) throws SyscallException, UnknownHostException {
        MemorySegment state = Libc.callState();
        MemorySegment address = ADDRESS_ARG.get();
        SockaddrIn.set(address, host, port);
        try {
            int rc = (int) CONNECT.invokeExact(state, fd, address, (int) SockaddrIn.LAYOUT.byteSize());
            if (rc == 0) return 0;
            int errno = Libc.errno(state);
            if (errno == Errno.EINPROGRESS || errno == Errno.EINTR) return EdgeTriggeredConnect.IN_PROGRESS;
            throw new SyscallException("connect " + host + ":" + port, errno);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** {@code getsockopt(fd, SOL_SOCKET, SO_ERROR)}: the pending error, 0 if none; the kernel clears it as it answers (socket(7)). */
    static int soError(int fd) throws SyscallException {
        MemorySegment state = Libc.callState();
        MemorySegment value = OPTION_VALUE.get();
        MemorySegment length = OPTION_LENGTH.get();
        value.set(JAVA_INT, 0, 0);
        length.set(JAVA_INT, 0, 4);
        try {
            Libc.check("getsockopt(SO_ERROR)", (int) GETSOCKOPT.invokeExact(state, fd, Sockets.SOL_SOCKET, SO_ERROR,
                    value, length), state);
            return value.get(JAVA_INT, 0);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }
}
