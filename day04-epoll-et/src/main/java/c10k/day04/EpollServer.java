package c10k.day04;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.EventLoopServer;
import c10k.day03.sys.Sockets;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What every epoll server of days 4 to 6 does around its {@link EventLoop}: the listening
 * socket, the life cycle (start, graceful shutdown, close), the settings every loop takes
 * (timeouts, the clock), and the figures the tests and {@code --stats} read. A subclass says
 * only which loop it runs: {@link #newLoop}.
 */
public abstract class EpollServer implements EventLoopServer, Stats.Source {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day04");

    protected final String host;
    private final int requestedPort;
    protected final Stats stats = new Stats();
    protected Timeouts timeouts = Timeouts.DEFAULTS;
    protected LongSupplier clock = System::nanoTime;
    private int port;
    private int listenFd = -1;
    private EventLoop loop;
    private Consumer<Throwable> onFatal;

    protected EpollServer(String host, int port) {
        this.host = host;
        this.requestedPort = port;
    }

    /** The loop this server runs on {@code listenFd}, not started yet. */
    protected abstract EventLoop newLoop(int listenFd);

    /**
     * Called once the loop has ended and before its fds are released: day 5 stops its pool here.
     * Returns false if some thread may still signal the loop's eventfd, which is then left open.
     */
    protected boolean loopEnded() {
        return true;
    }

    /** {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}; before {@link #start}. */
    public EpollServer timeouts(Timeouts t) {
        this.timeouts = t;
        return this;
    }

    /** Tests: a clock they move by hand ({@code System::nanoTime} by default); before {@link #start}. */
    public EpollServer clock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return this;
    }

    /** Tests: what to do instead of exiting the process when the loop cannot go on; before {@link #start}. */
    public EpollServer onFatal(Consumer<Throwable> handler) {
        this.onFatal = handler;
        return this;
    }

    @Override
    public void start() throws IOException {
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            loop = newLoop(listenFd);
            if (onFatal != null) loop.onFatal(onFatal);
            loop.start();
        } catch (IOException | RuntimeException e) {
            // newLoop may have started threads of its own (day 5's pool): they stop here, or
            // they would wait for work for ever. The loop's fds were released by its start().
            if (loop != null) loopEnded();
            Sockets.close(listenFd);
            listenFd = -1;
            loop = null;
            throw e;
        }
    }

    @Override
    public int port() {
        return port;
    }

    protected EventLoop loop() {
        return loop;
    }

    /**
     * The graceful end: the loop stops watching the listener, then the listener is closed (new
     * clients are refused by the kernel; any still in its accept queue are reset), then every
     * connection answers what it read, sends FIN and drains, for at most {@code drain}.
     */
    @Override
    public void shutdownGracefully(Duration drain) {
        EventLoop l = loop;
        if (l == null) return;
        l.stopGracefully(drain.toNanos());
        try {
            l.awaitStoppedAccepting();
            closeListener();
            l.awaitEnd();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    @Override
    public void close() {
        EventLoop l = loop;
        if (l == null) return;
        loop = null;
        l.close();
        l.releaseFds(loopEnded());
        closeListener();
        Stats.Snapshot s = stats.snapshot();
        LOG.log(System.Logger.Level.INFO, this + ": " + s.wakeups() + " epoll_wait wake-ups, " + s.refused()
                + " clients refused for lack of fds, " + s.timeouts() + " timeouts");
    }

    private synchronized void closeListener() {
        if (listenFd >= 0) Sockets.close(listenFd);
        listenFd = -1;
    }

    /** Test hook: runs on the loop thread before every epoll_wait. */
    public void beforeEachWait(Runnable hook) {
        loop.beforeEachWait(hook);
    }

    /** Wakes the loop, e.g. after a test moved its clock. */
    public void wakeup() {
        EventLoop l = loop;
        if (l != null) l.wakeup();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    @Override
    public int connectionCount() {
        EventLoop l = loop;
        return l == null ? 0 : l.connectionCount();
    }

    @Override
    public int readPausedCount() {
        EventLoop l = loop;
        return l == null ? 0 : l.readPausedCount();
    }

    @Override
    public int largestOutbox() {
        EventLoop l = loop;
        return l == null ? 0 : l.largestOutbox();
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
