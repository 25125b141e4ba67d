package c10k.day04;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import c10k.day03.sys.Libc;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * epoll(7): an interest list kept in the kernel, and a call that returns only what is ready.
 *
 * <pre>
 * int epoll_create1(int flags);
 * int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
 * int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
 *
 * typedef union epoll_data { void *ptr; int fd; uint32_t u32; uint64_t u64; } epoll_data_t;
 * struct epoll_event { uint32_t events; epoll_data_t data; }
 * #ifdef __x86_64__
 *     __attribute__((packed))   // 12 bytes, data at offset 4
 * #endif
 * ;                             // elsewhere (aarch64): 16 bytes, data at offset 8
 * </pre>
 *
 * <p>The x86-64 packing is a leftover from making 32-bit and 64-bit layouts agree; getting it
 * wrong reads {@code data} from the wrong offset and every event points at garbage. The
 * layout is chosen from {@code os.arch}, and a test checks both.
 *
 * <p>Binding only, no policy: what to register and when lives in the servers, as the JDK
 * keeps {@code EPoll.java} apart from {@code EPollSelectorImpl.java}.
 */
public final class Epoll implements AutoCloseable {

    public static final int EPOLLIN = 0x001;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    public static final int EPOLLEXCLUSIVE = 1 << 28;
    public static final int EPOLLONESHOT = 1 << 30;
    public static final int EPOLLET = 1 << 31;

    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;
    public static final int EPOLL_CLOEXEC = 0x80000;

    /** The layout for this machine. */
    public static final StructLayout EVENT = eventLayout(System.getProperty("os.arch"));

    /** {@code struct epoll_event} as the kernel lays it out on {@code arch}. */
    public static StructLayout eventLayout(String arch) {
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
        return x86
                ? MemoryLayout.structLayout(JAVA_INT.withName("events"), JAVA_LONG_UNALIGNED.withName("data"))
                : MemoryLayout.structLayout(JAVA_INT.withName("events"), MemoryLayout.paddingLayout(4), JAVA_LONG.withName("data"));
    }

    private static final VarHandle EVENTS = EVENT.arrayElementVarHandle(MemoryLayout.PathElement.groupElement("events"));
    private static final VarHandle DATA = EVENT.arrayElementVarHandle(MemoryLayout.PathElement.groupElement("data"));

    // int epoll_create1(int flags);
    private static final MethodHandle CREATE = Libc.downcall("epoll_create1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);   -- never blocks: critical
    private static final MethodHandle CTL = Libc.downcall("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.critical(false));
    // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);   -- blocks: NOT critical
    private static final MethodHandle WAIT = Libc.downcall("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

    /** One {@code epoll_event} per thread for epoll_ctl: any thread may change the interest list. */
    private static final ThreadLocal<MemorySegment> CTL_EVENT = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(EVENT));

    private final int fd;

    public Epoll() throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            fd = Libc.check("epoll_create1", (int) CREATE.invokeExact(state, EPOLL_CLOEXEC), state);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    public int fd() {
        return fd;
    }

    public void add(int target, int events, long data) throws SyscallException {
        ctl(EPOLL_CTL_ADD, target, events, data);
    }

    public void modify(int target, int events, long data) throws SyscallException {
        ctl(EPOLL_CTL_MOD, target, events, data);
    }

    /**
     * Removes {@code target} from the interest list. Do it before {@code close}: the
     * registration belongs to the open file description, not to the fd number, so if the
     * description lives on (a {@code dup}, a {@code fork}), a "closed" fd keeps reporting.
     */
    public void delete(int target) throws SyscallException {
        ctl(EPOLL_CTL_DEL, target, 0, 0);
    }

    private void ctl(int op, int target, int events, long data) throws SyscallException {
        MemorySegment state = Libc.callState();
        MemorySegment event = CTL_EVENT.get();
        EVENTS.set(event, 0L, 0L, events);
        DATA.set(event, 0L, 0L, data);
        int injected = Faults.take(opName(op));   // tests: "the next epoll_ctl(ADD) fails with ENOMEM"
        if (injected != 0) throw new SyscallException(opName(op), injected);
        try {
            int rc = (int) CTL.invokeExact(state, fd, op, target, event);
            if (rc == -1) throw new SyscallException(opName(op), Libc.errno(state));
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    private static String opName(int op) {
        return switch (op) {
            case EPOLL_CTL_ADD -> "epoll_ctl(ADD)";
            case EPOLL_CTL_MOD -> "epoll_ctl(MOD)";
            default -> "epoll_ctl(DEL)";
        };
    }

    @Override
    public void close() {
        Sockets.close(fd);
    }

    /**
     * The array {@code epoll_wait} fills: owned by one waiting thread (several threads may
     * wait on one epoll, each with its own array). Grows when a call fills it, as Netty's
     * does: a full array means more may be ready than we asked for.
     */
    public static final class Events implements AutoCloseable {
        private static final int MAX_CAPACITY = 64 * 1024;
        private final Arena arena = Arena.ofConfined();
        private MemorySegment array;
        private int capacity;

        public Events(int capacity) {
            this.capacity = capacity;
            this.array = arena.allocate(EVENT, capacity);
        }

        /**
         * Waits for events ({@code timeoutMillis} -1 = forever, 0 = just look). Returns how
         * many; 0 on timeout and on {@code EINTR}: epoll_wait is never restarted after a
         * signal handler (signal(7)), and the JVM signals its own threads.
         */
        public int waitFor(Epoll epoll, int timeoutMillis) throws SyscallException {
            MemorySegment state = Libc.callState();
            int injected = Faults.take("epoll_wait");
            if (injected != 0) throw new SyscallException("epoll_wait", injected);
            try {
                int n = (int) WAIT.invokeExact(state, epoll.fd, array, capacity, timeoutMillis);
                if (n >= 0) return n;
                int errno = Libc.errno(state);
                if (errno == Errno.EINTR) return 0;
                throw new SyscallException("epoll_wait", errno);
            } catch (SyscallException e) {
                throw e;
            } catch (Throwable t) {
                throw Libc.unreachable(t);
            }
        }

        /** Call after handling a batch: doubles the array if the last call filled it. */
        public void growIfFull(int lastCount) {
            if (lastCount == capacity && capacity < MAX_CAPACITY) {
                capacity *= 2;
                array = arena.allocate(EVENT, capacity);   // the old one is freed with the arena
            }
        }

        public int capacity() {
            return capacity;
        }

        public int events(int i) {
            return (int) EVENTS.get(array, 0L, (long) i);
        }

        public long data(int i) {
            return (long) DATA.get(array, 0L, (long) i);
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
