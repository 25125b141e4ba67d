package c10k.day04;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.EventLoopServer;
import c10k.day03.sys.Sockets;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * The shell of every epoll server of days 4 to 6: what a server does around its loops, written
 * once. It owns the listening sockets and 1..N {@link Loop}s on them, the settings every loop
 * takes (timeouts, the clock, what to do when a loop cannot go on), the figures the tests and
 * {@code --stats} read, and the life cycle: start (undone if any part fails), one graceful
 * shutdown for all loops, close. A subclass says only which loops it runs ({@link #newLoops}):
 * day 4 one {@link EventLoop}, day 5's reactor one loop and a pool, day 5's loops N of them,
 * day 6 the reactor again.
 *
 * <pre>
 *   start:     listeners (1, or N with SO_REUSEPORT) ─► newLoops ─► start each (the acceptor last)
 *   shutdown:  acceptor ends ─► every loop stops accepting ─► listeners closed ─► every loop
 *              answers, sends FIN, drains (at most the drain time) ─► close
 *   close:     every loop ends ─► loopEnded (day 5: the pool stops) ─► fds released
 * </pre>
 */
public abstract class EpollServer implements EventLoopServer, Stats.Source {

    private static final int BACKLOG = 4096;
    private static final long GRACE_NANOS = 1_000_000_000L;   // past the drain time, before a loop is closed at once

    /**
     * What the shell runs: day 4's {@link EventLoop}, or anything that serves connections from
     * start to release as it does (several threads on one epoll fd). Any thread may call these.
     */
    public interface Loop {
        /** Makes its fds and starts its threads; on failure releases what it made. */
        void start() throws IOException;
        /** What to do when it cannot go on; before {@link #start}. */
        void onFatal(Consumer<Throwable> handler);
        /** Begins the graceful end: stop accepting, answer, FIN, drain for at most {@code drainNanos}. */
        void stopGracefully(long drainNanos);
        /** Waits until it no longer accepts, at most until {@code deadline} ({@link System#nanoTime}); false if it still may. */
        boolean awaitStoppedAccepting(long deadline) throws InterruptedException;
        /** Waits until its threads have ended, at most until {@code deadline}; false if one still runs. */
        boolean awaitEnd(long deadline) throws InterruptedException;
        /**
         * Ends it at once, every connection closed. False if it had to leave a thread behind that
         * may still use the listeners: the shell leaves them open, for that thread to close
         * ({@link #closeListeners}) when it ends.
         */
        boolean close();
        /** After {@link #close}: its own fds; its eventfd only if {@code closeWake} (no other thread may signal it). */
        void releaseFds(boolean closeWake);
        /** Wakes it (answers to take back, a clock a test moved). */
        void wakeup();
        /** Test hook: runs on its thread(s) before every epoll_wait. */
        void beforeEachWait(Runnable hook);
        int connectionCount();
        int readPausedCount();
        int largestOutbox();
    }

    protected final String host;
    private final int requestedPort;
    protected final Stats stats = new Stats();
    protected Timeouts timeouts = Timeouts.DEFAULTS;
    protected LongSupplier clock = System::nanoTime;
    private Consumer<Throwable> onFatal;
    private int port;
    private int[] listeners = new int[0];
    private volatile List<Loop> loops;   // null before start and after close
    private volatile Loop front;         // day 5's acceptor, or null
    private boolean ending;              // guarded by this: an end() took the loops, and it alone decides when the listeners close

    protected EpollServer(String host, int port) {
        this.host = host;
        this.requestedPort = port;
    }

    /**
     * The loops this server runs, not started yet, on the listeners the shell opened
     * ({@link #reusePortListeners}). Day 4: one loop on {@code listenFds[0]}.
     */
    protected abstract List<? extends Loop> newLoops(int[] listenFds);

    /**
     * Null (the loops accept), or a loop that accepts on {@code listenFd} and hands each new fd
     * to {@code loops} (day 5's acceptor): started after them, so each is ready to take fds;
     * stopped before them, so none is handed an fd once it is closing.
     */
    protected Loop newAcceptor(int listenFd, List<? extends Loop> loops) {
        return null;
    }

    /**
     * 0 (the default): one listener. N: N listeners bound to one port with {@code SO_REUSEPORT}
     * (socket(7)), which the kernel spreads new connections over (another process's too).
     */
    protected int reusePortListeners() {
        return 0;
    }

    /** Once every loop has ended, before their fds go: day 5 stops its pool. False: a thread may still signal an eventfd. */
    protected boolean loopEnded() {
        return true;
    }

    /** {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}; before {@link #start}. */
    public EpollServer timeouts(Timeouts t) {
        this.timeouts = t;
        return this;
    }

    /** Tests: a clock they move by hand ({@code System::nanoTime} by default), then {@link #wakeup}; before {@link #start}. */
    public EpollServer clock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return this;
    }

    /** Tests: what to do instead of exiting the process when a loop cannot go on; before {@link #start}. */
    public EpollServer onFatal(Consumer<Throwable> handler) {
        this.onFatal = handler;
        return this;
    }

    @Override
    public synchronized void start() throws IOException {
        if (loops != null || ending) throw new IllegalStateException(this + " is already started");
        int n = reusePortListeners();
        listeners = new int[Math.max(1, n)];
        Arrays.fill(listeners, -1);
        try {
            for (int i = 0; i < listeners.length; i++) {
                // The first listener takes the port (0: the kernel picks); the others join it.
                listeners[i] = Sockets.listen(host, i == 0 ? requestedPort : port, BACKLOG, n > 0);
                if (i == 0) port = Sockets.localPort(listeners[0]);
            }
            loops = List.copyOf(newLoops(listeners.clone()));
            front = newAcceptor(listeners[0], loops);
            if (onFatal != null) for (Loop l : all()) l.onFatal(onFatal);
            stats.snapshot();   // loads the closing figures' class now: out of files (ENFILE) at the end, its file cannot be opened
            for (Loop l : loops) l.start();
            if (front != null) front.start();
        } catch (IOException | RuntimeException e) {
            // A loop that failed to start released its own fds; those that started end here, and
            // what newLoops started besides (day 5's pool) stops in loopEnded.
            end(false);
            throw e;
        }
    }

    @Override
    public int port() {
        return port;
    }

    /** The loops, loop 0 first (not the acceptor); empty before start and after close. */
    protected List<? extends Loop> loops() {
        List<Loop> l = loops;
        return l == null ? List.of() : l;
    }

    /** Every loop, the acceptor first: the order in which they stop. */
    private List<Loop> all() {
        List<Loop> out = new ArrayList<>(loops());
        Loop f = front;
        if (f != null) out.addFirst(f);
        return out;
    }

    /**
     * The graceful end, one for every design: the acceptor (if any) ends first; every loop stops
     * watching its listener; the listeners close (new clients are refused by the kernel, any
     * still in an accept queue are reset); every loop answers what it read, sends FIN and drains
     * for at most {@code drain}. Bounded: a loop still busy a second after that is closed at once.
     */
    @Override
    public void shutdownGracefully(Duration drain) {
        List<Loop> l = loops;
        Loop f = front;
        if (l == null) return;
        long deadline = System.nanoTime() + drain.toNanos() + GRACE_NANOS;
        try {
            if (f != null) {
                f.stopGracefully(0);
                f.awaitEnd(deadline);                     // it holds no connections: ends at once
            }
            for (Loop loop : l) loop.stopGracefully(drain.toNanos());
            boolean stopped = true;
            for (Loop loop : l) stopped &= loop.awaitStoppedAccepting(deadline);
            // A loop that has not let go of its listener may still accept on it: close() decides. So
            // does a close() already under way (a second signal): its "stopped" may be a thread it gave up on.
            if (stopped) closeListenersUnlessEnding();
            for (Loop loop : l) loop.awaitEnd(deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    @Override
    public void close() {
        end(true);
    }

    /** Ends every loop (the acceptor first), then releases their fds and the listeners; after a failed start, quietly. */
    private void end(boolean report) {
        List<Loop> all;
        synchronized (this) {
            if (loops == null) {
                if (!ending) closeListeners();   // a failed start; else another end() decides, e.g. leaves them to a thread
                return;
            }
            all = all();
            loops = null;
            front = null;
            ending = true;
        }
        boolean allEnded = true;
        for (Loop l : all) allEnded &= l.close();
        boolean quiet = loopEnded();
        for (Loop l : all) l.releaseFds(quiet);
        if (allEnded) closeListeners();
        if (report) logClosed(stats.snapshot());
    }

    /** The line the server leaves in the log when it closes, on its own day's logger ({@code c10k.day05} for day 5's). */
    protected void logClosed(Stats.Snapshot s) {
        System.getLogger(getClass().getPackageName()).log(System.Logger.Level.INFO, this + ": " + s.wakeups() + " epoll_wait wake-ups, " + s.refused()
                + " clients refused for lack of fds, " + s.timeouts() + " timeouts");
    }

    private synchronized void closeListenersUnlessEnding() { if (!ending) closeListeners(); }

    /** Closes every listener still open; any thread, more than once. */
    protected final synchronized void closeListeners() {
        for (int i = 0; i < listeners.length; i++) {
            if (listeners[i] >= 0) Sockets.close(listeners[i]);
            listeners[i] = -1;
        }
    }

    /** Test hook: runs on each loop's thread before every epoll_wait. */
    public void beforeEachWait(Runnable hook) {
        for (Loop l : all()) l.beforeEachWait(hook);
    }

    /** Wakes every loop, e.g. after a test moved its clock. */
    public void wakeup() {
        for (Loop l : all()) l.wakeup();
    }

    /** A loop that cannot go on ends the process (status 1, its reason logged); not on its thread: exit waits for hooks. */
    public static void exitOnFatal(Throwable why) {
        Thread.ofPlatform().start(() -> System.exit(1));
    }

    @Override
    public Stats stats() { return stats; }

    @Override
    public int connectionCount() { return sum(Loop::connectionCount); }

    @Override
    public int readPausedCount() { return sum(Loop::readPausedCount); }

    private int sum(ToIntFunction<Loop> figure) {
        int n = 0;
        for (Loop l : loops()) n += figure.applyAsInt(l);
        return n;
    }

    @Override
    public int largestOutbox() {
        int n = 0;
        for (Loop l : loops()) n = Math.max(n, l.largestOutbox());
        return n;
    }

    /** How many times epoll_wait returned: a spinning loop shows here. */
    public long wakeups() {
        return stats.snapshot().wakeups();
    }

    /** Clients turned away with {@code ERR server full} (out of fds, or day 6's pool full). */
    public long refusedForLackOfFds() {
        return stats.snapshot().refused();
    }

    public long timeoutsFired() {
        return stats.snapshot().timeouts();
    }
}
