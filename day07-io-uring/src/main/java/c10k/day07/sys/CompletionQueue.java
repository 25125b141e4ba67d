package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The completion side of an {@link IoUring}: the CQ ring the kernel writes results (CQEs)
 * into. We read the ready ones in place, then hand their slots back with {@link #consumed}.
 *
 * <p>The kernel moves the tail, from another CPU if it likes (a completion can be posted
 * from another core). So the tail is read with getAcquire: every CQE the kernel wrote
 * before moving it is then visible to us. A plain read may be hoisted out of our loop by the
 * JIT (we would spin on a stale tail forever), and on a weakly ordered CPU (aarch64) a CQE's
 * fields could be read before the tail, i.e. before the kernel wrote them. Our head is
 * written with setRelease: our reads of the CQEs happen before the kernel may reuse their
 * slots.
 */
public final class CompletionQueue {

    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MemorySegment cqRing;
    private final long headAt, tailAt, cqesAt, overflowAt;
    private final int mask, entries;
    /** Our copy of the head: completions before it are consumed. */
    private int head;

    CompletionQueue(MemorySegment cqRing, MemorySegment params) {
        this.cqRing = cqRing;
        long off = P_CQ_OFF;
        this.headAt = params.get(JAVA_INT, off + CQO_HEAD);
        this.tailAt = params.get(JAVA_INT, off + CQO_TAIL);
        this.overflowAt = params.get(JAVA_INT, off + CQO_OVERFLOW);
        this.cqesAt = params.get(JAVA_INT, off + CQO_CQES);
        this.mask = cqRing.get(JAVA_INT, params.get(JAVA_INT, off + CQO_RING_MASK));
        this.entries = cqRing.get(JAVA_INT, params.get(JAVA_INT, off + CQO_RING_ENTRIES));
        this.head = (int) INT.getAcquire(cqRing, headAt);
    }

    public int entries() {
        return entries;
    }

    /** How many completions are ready to be read ({@code cqe(0)} is the oldest). */
    public int ready() {
        return (int) INT.getAcquire(cqRing, tailAt) - head;
    }

    private long cqeAt(int i) {
        return cqesAt + (long) ((head + i) & mask) * CQE.byteSize();
    }

    public long userData(int i) {
        return cqRing.get(JAVA_LONG, cqeAt(i) + CQE_USER_DATA);
    }

    public int res(int i) {
        return cqRing.get(JAVA_INT, cqeAt(i) + CQE_RES);
    }

    public int flags(int i) {
        return cqRing.get(JAVA_INT, cqeAt(i) + CQE_FLAGS);
    }

    /** What a loop does with one completion. */
    public interface Handler {
        void completion(long userData, int res, int flags);
    }

    /**
     * Hands every ready completion to {@code handler}, oldest first, then their slots back to
     * the kernel in one release store; returns how many. If the handler throws, the slots of
     * the completions it was given, the one that threw included, go back all the same: a
     * caller that reaps again (to cancel and wait, before freeing memory) must not be handed a
     * completion twice, which would end a request twice, release its buffer twice, and could
     * make the count of requests in flight reach 0 while the kernel still owns some memory.
     */
    public int drain(Handler handler) {
        int n = ready(), handed = 0;
        try {
            while (handed < n) {
                long at = cqeAt(handed);
                long userData = cqRing.get(JAVA_LONG, at + CQE_USER_DATA);
                int res = cqRing.get(JAVA_INT, at + CQE_RES), flags = cqRing.get(JAVA_INT, at + CQE_FLAGS);
                handed++;
                handler.completion(userData, res, flags);
            }
        } finally {
            consumed(handed);
        }
        return n;
    }

    /** Hands the first {@code n} CQE slots back to the kernel. Read them before this. */
    public void consumed(int n) {
        head += n;
        INT.setRelease(cqRing, headAt, head);
    }

    /**
     * Completions lost because this ring was full and the kernel could not even keep them
     * aside (IORING_FEAT_NODROP keeps them in a list while it can allocate one).
     */
    public int overflowed() {
        return (int) INT.getAcquire(cqRing, overflowAt);
    }
}
