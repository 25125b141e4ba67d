package c10k.day05;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import c10k.day03.Replies;
import java.nio.ByteBuffer;

/**
 * One read of one reactor connection, on its way to a worker and back with the answers: the
 * unit of hand-off of {@link ReactorServer}. A read, not a line: 64 KiB of bare newlines is
 * 65,536 requests, and one batch. Pooled by the loop, so nothing is allocated per read; its
 * buffers start small and grow to what its reads need, at most one read and its answers.
 *
 * <p>A read, not a line, because as 65,536 tasks one read would be 65,536 allocations, queue
 * nodes and wake-ups, and a queue that grows with what one client sends. Memory held per
 * connection is then bounded whatever the line size: at most one batch (one read,
 * {@value ReactorServer#READ_SIZE} bytes, and its answers), the framer's unfinished line (under
 * {@code Protocol.MAX_LINE}), and the outbox (under its high-water mark plus one batch of
 * answers, after which reading pauses).
 */
final class ReadBatch {

    private static final int START = 4096;

    private final Handler handler;
    /** The bytes of one read, copied out of the loop's read buffer: small while reads are small. */
    private byte[] in = new byte[START];
    ByteBuffer view = ByteBuffer.wrap(in);
    /** The answers, written by the worker. */
    final Replies out = new Replies(START, ReactorServer.READ_SIZE + Protocol.MAX_LINE);
    /** The next finished batch, in the workers' stack of finished batches. */
    ReadBatch nextDone;
    private final LineFramer.LineSink answer = this::answerOne;
    ReactorServer.Conn conn;
    /** How many bytes of {@link #out} a worker sent itself ({@link ReactorServer.WorkerWrite}); the loop sends the rest. */
    int sent;
    /** The client's framer and session, lent to the worker while the batch is out. */
    LineFramer framer;
    Handler.Session session;
    int lines;
    boolean refused;   // a line was too long, or the handler asked to close after its reply

    ReadBatch(Handler handler) {
        this.handler = handler;
    }

    /** On the loop thread: takes {@code n} bytes just read into the loop's buffer. */
    void fill(byte[] read, int n) {
        if (in.length < n) {
            in = new byte[Math.max(n, Math.min(ReactorServer.READ_SIZE, 2 * in.length))];
            view = ByteBuffer.wrap(in);
        }
        System.arraycopy(read, 0, in, 0, n);
        view.clear().limit(n);
    }

    /** On the loop thread, once the answers are out: nothing of the client stays held. */
    void recycle() {
        out.clear();
        conn = null;
        framer = null;
        session = null;
    }

    /** On a worker: frame the read with the client's framer and answer each line into {@link #out}. */
    void frameAndAnswer() throws InterruptedException {
        lines = 0;
        refused = false;
        if (conn.isClosed()) return;                       // nobody left to answer: skip the work
        boolean ok;
        try {
            ok = framer.feed(view, answer);
        } catch (Interrupted e) {
            throw e.cause;
        } catch (java.io.IOException impossible) {
            throw new AssertionError(impossible);
        }
        if (!ok) {
            out.put(Protocol.ERR_LINE_TOO_LONG);           // after the answers to the lines before it
            refused = true;
        }
    }

    /** On a worker, for each line the framer finds. */
    private void answerOne(ByteBuffer buf, int start, int end) throws Interrupted {
        if (refused) return;                              // the handler's last word was said
        lines++;
        try {
            if (!Handlers.answer(handler, session, buf.array(), start, end, out)) refused = true;
        } catch (InterruptedException e) {
            throw new Interrupted(e);
        }
    }

    /** Carries an interrupt (the pool is stopping) out of the framer's callback. */
    private static final class Interrupted extends java.io.IOException {
        final InterruptedException cause;

        Interrupted(InterruptedException cause) {
            super(cause);
            this.cause = cause;
        }
    }
}
