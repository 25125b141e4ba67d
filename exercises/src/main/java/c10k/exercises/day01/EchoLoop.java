package c10k.exercises.day01;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;

/**
 * Day 1, exercise 2: the heart of a blocking echo server, serving one client.
 *
 * <p><b>Build</b> {@link #serve}, to the protocol every day's server speaks: each complete
 * line comes back, byte for byte, in order, however the client's bytes were cut into packets;
 * a line longer than {@link Protocol#MAX_LINE} gets {@code ERR line too long} and ends the
 * connection; when the client is done, so is {@code serve}. Day 1's {@link LineFramer} (or
 * your {@link LineSplitter}) does the framing. {@code BlockingHarness}, in the tests, accepts
 * each client in turn, calls {@code serve}, and closes the socket after it returns.
 *
 * <p><b>The contract</b> the tests hold {@code serve} to: it returns normally when the client
 * has finished (an unterminated tail is dropped) and after the error line, and throws on a
 * reset. After the error line the client reads that line and then the end of the stream,
 * never a reset, even while it is still sending (as {@code nc} does); and however the client
 * behaves after its error line, it keeps the server no longer than {@link #LINGER}. The
 * complete lines of one read are answered with one {@code write}.
 *
 * <p><b>What the tests try</b>: three lines in one packet; a short line after a long one; a
 * line sent one byte per packet; clients that leave mid-line or reset; a half-close after two
 * lines and a tail; a line over the limit, from a client that stops, from one that keeps
 * sending megabytes after it, and from one that then neither sends nor closes.
 *
 * <p><b>Why</b>: this loop is where day 1's classic bugs live, and the end of a connection is
 * where the subtle one hides: what the kernel sends when a socket closes depends on what is
 * still unread in it.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day01-blocking/README.md">day 1's
 * chapter</a>:
 * <a href="../../../../../../../day01-blocking/README.md#tcp-is-a-byte-stream-not-a-message-stream">"TCP
 * is a byte stream, not a message stream"</a> and
 * <a href="../../../../../../../day01-blocking/README.md#ending-a-connection-fin-half-close-rst">"Ending
 * a connection: FIN, half-close, RST"</a>; close(2), shutdown(2). The sections on day 1's own
 * loop and its error path come with {@code ./jbang check day01 --hint 2}.
 *
 * <p><b>Check</b>: {@code ./jbang check day01}. Tests: {@code EchoLoopTest}.
 */
public final class EchoLoop {

    /** The longest a client may keep the server busy after its error line, however it sends. */
    public static final Duration LINGER = Duration.ofSeconds(2);

    private EchoLoop() {
    }

    /**
     * Echoes one client's lines until it disconnects. Returns normally at end of stream and
     * after the error line; throws on a reset. The caller closes the socket.
     */
    public static void serve(Socket client) throws IOException {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EchoLoop.serve (day 1, exercise 2)");
    }
}
