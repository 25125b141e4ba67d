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
 * receives every byte given to {@link #send}, once, in the order given; bytes the kernel would
 * take now are not kept waiting for an event, and only what it refused waits, in the
 * {@link Outbox}; {@link #onWritable} (the selector said {@code OP_WRITE}) leaves bytes waiting
 * only if the kernel refused them again; after {@link #updateInterest} the key asks for
 * {@code OP_READ} if the loop wants to read, and for {@code OP_WRITE} exactly while bytes wait.
 * The tests try a peer that reads, one that does not read 16 MiB, and answers that come while
 * older ones still wait. The loop around it (accept, read, frame, close) is given: {@code SelectorHarness} in the
 * tests calls {@code send} with the answers to each read, {@code onWritable} on
 * {@code OP_WRITE}, and {@code updateInterest} after every read and write.
 *
 * <p><b>Why</b>: the channel is non-blocking, so {@code write} takes what fits in the socket's
 * send buffer and returns; a loop that waits for the rest would block every other client (or
 * spin). A socket is writable whenever its send buffer has room, i.e. almost always: with
 * {@code OP_WRITE} armed for good, {@code select} returns at once, forever. And answers
 * written ahead of older queued ones reach the peer out of order.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day03-select-poll/README.md">day 3's
 * chapter</a>:
 * <a href="../../../../../../../day03-select-poll/README.md#send-first-ask-for-writability-only-while-bytes-wait">"Send
 * first; ask for writability only while bytes wait"</a> and
 * <a href="../../../../../../../day03-select-poll/README.md#a-connections-life">"A connection's
 * life"</a>.
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
        // TODO: the contract of this method, above.
        throw new UnsupportedOperationException("TODO: WritePath.send (day 3, exercise 1)");
    }

    /** The socket has room again: write what waits (whatever it takes; the rest stays). */
    public void onWritable() throws IOException {
        // TODO: the contract of this method, above (Outbox's own comments say what it offers).
        throw new UnsupportedOperationException("TODO: WritePath.onWritable (day 3, exercise 1)");
    }

    /** {@code OP_READ} if {@code reading}, plus {@code OP_WRITE} only while bytes wait. */
    public void updateInterest(SelectionKey key, boolean reading) {
        // TODO: the contract of this method, above.
        throw new UnsupportedOperationException("TODO: WritePath.updateInterest (day 3, exercise 1)");
    }
}
