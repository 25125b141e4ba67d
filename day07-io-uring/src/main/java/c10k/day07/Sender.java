package c10k.day07;

import static c10k.day07.UserData.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import c10k.day01.harness.Stats;
import c10k.day07.sys.SubmissionQueue;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * A ring's send path: the answers in a connection's outbox go out one send request at a
 * time, and what comes after the last one depends on how the connection is ending.
 *
 * <p>One at a time, because a second send in flight could complete before the first (a
 * partial send followed by a full one) and interleave the bytes. And through an off-heap
 * buffer: the outbox is on the heap, the kernel reads the data after {@link #flush} returns,
 * when the garbage collector may have moved the array. So each chunk is copied into a buffer
 * that stays put until its send completes; an idle connection holds none.
 *
 * <p>Like {@link Receiver}, it says what happened and leaves what follows (an idle clock, a
 * lingering shutdown, a close) to {@link Connections}.
 */
final class Sender {

    /** What {@link #flush} did: a send is in flight (or the connection is closing); everything is sent. */
    static final int SENDING = 0, ALL_SENT = 1;
    /** What {@link #onSend} found: bytes moved; the peer is gone. */
    static final int SENT = 2, FAILED = 3;

    /**
     * Two sizes of send buffer: one page for the usual few answers, 32 KiB for a bulk of
     * output. With 10,000 busy connections each has a send in flight: 32 KiB each would be
     * 320 MiB, touched a few hundred bytes per buffer, where pages make it 40 MiB.
     */
    static final int SMALL_CHUNK = 4 * 1024, SEND_CHUNK = 32 * 1024;
    /**
     * Free buffers kept for the next sends. A burst (10,000 clients that speak at once) needs
     * a buffer per connection for one turn; keeping them all would hold that burst's memory
     * for good, and charge it to every idle connection after. So each buffer has an arena of
     * its own, and those beyond these counts are freed when their send completes.
     */
    static final int KEEP_SMALL = 256, KEEP_BIG = 16;

    /**
     * An off-heap send buffer, the arena that frees it, and the bytes in it not yet sent:
     * [start, end). The range lives here and not in the connection, which only has a buffer
     * while it sends: an idle connection does not carry two ints for nothing.
     */
    static final class Buffer {
        final Arena arena;
        final MemorySegment segment;
        int start, end;

        Buffer(Arena arena, MemorySegment segment) {
            this.arena = arena;
            this.segment = segment;
        }
    }

    private final SubmissionQueue sq;
    private final Stats.Counters counters;
    private final RingTimers timers;
    private final boolean direct;
    private final ArrayDeque<Buffer> smallPool = new ArrayDeque<>(), bigPool = new ArrayDeque<>();
    /** Sends submitted whose completion has not arrived. */
    private int inflight;

    Sender(SubmissionQueue sq, Stats.Counters counters, RingTimers timers, boolean direct) {
        this.sq = sq;
        this.counters = counters;
        this.timers = timers;
        this.direct = direct;
    }

    int inflight() {
        return inflight;
    }

    /**
     * Sends what is queued, unless a send is in flight (its completion sends the rest). With
     * nothing left to send, the connection keeps no send buffer and no outbox: {@link #ALL_SENT}.
     */
    int flush(UringConnection c) {
        if (c.sendArmed || c.closing) return SENDING;
        Buffer b = c.sendBuffer;
        if (b == null || b.start == b.end) {
            if (c.outbox == null || c.outbox.isEmpty()) {
                release(c);                // an idle connection keeps no send buffer
                c.outbox = null;           // nor an outbox (its array went when it drained)
                return ALL_SENT;
            }
            int size = c.outbox.size() > SMALL_CHUNK ? SEND_CHUNK : SMALL_CHUNK;
            if (b != null && b.segment.byteSize() != size) release(c);
            if (c.sendBuffer == null) c.sendBuffer = take(size);
            b = c.sendBuffer;
            int n = Math.min(c.outbox.size(), size);
            MemorySegment.copy(c.outbox.array(), c.outbox.start(), b.segment, JAVA_BYTE, 0, n);
            c.outbox.consumed(n);
            b.start = 0;
            b.end = n;
        }
        sq.send(c.fd, direct, b.segment.address() + b.start, b.end - b.start, ud(SEND, c.slot));
        c.sendArmed = true;
        c.inflight++;
        inflight++;
        // The send clock runs while output waits; each completion that moves bytes restarts it.
        if (!c.lingering && !c.outputWaiting) {
            c.outputWaiting = true;
            timers.restart(timers.sending, c);
        }
        return SENDING;
    }

    /** A send's completion: {@link #SENT} (bytes moved, perhaps not all), or {@link #FAILED}. */
    int onSend(UringConnection c, int res) {
        c.sendArmed = false;
        c.inflight--;
        inflight--;
        if (c.closing) return SENT;      // the result no longer matters: it is being freed
        if (res < 0) return FAILED;      // EPIPE, ECONNRESET: the peer is gone
        counters.bytesOut(res);
        // A partial send (the socket buffer filled) leaves the rest in place: the next
        // request starts where this one stopped.
        c.sendBuffer.start += res;
        if (res > 0 && !c.lingering) timers.restart(timers.sending, c);
        return SENT;
    }

    /** The connection is freed: its send buffer, if it still has one, goes back to the pool. */
    void release(UringConnection c) {
        Buffer b = c.sendBuffer;
        if (b == null) return;
        c.sendBuffer = null;
        b.start = b.end = 0;
        boolean big = b.segment.byteSize() == SEND_CHUNK;
        ArrayDeque<Buffer> pool = big ? bigPool : smallPool;
        if (pool.size() < (big ? KEEP_BIG : KEEP_SMALL)) pool.push(b);
        else b.arena.close();
    }

    private Buffer take(int size) {
        Buffer b = (size == SEND_CHUNK ? bigPool : smallPool).poll();
        if (b != null) return b;
        Arena arena = Arena.ofConfined();   // the loop thread's, like every buffer of this ring
        return new Buffer(arena, arena.allocate(size, 64));
    }

    /** The loop has ended and nothing is in flight: every buffer is freed. */
    void freeAll() {
        for (Buffer b : smallPool) b.arena.close();
        for (Buffer b : bigPool) b.arena.close();
        smallPool.clear();
        bigPool.clear();
    }
}
