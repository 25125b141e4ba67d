package c10k.day05;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.NativeConnection;
import c10k.day03.sys.SyscallException;
import c10k.day04.Acceptor;
import c10k.day04.ConnectionStep;
import c10k.day04.Epoll;
import c10k.day04.Tuning;
import c10k.day03.Timers;
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What the threads of shared mode take, one at a time: its connections and its listener. The
 * step itself is day 4's {@link ConnectionStep}, the one its {@code EventLoop} takes; what this
 * class adds is that any of N threads may take it: each first takes the connection (or the
 * listener: {@link SharedConnection.Ownership}), re-arms it when done ({@code EPOLLONESHOT}),
 * and the one thing they share, the timers, has a lock.
 */
final class SharedConnections {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");
    static final int READ_SIZE = 64 * 1024;
    static final int READS_PER_TURN = 16, ACCEPTS_PER_TURN = 256;
    /** Day 4's edge-triggered reading; no spare fd (see {@link SharedEpollServer}). */
    private static final Tuning TUNING = new Tuning(true, READS_PER_TURN, ACCEPTS_PER_TURN, true, false);
    static final int ONESHOT = Epoll.EPOLLET | Epoll.EPOLLONESHOT;
    // News that is not an epoll event, in bits epoll never reports.
    static final int TIMED_OUT = 1 << 24, TIMED_OUT_HARD = 1 << 25, STOP = 1 << 26;
    private static final int NOT_FROM_EPOLL = TIMED_OUT | TIMED_OUT_HARD | STOP;
    static final long LISTENER = -2;                // the listener's epoll data
    private static final int LISTENER_EVENTS = Epoll.EPOLLIN | ONESHOT;
    private static final int RESUME = 1 << 27;      // the listener's news: an accept pause is over

    /** One thread's step: day 4's, with the buffers the thread lends, its timer hand, the timer lock and the re-arm. */
    final class Step extends ConnectionStep {
        private final ArrayDeque<SharedConnection> due = new ArrayDeque<>();
        private final Timers.Expired onExpired = (c, hard) -> {
            ((SharedConnection) c).fired = hard ? TIMED_OUT_HARD : TIMED_OUT;   // under the timers' lock
            ((SharedConnection) c).ownership.post(hard ? TIMED_OUT_HARD : TIMED_OUT);
            due.add((SharedConnection) c);
        };

        private final Acceptor.NewClient onNew = fd -> SharedConnections.this.register(fd, this);

        private Step(Stats.Counters counters) {
            super("day05 shared", LOG, SharedConnections.this.epoll, TUNING, Epoll.EPOLLONESHOT,
                    new NativeConnection.LoopBuffers(READ_SIZE, answerer, counters));
        }

        /** Nothing to queue: the re-arm at the end of the update is the owed turn (MOD checks readiness). */
        @Override
        protected void owe(NativeConnection c) {
        }

        @Override
        protected void retime(NativeConnection c) {
            beforeRetime.accept((SharedConnection) c);
            ((SharedConnection) c).retime(timers, clock);
        }

        /** The re-arm, even if nothing changed: ONESHOT disarmed it. Another thread may hear of it now, and posts to us. */
        @Override
        protected void watch(NativeConnection c, int want) throws SyscallException {
            epoll.modify(c.fd, want, ((SharedConnection) c).id);
        }

        /** Before close: then the number may be the next client's. */
        @Override
        protected boolean forget(NativeConnection c) {
            return remove((SharedConnection) c);
        }

        /** By the owner, who never lets go: news posted to a closed connection finds it owned for good. */
        @Override
        protected void release(NativeConnection c) {
            synchronized (timers) {
                c.timer.cancel();
            }
            c.close();
            count.decrementAndGet();
        }
    }

    private final Epoll epoll;
    private final LongSupplier clock;
    private final Handler handler;
    /** Day 4's, not thread-safe, so one lock; held for a list operation or two, never for I/O. */
    private final Timers timers;
    /** By fd number; lock-free to read (once per event), locked to change (accept, close) or grow. */
    private volatile AtomicReferenceArray<SharedConnection> table = new AtomicReferenceArray<>(1024);
    private final AtomicLong nextId = new AtomicLong();
    private final AtomicInteger count = new AtomicInteger();
    private final int listenFd;
    private final Acceptor acceptor;
    /** The listener has an owner too: whoever accepts re-arms, and the shutdown must not race a re-arm. */
    private final SharedConnection.Ownership listener = new SharedConnection.Ownership(false);
    /** Down once no thread will accept again: the server may close the listener then. */
    final CountDownLatch stoppedAccepting = new CountDownLatch(1);
    /** One per thread, each written by its thread only. */
    private final Step[] steps;
    private volatile boolean stopping;
    /** Test hook: runs on the owner after it acted on a connection, before its clock is restarted. */
    volatile Consumer<SharedConnection> beforeRetime = c -> { };

    /** Day 4's engine frames; each line is answered by the handler, on the thread that read it. */
    private final NativeConnection.Answerer answerer = this::answer;

    SharedConnections(Epoll epoll, int listenFd, Timeouts timeouts, LongSupplier clock, Handler handler, Stats stats,
                      int threads) throws SyscallException {
        this.epoll = epoll;
        this.listenFd = listenFd;
        this.acceptor = new Acceptor("day05 shared", listenFd, ACCEPTS_PER_TURN, false);
        this.clock = clock;
        this.handler = handler;
        this.timers = new Timers(timeouts);
        epoll.add(listenFd, LISTENER_EVENTS, LISTENER);
        steps = new Step[threads];
        for (int i = 0; i < threads; i++) steps[i] = new Step(stats.newCounters());
    }

    /** The step of thread {@code i}. */
    Step step(int i) {
        return steps[i];
    }

    private void answer(NativeConnection c, java.nio.ByteBuffer buf, int start, int end, c10k.day03.Replies out) {
        try {
            // The handler's last word: the rest is not read.
            if (!Handlers.answer(handler, ((SharedConnection) c).session, buf.array(), start, end, out)) c.stopReading();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();            // close(): we are going
            c.stopReading();
        }
    }

    /** An event for {@code id}: act on it if the connection can be ours, else its owner will. */
    void event(long id, int events, Step t) {
        int fd = (int) id;
        AtomicReferenceArray<SharedConnection> s = table;
        SharedConnection c = fd < s.length() ? s.get(fd) : null;
        if (c != null && c.id == id) serve(c, events, t);   // else closed since: the number may be another's
    }

    private void serve(SharedConnection c, int news, Step t) {
        carryOn(c, c.ownership.take(news), t);
    }

    private void carryOn(SharedConnection c, int news, Step t) {
        while (news != 0 && handle(c, news, t)) news = c.ownership.letGo();
    }

    /**
     * For a thread busy with something else (accepting, the clocks, the shutdown's sweep): it
     * acts on the news that is not an event, but an event posted meanwhile goes back to epoll
     * (the re-arm at the end of {@code update} reports it again, to a thread that is free). A
     * handler that blocks must not run here: on the accepting thread it would stop accepting.
     */
    private void carryOnAside(SharedConnection c, int news, Step t) {
        while (news != 0 && handle(c, news & NOT_FROM_EPOLL, t)) news = c.ownership.letGo();
    }

    /** The owner acts on the news: its own (a timeout, the shutdown), then day 4's step. False once closed. */
    private boolean handle(SharedConnection c, int news, Step t) {
        try {
            if ((news & (TIMED_OUT | TIMED_OUT_HARD)) != 0 && c.timeoutStands(timers)) {
                t.timedOut(c, (news & TIMED_OUT_HARD) != 0);
            }
            t.turn(c, news);                                // budget spent: re-arming reports the rest
            if (stopping) c.stopReading();                  // answer what was read, then FIN and drain
            return t.update(c);
        } catch (RuntimeException e) {
            t.failed(c, e);
            return false;
        }
    }

    /** A new client, from the thread that accepted it. */
    void register(int fd, Step t) {
        SharedConnection c = new SharedConnection(fd, nextId.incrementAndGet() << 32 | fd);   // born owned
        // In the table before ADD: the first event may reach another thread before epoll_ctl returns here.
        put(c);
        count.incrementAndGet();
        synchronized (timers) {
            timers.started(c, clock.getAsLong());
        }
        if (!t.register(c, c.id)) return;        // that client only; accepting goes on
        if (stopping) c.ownership.post(STOP);    // the shutdown's sweep may have passed it already
        carryOnAside(c, c.ownership.letGo(), t); // we hold the listener: its first line is for another thread
    }

    /** Closes what is due; a connection another thread owns gets the news instead, and its owner closes it. */
    void expire(Step t) {
        synchronized (timers) {
            timers.expire(clock.getAsLong(), t.onExpired);   // posts the news; acted on outside the lock
        }
        SharedConnection c;
        while ((c = t.due.poll()) != null) carryOnAside(c, c.ownership.take(0), t);
    }

    /** A thread's turn on the listener (an event, the end of a pause, the shutdown), if it can own it. */
    void listenerTurn(int news, Step t) throws SyscallException {
        news = listener.take(news);
        while (news != 0) {
            if (stopping) {                      // ours for good: nobody re-arms it again
                epoll.delete(listenFd);
                stoppedAccepting.countDown();
                return;
            }
            // A transient error (ENOBUFS, EPROTO...) pauses, not re-armed until resumeIfDue, or skips one client.
            if (acceptor.acceptBatch(t.onNew, t.buffers.counters) != Acceptor.Outcome.PAUSED) {
                epoll.modify(listenFd, LISTENER_EVENTS, LISTENER);   // budget spent: MOD reports the rest at once
            }
            news = listener.letGo();
        }
    }

    /** After an accept pause: the first thread to see it over accepts, and so re-arms the listener. */
    void acceptIfResumed(Step t) throws SyscallException {
        if (acceptor.resumeIfDue()) listenerTurn(RESUME, t);
    }

    /** epoll_wait's timeout: the nearest deadline, the end of an accept pause or {@code stopNanos}; else forever. */
    int waitMillis(long now, long stopNanos) {
        long nanos;
        synchronized (timers) {
            nanos = timers.nanosUntilNext(now);
        }
        return ConnectionStep.waitMillis(nanos, stopNanos, acceptor.pauseTimeoutMillis());
    }

    /** The graceful shutdown, on one thread: stop accepting; every connection answers what it read, then FIN and drain. */
    void stopAll(Step t) throws SyscallException {
        stopping = true;
        listenerTurn(STOP, t);
        AtomicReferenceArray<SharedConnection> s = table;
        for (int i = 0; i < s.length(); i++) {
            SharedConnection c = s.get(i);
            if (c != null) carryOnAside(c, c.ownership.take(STOP), t);
        }
    }

    void stopping() { stopping = true; }

    /** Once every thread has ended: nobody owns anything, so this races with nothing. */
    void closeAll() {
        AtomicReferenceArray<SharedConnection> s = table;
        for (int i = 0; i < s.length(); i++) {
            SharedConnection c = s.get(i);
            if (c != null) c.close();
            s.set(i, null);
        }
        count.set(0);
    }

    private synchronized void put(SharedConnection c) {
        AtomicReferenceArray<SharedConnection> s = table;
        if (c.fd >= s.length()) {
            AtomicReferenceArray<SharedConnection> bigger = new AtomicReferenceArray<>(Math.max(c.fd + 1, s.length() * 2));
            for (int i = 0; i < s.length(); i++) bigger.set(i, s.get(i));
            table = s = bigger;
        }
        s.set(c.fd, c);
    }

    private synchronized boolean remove(SharedConnection c) {
        return table.compareAndSet(c.fd, c, null);
    }

    int count() { return count.get(); }

    /** Summed: one thread may pause a reader and another resume it. */
    int readPaused() {
        int n = 0;
        for (Step t : steps) n += t.readPausedCount();
        return n;
    }

    int largestOutbox() {
        int max = 0;
        for (Step t : steps) max = Math.max(max, t.largestOutbox());
        return max;
    }
}
