package c10k.day07;

import static c10k.day07.UserData.*;

import c10k.day01.harness.Stats;
import c10k.day03.Deadlines;
import c10k.day03.sys.Sockets;
import java.util.Arrays;

/**
 * A ring's connections and their lives: the table they are found in by slot (the low half
 * of a completion's user_data), how one starts, lingers, and ends. The bytes in between are
 * {@link Receiver}'s and {@link Sender}'s.
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
    private final RingAcceptor acceptor;
    private Receiver receiver;
    private Sender sender;
    private UringConnection[] table = new UringConnection[256];
    private int[] freeSlots = new int[256];
    private int freeCount;
    private int nextSlot;
    private int open;
    /** Connections' requests submitted whose final completion has not arrived. */
    private int inflight;
    /** The loop is stopping: nothing is re-armed. */
    boolean stopping;

    Connections(SubmissionQueue sq, Stats.Counters counters, RingTimers timers, boolean direct, RingAcceptor acceptor) {
        this.sq = sq;
        this.counters = counters;
        this.timers = timers;
        this.direct = direct;
        this.acceptor = acceptor;
    }

    void wire(Receiver receiver, Sender sender) {
        this.receiver = receiver;
        this.sender = sender;
    }

    UringConnection get(int slot) {
        return table[slot];
    }

    int open() {
        return open;
    }

    int inflight() {
        return inflight;
    }

    /** One more request of {@code c} in flight: its memory and slot stay reserved until it completes. */
    void submitted(UringConnection c) {
        c.inflight++;
        inflight++;
    }

    /** The final completion of one of {@code c}'s requests. */
    void completed(UringConnection c) {
        c.inflight--;
        inflight--;
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

    /** A cancel, a shutdown or a close of {@code c} has completed. */
    void onDone(UringConnection c) {
        completed(c);
        finishIfDone(c);
    }

    /**
     * Lingering close (nginx's): stop answering, send what is queued, then shut down our
     * sending side and read and discard until the peer's FIN or the deadline. Closing with
     * unread input would send RST, and the peer could lose the answers it has not read yet.
     */
    void startLingering(UringConnection c, Deadlines deadline) {
        if (c.lingering || c.closing) return;
        c.lingering = true;
        c.discardPartial();
        receiver.clearPause(c);          // input is discarded from now on: no pressure
        timers.restart(deadline, c);
        sender.flush(c);
        if (!c.closing) receiver.maybeArm(c);
    }

    /** A clean end: nothing in flight but maybe a recv; FIN goes out with the close. */
    void close(UringConnection c) {
        abort(c);
    }

    /** Tears a connection down: cancels what is in flight, frees it when that has completed. */
    void abort(UringConnection c) {
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

    void finishIfDone(UringConnection c) {
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
        acceptor.slotFreed();
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
        stopping = true;
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
}
