package c10k.exercises.day01;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

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

    /** The longest a client may keep the server busy after its error line, however it sends. */
    public static final Duration LINGER = Duration.ofSeconds(2);

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
                lingeringClose(client, in);
                return;
            }
        }
    }

    /**
     * The client is probably still sending the rest of its long line. Closing now, with those
     * bytes unread, would make the kernel answer with RST (RFC 1122 4.2.2.13), and a client
     * that gets RST may lose the error line it had not read yet. So: FIN first, then read and
     * drop until the client closes too, or LINGER has passed in all (a client that never
     * stops cannot keep the only thread).
     */
    private static void lingeringClose(Socket client, InputStream in) throws IOException {
        client.shutdownOutput();                  // FIN after the error line
        byte[] discard = new byte[8 * 1024];
        long deadline = System.nanoTime() + LINGER.toNanos();
        try {
            for (long left = LINGER.toNanos(); left > 0; left = deadline - System.nanoTime()) {
                client.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                if (in.read(discard) < 0) return; // the client closed: nothing unread now
            }
        } catch (SocketTimeoutException e) {
            // LINGER is over: close anyway
        }
    }
}
