package c10k.day05;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.EventFd;
import c10k.day03.sys.SyscallException;
import c10k.day04.Acceptor;
import c10k.day04.ConnectionStep;
import c10k.day04.Epoll;
import c10k.day04.EpollServer;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Day 5, {@code --mode shared}: N threads, one epoll fd, every thread calls {@code epoll_wait}
 * on it and handles what it gets, handler included (EServer's design). The connection step,
 * the accepting, the clocks and the server shell are day 4's ({@link ConnectionStep},
 * {@link Acceptor}, {@code Timers}, {@link EpollServer}, to which the N threads are one
 * {@link EpollServer.Loop}); what this class adds, with {@link SharedConnections}, is how N
 * threads share them.
 *
 * <p>No queue and no hand-off: the thread that reads a line runs the handler and writes the
 * answer, so N requests on N connections are served in parallel. The price is the rule the
 * reactor got for free: <b>never two threads reading, or two writing, one fd at once</b>.
 * Edge-triggered mode does not give it. "Edge" means one event per arrival of data, not one
 * event at a time: while thread A is still reading a connection, new bytes make a new edge,
 * and thread B, waiting in its own {@code epoll_wait}, gets {@code EPOLLIN} for the same fd
 * (epoll(7); EServer's notes: "not really edge-triggered" with threads). Two readers would
 * split one byte stream between two framers; two writers would interleave partial sends.
 *
 * <p>The rule is kept with {@code EPOLLONESHOT}: after reporting an event the kernel disarms
 * the fd until its owner re-arms it with {@code EPOLL_CTL_MOD} when done (one extra
 * {@code epoll_ctl} per event; the JDK's own {@code EPollPoller} does the same). The re-arm
 * also replaces day 4's owed list: MOD checks readiness on the spot and queues the fd again,
 * for whichever thread is free. Epoll is not the only source of news, though (a timer, the
 * shutdown), so an ownership flag backs it: {@link SharedConnection.Ownership}.
 *
 * <p>The listener is registered the same way: one new connection wakes one thread, which owns
 * accepting until it re-arms. Not {@code EPOLLEXCLUSIVE}: that flag (Linux 4.5, never with
 * ONESHOT) is for several epoll fds on one listener, nginx's workers. Threads waiting on one
 * epoll instance already queue exclusively ({@code ep_poll} wakes one per event); the herd on
 * a shared epoll comes from level-triggered items, handed out and put back on the ready list
 * for the next waiter, and edge-triggered stops that cascade. Out of fds (or buffers), the
 * thread does not re-arm it until the pause ends: day 4's spare-fd trick assumes nobody opens
 * an fd between its close and its accept, which N threads cannot promise.
 */
public final class SharedEpollServer extends EpollServer implements ThreadedServer {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");
    /**
     * Events taken per {@code epoll_wait} by a handler that never blocks. What one thread takes,
     * it handles alone (ONESHOT disarmed them for everyone else), so the batch is kept small;
     * a handler that may block gets 1, or one stuck request would hold up the rest of its batch
     * (the listener too), though other threads sit idle.
     */
    static final int EVENTS_PER_WAIT = 16;
    private static final long WAKE = -1;

    private final int threadCount;
    private final Handler handler;
    /** How long close() waits for each thread: a handler that ignores interrupts may never return. */
    Duration closeWait = Duration.ofSeconds(5);
    private volatile Threads loop;

    public SharedEpollServer(String host, int port, int threads, Handler handler) {
        super(host, port);
        if (threads < 1) throw new IllegalArgumentException("threads must be positive");
        this.threadCount = threads;
        this.handler = handler;
    }

    @Override
    public SharedEpollServer timeouts(Timeouts t) { super.timeouts(t); return this; }

    @Override
    public SharedEpollServer clock(LongSupplier nanoTime) { super.clock(nanoTime); return this; }

    @Override
    public SharedEpollServer onFatal(Consumer<Throwable> handler) { super.onFatal(handler); return this; }

    /** Test hook, after {@link #start}: runs on a connection's owner once it has acted, before its clock is restarted. */
    void beforeEachRetime(Consumer<SharedConnection> hook) { loop.connections.beforeRetime = hook; }

    @Override
    protected List<Threads> newLoops(int[] listenFds) {
        return List.of(loop = new Threads(listenFds[0]));
    }

    /** Threads alive now: a handler that ignores interrupts keeps one after close. */
    @Override
    public int workerThreads() {
        return loop == null ? 0 : (int) loop.threads.stream().filter(Thread::isAlive).count();
    }

    @Override
    protected void logClosed(Stats.Snapshot s) {
        LOG.log(Level.INFO, this + ": " + s.wakeups() + " epoll_wait wake-ups");
    }

    @Override
    public String toString() { return "day05 shared (" + threadCount + " threads on one epoll)"; }

    /** The N threads on one epoll fd, which the shell drives as one loop. */
    private final class Threads implements EpollServer.Loop {
        private final int listenFd;
        private Consumer<Throwable> onFatal = EpollServer::exitOnFatal;
        private volatile Runnable beforeWait = () -> { };
        private Epoll epoll;
        private EventFd wake;
        private SharedConnections connections;
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean closed, stopping, released;
        private volatile long hardStop;
        private final AtomicBoolean stopBegun = new AtomicBoolean();
        private final AtomicReference<Throwable> fatal = new AtomicReference<>();
        /** Threads still running, and whether close() gave up waiting for one: then the last to end releases. */
        private final Object ends = new Object();
        private int running;
        private boolean closeBegun, abandoned;

        Threads(int listenFd) { this.listenFd = listenFd; }

        @Override
        public void start() throws IOException {
            try {
                epoll = new Epoll();
                wake = new EventFd();
                connections = new SharedConnections(epoll, listenFd, timeouts, clock, handler, stats, threadCount);
                // Level-triggered: drained by whoever is woken to look at the clock; left undrained
                // when the server ends, so every thread wakes in turn (the herd, wanted this time).
                epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
            } catch (SyscallException | RuntimeException e) {
                releaseFds(true);
                throw e;
            }
            int batch = handler.mayBlock() ? 1 : EVENTS_PER_WAIT;
            // Platform threads: every FFM downcall (epoll_wait above all) would pin a virtual thread anyway.
            running = threadCount;
            for (int i = 0; i < threadCount; i++) {
                SharedConnections.Step step = connections.step(i);
                threads.add(Thread.ofPlatform().name("day05-shared-" + (i + 1)).start(() -> run(step, batch)));
            }
        }

        /** One thread: wait, act on what it got (if it can own it), look at the clocks. */
        private void run(SharedConnections.Step t, int batch) {
            try (Epoll.Events events = new Epoll.Events(batch)) {   // never grown: see EVENTS_PER_WAIT
                while (!closed) {
                    if (stopping && stopBegun.compareAndSet(false, true)) connections.stopAll(t);   // once, on one thread
                    if (leaving()) break;
                    beforeWait.run();
                    int n = events.waitFor(epoll, timeoutMillis());
                    t.buffers.counters.wakeup();
                    for (int i = 0; i < n && !closed; i++) {   // after close() gave up on us: touch nothing more
                        long data = events.data(i);
                        if (data == WAKE) {
                            if (!leaving()) wake.drain();
                        } else if (data == SharedConnections.LISTENER) {
                            connections.listenerTurn(Epoll.EPOLLIN, t);
                        } else {
                            connections.event(data, events.events(i), t);
                        }
                    }
                    connections.expire(t);
                    connections.acceptIfResumed(t);
                }
            } catch (SyscallException | RuntimeException | Error e) {
                died(e);
            } finally {
                wake.signal();   // undrained now: the others see it and leave too
                ended();
            }
        }

        /** A thread ends; if close() stopped waiting for it, the last one out closes what close() had to leave open. */
        private void ended() {
            synchronized (ends) {
                if (--running > 0 || !abandoned) return;
            }
            releaseAll();
            closeListeners();
        }

        private boolean leaving() {
            return closed || stopping && (connections.count() == 0 || clock.getAsLong() - hardStop >= 0);
        }

        private int timeoutMillis() {
            long now = clock.getAsLong();
            return connections.waitMillis(now, stopping ? hardStop - now : Long.MAX_VALUE);
        }

        private void died(Throwable why) {
            if (!fatal.compareAndSet(null, why)) return;
            LOG.log(Level.ERROR, SharedEpollServer.this + ": " + why.getMessage() + ": the server cannot go on; closing every connection", why);
            closed = true;
            Thread.ofPlatform().name("day05-shared-fatal").start(() -> {
                SharedEpollServer.this.close();
                onFatal.accept(why);
            });
        }

        @Override
        public void onFatal(Consumer<Throwable> handler) { onFatal = handler; }

        /** Stop accepting, then every connection answers what it read, sends FIN and drains (day 4's lingering close). */
        @Override
        public void stopGracefully(long drainNanos) {
            if (wake == null || closed) return;
            hardStop = clock.getAsLong() + drainNanos;
            connections.stopping();
            stopping = true;
            wake.signal();
        }

        /** Every thread may be in a handler that blocks: then nobody stops accepting, and the listener stays open. */
        @Override
        public boolean awaitStoppedAccepting(long deadline) throws InterruptedException {
            return connections.stoppedAccepting.await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }

        @Override
        public boolean awaitEnd(long deadline) throws InterruptedException {
            boolean all = true;
            for (Thread t : threads) {
                if (t != Thread.currentThread()) all &= t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            }
            return all;
        }

        /**
         * Abortive: raise the flag, signal the eventfd (every waiting thread wakes), interrupt
         * handlers that block, wait for the threads. Once every thread has ended nobody owns a
         * connection, so closing them races with nothing. A thread still in a handler after
         * {@link #closeWait} (one that ignores interrupts) is left behind, owning its connection:
         * its fd, the epoll fd, the eventfd and the listener stay open, since closing a number it
         * may still write to would hand its bytes to whoever gets the number next (day 6's bug),
         * and that thread releases everything when it ends. The process can exit meanwhile.
         */
        @Override
        public synchronized boolean close() {
            if (threads.isEmpty() || closeBegun) return !abandoned;
            closed = true;
            wake.signal();
            for (Thread t : threads) if (t != Thread.currentThread()) t.interrupt();
            try {
                awaitEnd(System.nanoTime() + closeWait.toNanos());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            connections.stoppedAccepting.countDown();
            synchronized (ends) {
                closeBegun = true;
                abandoned = running > 0;
            }
            if (abandoned) LOG.log(Level.WARNING, SharedEpollServer.this + ": a handler ignores interrupts; its thread is left to release the fds when it ends");
            return !abandoned;
        }

        /** After close: its connections and fds, unless a thread was left behind (then that thread does it). */
        @Override
        public void releaseFds(boolean closeWake) {
            synchronized (ends) {
                if (abandoned) return;
            }
            releaseAll();
        }

        private void releaseAll() {
            if (released) return;
            released = true;
            if (connections != null) connections.closeAll();
            if (epoll != null) epoll.close();
            if (wake != null) wake.close();
        }

        @Override
        public void wakeup() { if (!released && wake != null) wake.signal(); }

        @Override
        public void beforeEachWait(Runnable hook) { beforeWait = hook; }

        @Override
        public int connectionCount() { return connections == null ? 0 : connections.count(); }

        @Override
        public int readPausedCount() { return connections == null ? 0 : connections.readPaused(); }

        @Override
        public int largestOutbox() { return connections == null ? 0 : connections.largestOutbox(); }
    }
}
