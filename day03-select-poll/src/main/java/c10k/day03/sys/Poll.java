package c10k.day03.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * poll(2): "tell me which of these fds are ready".
 *
 * <pre>
 * struct pollfd {
 *     int   fd;        // offset 0: the fd to watch (negative: ignored)
 *     short events;    // offset 4: what we ask about (POLLIN, POLLOUT)
 *     short revents;   // offset 6: what the kernel found (plus POLLERR, POLLHUP, POLLNVAL)
 * };                   // 8 bytes
 *
 * int poll(struct pollfd *fds, nfds_t nfds, int timeout);
 * </pre>
 *
 * <p>The whole array goes to the kernel on every call, and the kernel visits every entry
 * (checking each fd, and putting the thread on each one's wait queue when nothing is ready),
 * then the whole array comes back and the caller scans it for non-zero {@code revents}. Cost
 * per call: O(number of fds watched), however few are ready. That is the cost epoll removes.
 */
public final class Poll {

    public static final short POLLIN = 0x001;
    public static final short POLLOUT = 0x004;
    public static final short POLLERR = 0x008;
    public static final short POLLHUP = 0x010;
    public static final short POLLNVAL = 0x020;

    public static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents"));

    private static final VarHandle FD = POLLFD.arrayElementVarHandle(MemoryLayout.PathElement.groupElement("fd"));
    private static final VarHandle EVENTS = POLLFD.arrayElementVarHandle(MemoryLayout.PathElement.groupElement("events"));
    private static final VarHandle REVENTS = POLLFD.arrayElementVarHandle(MemoryLayout.PathElement.groupElement("revents"));

    // int poll(struct pollfd *fds, nfds_t nfds, int timeout);   -- not critical: it blocks
    private static final MethodHandle POLL = Libc.downcall("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private Poll() {
    }

    /**
     * Waits until one of the first {@code count} entries of {@code fds} is ready or the
     * timeout (ms, -1 = forever) passes. Returns how many entries have non-zero
     * {@code revents}; 0 on timeout, and also when a signal interrupted the wait
     * ({@code EINTR}): poll is never restarted after a signal handler, whatever SA_RESTART
     * says (signal(7)), and the JVM sends signals to its own threads.
     */
    public static int poll(MemorySegment fds, int count, int timeoutMillis) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            int n = (int) POLL.invokeExact(state, fds, (long) count, timeoutMillis);
            if (n >= 0) return n;
            int errno = Libc.errno(state);
            if (errno == Errno.EINTR) return 0;
            throw new SyscallException("poll", errno);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    public static void set(MemorySegment fds, int index, int fd, short events) {
        FD.set(fds, 0L, (long) index, fd);
        EVENTS.set(fds, 0L, (long) index, events);
        REVENTS.set(fds, 0L, (long) index, (short) 0);
    }

    public static int fd(MemorySegment fds, int index) {
        return (int) FD.get(fds, 0L, (long) index);
    }

    public static short events(MemorySegment fds, int index) {
        return (short) EVENTS.get(fds, 0L, (long) index);
    }

    public static void setEvents(MemorySegment fds, int index, short events) {
        EVENTS.set(fds, 0L, (long) index, events);
    }

    public static short revents(MemorySegment fds, int index) {
        return (short) REVENTS.get(fds, 0L, (long) index);
    }
}
