package c10k.exercises.day01;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import java.io.IOException;
import java.net.Socket;

/**
 * Day 1, exercise 2: the heart of a blocking echo server, serving one client.
 *
 * <p><b>Build</b> {@link #serve}: read, cut into lines, echo each complete line; at end of
 * stream, answer what is complete and return, dropping an unterminated tail; after a line over
 * {@link Protocol#MAX_LINE}, answer {@code ERR line too long}, end your side of the stream
 * (the client must get a FIN after the line, not the reset that closing a socket with unread
 * bytes sends) and return. Use day 1's
 * {@link LineFramer} (or your {@link LineSplitter} from exercise 1). The accept loop around it
 * is given: {@code BlockingHarness} in the tests calls {@code serve} for each client in turn
 * and closes the socket after.
 *
 * <p><b>Why</b>: this loop is where day 1's classic bugs live. Echoing the whole buffer instead
 * of the {@code n} bytes read sends garbage; answering one line per read loses the others
 * that came in the same packet; ignoring {@code read() == -1} spins or hangs on a client that
 * left mid-line. Answer the complete lines of one read with one {@code write}: a client that
 * pipelines a thousand lines then costs a handful of system calls, not a thousand.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day01-blocking/README.md">day 1's
 * chapter</a>:
 * <a href="../../../../../../../day01-blocking/README.md#blockingechoserverserve-read-frame-answer">"{@code
 * BlockingEchoServer.serve}: read, frame, answer"</a>,
 * <a href="../../../../../../../day01-blocking/README.md#the-line-limit-and-the-err-path">"The line
 * limit, and the ERR path"</a> and
 * <a href="../../../../../../../day01-blocking/README.md#ending-a-connection-fin-half-close-rst">"Ending
 * a connection: FIN, half-close, RST"</a>.
 *
 * <p><b>Check</b>: {@code ./jbang check day01}. Tests: {@code EchoLoopTest}.
 */
public final class EchoLoop {

    private EchoLoop() {
    }

    /**
     * Echoes one client's lines until it disconnects. Returns normally at end of stream and
     * after the error line; throws on a reset. The caller closes the socket.
     */
    public static void serve(Socket client) throws IOException {
        // TODO: serve until the client is done, as the comment above says. What does read()
        //  return, and which bytes of the buffer are data? How many lines can one read hold?
        //  After the error line, what should the client see before the socket closes?
        throw new UnsupportedOperationException("TODO: EchoLoop.serve (day 1, exercise 2)");
    }
}
