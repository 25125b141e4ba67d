package c10k.day05;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.EventLoopServer;
import c10k.day03.NativeConnection;
import c10k.day03.sys.Sockets;
import c10k.day04.EventLoop;
import c10k.day04.Layer;
import c10k.day04.Tuning;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Day 5, {@code --mode loops}: N threads, each running its own day 4 {@link EventLoop} with its
 * own epoll instance, and a connection lives on one of them for good. Nothing is shared on the
 * connection path: no queue, no lock, no cache line that two threads write. It is Doug Lea's
 * "multiple reactors", Netty's event-loop group, and, one process per loop, nginx's workers.
 *
 * <p>The one new idea is how connections are spread over the loops; there are two, and
 * {@link Spread} picks one:
 * <pre>
 *   ACCEPTOR                                   REUSEPORT
 *   listener ─► acceptor loop ─┬─► adopt ─► loop 1     listener 1 ─► loop 1  ┐ one port; the kernel
 *             (round robin)    ├─► adopt ─► loop 2     listener 2 ─► loop 2  │ picks a listener by a
 *                              └─► adopt ─► loop N     listener N ─► loop N  ┘ hash of the 4-tuple
 * </pre>
 *
 * <p><b>Acceptor, round robin.</b> One thread accepts (a day 4 loop whose only fd is the
 * listener, so it keeps {@code Acceptor}'s whole error policy) and hands each new fd to the next
 * loop through {@link EventLoop#adopt}: a queue and an eventfd write. Round robin and not
 * "fewest connections": the acceptor cannot know the loops' true counts (the fds it handed over
 * a moment ago are still in their queues, so a burst would all go to the same "emptiest"
 * loop), and a count is not a load anyway: one busy client outweighs a thousand idle ones.
 * Round robin reads no other thread's state and makes arrivals exactly even. Netty's chooser
 * does the same.
 *
 * <p><b>SO_REUSEPORT.</b> Each loop has a listener of its own, all bound to one port with
 * {@code SO_REUSEPORT} (socket(7)); the kernel chooses the listener for each new connection by
 * a hash of its addresses and ports, so no thread of ours hands anything over, and the accept
 * queue is per loop too. The price: a connection is queued on one listener before any thread
 * sees it, and if that listener closes, whatever is still queued on it is reset (a test shows
 * it); and a loop that is stuck still gets its share of new clients, which wait.
 *
 * <p>The weakness of the design, in either mode: a connection never moves. Two busy clients that
 * land on one loop share one core while another loop idles; a pool (the reactor) or a shared
 * epoll fd would spread their work. {@code LoopsHotConnectionTest} shows it.
 *
 * <p>The life cycle is day 4's {@code EpollServer}'s, for N loops: stop accepting everywhere,
 * close the listeners, let every loop drain its own connections, release the fds.
 */
public final class LoopsServer implements EventLoopServer, Stats.Source {

    /** How new connections reach the loops. */
    public enum Spread { ACCEPTOR, REUSEPORT }

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");
    private static final int BACKLOG = 4096;

    private final String host;
    private final int requestedPort;
    private final int threads;
    private final Spread spread;
    private final Stats stats = new Stats();
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private LongSupplier clock = System::nanoTime;
    private Consumer<Throwable> onFatal;
    private int port;
    private int[] listeners = new int[0];
    private final List<EventLoop> loops = new ArrayList<>();
    private EventLoop acceptor;
    /** Connections each loop has taken since start: the spread, as the tests and the log see it. */
    private AtomicLongArray served = new AtomicLongArray(0);

    public LoopsServer(String host, int port, int threads, Spread spread) {
        if (threads < 1) throw new IllegalArgumentException("threads must be positive");
        this.host = host;
        this.requestedPort = port;
        this.threads = threads;
        this.spread = spread;
    }

    /** {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}; before {@link #start}. */
    public LoopsServer timeouts(Timeouts t) {
        this.timeouts = t;
        return this;
    }

    /** Tests: a clock they move by hand; before {@link #start}. */
    public LoopsServer clock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return this;
    }

    /** Tests: what to do instead of exiting the process when a loop cannot go on; before {@link #start}. */
    public LoopsServer onFatal(Consumer<Throwable> handler) {
        this.onFatal = handler;
        return this;
    }

    @Override
    public synchronized void start() throws IOException {
        served = new AtomicLongArray(threads);
        try {
            if (spread == Spread.REUSEPORT) {
                listeners = new int[threads];
                Arrays.fill(listeners, -1);
                for (int i = 0; i < threads; i++) {
                    // The first listener takes the port (0: the kernel picks); the others join it.
                    listeners[i] = Sockets.listen(host, i == 0 ? requestedPort : port, BACKLOG, true);
                    if (i == 0) port = Sockets.localPort(listeners[0]);
                }
                for (int i = 0; i < threads; i++) loops.add(newLoop(i, listeners[i]));
            } else {
                listeners = new int[] {Sockets.listen(host, requestedPort, BACKLOG)};
                port = Sockets.localPort(listeners[0]);
                for (int i = 0; i < threads; i++) loops.add(newLoop(i, -1));
                acceptor = new EventLoop("day05-loops-acceptor", listeners[0], Tuning.EDGE, new HandOff(List.copyOf(loops)),
                        new NativeConnection.LoopBuffers(1024, NativeConnection.ECHO, stats.newCounters()), timeouts, clock);
                if (onFatal != null) acceptor.onFatal(onFatal);
            }
            for (EventLoop l : loops) l.start();
            if (acceptor != null) acceptor.start();   // last: every loop is ready to adopt
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Loop {@code i}: day 4's loop unchanged, plus a count of the connections it took. Several
     * threads open fds in this process (every loop accepts, or adopts), so out of fds a loop
     * pauses accepting rather than play the spare-fd trick, which assumes it is alone.
     */
    private EventLoop newLoop(int i, int listenFd) {
        NativeConnection.LoopBuffers buffers = new NativeConnection.LoopBuffers(64 * 1024, NativeConnection.ECHO, stats.newCounters());
        EventLoop loop = new EventLoop("day05-loop-" + i, listenFd, Tuning.EDGE.withoutSpareFd(), new Layer() {
            @Override
            public NativeConnection accepted(EventLoop l, int fd) {
                served.lazySet(i, served.get(i) + 1);      // only this loop's thread writes slot i
                return new NativeConnection(fd);
            }
        }, buffers, timeouts, clock);
        if (onFatal != null) loop.onFatal(onFatal);
        return loop;
    }

    /** The acceptor loop's layer: a new fd is handed to the next loop, and so never becomes a connection here. */
    private static final class HandOff implements Layer {
        /** Its own copy: the server's list is cleared by close() while this thread may still be accepting. */
        private final List<EventLoop> targets;
        private int next;   // the acceptor thread's own

        HandOff(List<EventLoop> targets) {
            this.targets = targets;
        }

        @Override
        public NativeConnection accepted(EventLoop l, int fd) {
            EventLoop target = targets.get(next);
            next = (next + 1) % targets.size();
            target.adopt(fd);                             // the fd is the target's now
            return null;
        }
    }

    @Override
    public int port() {
        return port;
    }

    /**
     * The graceful end, for N loops: the acceptor (if any) stops first, so no fd is handed to a
     * loop that is already closing; then every loop stops watching its listener, the listeners
     * close (clients still queued on them are reset), and every loop answers what it read, sends
     * FIN and drains, for at most {@code drain}.
     */
    @Override
    public void shutdownGracefully(Duration drain) {
        List<EventLoop> all;
        EventLoop first;
        synchronized (this) {
            all = List.copyOf(loops);
            first = acceptor;
        }
        if (all.isEmpty()) return;
        try {
            if (first != null) {
                first.stopGracefully(0);
                first.awaitStoppedAccepting();
                first.awaitEnd();                         // it holds no connections: ends at once
            }
            for (EventLoop l : all) l.stopGracefully(drain.toNanos());
            for (EventLoop l : all) l.awaitStoppedAccepting();
            closeListeners();
            for (EventLoop l : all) l.awaitEnd();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    @Override
    public void close() {
        List<EventLoop> all = new ArrayList<>();
        synchronized (this) {
            if (acceptor != null) all.add(acceptor);
            all.addAll(loops);
            acceptor = null;
            loops.clear();
        }
        // The acceptor first: after it, nobody adopts into a loop, so the loops' eventfds may go.
        for (EventLoop l : all) {
            l.close();
            l.releaseFds(true);
        }
        closeListeners();
        if (!all.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, this + ": connections per loop " + Arrays.toString(spread()) + ", "
                    + stats.snapshot().wakeups() + " epoll_wait wake-ups");
        }
    }

    private synchronized void closeListeners() {
        for (int i = 0; i < listeners.length; i++) {
            if (listeners[i] >= 0) Sockets.close(listeners[i]);
            listeners[i] = -1;
        }
    }

    /** Connections each loop has taken since start, loop 0 first. */
    public long[] spread() {
        AtomicLongArray s = served;
        long[] out = new long[s.length()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i);
        return out;
    }

    /** The loops, loop 0 first (tests read their wake-up counts and connection counts). */
    public synchronized List<EventLoop> loops() {
        return List.copyOf(loops);
    }

    public int threads() {
        return threads;
    }

    @Override
    public Stats stats() {
        return stats;
    }

    @Override
    public int connectionCount() {
        int n = 0;
        for (EventLoop l : loops()) n += l.connectionCount();
        return n;
    }

    @Override
    public int readPausedCount() {
        int n = 0;
        for (EventLoop l : loops()) n += l.readPausedCount();
        return n;
    }

    @Override
    public int largestOutbox() {
        int n = 0;
        for (EventLoop l : loops()) n = Math.max(n, l.largestOutbox());
        return n;
    }

    @Override
    public String toString() {
        return "day05 loops (" + threads + (threads == 1 ? " loop, " : " loops, ") + spread.name().toLowerCase() + ")";
    }
}
