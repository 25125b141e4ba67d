package c10k.day07;

import c10k.day01.LineFramer;
import c10k.day03.Deadlines;
import c10k.day03.Outbox;

/**
 * One client of a {@link RingLoop}: the same protocol state as every day (a framer, an
 * outbox with water marks, one timer), plus what the completion model adds: which requests
 * are in flight, and the memory they hold.
 *
 * <p>The rule that shapes it: a request's memory belongs to the kernel from submission to
 * completion. So a connection is never freed when it is "closed" but when its last
 * completion has arrived ({@link #inflight} back to 0); until then its slot, its fd number
 * and its buffers stay reserved. Only the loop thread touches it.
 *
 * <p>What an idle connection holds is what multishot mode is about, so this object is kept
 * small: a connection with nothing pending has no outbox, no framer (the loop frames with a
 * shared one, and gives a connection its own only while a line is incomplete), no send
 * buffer (which carries the range still to send) and, in multishot mode, no receive buffer.
 * It is its own timer (it extends {@link Deadlines.Timer}, so the clock's links are fields
 * here, not a second object). An idle connection is then this one object of 80 bytes and
 * its slot in the table.
 */
final class UringConnection extends Deadlines.Timer {

    final int slot;
    /** The socket's fd, or with direct descriptors its index in the ring's file table. */
    final int fd;
    /** Answers not yet handed to the kernel; null while there are none. */
    Outbox outbox;
    /** Only while part of a line has arrived and waits for its newline; null otherwise. */
    LineFramer framer;
    /** basic mode: this connection's own receive buffer, pinned while a recv is in flight. */
    Receiver.Chunk recvBuffer;
    /** Bytes being sent, off-heap (the kernel reads them later), with the range not yet sent; null while none. */
    Sender.Buffer sendBuffer;
    /** UserData submitted whose last completion has not arrived: recv, send, cancel. */
    int inflight;

    /** Output is waiting for the kernel: the send clock runs instead of the idle one. */
    boolean outputWaiting;
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

    UringConnection(int slot, int fd) {
        this.slot = slot;
        this.fd = fd;
    }

    /** Takes this connection off whichever clock (idle, send, drain) is running for it. */
    void stopClock() {
        cancel();
    }

    /** The outbox, made when the first answer needs it. */
    Outbox outbox() {
        if (outbox == null) outbox = new Outbox();
        return outbox;
    }

    /** Forgets an incomplete line: at end of stream, or when lingering (input is discarded). */
    void discardPartial() {
        framer = null;
    }

    /** Output not yet taken by the kernel: queued, plus staged in the send buffer. */
    int unsent() {
        return (outbox == null ? 0 : outbox.size()) + (sendBuffer == null ? 0 : sendBuffer.end - sendBuffer.start);
    }

    boolean wantsRead() {
        return !closing && !inputEnded && (lingering || !paused);
    }
}
