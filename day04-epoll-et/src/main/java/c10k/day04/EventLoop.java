package c10k.day04;

import c10k.day01.harness.Timeouts;
import c10k.day03.sys.EventFd;
import c10k.day03.NativeConnection;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day03.Timers;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;

/**
 * The book's event loop: one thread, one epoll instance, many {@link NativeConnection}s. Day 4
 * teaches it; days 5 and 6 plug their one new idea into its {@link LoopExtension} and leave the rest
 * here, where it is written once: accepting (through {@link Acceptor}), the owed list, timers,
 * the graceful shutdown, and each connection's {@link ConnectionStep} (turns, interest, drop).
 *
 * <pre>
 *   loop:  timeout = 0 if anyone is owed a turn, else the nearest deadline (or forever)
 *          n = epoll_wait(timeout)            EINTR counts as 0 events
 *          for each event: wake-up │ listener: accept until EAGAIN (budget) │ connection: step
 *          owed turns              connections (and the listener) that spent their budget
 *          layer.afterEvents()     day 5: answers back from the workers
 *          timers                  idle, send, drain: close what is due
 * </pre>
 *
 * <p>Failure policy: whatever goes wrong with one connection (a reset, a failed
 * {@code epoll_ctl}, even a bug in a layer) ends that connection only. Only a failure of the
 * loop's own machinery (epoll_wait, the eventfd, a broken listener) ends the loop; it then
 * closes every connection and reports to {@link #onFatal}: by default the process exits with
 * status 1 saying why, rather than go on serving nobody.
 */
public final class EventLoop extends LoopThread {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day04");
    private static final long WAKE = -1;

    public final Tuning tuning;
    public final NativeConnection.LoopBuffers buffers;
    private final int listenFd;
    private final LoopExtension layer;
    private final LongSupplier clock;
    private final Timers timers;
    private final Acceptor.NewClient onNewClient = this::register;   // made once, not per accept batch
    // Made here, not per wake-up: linking a method reference loads its interface's class file,
    // and on a directory class path, out of fds at the first wake-up, that open fails and kills the loop.
    private final Timers.Expired onTimeout = this::timedOut;
    private Epoll epoll;
    private Owner step;
    private Listening listening;

    // The loop thread's own.
    private NativeConnection[] byFd = new NativeConnection[1024];
    private final ArrayDeque<NativeConnection> owed = new ArrayDeque<>();
    private boolean stopBegun;
    private int listenerFlags;
    private final ConcurrentLinkedQueue<Integer> adopted = new ConcurrentLinkedQueue<>();
    private long now, hardStop;

    // Read from other threads.
    private volatile int connectionCount;
    private volatile long wakeups;

    public EventLoop(String name, int listenFd, Tuning tuning, LoopExtension layer, NativeConnection.LoopBuffers buffers,
                     Timeouts timeouts, LongSupplier clock) {
        super(name);
        this.listenFd = listenFd;
        this.tuning = tuning;
        this.layer = layer;
        this.buffers = buffers;
        this.clock = clock;
        this.timers = new Timers(timeouts);
    }

    /** Makes the epoll instance and starts the loop thread; on failure releases what it made. */
    public void start() throws SyscallException {
        try {
            epoll = new Epoll();
            wake = new EventFd();
            epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
            if (listenFd >= 0) {
                listening = new Listening(name, listenFd, tuning, listenerFlags);
                listening.register(epoll);
            }
        } catch (SyscallException e) {
            releaseFds(true);
            throw e;
        }
        step = new Owner();
        now = clock.getAsLong();
        startThread(this::run);
    }

    /**
     * Extra flags for the listener's registration, before {@link #start}: day 5's loops use
     * {@code EPOLLEXCLUSIVE} when several loops watch one listener.
     */
    public void listenerFlags(int flags) { listenerFlags = flags; }

    /**
     * Any thread: hands the loop an fd accepted elsewhere (day 5's acceptor thread); the loop
     * registers it on its next pass, as if it had accepted it itself.
     */
    public void adopt(int fd) {
        adopted.add(fd);
        wakeup();
    }

    private void run() {
        Throwable fatal = null;
        try (Epoll.Events events = new Epoll.Events(256)) {
            while (!closed) {
                if (stopping && !stopBegun) beginStop();
                if (stopping && (connectionCount == 0 || now - hardStop >= 0)) break;
                beforeWait.run();
                int n = events.waitFor(epoll, timeoutMillis());
                wakeups++;
                buffers.counters.wakeup();
                now = clock.getAsLong();
                for (int i = 0; i < n; i++) {
                    long data = events.data(i);
                    if (data == WAKE) wake.drain();
                    else if (data == Listening.DATA) acceptBatch();
                    else handle(byFd[(int) data], events.events(i));
                }
                events.growIfFull(n);
                registerAdopted();
                serveOwed();
                layer.afterEvents(this);
                expireTimers();
                if (listening != null) listening.resumeIfDue(epoll);
            }
        } catch (SyscallException | RuntimeException | Error e) {
            fatal = e;
            try {
                LOG.log(Level.ERROR, name + ": " + e.getMessage() + ": the loop cannot go on; closing every connection", e);
            } catch (Throwable cannotEvenLog) {
                // out of memory or fds: the clean-up below matters more than the message
            }
        } finally {
            stoppedAccepting.countDown();
            Integer orphan;
            while ((orphan = adopted.poll()) != null) Sockets.close(orphan);
            for (NativeConnection c : byFd) if (c != null) layer.release(this, c);
            Arrays.fill(byFd, null);
            connectionCount = 0;
        }
        if (fatal != null) reportFatal(fatal);
    }

    /** epoll_wait's timeout: 0 while anyone is owed a turn, else until the nearest deadline. */
    private int timeoutMillis() {
        if (!owed.isEmpty() || (listening != null && listening.owed()) || layer.beforeWait(this)) return 0;
        return ConnectionStep.waitMillis(timers.nanosUntilNext(now), stopping ? hardStop - now : Long.MAX_VALUE,
                listening == null ? -1 : listening.pauseTimeoutMillis());
    }

    private void handle(NativeConnection c, int events) {
        if (c == null) return;                              // closed earlier in this same batch
        try {
            step.turn(c, events);
            step.update(c);
        } catch (RuntimeException e) {
            step.failed(c, e);
        }
    }

    private void serveOwed() throws SyscallException {
        for (int k = owed.size(); k > 0; k--) {
            NativeConnection c = owed.poll();
            if (byFd[c.fd] != c) continue;                  // closed since
            try {
                step.readTurn(c);
                step.update(c);
            } catch (RuntimeException e) {
                step.failed(c, e);
            }
        }
        if (listening != null && listening.owed()) acceptBatch();
    }

    /** Loop thread: after anything happened to a connection, close it if done, else make timers and interest match. */
    public void update(NativeConnection c) {
        checkLoopThread();
        if (byFd[c.fd] == c) step.update(c);
    }

    private void expireTimers() { timers.expire(now, onTimeout); }

    private void timedOut(NativeConnection c, boolean hard) {
        LOG.log(Level.DEBUG, () -> name + ": fd " + c.fd + " timed out");
        step.timedOut(c, hard);
        update(c);
    }

    private void acceptBatch() throws SyscallException { listening.accept(epoll, onNewClient, buffers.counters); }

    private void registerAdopted() {
        Integer fd;
        while ((fd = adopted.poll()) != null) {
            if (stopBegun) Sockets.close(fd);   // too late: shutting down
            else register(fd);
        }
    }

    private void register(int fd) {
        NativeConnection c = layer.accepted(this, fd);
        if (c == null) return;
        if (c.fd >= byFd.length) byFd = Arrays.copyOf(byFd, Math.max(c.fd + 1, byFd.length * 2));
        byFd[c.fd] = c;
        connectionCount++;
        if (step.register(c, c.fd)) timers.started(c, now);
    }

    /** The step as the one owner takes it: the loop's table, owed list and clock, the layer's say, no needless epoll_ctl. */
    private final class Owner extends ConnectionStep {
        Owner() {
            super(name, LOG, EventLoop.this.epoll, EventLoop.this.tuning, 0, EventLoop.this.buffers);
        }

        @Override
        protected boolean read(NativeConnection c) { return layer.readable(EventLoop.this, c); }

        @Override
        protected void owe(NativeConnection c) { owed.add(c); }

        @Override
        protected void retime(NativeConnection c) { timers.retime(c, now); }

        @Override
        protected void watch(NativeConnection c, int want) throws SyscallException {
            if (want != c.interest) epoll.modify(c.fd, want, c.fd);
        }

        @Override
        protected boolean forget(NativeConnection c) {
            if (byFd[c.fd] != c) return false;
            byFd[c.fd] = null;
            connectionCount--;
            return true;
        }

        @Override
        protected void release(NativeConnection c) { layer.release(EventLoop.this, c); }
    }

    /** Shutdown, step one (on the loop thread): no more accepting, and every connection heads for a gentle close. */
    private void beginStop() throws SyscallException {
        stopBegun = true;
        if (listening != null) listening.stop(epoll);
        stoppedAccepting.countDown();
        hardStop = now + stopDrainNanos;
        for (NativeConnection c : byFd) {
            if (c == null) continue;
            c.stopReading();          // complete lines already read are answered; the partial tail is dropped
            update(c);
        }
    }

    /**
     * After {@link #close}: closes epoll and the spare fd, and the eventfd unless a thread may
     * still signal it (a write to a closed eventfd's number could land in whatever file took the
     * number next: Netty #9362).
     */
    public void releaseFds(boolean closeWake) {
        EventFd w = wake;
        wake = null;
        if (listening != null) listening.close();
        if (epoll != null) epoll.close();
        if (w != null && closeWake) w.close();
        listening = null;
        epoll = null;
    }

    /** Loop thread: a turn for {@code c} on this pass, as if an edge had come. */
    public void owe(NativeConnection c) {
        checkLoopThread();
        owed.add(c);
    }

    /** Loop thread: the loop's idea of now, read once per pass from the clock it was given. */
    public long now() {
        checkLoopThread();
        return now;
    }

    public int connectionCount() { return connectionCount; }

    public int readPausedCount() { return step == null ? 0 : step.readPausedCount(); }

    public int largestOutbox() { return step == null ? 0 : step.largestOutbox(); }

    public long wakeups() { return wakeups; }
}
