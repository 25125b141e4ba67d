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
     * {@code answers} (position to limit) are for the peer, after everything given before. Once
     * this returns, the buffer is the caller's again, whatever its position: the loop reuses it
     * for the next read's answers.
     */
    public void send(ByteBuffer answers) throws IOException {
        // TODO
        throw new UnsupportedOperationException("TODO: WritePath.send (day 3, exercise 1)");
    }

    /** The selector said {@code OP_WRITE}: the socket has room again. */
    public void onWritable() throws IOException {
        // TODO
        throw new UnsupportedOperationException("TODO: WritePath.onWritable (day 3, exercise 1)");
    }

    /** Sets what the selector watches for this connection, to the contract above. */
    public void updateInterest(SelectionKey key, boolean reading) {
        // TODO
        throw new UnsupportedOperationException("TODO: WritePath.updateInterest (day 3, exercise 1)");
    }
}
