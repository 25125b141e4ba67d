package c10k.day03.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * An eventfd(2): a kernel counter with a file descriptor, the cheapest way for one thread to
 * wake another that sleeps in {@code poll} or {@code epoll_wait}: put the eventfd in the
 * watched set, and {@link #signal} makes it readable. The JDK's own Selector wakes up this
 * way.
 */
public final class EventFd implements AutoCloseable {

    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;

    // int eventfd(unsigned int initval, int flags);
    private static final MethodHandle EVENTFD = Libc.downcall("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // ssize_t write(int fd, const void *buf, size_t count);
    private static final MethodHandle WRITE = Libc.downcall("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    // ssize_t read(int fd, void *buf, size_t count);
    private static final MethodHandle READ = Libc.downcall("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));

    private final int fd;
    private final Arena arena = Arena.ofShared();   // signal() may come from any thread
    private final MemorySegment one = arena.allocateFrom(JAVA_LONG, 1L);
    private final MemorySegment drained = arena.allocate(JAVA_LONG);
    private boolean closed;   // guarded by this: a signal and the close exclude each other

    public EventFd() throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            fd = Libc.check("eventfd", (int) EVENTFD.invokeExact(state, 0, EFD_NONBLOCK | EFD_CLOEXEC), state);
        } catch (SyscallException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    public int fd() {
        return fd;
    }

    /**
     * Adds 1 to the counter: the fd becomes readable and a waiting poll returns. After
     * {@link #close}, nothing: a wake-up from another thread can come late (a second SIGTERM
     * closes a loop while the graceful shutdown is still waking it), and must neither use freed
     * memory nor write 8 bytes to whatever file now has this fd's number (day 6's race).
     */
    public synchronized void signal() {
        if (closed) return;
        try {
            long ignored = (long) WRITE.invokeExact(Libc.callState(), fd, one, 8L);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** Resets the counter to 0 so the fd stops being readable. Called by the woken thread. */
    public void drain() {
        try {
            long ignored = (long) READ.invokeExact(Libc.callState(), fd, drained, 8L);   // EAGAIN if already 0: fine
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Sockets.close(fd);
        arena.close();
    }
}
