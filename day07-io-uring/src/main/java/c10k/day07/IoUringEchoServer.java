package c10k.day07;

import c10k.day01.EchoServer;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.EventFd;
import c10k.day03.sys.Sockets;
import c10k.day07.sys.IoUring;
import c10k.day07.sys.KernelCeiling;
import c10k.day07.sys.KernelFeatures;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import java.util.function.ToLongFunction;

/**
 * Day 7: the line-echo server on io_uring, one ring per thread ({@link RingLoop}).
 *
 * <p>Two modes, side by side:
 * <ul>
 * <li>{@link Mode#BASIC}: the completion model in its plainest form. One accept request,
 *     re-armed after each completion; one recv per connection, into that connection's own
 *     buffer; one send at a time, re-submitted for what a partial send left.</li>
 * <li>{@link Mode#MULTISHOT}: one accept request for all connections
 *     (IORING_ACCEPT_MULTISHOT) and one recv request per connection for its whole life
 *     (IORING_RECV_MULTISHOT), which takes a buffer from a shared provided-buffer ring only
 *     when data arrives. An idle connection then costs the kernel a poll entry and us a
 *     few Java objects, and no receive buffer.</li>
 * </ul>
 * With {@code threads > 1}, each thread has its own ring and its own listener on the same
 * port ({@code SO_REUSEPORT}): N independent loops, nothing shared between them.
 */
public final class IoUringEchoServer implements EchoServer, Stats.Source {

    public enum Mode { BASIC, MULTISHOT }

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day07");

    private final String host;
    private final int requestedPort;
    private final Mode mode;
    private final int threads;
    private final Timeouts timeouts;
    private final Stats stats = new Stats();
    private LongSupplier clock = System::nanoTime;
    private int recvSize = 16 * 1024;
    private int ringBuffers = 512;
    private int ringBufferSize = 16 * 1024;
    private boolean fixedFiles = true;
    private boolean incrementalBuffers = true;
    private Runnable turnHook = () -> { };
    private Consumer<Throwable> onFatal = IoUringEchoServer::exitOnFatal;
    private KernelCeiling ceiling = KernelCeiling.fromSystemProperty();
    private KernelFeatures kernel;

    private int port;
    private final List<RingLoop> loops = new ArrayList<>();
    private final List<Thread> loopThreads = new ArrayList<>();
    private final List<IoUring> rings = new ArrayList<>();
    private final List<EventFd> wakes = new ArrayList<>();
    /** Guards the eventfds: a signal from another thread must never meet a closed one. */
    private final Object lifecycle = new Object();
    private boolean released;
    private volatile boolean started;

    public IoUringEchoServer(String host, int port, Mode mode) {
        this(host, port, mode, 1, Timeouts.DEFAULTS);
    }

    public IoUringEchoServer(String host, int port, Mode mode, int threads, Timeouts timeouts) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        this.host = host;
        this.requestedPort = port;
        this.mode = mode;
        this.threads = threads;
        this.timeouts = timeouts;
    }

    /** Tests: the clock the timeouts are measured with (nanoseconds, like System.nanoTime). */
    public IoUringEchoServer withClock(LongSupplier nanoClock) { this.clock = nanoClock; return this; }

    /** multishot: the provided-buffer ring of each thread, {@code count} (a power of two) x {@code size} bytes. */
    public IoUringEchoServer withBufferRing(int count, int size) {
        this.ringBuffers = count;
        this.ringBufferSize = size;
        return this;
    }

    /** multishot: connections as direct descriptors in a registered file table (the default), or as fds. */
    public IoUringEchoServer withFixedFiles(boolean fixedFiles) { this.fixedFiles = fixedFiles; return this; }

    /**
     * multishot: provided buffers consumed incrementally where the kernel can (the default),
     * or whole buffers, one per receive, as before Linux 6.12 (tests show the difference).
     */
    public IoUringEchoServer withIncrementalBuffers(boolean incremental) { this.incrementalBuffers = incremental; return this; }

    /**
     * Tests: runs on each loop thread at the top of every turn, before it enters the kernel.
     * A hook that blocks holds the loop out of the kernel, so that everything that happens
     * meanwhile (data arriving on many sockets) is handled in one turn.
     */
    public IoUringEchoServer withTurnHook(Runnable hook) { this.turnHook = hook; return this; }

    /**
     * What to do when a ring fails (one connection's failure never gets here: it ends that
     * connection). By default the process exits with status 1, the loop having logged why.
     */
    public IoUringEchoServer onFatal(Consumer<Throwable> handler) { this.onFatal = handler; return this; }

    private static void exitOnFatal(Throwable why) {
        // Not from the loop thread: System.exit runs the shutdown hooks, which join the loops.
        Thread.ofPlatform().start(() -> System.exit(1));
    }

    /**
     * Tests: io_uring answers as an older kernel would ("6.1"), or refuses itself ("EPERM",
     * "ENOSYS"); see {@link KernelCeiling}. Readers: {@code -Dc10k.day07.kernel=6.1}.
     */
    public IoUringEchoServer withKernelAsOf(String spec) {
        this.ceiling = KernelCeiling.of(spec);
        return this;
    }

    /** What the start-up probe found (null before start). */
    public KernelFeatures kernel() { return kernel; }

    /** basic: the receive buffer each connection holds. */
    public IoUringEchoServer withRecvSize(int size) { this.recvSize = size; return this; }

    @Override
    public void start() throws IOException {
        // Once, before anything is bound: what this kernel offers, each feature tried for real on
        // a ring and a socketpair of our own, so that no client ever meets a refused request.
        kernel = KernelFeatures.probe(ceiling);
        String refusal = kernel.refusal(mode == Mode.MULTISHOT);
        if (refusal != null) throw new IoUring.UnavailableException(refusal);
        LOG.log(System.Logger.Level.INFO, this + ": " + kernel.describe(mode == Mode.MULTISHOT));
        RingSettings settings = new RingSettings(mode, timeouts, clock, recvSize, ringBuffers, ringBufferSize, fixedFiles,
                incrementalBuffers, kernel, turnHook, onFatal);
        try {
            for (int i = 0; i < threads; i++) {
                IoUring ring = IoUring.open(RingSettings.SQ_ENTRIES, RingSettings.CQ_ENTRIES, kernel);   // its loop thread enables it
                rings.add(ring);
                EventFd wake = new EventFd();
                wakes.add(wake);
                int fd = Sockets.listen(host, i == 0 ? requestedPort : port, RingAcceptor.BACKLOG, threads > 1, false);
                if (i == 0) port = Sockets.localPort(fd);
                // Linux copies the listener's TCP_NODELAY into every socket it accepts. That is
                // how a direct descriptor, which has no fd to call setsockopt on, gets it too:
                // without it Nagle's algorithm holds back small answers until the peer's
                // delayed ACK, up to 40 ms each.
                try {
                    Sockets.setNoDelay(fd);
                } catch (IOException | RuntimeException e) {
                    Sockets.close(fd);
                    throw e;
                }
                String name = "day07-" + mode.name().toLowerCase() + (threads > 1 ? "-" + i : "");
                loops.add(new RingLoop(name, ring, fd, wake, stats.newCounters(), settings));
            }
        } catch (IOException | RuntimeException e) {
            // No loop runs yet: the listeners are closed here, the rest by release().
            for (RingLoop l : loops) l.closeListenerUnstarted();
            release();
            throw e;
        }
        for (RingLoop l : loops) {
            loopThreads.add(Thread.ofPlatform().name(l.toString()).start(l));   // FFM pins virtual threads
        }
        started = true;
    }

    @Override
    public int port() { return port; }

    @Override
    public Stats stats() { return stats; }

    // --- figures, over all threads (each loop publishes its own once per turn) ---------------

    private long sum(ToLongFunction<LoopFigures> figure) {
        long n = 0;
        for (RingLoop l : loops) n += figure.applyAsLong(l.figures());
        return n;
    }

    private int max(ToIntFunction<LoopFigures> figure) {
        int n = 0;
        for (RingLoop l : loops) n = Math.max(n, figure.applyAsInt(l.figures()));
        return n;
    }

    /** Connections open (accepted, not yet closed). */
    public int connectionCount() { return (int) sum(f -> f.open); }

    /** Receive buffers held by connections: the memory an idle connection pins. */
    public int recvBuffersHeld() { return (int) sum(f -> f.recvBuffersHeld); }

    /** basic: free receive buffers kept for later connections (at most {@code Receiver.KEEP} a thread). */
    public int recvBuffersKept() { return (int) sum(f -> f.recvBuffersKept); }

    /** The most output one connection ever had waiting: bounded by backpressure. */
    public int largestUnsent() { return max(f -> f.largestUnsent); }

    /** Accepts that waited 100 ms: out of fds or of kernel memory. */
    public long acceptPauses() { return sum(f -> f.acceptPauses); }

    /** io_uring_enter calls so far. */
    public long enters() { return sum(f -> f.enters); }

    /**
     * multishot: the bytes one recv may bring in before it must be armed again (the bound on
     * what a peer that does not read makes a connection hold, past the high-water mark); 0 in
     * basic mode, or where the kernel takes no budget.
     */
    public int recvBudget() { return max(f -> f.recvBudget); }

    /** Multishot receives that ended because the buffer ring was empty. */
    public long enobufs() { return sum(f -> f.enobufs); }

    /** Tests: make every loop look at its clock again (after moving a fake clock). */
    public void wakeUp() {
        signal(RingLoop::wakeUp);
    }

    private void signal(Consumer<RingLoop> command) {
        synchronized (lifecycle) {
            if (released) return;
            for (RingLoop l : loops) command.accept(l);
        }
    }

    @Override
    public void shutdownGracefully(Duration drain) {
        if (!started) {
            close();
            return;
        }
        signal(l -> l.requestShutdown(drain.toNanos()));
        joinLoops();
        close();
    }

    @Override
    public void close() {
        if (started) {
            signal(RingLoop::requestStop);
            joinLoops();
        }
        release();
    }

    private void joinLoops() {
        for (Thread t : loopThreads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void release() {
        synchronized (lifecycle) {
            if (released) return;
            released = true;
        }
        long overflows = 0;
        for (IoUring r : rings) overflows += r.cq().overflowed();
        // The loops have ended, every request has completed: the rings can go.
        for (IoUring r : rings) r.close();
        for (EventFd w : wakes) w.close();
        if (started) {
            LOG.log(System.Logger.Level.INFO, this + ": " + enters() + " io_uring_enter calls, " + sum(f -> f.completions)
                    + " completions, " + acceptPauses() + " accept pauses, " + enobufs() + " ENOBUFS, "
                    + overflows + " completions dropped (CQ overflow), largest unsent output of one connection "
                    + largestUnsent() + " bytes");
        }
    }

    @Override
    public String toString() {
        return "day07 " + mode.name().toLowerCase() + (threads > 1 ? " x" + threads : "");
    }
}
