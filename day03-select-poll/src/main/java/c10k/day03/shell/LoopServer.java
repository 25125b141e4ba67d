package c10k.day03.shell;

import c10k.day01.harness.Timeouts;
import c10k.day03.EventLoopServer;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The life of a server that runs one event loop on one thread, written once for day 3's two
 * servers: its settings, its figures, its thread, and the two ways it ends. A server brings
 * what is its own: how it opens its sockets ({@link #open}), one turn of its loop
 * ({@link #turn}: wait, serve what is ready, expire clocks), how another thread wakes the loop
 * ({@link #wake}), how it stops accepting ({@link #beginStop}) and what it releases
 * ({@link #loopEnded}, {@link #released}).
 *
 * <p>The two ends. {@link #close()} is abrupt: the loop sees the flag at its next turn,
 * leaves, and releases every connection. {@link #shutdownGracefully} is the protocol's
 * shutdown: the loop stops accepting, every connection is told to finish (answer what it has
 * read, FIN, drain the peer's input), and the loop leaves when the last connection is gone or
 * the drain time has passed, whichever comes first; then {@code close()}. Both requests come
 * from other threads (a signal handler, a test), so they are flags the loop polls after a
 * {@link #wake}, never calls into the loop's state.
 *
 * <p>And the end nobody asked for: the loop's own machinery fails (its selector or poll call,
 * an {@code Error}). Nobody is served any more, so the loop lets every connection go and
 * reports to {@link #onFatal}; the command line then exits with status 1, as days 4 to 7 do,
 * so that a supervisor sees a dead server instead of a live process that answers no one.
 *
 * @param <S> the server itself, so that the settings chain: {@code new PollEchoServer(h, p).timeouts(t).clock(c)}
 */
public abstract class LoopServer<S extends LoopServer<S>> implements EventLoopServer {

    protected final System.Logger log;
    private final String threadName;
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private LongSupplier clock = System::nanoTime;
    private Consumer<Throwable> onFatal = why -> { };
    private Thread thread;
    private volatile boolean closing;         // close(): leave at the next turn
    private volatile boolean stopRequested;   // shutdownGracefully(): finish every connection first
    private volatile long drainNanos;

    /** The loop's idea of the time, read once per turn by the server (loop thread only). */
    protected long now;
    private boolean stopBegun;
    private long hardStop;

    // Written by the loop thread only (one writer, so ++ on a volatile is safe); read by tests.
    protected volatile int connections;
    protected volatile int readPaused;
    protected volatile int largestOutbox;

    protected LoopServer(String threadName, System.Logger log) {
        this.threadName = threadName;
        this.log = log;
    }

    /** {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}; before {@link #start}. */
    public final S timeouts(Timeouts t) {
        this.timeouts = t;
        return self();
    }

    /** Tests: a clock they move by hand; before {@link #start}. */
    public final S clock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return self();
    }

    /** What to do once the loop has failed and let every connection go (the command line: exit 1); before {@link #start}. */
    public final S onFatal(Consumer<Throwable> handler) {
        this.onFatal = handler;
        return self();
    }

    /** The command line's answer to a failed loop: exit with status 1; not on the loop's thread, since exit waits for the hooks. */
    public static void exitOnFatal(Throwable why) {
        Thread.ofPlatform().start(() -> System.exit(1));
    }

    @SuppressWarnings("unchecked")
    private S self() {
        return (S) this;
    }

    protected final Timeouts timeoutSettings() {
        return timeouts;
    }

    /** Reads the clock (the real one, or the test's). */
    protected final long clockNow() {
        return clock.getAsLong();
    }

    @Override
    public final void start() throws IOException {
        open();
        now = clockNow();
        thread = Thread.ofPlatform().name(threadName).start(this::run);
    }

    /** Binds the listener and makes what the loop needs; on failure, leaves nothing open. */
    protected abstract void open() throws IOException;

    /**
     * One turn: wait for events at most {@code maxWaitNanos} (sooner for the server's own
     * deadlines; {@code Long.MAX_VALUE}: no limit of ours), serve what is ready, expire what
     * timed out, and update {@link #now}.
     */
    protected abstract void turn(long maxWaitNanos) throws IOException;

    /** Stops accepting and sends every connection toward its gentle close (loop thread). */
    protected abstract void beginStop();

    /** Gets the loop out of its wait; any thread. */
    protected abstract void wake();

    /** On the loop thread as it ends, however it ends: close every connection. */
    protected abstract void loopEnded();

    /** After the loop thread has ended: release what other threads used to wake it. */
    protected void released() {
    }

    private void run() {
        Throwable fatal = null;
        try {
            while (!closing) {
                if (stopRequested && !stopBegun) {
                    stopBegun = true;
                    hardStop = now + drainNanos;
                    beginStop();
                }
                if (stopBegun && (connections == 0 || now - hardStop >= 0)) break;
                turn(stopBegun ? Math.max(0, hardStop - now) : Long.MAX_VALUE);
            }
        } catch (IOException | RuntimeException | Error e) {
            // Only the loop's own machinery fails here (one connection's failure ends that
            // connection): without it nobody is served, so say why and let everything go.
            fatal = e;
            log.log(System.Logger.Level.ERROR, "the " + threadName + " loop failed, so the server stops: " + e.getMessage(), e);
        } finally {
            loopEnded();
        }
        if (fatal != null) onFatal.accept(fatal);
    }

    /**
     * A wait's timeout in milliseconds: until {@code nanos} from now, rounded up (waking a
     * little early would find nothing due and wait again), or until an accept pause ends
     * ({@code pauseMillis}, -1 when none), whichever is sooner; -1 when neither applies
     * ({@code nanos} is {@code Long.MAX_VALUE}): wait for events only.
     */
    protected static int waitMillis(long nanos, int pauseMillis) {
        if (nanos == Long.MAX_VALUE) return pauseMillis;
        int millis = (int) Math.min(Integer.MAX_VALUE, (Math.max(0, nanos) + 999_999) / 1_000_000);
        return pauseMillis < 0 ? millis : Math.min(pauseMillis, millis);
    }

    @Override
    public final int connectionCount() {
        return connections;
    }

    @Override
    public final int readPausedCount() {
        return readPaused;
    }

    @Override
    public final int largestOutbox() {
        return largestOutbox;
    }

    /** Wakes the loop, e.g. after a test moved its clock. */
    public final void wakeup() {
        if (thread != null && !closing) wake();   // after close() the loop's waker is gone
    }

    @Override
    public final void shutdownGracefully(Duration drain) {
        if (thread == null) return;
        drainNanos = drain.toNanos();
        stopRequested = true;
        wake();
        join();
        close();
    }

    @Override
    public final synchronized void close() {
        if (thread == null || closing) return;   // never started (start() cleaned up), or closed already
        closing = true;
        wake();
        join();
        released();
    }

    private void join() {
        if (Thread.currentThread() == thread) return;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
