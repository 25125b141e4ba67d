package c10k.day06;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Libc;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * The descriptor-table calls day 6 needs: dup3(2) to put a connection (or the placeholder) on
 * a number of our choosing, socketpair(2) to make the placeholder, fcntl(2) to ask whether a
 * number is taken and to claim a number without clobbering anything, and
 * getrlimit/setrlimit(2) for {@code RLIMIT_NOFILE}, the ceiling on descriptor numbers.
 *
 * <pre>
 * int dup3(int oldfd, int newfd, int flags);
 * int socketpair(int domain, int type, int protocol, int sv[2]);
 * int fcntl(int fd, int cmd, ...);                           // F_GETFD; F_DUPFD_CLOEXEC with an int
 * struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; };     // 2 x 64-bit on 64-bit Linux
 * int getrlimit(int resource, struct rlimit *rlim);
 * int setrlimit(int resource, const struct rlimit *rlim);
 * </pre>
 */
public final class FdCalls {

    public static final int O_CLOEXEC = 0x80000;
    public static final int F_GETFD = 1;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int AF_UNIX = 1;
    public static final int RLIMIT_NOFILE = 7;

    public static final StructLayout RLIMIT = MemoryLayout.structLayout(
            JAVA_LONG.withName("rlim_cur"), JAVA_LONG.withName("rlim_max"));

    // int dup3(int oldfd, int newfd, int flags);
    private static final MethodHandle DUP3 = Libc.downcall("dup3",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    // int fcntl(int fd, int cmd, ...);  -- called with no third argument
    private static final MethodHandle FCNTL = Libc.downcall("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // int fcntl(int fd, int cmd, ...);  -- with one int after cmd: a variadic argument, so said
    private static final MethodHandle FCNTL_INT = Libc.downcall("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    // int socketpair(int domain, int type, int protocol, int sv[2]);
    private static final MethodHandle SOCKETPAIR = Libc.downcall("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    // int getrlimit(int resource, struct rlimit *rlim);
    private static final MethodHandle GETRLIMIT = Libc.downcall("getrlimit",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS));
    // int setrlimit(int resource, const struct rlimit *rlim);
    private static final MethodHandle SETRLIMIT = Libc.downcall("setrlimit",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS));

    /** The soft and hard limits on open files (and so on descriptor numbers: the highest is soft - 1). */
    public record Limit(long soft, long hard) {
    }

    private FdCalls() {
    }

    /**
     * Makes {@code newFd} refer to the same open file description as {@code oldFd}. If
     * {@code newFd} was open, it is closed first, atomically: there is no moment in which
     * another thread's {@code open} or {@code accept} could take the number in between (which
     * is why this is not close + dup). Both numbers then share one description: one file
     * offset, one socket, and one set of epoll registrations (epoll(7) keys them on the
     * description).
     */
    public static void dup3(int oldFd, int newFd) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            while (true) {
                int rc = (int) DUP3.invokeExact(state, oldFd, newFd, O_CLOEXEC);
                if (rc >= 0) return;
                int errno = Libc.errno(state);
                if (errno == Errno.EINTR) continue;
                throw new SyscallException("dup3", errno);
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * Two connected Unix stream sockets ({@code AF_UNIX}, {@code type} such as
     * {@code SOCK_STREAM | SOCK_CLOEXEC}): day 6 closes one end and keeps the other as the
     * placeholder, a socket on which a read sees end of stream and a write fails with
     * {@code EPIPE}.
     */
    public static int[] socketpair(int type) throws SyscallException {
        MemorySegment state = Libc.callState();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(JAVA_INT, 2);
            Libc.check("socketpair(AF_UNIX)", (int) SOCKETPAIR.invokeExact(state, AF_UNIX, type, 0, sv), state);
            return new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * A duplicate of {@code fd} on the lowest free number at or above {@code lowest}, close-on-exec
     * ({@code F_DUPFD_CLOEXEC}). Unlike dup3 it never replaces an open file: if {@code lowest}
     * is taken the answer is a higher number, which is how the caller learns that it is taken.
     */
    public static int dupAtLeast(int fd, int lowest) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            return Libc.check("fcntl(F_DUPFD_CLOEXEC, " + lowest + ")", (int) FCNTL_INT.invokeExact(state, fd, F_DUPFD_CLOEXEC, lowest), state);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** Whether {@code fd} is an open descriptor of this process. */
    public static boolean isOpen(int fd) {
        MemorySegment state = Libc.callState();
        try {
            return (int) FCNTL.invokeExact(state, fd, F_GETFD) != -1;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    public static Limit openFilesLimit() throws SyscallException {
        MemorySegment state = Libc.callState();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(RLIMIT);
            Libc.check("getrlimit(RLIMIT_NOFILE)", (int) GETRLIMIT.invokeExact(state, RLIMIT_NOFILE, r), state);
            return new Limit(r.get(JAVA_LONG, 0), r.get(JAVA_LONG, 8));
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * Sets the soft limit (an unprivileged process may set it anywhere up to the hard limit,
     * and lower the hard limit, never raise it). Returns the limit now in force.
     */
    public static Limit setSoftLimit(long soft) throws SyscallException {
        MemorySegment state = Libc.callState();
        Limit now = openFilesLimit();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(RLIMIT);
            r.set(JAVA_LONG, 0, soft);
            r.set(JAVA_LONG, 8, now.hard());
            Libc.check("setrlimit(RLIMIT_NOFILE)", (int) SETRLIMIT.invokeExact(state, RLIMIT_NOFILE, r), state);
            return openFilesLimit();
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** What every long-running server does at start: use all the descriptors it is allowed. */
    public static Limit raiseSoftLimitToHard() throws SyscallException {
        Limit now = openFilesLimit();
        return now.soft() >= now.hard() ? now : setSoftLimit(now.hard());
    }
}
