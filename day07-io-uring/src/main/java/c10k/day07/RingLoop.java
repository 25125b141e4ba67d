package c10k.day07;

import static c10k.day07.UserData.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day01.Protocol;
import c10k.day01.harness.Stats;
import c10k.day03.Deadlines;
import c10k.day03.Outbox;
import c10k.day03.sys.Errno;
import c10k.day03.sys.EventFd;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day07.sys.BufferRing;
import c10k.day07.sys.CompletionQueue;
import c10k.day07.sys.IoUring;
import c10k.day07.sys.IoUringAbi;
import c10k.day07.sys.SubmissionQueue;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One thread's server: a ring, a listener, and the connections it accepted. Where day 4's
 * loop asks "which fds are ready?" and then makes the system calls itself, this one submits
 * the operations (accept, recv, send) and is told what each one did.
 *
 * <p>A turn of the loop is one {@code io_uring_enter}: it submits every SQE queued during
 * the previous turn and waits for at least one completion, or until the next deadline. Each
 * completion then goes, by its {@link UserData kind}, to the part that asked for it: the
 * accept path ({@link RingAcceptor}, whose sockets the loop hands to {@link Connections}) or a
 * connection's ({@link Connections}, which owns each connection's life and moves its bytes
 * through its {@link Receiver} and {@link Sender}), with {@link RingTimers} for the
 * deadlines. What is left here is the loop itself, its own two requests (the wake-up
 * eventfd's read, the cancel-everything of a stop), and the commands from other threads.
 *
 * <p>Everything here runs on the loop thread; other threads only set the two command flags
 * and signal the eventfd, whose pending read is one of our requests.
 */
final class RingLoop implements Runnable {

    static final System.Logger LOG = c10k.day01.harness.Log.logger("day07");
    private static final long STOP_LIMIT_NANOS = 10_000_000_000L;

    private final String name;
    private final RingSettings settings;
    private final IoUring ring;
    private final EventFd wake;
    private final Stats.Counters counters;
    private final RingTimers timers;
    private final int listenFd;
    private final CompletionQueue.Handler dispatcher = this::dispatch;

    // --- loop-thread state, made in run() -----------------------------------------------------
    private Arena arena;
    private RingAcceptor acceptor;
    private Connections connections;
    private BufferRing buffers;
    private MemorySegment wakeBuffer;
    /** The loop's own requests in flight (wake-up read, cancel-all). */
    private int inflight;
    private boolean wakeArmed, shuttingDown, stopping;
    private long stopStarted;

    // --- commands from other threads, and figures for them ------------------------------------
    private volatile boolean stopRequested;
    private volatile long shutdownRequested = -1;   // drain nanos, once asked
    private final LoopFigures figures = new LoopFigures();

    RingLoop(String name, IoUring ring, int listenFd, EventFd wake, Stats.Counters counters, RingSettings settings) {
        this.name = name;
        this.settings = settings;
        this.ring = ring;
        this.wake = wake;
        this.counters = counters;
        this.timers = new RingTimers(settings.timeouts(), settings.clock());
        this.listenFd = listenFd;
    }

    /** Everything of ours in flight: the loop may only end, and free memory, at 0. */
    private int inflight() {
        return inflight + (acceptor == null ? 0 : acceptor.inflight()) + (connections == null ? 0 : connections.inflight());
    }

    // --- the loop ------------------------------------------------------------------------------

    @Override
    public void run() {
        arena = Arena.ofConfined();
        Throwable failure = null;
        try {
            ring.enable();   // this thread is the ring's one submitter from now on
            wakeBuffer = arena.allocate(JAVA_LONG);
            acceptor = new RingAcceptor(name, ring, listenFd, settings.multishot(), arena);
            if (settings.multishot()) {
                buffers = new BufferRing(ring, (short) 1, settings.ringBuffers(), settings.ringBufferSize(), settings.incremental(), arena);
                if (settings.directDescriptors()) acceptor.registerFileTable();
            }
            boolean direct = acceptor.direct();
            SubmissionQueue sq = ring.sq();
            connections = new Connections(sq, counters, timers, direct,
                    new Receiver(sq, counters, timers, direct, buffers, settings.recvBudget(), settings.recvSize()),
                    new Sender(sq, counters, timers, direct));
            timers.tick();
            preload();
            // Said now, while we have fds: the first log record loads classes and opens files
            // (time zone data), which would fail once we are out of descriptors.
            log(Level.INFO, name + ": " + settings.describe(ring, buffers, acceptor.fixedFiles()));
            armWake();
            acceptor.start();
            while (!(stopping && inflight() == 0)) {
                settings.turnHook().run();
                if (stopRequested && !stopping) beginStop();
                long drain = shutdownRequested;
                if (drain >= 0 && !shuttingDown && !stopping) beginShutdown(drain);
                if (shuttingDown && !stopping && connections.open() == 0 && !acceptor.armed()) beginStop();
                if (stopping && System.nanoTime() - stopStarted > STOP_LIMIT_NANOS) {
                    throw new IllegalStateException(inflight() + " requests still in flight " + STOP_LIMIT_NANOS / 1_000_000_000L
                            + " s after cancelling them all");
                }
                timers.expire(connections);
                int r = ring.submitAndWait(1, waitNanos());
                if (!normal(r)) throw new SyscallException("io_uring_enter", -r);
                counters.wakeup();
                timers.tick();
                reap();
                acceptor.connectionsOpen(connections.open());   // a closed connection may free a slot of the file table
                publish();
            }
        } catch (Throwable t) {
            failure = t;
            LOG.log(Level.ERROR, name + ": the ring failed, closing every connection: " + t, t);
            emergencyStop();
        } finally {
            releaseAll();
        }
        if (failure != null) settings.onFatal().accept(failure);
    }

    /** What io_uring_enter may say without anything being wrong: the caller goes round again. */
    private static boolean normal(int r) {
        return r >= 0 || r == -Errno.ETIME || r == -Errno.EINTR || r == -Errno.EAGAIN || r == -Errno.EBUSY;
    }

    /** The nearest deadline, as the wait's timeout: no fixed tick, no wake-up for nothing. */
    private long waitNanos() {
        long wait = timers.nanosUntilNext();
        if (stopping) wait = Math.min(wait, 100_000_000L);
        return wait;
    }

    private void reap() {
        int n = ring.cq().drain(dispatcher);   // each slot is handed back even if a handler throws: never handled twice
        figures.completions += n;   // only this thread writes it
        connections.endOfBatch();
    }

    private void dispatch(long userData, int res, int flags) {
        int kind = UserData.kind(userData);
        switch (kind) {
            case ACCEPT, ACCEPT_PAUSE, ACCEPT_AUX -> {
                int fd = acceptor.onCompletion(kind, res, flags, connections.open());
                if (fd >= 0) connections.add(fd);
            }
            case WAKE -> {
                inflight--;
                wakeArmed = false;
                armWake();   // the commands themselves are read at the top of the loop
            }
            case LOOP_CANCEL -> inflight--;
            default -> connections.onCompletion(kind, UserData.slot(userData), res, flags);   // a connection's
        }
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
                Deadlines.Timer.class, Protocol.class, BufferRing.class, Receiver.Chunk.class, Sender.Buffer.class, IoUringAbi.class,
                c10k.day03.AcceptErrors.class, c10k.day03.AcceptErrors.Kind.class, c10k.day03.sys.Faults.class}) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Logging must never end the loop: out of fds, even writing a record can fail. */
    static void log(Level level, String message) {
        try {
            LOG.log(level, message);
        } catch (Throwable t) {
            // nothing better to do: the server goes on
        }
    }

    // --- waking, shutting down, stopping -------------------------------------------------------

    private void armWake() {
        if (wakeArmed || stopping) return;
        ring.sq().read(wake.fd(), wakeBuffer.address(), 8, ud(WAKE, 0));
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
        timers.beginShutdownDrain(drainNanos);
        acceptor.shutdown();
        // Complete lines already read are answered (they are in the outboxes); each
        // connection then ends with a lingering close, bounded by the drain.
        connections.lingerAll(timers.shutdownDrain);
    }

    private void beginStop() {
        stopping = true;
        stopStarted = System.nanoTime();
        if (acceptor != null) acceptor.stop();
        // One request cancels every other request of this ring (IORING_ASYNC_CANCEL_ANY).
        ring.sq().cancelAll(ud(LOOP_CANCEL, 0));
        inflight++;
        connections.stopAll();
    }

    /** After a failure: cancel what we can and wait (bounded) for the completions. */
    private void emergencyStop() {
        try {
            if (connections == null) return;   // failed before anything was submitted
            if (!stopping) beginStop();
            long limit = System.nanoTime() + STOP_LIMIT_NANOS;
            while (inflight() > 0 && System.nanoTime() < limit) {
                if (!normal(ring.submitAndWait(1, 100_000_000L))) break;
                reap();
            }
        } catch (Throwable t) {
            LOG.log(Level.ERROR, name + ": could not cancel: " + t);
        }
    }

    private void releaseAll() {
        if (connections != null) connections.releaseAll();
        Sockets.close(listenFd);
        if (inflight() == 0) {
            if (connections != null) connections.freeAll();
            if (buffers != null) buffers.close();
            arena.close();
        } else {
            // Never free memory the kernel may still write into: a leak is a bug, a
            // use-after-free is memory corruption. The ring's close ends the requests.
            LOG.log(Level.ERROR, name + ": " + inflight() + " requests still in flight; their memory is not freed");
        }
        publish();
    }

    private void publish() {
        figures.enters = ring.enters();
        if (connections != null) {
            figures.acceptPauses = acceptor.pauses();
            connections.publish(figures);
        }
    }

    /** start() failed before this loop ran: its listener is the only thing it owns. */
    void closeListenerUnstarted() {
        Sockets.close(listenFd);
    }

    /** The figures, from any thread. */
    LoopFigures figures() {
        return figures;
    }

    @Override
    public String toString() {
        return name;
    }
}
