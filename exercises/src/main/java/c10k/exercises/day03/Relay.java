package c10k.exercises.day03;

import java.nio.channels.SelectionKey;

/**
 * Day 3, exercise 3: a TCP relay in a selector loop. A client connects; the loop opens a
 * connection to an upstream server and from then on passes bytes both ways. Day 3's server
 * reads and writes one socket; here every byte read from one socket is written to the other,
 * so what each key watches depends on the state of the other side. The lessons of exercises 1
 * and 2 apply, to two sockets and two directions at once; this class stands alone (it does not
 * use {@link WritePath} or {@link Backpressure}).
 *
 * <p><b>Build</b> the constructor and {@link #onReady}. The loop around them is given
 * ({@code RelayHarness} in the tests): it accepts the client, connects to the upstream, sets
 * both channels non-blocking, registers both with its selector watching nothing, makes this
 * relay, and then calls {@link #onReady} for every key the selector reports ready, with
 * {@link SelectionKey#readyOps} set. From the constructor on, what each key watches is yours;
 * {@code key.channel()} is its {@code SocketChannel}. The loop never touches either socket
 * again: closing them is yours too.
 *
 * <p><b>The contract</b> the client and the upstream rely on:
 * <ul>
 *   <li>transparent: each side sees what it would see if it were connected straight to the
 *       other, only later: the same bytes in the same order, the same end of stream, and a
 *       reset answered by the end of the connection (both sockets closed);
 *   <li>bounded: bytes read and not yet written wait in the relay, at most {@code bound} of
 *       them per direction, whatever the peers do;
 *   <li>nothing blocks the loop, and the loop does not spin: the selector wakes this pair only
 *       for something it can act on; a pair that is over gives its sockets back.
 * </ul>
 *
 * <p><b>What the tests try</b>: peers that answer at once and peers that do not read for a
 * while; traffic both ways at once; a side that half-closes, as {@code nc -N} does after its
 * request; a reset from either side; and, whenever nothing is moving, what both keys watch
 * and whether the selector still has anything to report.
 *
 * <p><b>Why</b>: this is the shape of every proxy and load balancer (HAProxy, nginx's
 * {@code stream} module, {@code socat}): two sockets per connection, and the same questions as
 * an echo's, asked across them. Many clients end a request with a half-close, and a relay
 * in the middle must not change what that means (RFC 9293, 3.6).
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day03-select-poll/README.md">day 3's
 * chapter</a>:
 * <a href="../../../../../../../day03-select-poll/README.md#a-connections-life">"A connection's
 * life"</a>,
 * <a href="../../../../../../../day03-select-poll/README.md#send-first-ask-for-writability-only-while-bytes-wait">"Send
 * first; ask for writability only while bytes wait"</a> and
 * <a href="../../../../../../../day03-select-poll/README.md#backpressure-the-outboxs-water-marks">"Backpressure:
 * the outbox's water marks"</a>; day 1's
 * <a href="../../../../../../../day01-blocking/README.md#ending-a-connection-fin-half-close-rst">"Ending
 * a connection: FIN, half-close, RST"</a>; shutdown(2).
 *
 * <p><b>Check</b>: {@code ./jbang check day03}. Tests: {@code RelayTest}.
 */
public final class Relay {

    /**
     * @param client   the client's key (registered, watching nothing yet)
     * @param upstream the upstream's key (registered, watching nothing yet)
     * @param bound    the most bytes the relay may hold for one direction
     */
    public Relay(SelectionKey client, SelectionKey upstream, int bound) {
        // TODO: the pair's state.
        throw new UnsupportedOperationException("TODO: the Relay constructor (day 3, exercise 3)");
    }

    /** The selector reported {@code key} (the client's or the upstream's) ready. */
    public void onReady(SelectionKey key) {
        // TODO
        throw new UnsupportedOperationException("TODO: Relay.onReady (day 3, exercise 3)");
    }
}
