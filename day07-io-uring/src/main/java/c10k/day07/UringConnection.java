package c10k.day07;

import c10k.day01.LineFramer;
import c10k.day03.Deadlines;
import c10k.day03.Outbox;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One client of a {@link RingLoop}: the same protocol state as every day (a framer, an
 * outbox with water marks, one timer), plus what the completion model adds: which requests
 * are in flight, and the memory they hold.
 *
 * <p>The rule that shapes it: a request's memory belongs to the kernel from submission to
 * completion. So a connection is never freed when it is "closed" but when its last
 * completion has arrived ({@link #inflight} back to 0); until then its slot, its fd number
 * and its buffers stay reserved. Only the loop thread touches it.
 */
final class UringConnection implements LineFramer.LineSink {

    final int slot;
    /** The socket's fd, or with direct descriptors its index in the ring's file table. */
    final int fd;
    final LineFramer framer = new LineFramer();
    final Outbox outbox = new Outbox();
    /** In the loop's idle, send or drain list: which clock runs for this connection now. */
    final Deadlines.Timer timer = new Deadlines.Timer(this);

    /** basic mode: this connection's own receive buffer, pinned while a recv is in flight. */
    MemorySegment recvBuffer;
    ByteBuffer recvView;
    /** Bytes being sent: [sendStart, sendEnd) of sendBuffer, off-heap (the kernel reads it later). */
    MemorySegment sendBuffer;
    int sendStart, sendEnd;

    /** Output is waiting for the kernel: the send clock runs instead of the idle one. */
    boolean outputWaiting;
    /** Requests submitted whose last completion has not arrived: recv, send, cancel. */
    int inflight;
    boolean recvArmed;
    boolean sendArmed;
    /** multishot: the buffer ring ran dry (ENOBUFS); re-arm once buffers are back. */
    boolean starved;
    /** Unsent output above the high-water mark: not reading until it falls below the low one. */
    boolean paused;
    /** The peer sent FIN: answer what is complete, then close. */
    boolean inputEnded;
    /** Lingering close: after the last answer, shut down our side and discard input until EOF. */
    boolean lingering;
    boolean shutDown;
    /** Being torn down: requests cancelled, fd closed when the last completion arrives. */
    boolean closing;
    /** A direct descriptor's close request has been submitted. */
    boolean fileClosed;
    /** Closed and freed: its fd number and slot may belong to someone else now. */
    boolean finished;

    /** Lines framed by the last feed, for the counters and the idle clock. */
    int newLines;

    UringConnection(int slot, int fd) {
        this.slot = slot;
        this.fd = fd;
    }

    /** Each complete line goes to the outbox at once: answers keep request order. */
    @Override
    public void onLine(ByteBuffer buf, int start, int end) {
        outbox.append(buf, start, end);
        newLines++;
    }

    /** Output not yet taken by the kernel: queued, plus staged in the send buffer. */
    int unsent() {
        return outbox.size() + (sendEnd - sendStart);
    }

    boolean wantsRead() {
        return !closing && !inputEnded && (lingering || !paused);
    }
}
