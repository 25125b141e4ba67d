package c10k.day07;

import static c10k.day07.sys.IoUringAbi.*;
import static c10k.day07.UserData.*;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import c10k.day01.harness.Stats;
import c10k.day03.Outbox;
import c10k.day03.sys.Errno;
import c10k.day07.sys.BufferRing;
import c10k.day07.sys.SubmissionQueue;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * A ring's receive path: keeping a receive armed on each connection that may read, framing
 * what arrives into lines for the outbox, and backpressure. The two modes differ here:
 * <ul>
 * <li>basic: one recv at a time into the connection's own buffer, re-armed after each
 *     completion. An idle connection pins that buffer (day 3's lesson, on purpose).</li>
 * <li>multishot: one recv that stays armed, which takes a buffer from the shared
 *     {@link BufferRing} only when data arrives. When the ring runs dry the recv ends with
 *     ENOBUFS; the connection waits in {@link #starved} for the end of the batch, when the
 *     buffers the batch used are back, and is re-armed then.</li>
 * </ul>
 *
 * <p>Backpressure is where multishot needs care. Readiness lets a loop stop reading at
 * once: it just does not call recv. A multishot recv keeps receiving on its own, as fast as
 * the peer sends and buffers come back, until a cancel we submit reaches the kernel: one turn
 * can bring in megabytes for one connection (on Linux 6.1, the whole 8 MiB ring), all of
 * which become answers in its outbox. So each recv is armed with a budget ({@link #RECV_BUDGET}
 * bytes, {@code sqe.optlen}, Linux 6.17): having brought in that much, it ends, and the next
 * one is armed only if the connection is not paused. A peer that never reads can make us hold
 * the mark, one budget, one buffer and the start of a line framed earlier (the framer held it
 * until this newline), whatever the ring's size. With no budget each recv is single-shot.
 *
 * <p>What a completion meant for the connection is returned ({@link #onRecv}), not acted on:
 * whether to answer, linger or abort is {@link Connections}' to decide.
 */
final class Receiver implements LineFramer.LineSink {

    /** What {@link #onRecv} found: bytes, an end of stream or nothing much; a line too long; an error. */
    static final int RECEIVED = 0, LINE_TOO_LONG = 1, FAILED = 2;

    private final SubmissionQueue sq;
    private final Stats.Counters counters;
    private final RingTimers timers;
    private final boolean direct;
    /** multishot mode's shared buffers; null in basic mode. */
    private final BufferRing buffers;
    private final int recvSize;
    /**
     * basic: free receive buffers, kept for the next connections. At most {@link #KEEP}: after a
     * burst of 10,000 connections has come and gone, a pool without a cap would hold 160 MiB
     * for nobody (the send side caps its pools the same way).
     */
    private final ArrayDeque<Chunk> recvPool = new ArrayDeque<>();
    static final int KEEP = 64;
    private final ArrayDeque<UringConnection> starved = new ArrayDeque<>();
    /**
     * Frames every connection that has no incomplete line: most of them, most of the time.
     * It is left with no partial line after each use (a connection that ends on one gets a
     * framer of its own), so that an idle connection need not keep one.
     */
    private LineFramer shared = new LineFramer();
    /** The connection being framed: its lines go to its outbox. */
    private UringConnection framing;
    private int newLines;
    private long enobufs;
    private int largestUnsent;
    /**
     * Bytes one multishot recv may bring in before it ends and must be armed again: the
     * high-water mark, so that a connection is re-armed about once per 64 KiB it sends.
     */
    static final int RECV_BUDGET = Outbox.HIGH_WATER;
    /** {@link #RECV_BUDGET}, or 0 where the kernel takes none (before 6.17): then one buffer per recv. */
    private final int budget;
    /** Our requests (recv, pause) submitted whose last completion has not arrived. */
    private int inflight;
    /** The loop is stopping: nothing is armed again. */
    private boolean stopping;

    /**
     * basic mode: a connection's receive buffer, with an arena of its own so that it can be
     * freed when the pool is full, and kept for the next connection otherwise.
     */
    record Chunk(Arena arena, MemorySegment segment, ByteBuffer view) {
    }

    Receiver(SubmissionQueue sq, Stats.Counters counters, RingTimers timers, boolean direct, BufferRing buffers,
             int budget, int recvSize) {
        this.sq = sq;
        this.counters = counters;
        this.timers = timers;
        this.direct = direct;
        this.buffers = buffers;
        this.recvSize = recvSize;
        this.budget = buffers == null ? 0 : budget;
    }

    int inflight() {
        return inflight;
    }

    /** Stopping: every request is being cancelled, none is armed again. */
    void stop() {
        stopping = true;
    }

    /** This receive path's figures, for other threads; {@code open}: the connections of the loop. */
    void publish(LoopFigures figures, int open) {
        figures.recvBuffersHeld = buffers == null ? open : 0;   // basic: one each, pinned while idle
        figures.recvBuffersKept = recvPool.size();
        figures.enobufs = enobufs;
        figures.largestUnsent = largestUnsent;
        figures.recvBudget = budget;
    }

    /** basic mode: the new connection's own receive buffer. */
    void opened(UringConnection c) {
        if (buffers != null) return;
        Chunk chunk = recvPool.poll();
        if (chunk == null) {
            Arena arena = Arena.ofConfined();   // the loop thread's, like every buffer of this ring
            MemorySegment s = arena.allocate(recvSize, 64);
            chunk = new Chunk(arena, s, s.asByteBuffer());
        }
        c.recvBuffer = chunk;
    }

    /** The connection is freed (no recv in flight): its buffer goes back to the pool, or is freed. */
    void release(UringConnection c) {
        Chunk chunk = c.recvBuffer;
        if (chunk == null) return;
        c.recvBuffer = null;
        if (recvPool.size() < KEEP) recvPool.push(chunk);
        else chunk.arena().close();
    }

    /** The loop has ended and nothing is in flight: the kept buffers are freed. */
    void freeAll() {
        for (Chunk chunk : recvPool) chunk.arena().close();
        recvPool.clear();
    }

    void arm(UringConnection c) {
        if (buffers != null && budget > 0) sq.recvMultishot(c.fd, direct, buffers.group(), budget, ud(RECV, c.slot));
        else if (buffers != null) sq.recvOneBuffer(c.fd, direct, buffers.group(), ud(RECV, c.slot));
        else sq.recv(c.fd, c.recvBuffer.segment().address(), recvSize, ud(RECV, c.slot));
        c.recvArmed = true;
        c.inflight++;
        inflight++;
    }

    /** Arms a receive if the connection has none and may read (not paused, ending or starved). */
    void maybeArm(UringConnection c) {
        if (!c.recvArmed && !c.starved && c.wantsRead() && !stopping) arm(c);
    }

    /**
     * A receive's completion: frames what arrived into the connection's outbox, and says what
     * it meant ({@link #RECEIVED}, {@link #LINE_TOO_LONG}, {@link #FAILED}).
     */
    int onRecv(UringConnection c, int res, int flags) {
        boolean more = (flags & IORING_CQE_F_MORE) != 0;
        if (!more) {
            c.recvArmed = false;
            c.inflight--;
            inflight--;
        }
        boolean provided = (flags & IORING_CQE_F_BUFFER) != 0;
        int outcome = RECEIVED;
        if (res > 0) {
            counters.bytesIn(res);
            ByteBuffer data = provided ? buffers.received(flags, res) : c.recvBuffer.view().clear().limit(res);
            if (!c.closing && !c.lingering && !frame(c, data)) outcome = LINE_TOO_LONG;
            // A lingering connection discards what it reads: it only waits for the peer's FIN.
        } else if (res == 0) {
            c.inputEnded = true;         // FIN: answer the complete lines, drop the partial one
            c.discardPartial();
        } else if (res == -Errno.ENOBUFS) {
            // The buffer ring ran dry: the multishot recv has ended (no F_MORE). This batch's
            // buffers go back at its end; re-arm then.
            enobufs++;
            if (!c.closing) {
                c.starved = true;
                starved.add(c);
            }
        } else if (res != -Errno.ECANCELED) {
            outcome = FAILED;            // ECONNRESET and friends: nothing can be delivered
        }
        if (provided) buffers.release(flags);   // copied out (or discarded): the kernel may refill it
        return outcome;
    }

    /** The cancel that paused a multishot recv has completed. */
    void pauseDone(UringConnection c) {
        c.inflight--;
        inflight--;
    }

    /**
     * The end of a batch of completions: every buffer it used goes back to the kernel in one
     * release store, and only then are the connections that found the ring dry re-armed.
     */
    void endOfBatch() {
        if (buffers == null) return;
        buffers.publish();
        for (int k = starved.size(); k > 0; k--) {
            UringConnection c = starved.poll();
            c.starved = false;
            maybeArm(c);
        }
    }

    /** Frames {@code data} into {@code c}'s outbox; false if a line was too long (its answer queued). */
    private boolean frame(UringConnection c, ByteBuffer data) {
        framing = c;
        newLines = 0;
        boolean ok;
        if (c.framer != null) {
            ok = feed(c.framer, data);
            if (c.framer.pendingBytes() == 0) c.framer = null;   // the line it waited for is done
        } else {
            int end = data.limit();
            ok = feed(shared, data);
            int partial = shared.pendingBytes();
            if (!ok) {
                shared = new LineFramer();   // a framer that failed refuses all further input
            } else if (partial > 0) {
                // The chunk ended inside a line: those bytes, after the last newline, become
                // the start of this connection's own framer (they hold no newline: no line).
                shared.discardPartial();
                c.framer = new LineFramer();
                feed(c.framer, data.limit(end).position(end - partial));
            }
        }
        framing = null;
        if (newLines > 0) {
            counters.lines(newLines);
            // Only complete lines count as activity, or a peer dripping one byte a minute
            // would never time out.
            if (!c.outputWaiting && !c.lingering) timers.restart(timers.idle, c);
        }
        if (!ok) {
            c.discardPartial();
            c.outbox().append(Protocol.ERR_LINE_TOO_LONG, 0, Protocol.ERR_LINE_TOO_LONG.length);
        }
        return ok;
    }

    private boolean feed(LineFramer framer, ByteBuffer data) {
        try {
            return framer.feed(data, this);
        } catch (IOException impossible) {
            throw new AssertionError(impossible);   // our sink does not throw
        }
    }

    /** Each complete line goes to the outbox at once: answers keep request order. */
    @Override
    public void onLine(ByteBuffer buf, int start, int end) {
        framing.outbox().append(buf, start, end);
        newLines++;
    }

    /**
     * Backpressure: a peer that sends but does not read must not grow our memory. Above the
     * high-water mark we stop reading from it (basic: we just do not re-arm the recv;
     * multishot: the recv is still armed, so we cancel it), and start again below the low one
     * (the caller then arms a receive: {@link #maybeArm}).
     */
    void checkPressure(UringConnection c) {
        int unsent = c.unsent();
        if (unsent > largestUnsent) largestUnsent = unsent;
        if (!c.paused && !c.lingering && unsent > Outbox.HIGH_WATER) {
            c.paused = true;
            counters.paused(1);
            if (buffers != null && c.recvArmed) {
                sq.cancel(ud(RECV, c.slot), ud(PAUSE, c.slot));
                c.inflight++;
                inflight++;
            }
        } else if (c.paused && unsent < Outbox.LOW_WATER) {
            c.paused = false;
            counters.paused(-1);
        }
    }

    /** Lingering or closing: the connection is no longer paused (its input is discarded or gone). */
    void clearPause(UringConnection c) {
        if (!c.paused) return;
        c.paused = false;
        counters.paused(-1);
    }
}
