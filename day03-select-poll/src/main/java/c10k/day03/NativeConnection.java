package c10k.day03;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import java.nio.ByteBuffer;

/**
 * One client of a non-blocking server built on raw system calls (days 3 to 6): its fd, the
 * framer that cuts its input into lines, and the outbox of what it is still owed.
 *
 * <p>The event loop says when the socket is readable or writable; this class does the
 * reading and writing and keeps the state straight, so every event loop in the book (poll,
 * epoll level- and edge-triggered, several threads) shares one tested implementation of
 * the protocol. Its state, in the words of Build Your Own Redis: does it want to read, does
 * it want to write, is it done.
 *
 * <p>Not thread-safe: one thread at a time handles a connection. Days 5 and 6 are about
 * making sure of that.
 */
public final class NativeConnection {

    /** Buffers shared by every connection of one event-loop thread: an idle connection owns none. */
    public static final class LoopBuffers {
        final byte[] in;
        final ByteBuffer inView;
        /** The answers to one read: at most one read's bytes plus a line assembled from earlier reads. */
        final byte[] replies;
        int replyLength;
        /** The largest outbox this loop has seen; for backpressure tests and the benchmark. */
        public int largestOutbox;
        /** Copies each complete line into {@link #replies}; made once, not per read. */
        final LineFramer.LineSink collect;

        public LoopBuffers(int readSize) {
            in = new byte[readSize];
            inView = ByteBuffer.wrap(in);
            replies = new byte[readSize + Protocol.MAX_LINE];
            collect = (buf, start, end) -> {
                buf.get(start, replies, replyLength, end - start);
                replyLength += end - start;
            };
        }
    }

    public final int fd;
    private final LineFramer framer = new LineFramer();
    private final Outbox outbox = new Outbox();
    private boolean inputDone;    // end of stream or a refused line: nothing more is read
    private boolean readPaused;   // backpressure: the peer is not reading its answers
    private boolean broken;       // reset, EPIPE: close at once, nothing more can be delivered

    public NativeConnection(int fd) {
        this.fd = fd;
    }

    /** The loop should watch for readability (POLLIN, EPOLLIN). */
    public boolean wantsRead() {
        return !inputDone && !readPaused && !broken;
    }

    /** The loop should watch for writability: only while something waits, or it would be told "writable" forever. */
    public boolean wantsWrite() {
        return !outbox.isEmpty() && !broken;
    }

    /** Nothing left to do: close it. */
    public boolean isFinished() {
        return broken || (inputDone && outbox.isEmpty());
    }

    public boolean isReadPaused() {
        return readPaused;
    }

    public int outboxSize() {
        return outbox.size();
    }

    /**
     * Reads and answers, at most {@code maxReads} times: 1 for a level-triggered loop (the
     * kernel will report the fd again if more is waiting), more for edge-triggered (the
     * kernel will NOT report again until new data arrives, so we must go on until
     * {@code EAGAIN}). Stops early at end of stream, on a refused line, or when the outbox
     * fills (backpressure).
     *
     * @return {@code true} if it stopped only because {@code maxReads} ran out: the socket may
     *     still hold data, and an edge-triggered loop owes it another turn.
     */
    public boolean readAndAnswer(LoopBuffers b, int maxReads) {
        for (int reads = 0; reads < maxReads; reads++) {
            if (!wantsRead()) return false;
            int n;
            try {
                n = Sockets.recv(fd, b.in, 0, b.in.length);
            } catch (SyscallException e) {
                broken = true;            // ECONNRESET and friends: this client only
                return false;
            }
            if (n == Sockets.WOULD_BLOCK) return false;
            if (n == 0) {
                // FIN: answer what is complete (already done), drop the unterminated tail.
                framer.discardPartial();
                inputDone = true;
                return false;
            }
            b.replyLength = 0;
            b.inView.clear().limit(n);
            boolean ok;
            try {
                ok = framer.feed(b.inView, b.collect);
            } catch (java.io.IOException impossible) {
                throw new AssertionError(impossible);   // our sink does no I/O
            }
            if (!ok) {
                System.arraycopy(Protocol.ERR_LINE_TOO_LONG, 0, b.replies, b.replyLength, Protocol.ERR_LINE_TOO_LONG.length);
                b.replyLength += Protocol.ERR_LINE_TOO_LONG.length;
                inputDone = true;
            }
            sendFirst(b, b.replies, b.replyLength);
            if (outbox.isFull()) readPaused = true;
            if (!ok) return false;
        }
        return true;
    }

    /**
     * Send first: try to write the answers now, and queue only what the kernel refused. If
     * older bytes are still queued, the new ones go behind them, never ahead.
     */
    private void sendFirst(LoopBuffers b, byte[] bytes, int length) {
        int sent = 0;
        if (outbox.isEmpty()) {
            sent = send(bytes, 0, length);
            if (broken) return;
        }
        if (sent < length) outbox.append(bytes, sent, length);
        if (outbox.size() > b.largestOutbox) b.largestOutbox = outbox.size();
    }

    /** The socket is writable: send what waits; resume reading once below the low-water mark. */
    public void flush() {
        while (!outbox.isEmpty()) {
            int n = send(outbox.array(), outbox.start(), outbox.size());
            if (n <= 0) break;          // EAGAIN (or broken): wait for the next writable event
            outbox.consumed(n);
        }
        if (readPaused && outbox.hasRoom()) readPaused = false;
    }

    private int send(byte[] bytes, int offset, int length) {
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
        return total;
    }

    /**
     * Closes the fd. A connection that ends cleanly (not broken) first shuts down its sending
     * side: closing with unread input in the socket would send RST instead of FIN
     * (RFC 1122, 4.2.2.13), and a RST can overtake the last answer, such as the error line.
     */
    public void close() {
        if (!broken) Sockets.shutdownWrite(fd);
        Sockets.close(fd);
        outbox.clear();
        framer.discardPartial();
    }
}
