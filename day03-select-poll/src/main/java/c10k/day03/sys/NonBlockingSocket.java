package c10k.day03.sys;

import c10k.day01.harness.Stats;

/**
 * One connected, non-blocking stream socket, and what the results of {@code recv(2)} and
 * {@code send(2)} on it mean: {@code EAGAIN} is "nothing now", 0 from {@code recv} is the
 * peer's FIN, an error ({@code ECONNRESET}, {@code EPIPE}) ends the connection, and a short
 * read says the receive queue was empty. The protocol above it ({@code c10k.day03.NativeConnection})
 * asks these questions and never sees an errno.
 *
 * <p>Not thread-safe: one thread at a time handles a connection.
 */
public class NonBlockingSocket {

    public final int fd;
    private boolean broken;       // reset, EPIPE: close at once, nothing more can be delivered
    private boolean peerClosed;   // EOF seen: the peer will send nothing more
    private boolean drained;      // the last recv emptied the socket: EAGAIN, or fewer bytes than asked
    private boolean hangUpSeen;   // the kernel reported the peer's FIN (or a hang-up): read to the end
    private boolean progress;     // output moved since the loop last looked

    protected NonBlockingSocket(int fd) {
        this.fd = fd;
    }

    /** Marks it gone (a reset seen in an event, a failed epoll_ctl): the loop closes it without more ado. */
    public void markBroken() {
        broken = true;
    }

    protected final boolean isBroken() {
        return broken;
    }

    /** The peer sent FIN: it will send nothing more. */
    protected final boolean isPeerClosed() {
        return peerClosed;
    }

    /** Called once {@code recv} has returned 0: the peer's FIN. */
    protected void endOfStream() {
    }

    /**
     * One {@code recv} into {@code buf}: the byte count, or 0 when there is nothing to read
     * now ({@code EAGAIN}), at end of stream (recorded: no more input) or on a reset
     * (recorded: broken). The building block for a server that frames on another thread.
     */
    public int receive(byte[] buf, int offset, int length, Stats.Counters counters) {
        int n;
        try {
            n = Sockets.recv(fd, buf, offset, length);
        } catch (SyscallException e) {
            broken = true;                            // ECONNRESET and friends: this client only
            return 0;
        }
        if (n == Sockets.WOULD_BLOCK) {
            drained = true;
            return 0;
        }
        if (n == 0) {
            drained = true;
            peerClosed = true;
            endOfStream();
            return 0;
        }
        counters.bytesIn(n);
        // Fewer bytes than asked: the receive queue was empty when recv returned, so any byte
        // that arrives later brings a new edge. epoll(7) says so in its Q9 for stream sockets
        // (tokio relies on the same rule). That saves the recv that would only say EAGAIN, one
        // system call in three on an echo. Not after a FIN was reported: a FIN that came with
        // the data came in the same event, and no later edge will announce it.
        drained = n < length && !hangUpSeen;
        return n;
    }

    /**
     * Edge-triggered loops: whether the last {@link #receive} left the socket empty (EAGAIN, end
     * of stream, or a short read before any hang-up was reported). False: bytes may be waiting
     * that no new edge will report, so the connection must be read again before it waits.
     */
    public boolean drained() {
        return drained;
    }

    /**
     * The loop saw {@code EPOLLRDHUP} or {@code EPOLLHUP} for this connection: from now on a
     * short read proves nothing (the FIN behind the data has no edge of its own left to come),
     * so reading goes on until {@code recv} says 0 or EAGAIN.
     */
    public void hangUpReported() {
        hangUpSeen = true;
    }

    /** True once since the last call: the kernel took some of our output (what resets the send clock). */
    public boolean takeProgress() {
        boolean p = progress;
        progress = false;
        return p;
    }

    /** Sends {@code bytes[offset, offset + length)} until done or {@code EAGAIN}; the bytes the kernel took. */
    protected final int send(byte[] bytes, int offset, int length, Stats.Counters counters) {
        int total = 0;
        try {
            while (total < length) {
                int n = Sockets.send(fd, bytes, offset + total, length - total);
                if (n == Sockets.WOULD_BLOCK) break;
                total += n;
            }
        } catch (SyscallException e) {
            broken = true;              // EPIPE, ECONNRESET: the peer is gone
        }
        if (total > 0) {
            progress = true;
            counters.bytesOut(total);
        }
        return total;
    }
}
