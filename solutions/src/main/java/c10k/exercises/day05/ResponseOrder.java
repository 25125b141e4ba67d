package c10k.exercises.day05;

import java.util.function.Consumer;

/**
 * Day 5, exercise 1: responses back in order. Requests of one connection run on different
 * workers at once and finish in any order; their responses must still leave in the order the
 * requests came.
 *
 * <p><b>Build</b> the class: what it keeps, and its five methods. The loop thread gives each
 * request a sequence number as it reads it ({@link #reserve}); workers finish in any order and
 * hand back {@code (seq, response)}. The contract: {@code reserve} returns 0, 1, 2, ... and
 * refuses ({@link IllegalStateException}) while {@code capacity} requests are in flight
 * (reserved and not yet released), the loop's cue to stop reading; {@link #complete} files a
 * response and sends nothing; {@link #release} hands to {@code out} every response that can
 * leave now, in sequence order, never one whose predecessor is still with a worker, and each
 * response exactly once, for as long as the connection lives; {@code complete} refuses what is
 * not in flight: a {@code seq} already released or never reserved
 * ({@link IllegalArgumentException}), and a second response for the same {@code seq}
 * ({@link IllegalStateException}). A response may be empty (a request that needs no answer):
 * it still takes its turn, and {@code release} hands it to {@code out} in its place and counts
 * it like any other. {@code capacity} is any number from 1 up. Memory stays bounded by
 * {@code capacity} responses, however many requests the connection makes: nothing grows with
 * the sequence numbers.
 *
 * <p><b>What the tests try</b>: completions in order, out of order, with a gap that holds the
 * rest, a window reused many times over, windows of several sizes, empty responses, random
 * permutations, sequence numbers that are not in flight or completed twice, a full window; then pipelined requests over a real socket with workers
 * that finish in a random order.
 *
 * <p><b>Why</b>: a client that pipelines "A", "B", "C" reads three answers and matches them to
 * its requests by position: the protocol has no ids. If "B" is cheap and "A" slow, B's worker
 * finishes first; sending at once would give the client B's answer for A. And the window is
 * a bound: a client that pipelines without reading must not make the server hold its answers
 * without limit.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day05-threadpool-epoll/README.md">day 5's
 * chapter</a>:
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#reactor-order-when-workers-finish-out-of-order">"Reactor:
 * order, when workers finish out of order"</a>: the "other design" it mentions is this
 * exercise; the day's {@code ReactorServer} keeps one connection's lines on one worker instead,
 * and says what that costs.
 *
 * <p><b>Check</b>: {@code ./jbang check day05}. Tests: {@code ResponseOrderTest}.
 *
 * <p>Loop thread only: workers never touch this object, they hand back {@code (seq, response)}.
 */
public final class ResponseOrder {

    /** Finished responses waiting for an earlier one; null where nothing waits. */
    private final byte[][] ring;
    /** Sequence number the next request read will get. */
    private long nextSeq;
    /** Sequence number of the next response to send: responses leave strictly in this order. */
    private long nextToSend;

    /** @param capacity requests in flight at most, 1 or more */
    public ResponseOrder(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be 1 or more: " + capacity);
        ring = new byte[capacity][];
    }

    /**
     * A request was read: its sequence number. Refuses when {@code capacity} requests are in
     * flight (the caller stops reading until some are released): a wider window would put two
     * sequence numbers on one slot.
     */
    public long reserve() {
        if (inFlight() == ring.length) throw new IllegalStateException("window full: " + ring.length + " requests in flight");
        return nextSeq++;
    }

    /** Requests reserved and not yet released. */
    public int inFlight() {
        return (int) (nextSeq - nextToSend);
    }

    /** The sequence number of the next response to leave. */
    public long nextToSend() {
        return nextToSend;
    }

    public int capacity() {
        return ring.length;
    }

    /** A worker finished request {@code seq}: file its response (never null; may be empty, and still takes its turn). Sends nothing. */
    public void complete(long seq, byte[] response) {
        if (seq < nextToSend || seq >= nextSeq) {
            throw new IllegalArgumentException("seq " + seq + " is not in flight [" + nextToSend + ", " + nextSeq + ")");
        }
        int slot = slotOf(seq);
        if (ring[slot] != null) throw new IllegalStateException("seq " + seq + " completed twice");
        ring[slot] = response;
    }

    /** Hands every response that is next in order to {@code out}, in order; returns how many. */
    public int release(Consumer<byte[]> out) {
        int released = 0;
        while (nextToSend != nextSeq) {
            int slot = slotOf(nextToSend);
            byte[] response = ring[slot];
            if (response == null) break;   // the next one is still with a worker: everything behind it waits
            ring[slot] = null;             // the slot comes round again for seq + capacity
            nextToSend++;
            out.accept(response);
            released++;
        }
        return released;
    }

    /** Where {@code seq} waits: the in-flight window never holds two numbers {@code capacity} apart. */
    private int slotOf(long seq) {
        return (int) (seq % ring.length);
    }
}
