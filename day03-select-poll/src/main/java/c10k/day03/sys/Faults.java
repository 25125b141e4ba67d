package c10k.day03.sys;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The seam through which tests make a system call fail: "the next call of {@code accept4}
 * fails with {@code ENOBUFS}". Real kernels give such errors rarely and never on demand, yet a
 * server must survive each of them (accept(2), epoll_ctl(2)); a path that is never run is a
 * path that does not work.
 *
 * <p>The bindings ask {@link #take} just before making the real call. Unarmed, that is one read
 * of a volatile boolean: nothing a profiler would find.
 */
public final class Faults {

    private static volatile boolean armed;
    private static final ConcurrentHashMap<String, AtomicInteger> PENDING = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, Integer> ERRNO = new ConcurrentHashMap<>();

    private Faults() {
    }

    /** The next {@code times} calls named {@code call} (e.g. "accept4", "epoll_ctl(ADD)") fail with {@code errno}. */
    public static void failNext(String call, int errno, int times) {
        ERRNO.put(call, errno);
        PENDING.put(call, new AtomicInteger(times));
        armed = true;
    }

    /** Disarms everything (tests call it in their clean-up). */
    public static void clear() {
        PENDING.clear();
        ERRNO.clear();
        armed = false;
    }

    /** Calls still to fail, for a test that waits until the server has met its fault. */
    public static int remaining(String call) {
        AtomicInteger n = PENDING.get(call);
        return n == null ? 0 : Math.max(0, n.get());
    }

    /** The errno to fail {@code call} with now, or 0 to make the real call. */
    public static int take(String call) {
        if (!armed) return 0;
        AtomicInteger n = PENDING.get(call);
        if (n == null || n.getAndDecrement() <= 0) return 0;
        return ERRNO.get(call);
    }
}
