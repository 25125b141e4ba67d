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
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#the-problem-one-expensive-request-stops-everyone">"The
 * problem: one expensive request stops everyone"</a> and
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#reactor-one-thread-for-io-a-pool-for-work">"Reactor:
 * one thread for I/O, a pool for work"</a>. The section on order in the day's own server, and
 * the design it sets aside (this exercise), comes with {@code ./jbang check day05 --hint 2}.
 *
 * <p><b>Check</b>: {@code ./jbang check day05}. Tests: {@code ResponseOrderTest}.
 *
 * <p>Loop thread only: workers never touch this object, they hand back {@code (seq, response)}.
 */
public final class ResponseOrder {

    private final int capacity;
    // TODO: what must this object keep between calls?

    /** @param capacity requests in flight at most, 1 or more */
    public ResponseOrder(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be 1 or more: " + capacity);
        this.capacity = capacity;
    }

    /** A request was read: its sequence number. */
    public long reserve() {
        // TODO
        throw new UnsupportedOperationException("TODO: ResponseOrder.reserve (day 5, exercise 1)");
    }

    /** Requests reserved and not yet released. */
    public int inFlight() {
        // TODO
        throw new UnsupportedOperationException("TODO: ResponseOrder.inFlight (day 5, exercise 1)");
    }

    /** The sequence number of the next response to leave. */
    public long nextToSend() {
        // TODO
        throw new UnsupportedOperationException("TODO: ResponseOrder.nextToSend (day 5, exercise 1)");
    }

    public int capacity() {
        return capacity;
    }

    /** A worker finished request {@code seq}: its response (never null; may be empty). */
    public void complete(long seq, byte[] response) {
        // TODO
        throw new UnsupportedOperationException("TODO: ResponseOrder.complete (day 5, exercise 1)");
    }

    /** Hands to {@code out} what may leave now, in order; returns how many responses it handed (an empty one is a response too). */
    public int release(Consumer<byte[]> out) {
        // TODO
        throw new UnsupportedOperationException("TODO: ResponseOrder.release (day 5, exercise 1)");
    }
}
