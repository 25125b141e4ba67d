package c10k.day07;

import static c10k.day07.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day01.Protocol;
import c10k.day01.Stats;
import c10k.day01.Timeouts;
import c10k.day03.Deadlines;
import c10k.day03.Errno;
import c10k.day03.EventFd;
import c10k.day03.Outbox;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * One thread's server: a ring, a listener, and the connections it accepted. Where day 4's
 * loop asks "which fds are ready?" and then makes the system calls itself, this one submits
 * the operations (accept, recv, send) and is told what each one did.
 *
 * <p>A turn of the loop is one {@code io_uring_enter}: it submits every SQE queued during
 * the previous turn (the recv re-armed after each completion, the sends of the answers,
 * the cancels) and waits for at least one completion, or until the next deadline. Then we
 * walk the completion queue. Each completion is routed by its {@code user_data}: the kind
 * of request in the high 32 bits, the connection's slot in the low 32.
 *
 * <p>Everything here runs on the loop thread; other threads only set the two command flags
 * and signal the eventfd, whose pending read is one of our requests.
 */
final class RingLoop implements Runnable {

    private static final System.Logger LOG = c10k.day01.Log.logger("day07");

    // The kinds of request, in user_data's high half.
    private static final int ACCEPT = 1, RECV = 2, SEND = 3, CANCEL = 4, WAKE = 5, ACCEPT_PAUSE = 6, LOOP_CANCEL = 7,
            SHUTDOWN = 8, CLOSE = 9;
    /** The largest registered file table we ask for; the kernel caps it at RLIMIT_NOFILE. */
    static final int FIXED_FILES = 65_536;
    /** The listen backlog (IoUringEchoServer listens with it; the kernel caps it at somaxconn). */
    static final int BACKLOG = 4096;

    /** nginx and day 1 wait a moment when out of fds rather than retry at once. */
    static final long ACCEPT_PAUSE_NANOS = 100_000_000L;
    static final int SEND_CHUNK = 32 * 1024;
    private static final long STOP_LIMIT_NANOS = 10_000_000_000L;

    private final String name;
    private final IoUringEchoServer.Mode mode;
    private final boolean multishot;
    private final IoUring ring;
    private final int listenFd;
    private final EventFd wake;
    private final Stats.Counters counters;
    private final Timeouts timeouts;
    private final LongSupplier clock;
    private final int recvSize, ringBuffers, ringBufferSize;
    private final boolean wantFixedFiles;
    /**
     * multishot: connections are direct descriptors, slots of the ring's registered file
     * table, not fds of the process. {@code UringConnection.fd} is then that slot's index.
     */
    private boolean direct;
    private int fixedFiles;

    // --- loop-thread state ------------------------------------------------------------------
    private UringConnection[] conns = new UringConnection[256];
    private int[] freeSlots = new int[256];
    private int freeCount;
    private int nextSlot;
    private int open;
    /** Requests submitted whose final completion has not arrived. The loop may only end at 0. */
    private int inflight;
    private boolean acceptArmed, pauseArmed, wakeArmed;
    /** The armed accept is multishot: it takes every queued connection without asking. */
    private boolean acceptMultishot, acceptCancelled;
    /** Direct descriptors: the file table is (nearly) full, accepting waits for a close. */
    private boolean tableFull;
    /** Since the last EMFILE, no accept has succeeded (one log line per episode, not per retry). */
    private boolean outOfFds;
    /** The next accept waits for the 100 ms timeout request. */
    private boolean pauseWanted;
    private boolean shuttingDown, stopping;
    private long stopStarted;
    private long now;
    private final Deadlines idle, sending, draining;
    private Deadlines shutdownDrain;
    private final ArrayDeque<Chunk> recvPool = new ArrayDeque<>();
    private final ArrayDeque<MemorySegment> sendPool = new ArrayDeque<>();
    private final ArrayDeque<UringConnection> starved = new ArrayDeque<>();
    private BufferRing buffers;
    private Arena arena;
    private MemorySegment wakeBuffer, pauseTimespec;
    private long acceptPauses, enobufs;

    // --- commands from other threads, and figures for them ------------------------------------
    private volatile boolean stopRequested;
    private volatile long shutdownRequested = -1;   // drain nanos, once asked
    private volatile int openPublished, recvBuffersHeld, largestUnsent;
    private volatile long entersPublished, completions, pausesPublished, enobufsPublished;
    private volatile Throwable failure;
    private final java.util.function.Consumer<Throwable> onFatal;

    private record Chunk(MemorySegment segment, ByteBuffer view) {
    }

    RingLoop(String name, IoUringEchoServer.Mode mode, IoUring ring, int listenFd, EventFd wake, Stats.Counters counters,
             Timeouts timeouts, LongSupplier clock, int recvSize, int ringBuffers, int ringBufferSize, boolean fixedFiles,
             java.util.function.Consumer<Throwable> onFatal) {
        this.onFatal = onFatal;
        this.name = name;
        this.mode = mode;
        this.multishot = mode == IoUringEchoServer.Mode.MULTISHOT;
        this.ring = ring;
        this.listenFd = listenFd;
        this.wake = wake;
        this.counters = counters;
        this.timeouts = timeouts;
        this.clock = clock;
        this.recvSize = recvSize;
        this.ringBuffers = ringBuffers;
        this.ringBufferSize = ringBufferSize;
        this.wantFixedFiles = fixedFiles && multishot;
        this.idle = new Deadlines("idle", timeouts.idle().toNanos());
        this.sending = new Deadlines("send", timeouts.send().toNanos());
        this.draining = new Deadlines("drain", timeouts.drain().toNanos());
    }

    private static long ud(int kind, int slot) {
        return ((long) kind << 32) | (slot & 0xFFFF_FFFFL);
    }

    // --- the loop ------------------------------------------------------------------------------

    @Override
    public void run() {
        arena = Arena.ofConfined();
        try {
            wakeBuffer = arena.allocate(JAVA_LONG);
            pauseTimespec = arena.allocate(TIMESPEC);
            pauseTimespec.set(JAVA_LONG, TS_SEC, 0L);
            pauseTimespec.set(JAVA_LONG, TS_NSEC, ACCEPT_PAUSE_NANOS);
            if (multishot) buffers = new BufferRing(ring, (short) 1, ringBuffers, ringBufferSize, arena);
            if (wantFixedFiles) registerFileTable();
            now = clock.getAsLong();
            preload();
            // Said now, while we have fds: the first log record loads classes and opens files
            // (time zone data), which would fail once we are out of descriptors.
            log(System.Logger.Level.INFO, name + ": ring fd " + ring.fd() + ", " + ring.submissionEntries() + " SQEs, "
                    + ring.completionEntries() + " CQEs, " + (multishot ? ringBuffers + " provided buffers of " + ringBufferSize + " bytes"
                    : recvSize + "-byte receive buffer per connection")
                    + (direct ? ", connections as direct descriptors (a table of " + fixedFiles + ")" : ""));
            armWake();
            armAccept();
            while (!(stopping && inflight == 0)) {
                if (stopRequested && !stopping) beginStop();
                long drain = shutdownRequested;
                if (drain >= 0 && !shuttingDown && !stopping) beginShutdown(drain);
                if (shuttingDown && !stopping && open == 0 && !acceptArmed && !pauseArmed) beginStop();
                if (stopping && System.nanoTime() - stopStarted > STOP_LIMIT_NANOS) {
                    throw new IllegalStateException(inflight + " requests still in flight " + STOP_LIMIT_NANOS / 1_000_000_000L
                            + " s after cancelling them all");
                }
                expireTimers();
                int r = ring.submitAndWait(1, waitNanos());
                if (r < 0 && r != -ETIME && r != -Errno.EINTR && r != -Errno.EAGAIN && r != -EBUSY) {
                    throw new SyscallException("io_uring_enter", -r);
                }
                counters.wakeup();
                now = clock.getAsLong();
                reap();
                publish();
            }
        } catch (Throwable t) {
            failure = t;
            LOG.log(System.Logger.Level.ERROR, name + ": the ring failed, closing every connection: " + t, t);
            emergencyStop();
        } finally {
            releaseAll();
        }
        if (failure != null) onFatal.accept(failure);
    }

    /** The nearest deadline, as the wait's timeout: no fixed tick, no wake-up for nothing. */
    private long waitNanos() {
        long wait = Math.min(Math.min(idle.nanosUntilNext(now), sending.nanosUntilNext(now)), draining.nanosUntilNext(now));
        if (shutdownDrain != null) wait = Math.min(wait, shutdownDrain.nanosUntilNext(now));
        if (stopping) wait = Math.min(wait, 100_000_000L);
        return wait;
    }

    private void reap() {
        int n = ring.ready();
        for (int i = 0; i < n; i++) {
            long userData = ring.userData(i);
            int res = ring.res(i);
            int flags = ring.flags(i);
            dispatch((int) (userData >>> 32), (int) userData, res, flags);
        }
        ring.consumed(n);   // only now may the kernel reuse those slots: we have read them
        completions += n;
        if (buffers != null) {
            buffers.publish();   // every buffer this batch used is back, in one release store
            for (int k = starved.size(); k > 0; k--) {
                UringConnection c = starved.poll();
                c.starved = false;
                maybeArmRecv(c);
            }
        }
    }

    private void dispatch(int kind, int slot, int res, int flags) {
        switch (kind) {
            case SHUTDOWN, CLOSE -> {
                UringConnection c = conns[slot];
                done(c);
                finishIfDone(c);
            }
            case ACCEPT -> onAccept(res, flags);
            case RECV -> onRecv(conns[slot], res, flags);
            case SEND -> onSend(conns[slot], res);
            case CANCEL -> {
                UringConnection c = conns[slot];
                done(c);
                finishIfDone(c);
            }
            case WAKE -> {
                inflight--;
                wakeArmed = false;
                armWake();   // the commands themselves are read at the top of the loop
            }
            case ACCEPT_PAUSE -> {
                inflight--;
                pauseArmed = false;
                pauseWanted = false;
                armAccept();
            }
            case LOOP_CANCEL -> inflight--;
            default -> throw new IllegalStateException("completion of unknown kind " + kind);
        }
    }

    private void done(UringConnection c) {
        c.inflight--;
        inflight--;
    }

    // --- accepting -----------------------------------------------------------------------------

    private void armAccept() {
        if (acceptArmed || pauseArmed || stopping || shuttingDown) return;
        if (direct && open >= fixedFiles) {
            // A full table would not refuse the next client: the kernel takes it off the
            // listen queue, finds no free slot, closes it (the client sees RST) and says
            // ENFILE. So we never ask for that accept, and accept again when a connection has closed.
            if (!tableFull) log(System.Logger.Level.WARNING, name + ": the file table is full (" + open
                    + " connections): not accepting until one closes");
            tableFull = true;
            return;
        }
        if (tableFull) log(System.Logger.Level.INFO, name + ": accepting again");
        tableFull = false;
        // A multishot accept takes the whole listen queue at once (up to the backlog), so with
        // direct descriptors it is used only while the table has room for a full queue.
        acceptMultishot = multishot && (!direct || open + BACKLOG <= fixedFiles);
        // A direct descriptor is no fd, so it cannot be close-on-exec (the kernel says EINVAL).
        ring.accept(listenFd, direct ? 0 : Sockets.SOCK_CLOEXEC, acceptMultishot, direct, ud(ACCEPT, 0));
        acceptArmed = true;
        inflight++;
    }

    private void onAccept(int res, int flags) {
        // A multishot accept stays armed while its completions say F_MORE; any other ends it.
        if (!acceptMultishot || (flags & IORING_CQE_F_MORE) == 0) {
            acceptArmed = false;
            acceptCancelled = false;
            inflight--;
        }
        if (res >= 0) {
            if (outOfFds) {
                outOfFds = false;
                log(System.Logger.Level.INFO, name + ": accepting again");
            }
            if (!stopping && !shuttingDown) {
                add(res);
                if (acceptArmed && acceptMultishot && direct && !acceptCancelled && open + BACKLOG > fixedFiles) {
                    ring.cancel(ud(ACCEPT, 0), ud(LOOP_CANCEL, 0));   // one at a time from now on
                    acceptCancelled = true;
                    inflight++;
                }
            } else if (direct) {
                ring.closeFixed(res, ud(LOOP_CANCEL, 0));
                inflight++;
            } else {
                Sockets.close(res);
            }
        } else if (res == -Errno.EMFILE || res == -Errno.ENFILE) {
            // Out of fds (or, with direct descriptors, ENFILE: the ring's file table is full). The client stays in the listen queue; accepting again at once would
            // fail again at once (a busy loop). Wait 100 ms on a timeout request instead:
            // the connections we serve meanwhile may close and free fds.
            if (!outOfFds) {
                log(System.Logger.Level.WARNING, name + ": accept: " + errnoName(-res) + " ("
                        + Errno.description(-res) + "); accepting again in 100 ms, and every 100 ms until it works");
            }
            outOfFds = true;
            pauseWanted = true;
            if (acceptArmed) {           // still armed (not on today's kernels): stop it first
                ring.cancel(ud(ACCEPT, 0), ud(LOOP_CANCEL, 0));
                inflight++;
            }
        } else if (res != -ECANCELED) {
            // accept(2): ECONNABORTED, EPROTO, ENOBUFS, ENOMEM, EPERM and the network errors
            // are about one client, not the listener: accept the next one.
            LOG.log(System.Logger.Level.DEBUG, name + ": accept: " + errnoName(-res) + ", going on");
        }
        if (acceptArmed) return;
        if (pauseWanted) armPause();
        else armAccept();
    }

    /**
     * Loads (and initialises) now every class of ours the loop may need later. Loading a class
     * from a directory of class files opens a file: once we are out of descriptors, a class
     * first used then (Sockets, to close a connection) cannot be loaded, and the loop dies of
     * a NoClassDefFoundError. The JDK's own classes come from one file opened at start-up.
     */
    private static void preload() {
        for (Class<?> c : new Class<?>[] {Sockets.class, Errno.class, SyscallException.class, UringConnection.class,
                c10k.day01.LineFramer.class, c10k.day01.LineFramer.LineSink.class, Outbox.class, Deadlines.class,
                Deadlines.Timer.class, Protocol.class, BufferRing.class, Chunk.class, IoUringAbi.class}) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * A sparse table of direct descriptors (IORING_REGISTER_FILES2, 5.19). The kernel refuses
     * a table larger than RLIMIT_NOFILE (EMFILE), so we halve until it fits; if the kernel
     * cannot do it at all, connections are ordinary fds.
     */
    private void registerFileTable() {
        for (int n = FIXED_FILES; n >= 64; n /= 2) {
            int r = ring.registerSparseFiles(n);
            if (r >= 0) {
                direct = true;
                fixedFiles = n;
                return;
            }
            if (r != -Errno.EMFILE) {
                log(System.Logger.Level.INFO, name + ": no registered file table (" + errnoName(-r) + "): connections are fds");
                return;
            }
        }
    }

    /** Logging must never end the loop: out of fds, even writing a record can fail. */
    private static void log(System.Logger.Level level, String message) {
        try {
            LOG.log(level, message);
        } catch (Throwable t) {
            // nothing better to do: the server goes on
        }
    }

    private void armPause() {
        if (pauseArmed || stopping || shuttingDown) return;
        ring.timeout(pauseTimespec, ud(ACCEPT_PAUSE, 0));
        pauseArmed = true;
        inflight++;
        acceptPauses++;
    }

    private void add(int fd) {
        if (!direct) {
            try {
                Sockets.setNoDelay(fd);   // as every server of the book and Netty; a direct descriptor has no fd to set it on
            } catch (SyscallException gone) {
                // the first recv will say so
            }
        }
        int slot = freeCount > 0 ? freeSlots[--freeCount] : nextSlot++;
        if (slot >= conns.length) {
            conns = Arrays.copyOf(conns, conns.length * 2);
            freeSlots = Arrays.copyOf(freeSlots, freeSlots.length * 2);
        }
        UringConnection c = new UringConnection(slot, fd);
        conns[slot] = c;
        open++;
        counters.accepted();
        if (!multishot) {
            Chunk chunk = recvPool.poll();
            if (chunk == null) {
                MemorySegment s = arena.allocate(recvSize, 64);
                chunk = new Chunk(s, s.asByteBuffer());
            }
            c.recvBuffer = chunk.segment();
            c.recvView = chunk.view();
        }
        idle.restart(c.timer, now);
        armRecv(c);
    }

    // --- receiving -----------------------------------------------------------------------------

    private void armRecv(UringConnection c) {
        if (multishot) ring.recvMultishot(c.fd, direct, buffers.group(), ud(RECV, c.slot));
        else ring.recv(c.fd, c.recvBuffer.address(), recvSize, ud(RECV, c.slot));
        c.recvArmed = true;
        c.inflight++;
        inflight++;
    }

    private void maybeArmRecv(UringConnection c) {
        if (!c.recvArmed && !c.starved && c.wantsRead() && !stopping) armRecv(c);
    }

    private void onRecv(UringConnection c, int res, int flags) {
        boolean more = (flags & IORING_CQE_F_MORE) != 0;
        if (!more) {
            c.recvArmed = false;
            done(c);
        }
        int bid = (flags & IORING_CQE_F_BUFFER) != 0 ? flags >>> IORING_CQE_BUFFER_SHIFT : -1;
        if (res > 0) {
            counters.bytesIn(res);
            if (!c.closing && !c.lingering) {
                frame(c, bid >= 0 ? buffers.filled(bid, res) : c.recvView.clear().limit(res));
            }
            // A lingering connection discards what it reads: it only waits for the peer's FIN.
        } else if (res == 0) {
            c.inputEnded = true;         // FIN: answer the complete lines, drop the partial one
            c.framer.discardPartial();
        } else if (res == -ENOBUFS) {
            // The buffer ring ran dry: the multishot recv has ended (no F_MORE). This batch's
            // buffers go back at its end; re-arm then.
            enobufs++;
            if (!c.closing) {
                c.starved = true;
                starved.add(c);
            }
        } else if (res != -ECANCELED) {
            abort(c);                    // ECONNRESET and friends: nothing can be delivered
        }
        if (bid >= 0) buffers.give(bid);   // copied out (or discarded): the kernel may refill it
        if (c.closing) {
            finishIfDone(c);
            return;
        }
        flush(c);
        if (c.closing) return;
        checkPressure(c);
        if (!more) maybeArmRecv(c);
    }

    private void frame(UringConnection c, ByteBuffer data) {
        boolean ok;
        c.newLines = 0;
        try {
            ok = c.framer.feed(data, c);
        } catch (IOException impossible) {
            throw new AssertionError(impossible);   // our sink does not throw
        }
        if (c.newLines > 0) {
            counters.lines(c.newLines);
            // Only complete lines count as activity, or a peer dripping one byte a minute
            // would never time out.
            if (!c.outputWaiting && !c.lingering) idle.restart(c.timer, now);
        }
        if (!ok) {
            c.outbox.append(Protocol.ERR_LINE_TOO_LONG, 0, Protocol.ERR_LINE_TOO_LONG.length);
            startLingering(c, draining);
        }
    }

    /**
     * Backpressure: a peer that sends but does not read must not grow our memory. Above the
     * high-water mark we stop reading from it (basic: we just do not re-arm the recv;
     * multishot: the recv is still armed, so we cancel it), and start again below the low one.
     */
    private void checkPressure(UringConnection c) {
        int unsent = c.unsent();
        if (unsent > largestUnsent) largestUnsent = unsent;
        if (!c.paused && !c.lingering && unsent > Outbox.HIGH_WATER) {
            c.paused = true;
            counters.paused(1);
            if (multishot && c.recvArmed) {
                ring.cancel(ud(RECV, c.slot), ud(CANCEL, c.slot));
                c.inflight++;
                inflight++;
            }
        } else if (c.paused && unsent < Outbox.LOW_WATER) {
            c.paused = false;
            counters.paused(-1);
            maybeArmRecv(c);
        }
    }

    // --- sending -------------------------------------------------------------------------------

    /**
     * Sends what is queued, one request at a time per connection: a second send in flight
     * could complete before the first (a partial send followed by a full one) and
     * interleave the bytes. The outbox is on the heap, and the kernel reads the data after
     * this method returns, when the garbage collector may have moved the array; so each
     * chunk is copied into an off-heap buffer that stays put until the send completes.
     */
    private void flush(UringConnection c) {
        if (c.sendArmed || c.closing) return;
        if (c.sendStart == c.sendEnd) {
            if (c.outbox.isEmpty()) {
                flushed(c);
                return;
            }
            if (c.sendBuffer == null) {
                MemorySegment b = sendPool.poll();
                c.sendBuffer = b != null ? b : arena.allocate(SEND_CHUNK, 64);
            }
            int n = Math.min(c.outbox.size(), SEND_CHUNK);
            MemorySegment.copy(c.outbox.array(), c.outbox.start(), c.sendBuffer, JAVA_BYTE, 0, n);
            c.outbox.consumed(n);
            c.sendStart = 0;
            c.sendEnd = n;
        }
        ring.send(c.fd, direct, c.sendBuffer.address() + c.sendStart, c.sendEnd - c.sendStart, ud(SEND, c.slot));
        c.sendArmed = true;
        c.inflight++;
        inflight++;
        // The send clock runs while output waits; each completion that moves bytes restarts it.
        if (!c.lingering && !c.outputWaiting) {
            c.outputWaiting = true;
            sending.restart(c.timer, now);
        }
    }

    private void onSend(UringConnection c, int res) {
        c.sendArmed = false;
        done(c);
        if (c.closing) {
            finishIfDone(c);
            return;
        }
        if (res < 0) {                   // EPIPE, ECONNRESET: the peer is gone
            abort(c);
            return;
        }
        counters.bytesOut(res);
        // A partial send (the socket buffer filled) leaves the rest in place: the next
        // request starts where this one stopped.
        c.sendStart += res;
        if (res > 0 && !c.lingering) sending.restart(c.timer, now);
        flush(c);
        if (!c.closing) checkPressure(c);
    }

    /** Everything sent. What happens next depends on how the connection is ending, if it is. */
    private void flushed(UringConnection c) {
        if (c.sendBuffer != null) {
            sendPool.push(c.sendBuffer);   // an idle connection keeps no send buffer
            c.sendBuffer = null;
            c.sendStart = c.sendEnd = 0;
        }
        if (c.inputEnded) {
            close(c);                    // half-close: every complete line answered
        } else if (c.lingering) {
            if (!c.shutDown) {
                // FIN after the last answer; keep reading. A direct descriptor has no fd to
                // call shutdown(2) on: the ring does it.
                if (direct) {
                    ring.shutdownFixed(c.fd, Sockets.SHUT_WR, ud(SHUTDOWN, c.slot));
                    c.inflight++;
                    inflight++;
                } else {
                    Sockets.shutdownWrite(c.fd);
                }
                c.shutDown = true;
            }
            maybeArmRecv(c);
        } else if (c.outputWaiting) {
            c.outputWaiting = false;
            idle.restart(c.timer, now);  // the idle clock again, from now
        }
    }

    // --- ending connections ------------------------------------------------------------------

    /**
     * Lingering close (nginx's): stop answering, send what is queued, then shut down our
     * sending side and read and discard until the peer's FIN or the deadline. Closing with
     * unread input would send RST, and the peer could lose the answers it has not read yet.
     */
    private void startLingering(UringConnection c, Deadlines deadline) {
        if (c.lingering || c.closing) return;
        c.lingering = true;
        c.framer.discardPartial();
        if (c.paused) {
            c.paused = false;            // input is discarded from now on: no pressure
            counters.paused(-1);
        }
        deadline.restart(c.timer, now);
        flush(c);
        if (!c.closing) maybeArmRecv(c);
    }

    /** A clean end: nothing in flight but maybe a recv; FIN goes out with the close. */
    private void close(UringConnection c) {
        abort(c);
    }

    /**
     * Tears a connection down. Closing the fd would not end its requests (they hold their
     * own reference to the socket): a pending recv would keep our buffer until data came.
     * So we cancel every request on the fd, and close it and free its memory only when the
     * last completion is in ({@link #finishIfDone}).
     */
    private void abort(UringConnection c) {
        if (c.closing) return;
        c.closing = true;
        c.timer.cancel();
        if (c.paused) {
            c.paused = false;
            counters.paused(-1);
        }
        if (c.recvArmed || c.sendArmed) {
            ring.cancelFd(c.fd, direct, ud(CANCEL, c.slot));
            c.inflight++;
            inflight++;
        }
        finishIfDone(c);
    }

    private void finishIfDone(UringConnection c) {
        if (!c.closing || c.inflight > 0 || c.finished) return;
        if (direct && !c.fileClosed) {
            // A direct descriptor is closed by a request too; its slot in the table is free
            // once that completes, and only then is the connection.
            ring.closeFixed(c.fd, ud(CLOSE, c.slot));
            c.fileClosed = true;
            c.inflight++;
            inflight++;
            return;
        }
        // Exactly once: a second close(fd) would close whichever connection has been given
        // this fd number since (day 6's bug, met here for real while writing this day).
        c.finished = true;
        if (!direct) Sockets.close(c.fd);
        if (c.recvBuffer != null) recvPool.push(new Chunk(c.recvBuffer, c.recvView));
        if (c.sendBuffer != null) sendPool.push(c.sendBuffer);
        c.recvBuffer = c.sendBuffer = null;
        c.outbox.clear();
        conns[c.slot] = null;
        freeSlots[freeCount++] = c.slot;
        open--;
        counters.closed();
        if (tableFull) armAccept();   // a slot is free again
    }

    private void expireTimers() {
        now = clock.getAsLong();
        expire(idle, true);
        expire(sending, true);
        expire(draining, false);
        if (shutdownDrain != null) expire(shutdownDrain, false);
    }

    private void expire(Deadlines list, boolean countAsTimeout) {
        Object o;
        while ((o = list.pollExpired(now)) != null) {
            if (countAsTimeout) counters.timedOut();
            abort((UringConnection) o);
        }
    }

    // --- waking, shutting down, stopping -------------------------------------------------------

    private void armWake() {
        if (wakeArmed || stopping) return;
        ring.read(wake.fd(), wakeBuffer.address(), 8, ud(WAKE, 0));
        wakeArmed = true;
        inflight++;
    }

    /** From any thread: the graceful end, with {@code drainNanos} for the lingering closes. */
    void requestShutdown(long drainNanos) {
        shutdownRequested = drainNanos;
        wake.signal();
    }

    /** From any thread: end at once (connections closed, not drained). */
    void requestStop() {
        stopRequested = true;
        wake.signal();
    }

    /** From any thread: look at the clock and the commands again (tests move a fake clock). */
    void wakeUp() {
        wake.signal();
    }

    private void beginShutdown(long drainNanos) {
        shuttingDown = true;
        shutdownDrain = new Deadlines("shutdown drain", Math.max(1, drainNanos));
        if (acceptArmed) {
            ring.cancel(ud(ACCEPT, 0), ud(LOOP_CANCEL, 0));
            inflight++;
        }
        if (pauseArmed) {
            ring.cancel(ud(ACCEPT_PAUSE, 0), ud(LOOP_CANCEL, 0));
            inflight++;
        }
        // Complete lines already read are answered (they are in the outboxes); each
        // connection then ends with a lingering close, bounded by the drain.
        for (int i = 0; i < nextSlot; i++) {
            UringConnection c = conns[i];
            if (c != null && !c.closing) startLingering(c, shutdownDrain);
        }
    }

    private void beginStop() {
        stopping = true;
        stopStarted = System.nanoTime();
        // One request cancels every other request of this ring (IORING_ASYNC_CANCEL_ANY).
        ring.cancelAll(ud(LOOP_CANCEL, 0));
        inflight++;
        for (int i = 0; i < nextSlot; i++) {
            UringConnection c = conns[i];
            if (c != null && !c.closing) {
                c.closing = true;
                c.timer.cancel();
                finishIfDone(c);
            }
        }
    }

    /** After a failure: cancel what we can and wait (bounded) for the completions. */
    private void emergencyStop() {
        try {
            if (!stopping) beginStop();
            long limit = System.nanoTime() + STOP_LIMIT_NANOS;
            while (inflight > 0 && System.nanoTime() < limit) {
                int r = ring.submitAndWait(1, 100_000_000L);
                if (r < 0 && r != -ETIME && r != -Errno.EINTR && r != -Errno.EAGAIN && r != -EBUSY) break;
                reap();
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, name + ": could not cancel: " + t);
        }
    }

    private void releaseAll() {
        for (int i = 0; i < nextSlot; i++) {
            UringConnection c = conns[i];
            if (c != null) {
                if (!direct) Sockets.close(c.fd);   // direct descriptors go with the ring
                conns[i] = null;
                counters.closed();
            }
        }
        open = 0;
        Sockets.close(listenFd);
        if (inflight == 0) {
            if (buffers != null) buffers.close();
            arena.close();
        } else {
            // Never free memory the kernel may still write into: a leak is a bug, a
            // use-after-free is memory corruption. The ring's close ends the requests.
            LOG.log(System.Logger.Level.ERROR, name + ": " + inflight + " requests still in flight; their memory is not freed");
        }
        publish();
    }

    private void publish() {
        openPublished = open;
        recvBuffersHeld = multishot ? 0 : open;
        entersPublished = ring.enters();
        pausesPublished = acceptPauses;
        enobufsPublished = enobufs;
    }

    /** start() failed before this loop ran: its listener is the only thing it owns. */
    void closeListenerUnstarted() {
        Sockets.close(listenFd);
    }

    // --- figures, from any thread ---------------------------------------------------------------

    int openConnections() {
        return openPublished;
    }

    /** Receive buffers pinned by connections: one each in basic mode, none in multishot. */
    int recvBuffersHeld() {
        return recvBuffersHeld;
    }

    int largestUnsent() {
        return largestUnsent;
    }

    long enters() {
        return entersPublished;
    }

    long completions() {
        return completions;
    }

    long acceptPauses() {
        return pausesPublished;
    }

    long enobufs() {
        return enobufsPublished;
    }

    Throwable failure() {
        return failure;
    }

    @Override
    public String toString() {
        return name;
    }

    private static final int EBUSY = 16;
}
