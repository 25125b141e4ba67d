package c10k.exercises.day05;

import java.util.function.Consumer;

/**
 * Day 5, exercise 1: responses back in order. Requests of one connection run on different
 * workers at once and finish in any order; their responses must still leave in the order the
 * requests came.
 *
 * <p><b>Build</b> the class: what it keeps, and its five methods; how is yours to choose. The
 * loop thread numbers each request as it reads it ({@link #reserve}: 0, 1, 2, ...); workers
 * finish in any order and hand back {@code (seq, response)} ({@link #complete}); the loop then
 * sends what may leave ({@link #release}, into {@code out}).
 *
 * <p><b>The contract</b> a caller relies on: the client gets every response exactly once, in
 * the order of its requests, whichever worker finishes first, for as long as the connection
 * lives; a response that needs no answer (an empty one) still keeps its place. {@code complete}
 * sends nothing by itself. No more than {@code capacity} requests (any number from 1 up) are in
 * flight, reserved and not yet released: {@code reserve} refuses the next one
 * ({@link IllegalStateException}), the loop's cue to stop reading. What the object holds stays
 * bounded by {@code capacity}, however many requests the connection makes. A response the
 * object cannot place is refused and changes nothing: for a request not in flight
 * ({@link IllegalArgumentException}), or a second one for the same request
 * ({@link IllegalStateException}).
 *
 * <p><b>What the tests try</b>: workers that finish in order, out of order, and one slow worker
 * that holds back the rest; a long-lived connection that makes many times {@code capacity}
 * requests; several capacities, 1 among them; empty responses; random orders; mistaken
 * completions; a full window; then pipelined requests over a real socket with workers that
 * finish in a random order.
 *
 * <p><b>Why</b>: a client that pipelines "A", "B", "C" reads three answers and matches them to
 * its requests by position: the protocol has no ids. If "B" is cheap and "A" slow, B's worker
 * finishes first; sending at once would give the client B's answer for A. And the window is
 * a bound: a client that pipelines without reading must not make the server hold its answers
 * without limit.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day05-threadpool-epoll/README.md">day 5's
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
