package c10k.exercises.day01;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;

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
        InputStream in = client.getInputStream();
        OutputStream out = client.getOutputStream();
        byte[] buffer = new byte[16 * 1024];
        ByteBuffer chunk = ByteBuffer.wrap(buffer);
        ByteArrayOutputStream replies = new ByteArrayOutputStream();
        LineFramer framer = new LineFramer();
        while (true) {
            int n = in.read(buffer);
            if (n < 0) {
                framer.discardPartial();          // FIN: the unterminated tail is dropped
                return;
            }
            chunk.clear().limit(n);               // the n bytes read, not the whole buffer
            boolean ok = framer.feed(chunk, (buf, start, end) -> {
                for (int i = start; i < end; i++) replies.write(buf.get(i));
            });
            if (replies.size() > 0) {
                out.write(replies.toByteArray()); // every complete line of this read, one write
                replies.reset();
            }
            if (!ok) {
                out.write(Protocol.ERR_LINE_TOO_LONG);
                out.flush();
                client.shutdownOutput();          // FIN after the error line, ahead of any RST
                return;
            }
        }
    }
}
