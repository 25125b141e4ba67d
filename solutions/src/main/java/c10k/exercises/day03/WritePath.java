package c10k.exercises.day03;

import c10k.day03.Outbox;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * Day 3, exercise 1: the write half of one connection in a selector loop.
 *
 * <p><b>Build</b> the three TODO methods, to the contract the loop relies on: the peer
 * receives every byte given to {@link #send}, once, in the order given: no line lost or
 * doubled when the kernel takes part of it, or none of it, for as long as the peer does not
 * read. Nothing the kernel would take now is kept waiting for an event. Nothing blocks the
 * loop, and the loop does not spin: after {@link #updateInterest} the selector wakes this
 * connection for its output exactly while some of it still waits, and for its input if the
 * loop wants to read. {@link #pendingBytes} says how much waits (day 3's {@link Outbox} is
 * there for you, if you want it).
 *
 * <p><b>What the tests try</b>: a peer that reads everything at once; a peer that does not read
 * 16 MiB of answers, then reads them all; answers that come while older ones still wait; and
 * the key's interest after every step. The loop around it (accept, read, frame, close) is
 * given: {@code SelectorHarness} in the tests calls {@code send} with the answers to each read,
 * {@code onWritable} on {@code OP_WRITE}, and {@code updateInterest} after every read and write.
 *
 * <p><b>Why</b>: the channel is non-blocking, so {@code write} takes what fits in the socket's
 * send buffer and returns; a loop that waits for the rest would block every other client (or
 * spin). A socket is writable whenever its send buffer has room, i.e. almost always: with
 * {@code OP_WRITE} armed for good, {@code select} returns at once, forever. And answers
 * written ahead of older queued ones reach the peer out of order.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day03-select-poll/README.md">day 3's
 * chapter</a>: <a href="../../../../../../../day03-select-poll/README.md#the-event-loop">"The
 * event loop"</a> and
 * <a href="../../../../../../../day03-select-poll/README.md#a-connections-life">"A connection's
 * life"</a>. The section on the write path itself is named by {@code ./jbang check day03 --hint 2}.
 *
 * <p><b>Check</b>: {@code ./jbang check day03}. Tests: {@code WritePathTest}.
 */
public final class WritePath {

    private final SocketChannel channel;
    private final Outbox outbox = new Outbox();

    public WritePath(SocketChannel channel) {
        this.channel = channel;
    }

    /** Bytes written by {@link #send} that the kernel has not taken yet. */
    public int pendingBytes() {
        return outbox.size();
    }

    /**
     * Sends {@code answers} (position to limit) now if nothing waits, and queues what is left.
     * Once this returns, the buffer is the caller's again, whatever its position (the loop reuses
     * it for the next read's answers): what must wait is copied into the outbox
     * ({@code Outbox.append} copies {@code src[from, to)} and leaves {@code src}'s position as it was).
     */
    public void send(ByteBuffer answers) throws IOException {
        // Behind older bytes, never ahead of them: the peer must get answers in order.
        if (outbox.isEmpty() && answers.hasRemaining()) channel.write(answers);
        if (answers.hasRemaining()) {
            outbox.append(answers, answers.position(), answers.limit());
            answers.position(answers.limit());
        }
    }

    /** The socket has room again: write what waits (whatever it takes; the rest stays). */
    public void onWritable() throws IOException {
        if (outbox.isEmpty()) return;
        int n = channel.write(ByteBuffer.wrap(outbox.array(), outbox.start(), outbox.size()));
        outbox.consumed(n);
    }

    /** {@code OP_READ} if {@code reading}, plus {@code OP_WRITE} only while bytes wait. */
    public void updateInterest(SelectionKey key, boolean reading) {
        int ops = (reading ? SelectionKey.OP_READ : 0) | (outbox.isEmpty() ? 0 : SelectionKey.OP_WRITE);
        if (key.interestOps() != ops) key.interestOps(ops);
    }
}
