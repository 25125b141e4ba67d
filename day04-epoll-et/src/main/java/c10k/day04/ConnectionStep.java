package c10k.day04;

import c10k.day03.NativeConnection;
import c10k.day03.sys.SyscallException;
import java.lang.System.Logger.Level;

/**
 * What the thread that holds a connection does with it, written once for every owner: the
 * turns of an event (write, then read), the update after anything happened (close if done,
 * else the figures, the clock and the kernel's interest), and the drop (deregister, then
 * close). Day 4's {@link EventLoop} holds each of its connections for good; several threads
 * on one epoll fd (day 5's shared mode) hold one only for the length of an event. The steps
 * are the same; what differs is asked of the owner, one method each:
 *
 * <pre>
 *   turn(c, events)  ERR: broken │ else HUP noted; OUT: flush; IN (or output drained): read ─► owe()
 *   update(c)        done? drop │ paused figure; reading resumed ─► owe(); retime(); watch(interest)
 *   drop(c)          forget() ─► EPOLL_CTL_DEL ─► release()
 * </pre>
 *
 * <p>Not thread-safe: one thread at a time on a connection, and the owner makes sure of it
 * (the loop checks that it is its own thread; several threads take the connection first).
 * Each serving thread has its own step, for the buffers it lends and the figures it keeps.
 */
public abstract class ConnectionStep {

    protected final Epoll epoll;
    public final Tuning tuning;
    public final NativeConnection.LoopBuffers buffers;
    private final String name;
    private final System.Logger log;
    private final int modeFlags;
    // Written by this step's thread only; read by others for the figures.
    private volatile int readPaused, largestOutbox;

    /** @param extraFlags added to every registration besides {@code EPOLLET} when the tuning is edge-triggered */
    protected ConnectionStep(String name, System.Logger log, Epoll epoll, Tuning tuning, int extraFlags,
                             NativeConnection.LoopBuffers buffers) {
        this.name = name;
        this.log = log;
        this.epoll = epoll;
        this.tuning = tuning;
        this.buffers = buffers;
        this.modeFlags = (tuning.edge() ? Epoll.EPOLLET : 0) | extraFlags;
    }

    /** Reads and answers (an event, or a turn owed); true if it stopped only because the budget ran out. */
    protected boolean read(NativeConnection c) {
        return c.readAndAnswer(buffers, tuning.readsPerTurn());
    }

    /** {@code c} may have bytes waiting that no edge will announce: give it a turn before waiting. */
    protected abstract void owe(NativeConnection c);

    /** Starts or restarts whichever clock runs for {@code c} now. */
    protected abstract void retime(NativeConnection c);

    /** Makes the kernel watch {@code c} for {@code want} ({@code EPOLL_CTL_MOD}), if it needs telling. */
    protected abstract void watch(NativeConnection c, int want) throws SyscallException;

    /** Takes {@code c} out of the owner's table; false if it was not there (dropped already). */
    protected abstract boolean forget(NativeConnection c);

    /** {@code c} is deregistered: close it (or hand its number back). */
    protected abstract void release(NativeConnection c);

    /** The turns one event gives {@code c}; then {@link #update}. */
    public final void turn(NativeConnection c, int events) {
        if ((events & Epoll.EPOLLERR) != 0) {
            c.markBroken();                                 // reset: nothing can be delivered any more
            return;
        }
        // Both directions, independently: an "else" here would lose the write edge for good.
        boolean drained = false;
        if ((events & (Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) c.hangUpReported();   // read on to the FIN
        if ((events & Epoll.EPOLLOUT) != 0) {
            c.flush(buffers.counters);
            drained = !c.hasPendingOutput();
        }
        // Read on input, and also once the output has drained: a layer that does not
        // read while output waits (day 6) has bytes in the socket and no edge to come.
        if (drained || (events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) readTurn(c);
        // Hung up both ways while we were not reading (paused, or done): a level-triggered
        // loop would be told so forever. Nothing can be delivered any more.
        if ((events & Epoll.EPOLLHUP) != 0 && !c.wantsRead()) c.markBroken();
    }

    /** A read turn; edge-triggered, a budget spent with data left is owed another (epoll(7), starvation). */
    public final void readTurn(NativeConnection c) {
        if (read(c) && tuning.owesTurns()) owe(c);
    }

    /** After anything happened to {@code c}: close it if done, else make figures, clock and interest match. False once dropped. */
    public final boolean update(NativeConnection c) {
        if (c.settle()) {
            drop(c);
            return false;
        }
        boolean paused = c.isReadPaused();
        if (paused != c.countedAsPaused) {
            c.countedAsPaused = paused;
            readPaused += paused ? 1 : -1;
            buffers.counters.paused(paused ? 1 : -1);
        }
        if (c.takeResumed() && tuning.edge()) owe(c);       // bytes may wait with no edge to come
        if (buffers.largestOutbox > largestOutbox) largestOutbox = buffers.largestOutbox;
        retime(c);
        // EPOLLOUT only while output waits: armed after send() met EAGAIN, gone once it drains.
        // A socket is nearly always writable; watching it for nothing would wake an LT loop forever.
        // EPOLLIN only while reading: paused, a MOD or a level-triggered wait would report the
        // unread bytes at once, and we would spin on a connection we refuse to read.
        int want = (c.wantsRead() ? Epoll.EPOLLIN | Epoll.EPOLLRDHUP : 0)
                | (c.wantsWrite() ? Epoll.EPOLLOUT : 0) | modeFlags;
        try {
            watch(c, want);
            c.interest = want;
            return true;
        } catch (SyscallException e) {
            failed(c, e);
            return false;
        }
    }

    /**
     * A new connection, already in the owner's table, joins the epoll set, watched for reading,
     * with {@code data} in each of its events. False if epoll refused it: then it is dropped.
     */
    public final boolean register(NativeConnection c, long data) {
        c.interest = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | modeFlags;
        try {
            // Data that arrived before the registration is reported at once (epoll checks the
            // fd on EPOLL_CTL_ADD), so no read is lost between accept and add.
            epoll.add(c.fd, c.interest, data);
            return true;
        } catch (SyscallException e) {
            c.interest = -1;                                // not registered: nothing to delete
            failed(c, e);
            return false;
        }
    }

    /** Its clock ran out. Idle: close gently (FIN, drain). Send or drain: the peer is not reading; close hard. Then {@link #update}. */
    public final void timedOut(NativeConnection c, boolean hard) {
        buffers.counters.timedOut();
        if (hard) c.markBroken();
        else c.stopReading();
    }

    /** One connection's failure ends that connection only. */
    public final void failed(NativeConnection c, Exception e) {
        log.log(Level.WARNING, name + ": fd " + c.fd + ": " + e.getMessage() + "; closing that connection");
        c.markBroken();
        drop(c);
    }

    public final void drop(NativeConnection c) {
        if (!forget(c)) return;                             // out of the table first: a late event finds nothing
        if (c.countedAsPaused) {
            readPaused--;
            buffers.counters.paused(-1);
        }
        // Deregister before close: the registration belongs to the open file description, and
        // only the last close of that description removes it by itself (a dup, day 6, keeps it).
        if (c.interest != -1) {
            try {
                epoll.delete(c.fd);
            } catch (SyscallException e) {
                log.log(Level.DEBUG, () -> name + ": fd " + c.fd + ": " + e.getMessage());
            }
        }
        buffers.counters.closed();
        release(c);
    }

    /** Connections this step paused and did not resume (another thread's step may resume them: sum them all). */
    public int readPausedCount() {
        return readPaused;
    }

    public int largestOutbox() {
        return largestOutbox;
    }

    /**
     * epoll_wait's timeout: until the nearest of the next clock ({@code nanos}), the end of the
     * shutdown's drain ({@code stopNanos}; both {@code Long.MAX_VALUE} if none) and the end of
     * an accept pause ({@code pauseMillis}, -1 if none); -1 (forever) if nothing is due.
     * Rounded up: waking just before a deadline would only wait again.
     */
    public static int waitMillis(long nanos, long stopNanos, int pauseMillis) {
        nanos = Math.min(nanos, Math.max(0, stopNanos));
        if (nanos == Long.MAX_VALUE) return pauseMillis;
        int millis = (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
        return pauseMillis < 0 ? millis : Math.min(pauseMillis, millis);
    }
}
