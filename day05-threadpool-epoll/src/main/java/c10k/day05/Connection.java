package c10k.day05;

import c10k.day01.LineFramer;
import c10k.day03.Outbox;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One client of a day-5 server: its fd, framer and outbox, like day 3's
 * {@code NativeConnection}, plus what a pool adds: requests answered out of order by
 * different workers must still go out in order, and one connection must never be touched by
 * two threads at once.
 *
 * <p>Why not {@code NativeConnection} itself: it answers each line inside its read (the
 * response is the line, copied straight to the socket), and its line sink is private. Here a
 * line becomes a request for a {@link Handler}, answered later (reactor) or by whichever
 * thread read it (shared). The send-first / outbox / backpressure rules are the same.
 *
 * <p>Threading: in reactor mode only the event-loop thread touches this object (workers only
 * read {@link #closed}); in shared mode whichever thread holds {@link #owned} does.
 */
final class Connection {

    /** Requests read but not yet answered on one connection, beyond which we stop reading. */
    static final int MAX_IN_FLIGHT = 1024;

    final int fd;
    /**
     * The 64-bit epoll {@code data}. Shared mode: a number never reused, unlike the fd (see
     * day 6), because several threads look connections up. The reactor uses the fd itself:
     * only its loop thread looks connections up, and it deregisters one before closing it.
     */
    final long id;
    final LineFramer framer = new LineFramer();
    final Outbox outbox = new Outbox();
    /** Shared mode: the handler's per-connection state (see {@link Handler.Session}). */
    final Handler.Session session = new Handler.Session();

    boolean inputDone;    // end of stream or a refused line: nothing more is read
    boolean readPaused;   // backpressure: stopped reading until the peer catches up
    boolean countedAsPaused;   // reactor: counted in readPausedCount() (see ReactorServer.update)
    boolean broken;       // reset, EPIPE: nothing more can be delivered, close at once
    int interest;         // the events the kernel is watching for us, to skip needless epoll_ctl

    /** Set by the closing thread; workers read it to skip requests nobody will receive. */
    volatile boolean closed;

    /**
     * Shared mode: held by the one thread handling this connection. With {@code EPOLLONESHOT}
     * the kernel already guarantees a single owner, so a failed CAS is a bug, not contention;
     * the flag documents and checks that rule, and its release/acquire makes the previous
     * owner's writes to this object visible to the next owner (the JMM knows nothing of the
     * ordering that epoll_ctl and epoll_wait give in the kernel).
     */
    final AtomicBoolean owned = new AtomicBoolean();

    // Reactor mode, event-loop thread only: request order.
    /** Sequence number the next request read will get. */
    long nextSeq;
    /** Sequence number of the next response to send: responses leave strictly in this order. */
    long nextToSend;
    /** Bytes of requests read and not yet released to the outbox: memory the peer makes us hold. */
    long pendingBytes;
    /**
     * Finished responses waiting for an earlier one, indexed by {@code seq & (length - 1)}.
     * Every sequence number in flight lies in {@code [nextToSend, nextSeq)}, and the ring is
     * at least that wide, so two of them never share a slot. Null while nothing waits.
     */
    private Completion[] ring;
    /** In the loop's list of connections with new completions. */
    boolean dirty;

    /** A finished request: its response, and the request length to give back to the budget. */
    record Completion(Connection connection, long seq, int requestLength, byte[] response) {
    }

    Connection(int fd, long id) {
        this.fd = fd;
        this.id = id;
    }

    boolean wantsRead() {
        return !inputDone && !readPaused && !broken;
    }

    int inFlight() {
        return (int) (nextSeq - nextToSend);
    }

    /** Nothing left to do: every request answered and sent, and no more will come. */
    boolean isFinished() {
        return broken || (inputDone && nextToSend == nextSeq && outbox.isEmpty());
    }

    /**
     * Above the high-water mark: stop reading. What counts is everything this peer makes us
     * hold: unsent output, plus requests not yet answered (for echo, each becomes a response
     * of the same size). Counting only the outbox would let a pipelining peer that never reads
     * park unbounded requests in the pool's queue instead.
     */
    boolean overHighWater() {
        return outbox.size() + pendingBytes > Outbox.HIGH_WATER || inFlight() > MAX_IN_FLIGHT;
    }

    /** Below the low-water mark again: reading may resume (the gap avoids pausing on every read). */
    boolean underLowWater() {
        return outbox.size() + pendingBytes < Outbox.LOW_WATER && inFlight() <= MAX_IN_FLIGHT / 2;
    }

    /** Reserves the next sequence number for a request of {@code length} bytes. */
    long reserve(int length) {
        long seq = nextSeq++;
        pendingBytes += length;
        int window = inFlight();
        if (ring == null || window > ring.length) grow(window);
        return seq;
    }

    /** Files a finished request; it is sent when every earlier one has been. */
    void complete(Completion done) {
        ring[(int) (done.seq() & (ring.length - 1))] = done;
    }

    /** Moves every response that is next in order into the outbox; returns whether any moved. */
    boolean releaseInOrder() {
        boolean any = false;
        while (nextToSend != nextSeq) {
            int slot = (int) (nextToSend & (ring.length - 1));
            Completion done = ring[slot];
            if (done == null) break;          // the next one is still being worked on
            ring[slot] = null;
            nextToSend++;
            pendingBytes -= done.requestLength();
            byte[] r = done.response();
            if (r != null) outbox.append(r, 0, r.length);
            any = true;
        }
        if (nextToSend == nextSeq && ring != null && ring.length > 16) ring = null;   // idle again: give it back
        return any;
    }

    private void grow(int window) {
        int size = Math.max(16, Integer.highestOneBit(window - 1) << 1);
        Completion[] bigger = new Completion[size];
        if (ring != null) {
            for (long s = nextToSend; s < nextSeq - 1; s++) {
                bigger[(int) (s & (size - 1))] = ring[(int) (s & (ring.length - 1))];
            }
        }
        ring = bigger;
    }

    /** Send first: appended output goes out now; only what the kernel refuses stays queued. */
    void flush() {
        try {
            while (!outbox.isEmpty()) {
                int n = Sockets.send(fd, outbox.array(), outbox.start(), outbox.size());
                if (n == Sockets.WOULD_BLOCK) return;   // EAGAIN: now, and only now, EPOLLOUT is wanted
                outbox.consumed(n);
            }
        } catch (SyscallException e) {
            broken = true;                               // EPIPE, ECONNRESET: the peer is gone
        }
    }

    /**
     * Closes the fd; the caller has already removed it from epoll. A clean end shuts down the
     * sending side first: closing with unread input would send RST, which can overtake the last
     * answer (RFC 1122, 4.2.2.13).
     */
    void close() {
        closed = true;
        if (!broken) Sockets.shutdownWrite(fd);
        Sockets.close(fd);
        outbox.clear();
        framer.discardPartial();
        ring = null;
    }
}
