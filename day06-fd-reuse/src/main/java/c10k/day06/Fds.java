package c10k.day06;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day03.Errno;
import c10k.day03.Libc;
import c10k.day03.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * The descriptor-table calls day 6 needs: dup3(2) to put a connection on a number of our
 * choosing, fcntl(2) to ask whether a number is taken, and getrlimit/setrlimit(2) for
 * {@code RLIMIT_NOFILE}, the ceiling on descriptor numbers.
 *
 * <pre>
 * int dup3(int oldfd, int newfd, int flags);
 * int fcntl(int fd, int cmd, ...);
 * struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; };     // 2 x 64-bit on 64-bit Linux
 * int getrlimit(int resource, struct rlimit *rlim);
 * int setrlimit(int resource, const struct rlimit *rlim);
 * </pre>
 */
public final class Fds {

    public static final int O_CLOEXEC = 0x80000;
    public static final int F_GETFD = 1;
    public static final int RLIMIT_NOFILE = 7;

    public static final StructLayout RLIMIT = MemoryLayout.structLayout(
            JAVA_LONG.withName("rlim_cur"), JAVA_LONG.withName("rlim_max"));

    // int dup3(int oldfd, int newfd, int flags);
    private static final MethodHandle DUP3 = Libc.downcall("dup3",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    // int fcntl(int fd, int cmd, ...);  -- called with no third argument
    private static final MethodHandle FCNTL = Libc.downcall("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // int getrlimit(int resource, struct rlimit *rlim);
    private static final MethodHandle GETRLIMIT = Libc.downcall("getrlimit",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS));
    // int setrlimit(int resource, const struct rlimit *rlim);
    private static final MethodHandle SETRLIMIT = Libc.downcall("setrlimit",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS));

    /** The soft and hard limits on open files (and so on descriptor numbers: the highest is soft - 1). */
    public record Limit(long soft, long hard) {
    }

    private Fds() {
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
