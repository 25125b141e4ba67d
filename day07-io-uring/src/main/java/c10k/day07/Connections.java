package c10k.day07;

import static c10k.day07.UserData.*;

import c10k.day01.harness.Stats;
import c10k.day03.Deadlines;
import c10k.day03.sys.Sockets;
import c10k.day07.sys.SubmissionQueue;
import java.util.Arrays;

/**
 * A ring's connections, and the one place that decides their lives: the table they are found
 * in by slot (the low half of a completion's user_data), how one starts, what follows each of
 * its completions (answer, linger, close or abort), and when it is freed. The bytes are moved
 * by its {@link Receiver} and {@link Sender}, which say what happened and decide nothing.
 *
 * <p>The rule of the completion model shapes the end: a connection is not freed when it is
 * "closed" but when its last request has completed. Closing the fd would not end its
 * requests (they hold their own reference to the socket), and a pending recv would keep our
 * buffer until data came. So {@link #abort} cancels every request on the fd, and
 * {@link #finishIfDone} closes it and frees its memory only when the last completion is in.
 */
final class Connections implements RingTimers.Expiry {

    private final SubmissionQueue sq;
    private final Stats.Counters counters;
    private final RingTimers timers;
    private final boolean direct;
    private final Receiver receiver;
    private final Sender sender;
    private UringConnection[] table = new UringConnection[256];
    private int[] freeSlots = new int[256];
    private int freeCount;
    private int nextSlot;
    private int open;
    /** Our own requests (cancel, shutdown, close) submitted whose completion has not arrived. */
    private int inflight;

    Connections(SubmissionQueue sq, Stats.Counters counters, RingTimers timers, boolean direct, Receiver receiver, Sender sender) {
        this.sq = sq;
        this.counters = counters;
        this.timers = timers;
        this.direct = direct;
        this.receiver = receiver;
        this.sender = sender;
    }

    int open() {
        return open;
    }

    /** Connections' requests in flight: the loop may only end, and free memory, at 0. */
    int inflight() {
        return inflight + receiver.inflight() + sender.inflight();
    }

    /** The figures of the connections and their receive path, for other threads. */
    void publish(LoopFigures figures) {
        figures.open = open;
        receiver.publish(figures, open);
    }

    /** The end of a batch of completions: the receive buffers it used go back, starved receives are re-armed. */
    void endOfBatch() {
        receiver.endOfBatch();
    }

    /** A socket the acceptor got: a slot, the idle clock, and a first receive. */
    void add(int fd) {
        int slot = freeCount > 0 ? freeSlots[--freeCount] : nextSlot++;
        if (slot >= table.length) {
            table = Arrays.copyOf(table, table.length * 2);
            freeSlots = Arrays.copyOf(freeSlots, freeSlots.length * 2);
        }
        UringConnection c = new UringConnection(slot, fd);
        table[slot] = c;
        open++;
        counters.accepted();
        receiver.opened(c);
        timers.restart(timers.idle, c);
        receiver.arm(c);
    }

    /**
     * The completion of one of a connection's requests ({@code kind}, from its user_data).
     * The receiver or sender takes in what it says; what follows is decided here.
     */
    void onCompletion(int kind, int slot, int res, int flags) {
        UringConnection c = table[slot];
        switch (kind) {
            case RECV -> {
                int outcome = receiver.onRecv(c, res, flags);
                if (outcome == Receiver.LINE_TOO_LONG) startLingering(c, timers.draining);   // its answer is queued
                next(c, outcome == Receiver.FAILED);
            }
            case SEND -> next(c, sender.onSend(c, res) == Sender.FAILED);
            case PAUSE -> {
                receiver.pauseDone(c);
                finishIfDone(c);
            }
            case CANCEL, SHUTDOWN, CLOSE -> {
                c.inflight--;
                inflight--;
                finishIfDone(c);
            }
            default -> throw new IllegalStateException("completion of unknown kind " + kind);
        }
    }

    /**
     * After a receive or a send: a closing connection may now be freed, a failed one is
     * aborted; otherwise what is queued goes out, and reading stops or starts again with the
     * output waiting (backpressure).
     */
    private void next(UringConnection c, boolean failed) {
        if (c.closing) {
            finishIfDone(c);
        } else if (failed) {
            abort(c);                    // ECONNRESET, EPIPE: nothing can be delivered
        } else {
            flush(c);
            if (c.closing) return;
            receiver.checkPressure(c);
            receiver.maybeArm(c);
        }
    }

    /** Sends what is queued; once everything is sent, what comes next depends on how the connection is ending. */
    private void flush(UringConnection c) {
        if (sender.flush(c) != Sender.ALL_SENT) return;
        if (c.inputEnded) {
            abort(c);                    // half-close: every complete line answered; FIN goes with the close
        } else if (c.lingering) {
            if (!c.shutDown) shutdownWrite(c);
            receiver.maybeArm(c);
        } else if (c.outputWaiting) {
            c.outputWaiting = false;
            timers.restart(timers.idle, c);   // the idle clock again, from now
        }
    }

    /**
     * FIN after the last answer; we keep reading. A direct descriptor has no fd to call
     * shutdown(2) on: the ring does it.
     */
    private void shutdownWrite(UringConnection c) {
        if (direct) {
            sq.shutdownFixed(c.fd, Sockets.SHUT_WR, ud(SHUTDOWN, c.slot));
            submitted(c);
        } else {
            Sockets.shutdownWrite(c.fd);
        }
        c.shutDown = true;
    }

    /**
     * Lingering close (nginx's): stop answering, send what is queued, then shut down our
     * sending side and read and discard until the peer's FIN or the deadline. Closing with
     * unread input would send RST, and the peer could lose the answers it has not read yet.
     */
    private void startLingering(UringConnection c, Deadlines deadline) {
        if (c.lingering || c.closing) return;
        c.lingering = true;
        c.discardPartial();
        receiver.clearPause(c);          // input is discarded from now on: no pressure
        timers.restart(deadline, c);
        flush(c);
        if (!c.closing) receiver.maybeArm(c);
    }

    /** Tears a connection down: cancels what is in flight, frees it when that has completed. */
    private void abort(UringConnection c) {
        if (c.closing) return;
        c.closing = true;
        c.stopClock();
        receiver.clearPause(c);
        if (c.recvArmed || c.sendArmed) {
            sq.cancelFd(c.fd, direct, ud(CANCEL, c.slot));
            submitted(c);
        }
        finishIfDone(c);
    }

    private void submitted(UringConnection c) {
        c.inflight++;
        inflight++;
    }

    private void finishIfDone(UringConnection c) {
        if (!c.closing || c.inflight > 0 || c.finished) return;
        if (direct && !c.fileClosed) {
            // A direct descriptor is closed by a request too; its slot in the table is free
            // once that completes, and only then is the connection.
            sq.closeFixed(c.fd, ud(CLOSE, c.slot));
            c.fileClosed = true;
            submitted(c);
            return;
        }
        // Exactly once: a second close(fd) would close whichever connection has been given
        // this fd number since (day 6's bug, met here for real while writing this day).
        c.finished = true;
        if (!direct) Sockets.close(c.fd);
        receiver.release(c);
        sender.release(c);
        c.outbox = null;
        table[c.slot] = null;
        freeSlots[freeCount++] = c.slot;
        open--;
        counters.closed();
    }

    @Override
    public void expired(UringConnection c, boolean timeout) {
        if (timeout) counters.timedOut();
        abort(c);
    }

    /** A graceful shutdown: every connection answers what it has read, then lingers. */
    void lingerAll(Deadlines deadline) {
        for (int i = 0; i < nextSlot; i++) {
            UringConnection c = table[i];
            if (c != null && !c.closing) startLingering(c, deadline);
        }
    }

    /** Stopping: every connection closes as soon as its requests (all being cancelled) are in. */
    void stopAll() {
        receiver.stop();
        for (int i = 0; i < nextSlot; i++) {
            UringConnection c = table[i];
            if (c != null && !c.closing) {
                c.closing = true;
                c.stopClock();
                finishIfDone(c);
            }
        }
    }

    /** The loop has ended: whatever is left is closed (direct descriptors go with the ring). */
    void releaseAll() {
        for (int i = 0; i < nextSlot; i++) {
            UringConnection c = table[i];
            if (c != null) {
                if (!direct) Sockets.close(c.fd);
                if (!c.sendArmed) sender.release(c);   // in flight, the kernel may still read it: never freed
                if (!c.recvArmed) receiver.release(c);   // likewise a basic recv's buffer
                table[i] = null;
                counters.closed();
            }
        }
        open = 0;
    }

    /** Nothing is in flight any more: the buffers kept for later connections are freed. */
    void freeAll() {
        sender.freeAll();
        receiver.freeAll();
    }
}
