package c10k.day05;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.NativeConnection;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;
import c10k.day03.Timers;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Shared mode's connections, and what a thread does with one it owns. The steps are day 4's
 * {@code EventLoop} (handle, update, register, drop) in the same words; what changes is that
 * any of N threads may run them, so each starts by taking the connection
 * ({@link SharedConnection.Ownership}) and the one thing they share, the timers, has a lock.
 */
final class SharedConnections {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");
    static final int READ_SIZE = 64 * 1024;
    static final int READS_PER_TURN = 16;
    static final int ONESHOT = Epoll.EPOLLET | Epoll.EPOLLONESHOT;
    // News that is not an epoll event, in bits epoll never reports.
    static final int TIMED_OUT = 1 << 24, TIMED_OUT_HARD = 1 << 25, STOP = 1 << 26;
    private static final int NOT_FROM_EPOLL = TIMED_OUT | TIMED_OUT_HARD | STOP;

    /** What one thread lends to each connection it handles (day 4's LoopBuffers), and its timer hand. */
    final class Lent {
        final NativeConnection.LoopBuffers buffers;
        private final ArrayDeque<SharedConnection> due = new ArrayDeque<>();
        private final Timers.Expired onExpired = (c, hard) -> {
            ((SharedConnection) c).fired = hard ? TIMED_OUT_HARD : TIMED_OUT;   // under the timers' lock
            ((SharedConnection) c).ownership.post(hard ? TIMED_OUT_HARD : TIMED_OUT);
            due.add((SharedConnection) c);
        };

        Lent(Stats.Counters counters) {
            buffers = new NativeConnection.LoopBuffers(READ_SIZE, answerer, counters);
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
    private final AtomicInteger count = new AtomicInteger(), readPaused = new AtomicInteger();
    private volatile int largestOutbox;
    private volatile boolean stopping;
    /** Test hook: runs on the owner after it acted on a connection, before its clock is restarted. */
    volatile Consumer<SharedConnection> beforeRetime = c -> { };

    /** Day 4's engine frames; each line is answered by the handler, on the thread that read it. */
    private final NativeConnection.Answerer answerer = this::answer;

    SharedConnections(Epoll epoll, Timeouts timeouts, LongSupplier clock, Handler handler) {
        this.epoll = epoll;
        this.clock = clock;
        this.handler = handler;
        this.timers = new Timers(timeouts);
    }

    private void answer(NativeConnection c, java.nio.ByteBuffer buf, int start, int end, c10k.day03.Replies out) {
        Handler.Session session = ((SharedConnection) c).session;
        try {
            handler.handle(session, buf.array(), start, end, out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();            // close(): we are going
            c.stopReading();
            return;
        } catch (Exception | Error e) {
            // One request's failure is that request's: its answer says so, the connection goes on.
            LOG.log(Level.DEBUG, "handler failed", e);
            out.put(Handlers.ERR_HANDLER_FAILED);
        }
        if (session.closeAfterReply) c.stopReading();      // the handler's last word: the rest is not read
    }

    /** An event for {@code id}: act on it if the connection can be ours, else its owner will. */
    void event(long id, int events, Lent t) {
        int fd = (int) id;
        AtomicReferenceArray<SharedConnection> s = table;
        SharedConnection c = fd < s.length() ? s.get(fd) : null;
        if (c != null && c.id == id) serve(c, events, t);   // else closed since: the number may be another's
    }

    private void serve(SharedConnection c, int news, Lent t) {
        carryOn(c, c.ownership.take(news), t);
    }

    private void carryOn(SharedConnection c, int news, Lent t) {
        while (news != 0 && handle(c, news, t)) news = c.ownership.letGo();
    }

    /**
     * For a thread busy with something else (accepting, the clocks, the shutdown's sweep): it
     * acts on the news that is not an event, but an event posted meanwhile goes back to epoll
     * (the re-arm at the end of {@code update} reports it again, to a thread that is free). A
     * handler that blocks must not run here: on the accepting thread it would stop accepting.
     */
    private void carryOnAside(SharedConnection c, int news, Lent t) {
        while (news != 0 && handle(c, news & NOT_FROM_EPOLL, t)) news = c.ownership.letGo();
    }

    /** The owner acts on the news: day 4's handle, word for word where it can be. False once closed. */
    private boolean handle(SharedConnection c, int news, Lent t) {
        try {
            if ((news & (TIMED_OUT | TIMED_OUT_HARD)) != 0 && timeoutStands(c)) {
                t.buffers.counters.timedOut();
                if ((news & TIMED_OUT_HARD) != 0) c.markBroken();   // send or drain: the peer is not reading
                else c.stopReading();                                // idle: close gently (FIN, drain)
            }
            if ((news & Epoll.EPOLLERR) != 0) {
                c.markBroken();                             // reset: nothing can be delivered any more
            } else {
                // Both directions, independently: an "else" here would lose the write edge for good.
                boolean drained = false;
                if ((news & (Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) c.hangUpReported();   // read on to the FIN
                if ((news & Epoll.EPOLLOUT) != 0) {
                    c.flush(t.buffers.counters);
                    drained = !c.hasPendingOutput();
                }
                if (drained || (news & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) {
                    c.readAndAnswer(t.buffers, READS_PER_TURN);   // budget spent: re-arming reports the rest
                }
                if ((news & Epoll.EPOLLHUP) != 0 && !c.wantsRead()) c.markBroken();
            }
            if (stopping) c.stopReading();                  // answer what was read, then FIN and drain
            return update(c, t);
        } catch (RuntimeException e) {
            failed(c, e, t);
            return false;
        }
    }

    /**
     * The owner, on a timeout news: whether it stands. Void if what happened since it fired
     * restarts that clock (a line came in as it ran out); asked here too, since an update that
     * took no lock (no clock ran) has not looked.
     */
    private boolean timeoutStands(SharedConnection c) {
        synchronized (timers) {
            if (c.fired == 0) return false;
            boolean stands = !timers.voidsTimeout(c, c.fired == TIMED_OUT_HARD);
            c.fired = 0;                          // dealt with: the next update restarts whichever clock runs
            return stands;
        }
    }

    /** After anything happened: close if done, else timers and interest, and re-arm (ONESHOT). */
    private boolean update(SharedConnection c, Lent t) {
        if (c.settle()) {
            drop(c, t);
            return false;
        }
        boolean paused = c.isReadPaused();
        if (paused != c.countedAsPaused) {
            c.countedAsPaused = paused;
            readPaused.addAndGet(paused ? 1 : -1);
            t.buffers.counters.paused(paused ? 1 : -1);
        }
        c.takeResumed();          // no owed turn: re-arming with EPOLLIN reports bytes already waiting
        if (t.buffers.largestOutbox > largestOutbox) largestOutbox = t.buffers.largestOutbox;
        beforeRetime.accept(c);
        if (c.fired != 0 || timers.mayRetime(c)) {   // else no clock runs or would: no lock to take
            synchronized (timers) {
                // A clock that ran out while we held the connection restarts only for what restarts
                // it anyway (a line, not a dripped byte); else the timeout posted to us stands.
                if (c.fired != 0 && timers.voidsTimeout(c, c.fired == TIMED_OUT_HARD)) c.fired = 0;
                if (c.fired == 0) timers.retime(c, clock.getAsLong());   // the clock read under the lock keeps each list in order
            }
        }
        // While paused, EPOLLIN stays out of the mask: MOD would report the unread data at
        // once, and we would spin re-arming a connection we refuse to read.
        int want = (c.wantsRead() ? Epoll.EPOLLIN | Epoll.EPOLLRDHUP : 0) | (c.wantsWrite() ? Epoll.EPOLLOUT : 0) | ONESHOT;
        try {
            epoll.modify(c.fd, want, c.id);   // re-armed: another thread may hear of it now, and posts to us
            c.interest = want;
            return true;
        } catch (SyscallException e) {
            failed(c, e, t);
            return false;
        }
    }

    /** One connection's failure ends that connection only. */
    private void failed(SharedConnection c, Exception e, Lent t) {
        LOG.log(Level.WARNING, "day05 shared: fd " + c.fd + ": " + e.getMessage() + "; closing that connection");
        c.markBroken();
        drop(c, t);
    }

    /** By the owner, who never lets go: news posted to a closed connection finds it owned for good. */
    private void drop(SharedConnection c, Lent t) {
        if (c.isClosed()) return;                 // a failure while closing: the fd number is not ours twice
        if (c.countedAsPaused) {
            readPaused.decrementAndGet();
            t.buffers.counters.paused(-1);
        }
        // Deregister before close: the registration belongs to the open file description.
        if (c.interest != -1) {
            try {
                epoll.delete(c.fd);
            } catch (SyscallException e) {
                LOG.log(Level.DEBUG, () -> "day05 shared: fd " + c.fd + ": " + e.getMessage());
            }
        }
        synchronized (timers) {
            c.timer.cancel();
        }
        remove(c);                                // before close: then the number may be the next client's
        c.close();
        t.buffers.counters.closed();
        count.decrementAndGet();
    }

    /** A new client, from the thread that accepted it. */
    void register(int fd, Lent t) {
        SharedConnection c = new SharedConnection(fd, nextId.incrementAndGet() << 32 | fd);   // born owned
        c.interest = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | ONESHOT;
        // In the table before ADD: the first event may reach another thread before epoll_ctl returns here.
        put(c);
        count.incrementAndGet();
        synchronized (timers) {
            timers.started(c, clock.getAsLong());
        }
        try {
            epoll.add(fd, c.interest, c.id);
        } catch (SyscallException e) {
            c.interest = -1;                     // not registered: nothing to delete
            failed(c, e, t);                     // that client only; accepting goes on
            return;
        }
        if (stopping) c.ownership.post(STOP);    // the shutdown's sweep may have passed it already
        carryOnAside(c, c.ownership.letGo(), t); // we hold the listener: its first line is for another thread
    }

    /** Closes what is due; a connection another thread owns gets the news instead, and its owner closes it. */
    void expire(Lent t) {
        synchronized (timers) {
            timers.expire(clock.getAsLong(), t.onExpired);   // posts the news; acted on outside the lock
        }
        SharedConnection c;
        while ((c = t.due.poll()) != null) carryOnAside(c, c.ownership.take(0), t);
    }

    long nanosUntilNext(long now) {
        synchronized (timers) {
            return timers.nanosUntilNext(now);
        }
    }

    /** The graceful shutdown: every connection answers what it read, then FIN and drain. */
    void stopAll(Lent t) {
        stopping = true;
        AtomicReferenceArray<SharedConnection> s = table;
        for (int i = 0; i < s.length(); i++) {
            SharedConnection c = s.get(i);
            if (c != null) carryOnAside(c, c.ownership.take(STOP), t);
        }
    }

    void stopping() {
        stopping = true;
    }

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

    private synchronized void remove(SharedConnection c) {
        table.compareAndSet(c.fd, c, null);
    }

    int count() {
        return count.get();
    }

    int readPaused() {
        return readPaused.get();
    }

    int largestOutbox() {
        return largestOutbox;
    }
}
