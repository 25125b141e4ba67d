package c10k.exercises.day02;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Day 2, exercise 2: the idle timeout, the one thing that frees a blocking worker from a
 * client that says nothing.
 *
 * <p><b>Build</b> {@link #serve}: echo the client's lines (the given {@link Lines} frames one
 * read and writes back its complete lines) until it leaves, and close a client that has sent
 * no <em>complete line</em> for {@code idleMillis}: tell it {@link #ERR_IDLE}, end your side of
 * the stream (FIN) and return (the caller closes). The contract: a client that keeps sending
 * lines is never cut, however long it stays; a silent client is cut after
 * {@code idleMillis}; and so is a client that drips bytes without ever finishing a line (a
 * "slowloris"): bytes that complete no line do not count as activity. After a line over the
 * limit, {@code Lines} has written the error line: end the stream and return. Write the loop
 * yourself (day 1's {@code BlockingEchoServer} has its own: that is what this exercise builds).
 *
 * <p><b>What the tests try</b>: a client that talks for twenty lines; one that says hello and
 * then nothing; one that sends a byte every third of the timeout and never a newline; and a
 * client queued behind a silent one, on a server with one worker.
 *
 * <p><b>Why</b>: in a pool of N blocking workers, a worker sits in {@code read()} for as long
 * as its client is connected; N idle clients starve everyone else (exercise 1 showed it). A
 * blocked {@code read()} returns only for data, end of stream, or a timeout: so every pooled
 * blocking server has an idle timeout (Apache's Timeout directive, Tomcat's
 * {@code connectionTimeout}). It is a patch, not a cure: the bound is still N clients
 * <em>at once</em>, and until the deadline a silent client still holds its worker. Days 3 and
 * 4 remove the cause.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day02-multithread/README.md">day 2's chapter</a>:
 * <a href="../../../../../../../day02-multithread/README.md#the-idle-timeout-a-read-timeout-and-what-it-cannot-do">"The
 * idle timeout: a read timeout, and what it cannot do"</a> and
 * <a href="../../../../../../../day02-multithread/README.md#the-idea">"The idea"</a>.
 *
 * <p><b>Check</b>: {@code ./jbang check day02}. Tests: {@code IdleTimeoutTest} (the harness
 * there serves one client at a time: a pool of one worker).
 */
public final class IdleTimeout {

    /** What an idle client hears before the server closes it. */
    public static final byte[] ERR_IDLE = "ERR idle timeout\n".getBytes(StandardCharsets.US_ASCII);

    private IdleTimeout() {
    }

    /** Echoes until the client leaves, or sends no complete line for {@code idleMillis}. The caller closes. */
    public static void serve(Socket client, int idleMillis) throws IOException {
        InputStream in = client.getInputStream();
        OutputStream out = client.getOutputStream();
        Lines lines = new Lines(new byte[16 * 1024]);
        long idle = TimeUnit.MILLISECONDS.toNanos(idleMillis);
        long deadline = System.nanoTime() + idle;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                out.write(ERR_IDLE);
                client.shutdownOutput();         // FIN after the line
                return;
            }
            // SO_TIMEOUT bounds one read. Set to what is left of the deadline, not to
            // idleMillis: a byte a second would then keep a line-less client forever.
            client.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            int n;
            try {
                n = in.read(lines.buffer());
            } catch (SocketTimeoutException silent) {
                continue;                        // the deadline is checked above
            }
            if (n < 0) return;                   // the client left; an unfinished line is dropped
            int complete = lines.echo(n, out);
            if (complete < 0) {
                client.shutdownOutput();         // after ERR line too long
                return;
            }
            if (complete > 0) deadline = System.nanoTime() + idle;   // only a whole line counts
        }
    }

    /** Given: day 1's framing for one connection; not part of the exercise. */
    static final class Lines {
        private final LineFramer framer = new LineFramer();
        private final ByteArrayOutputStream replies = new ByteArrayOutputStream();
        private final ByteBuffer chunk;
        private final byte[] buffer;

        Lines(byte[] buffer) {
            this.buffer = buffer;
            this.chunk = ByteBuffer.wrap(buffer);
        }

        /**
         * Frames {@code buffer[0, n)} (what one read returned) and writes every complete line
         * back to {@code out} in one write. Returns how many lines completed, or -1 when a line
         * was over the limit (it has written {@code ERR line too long} then).
         */
        int echo(int n, OutputStream out) throws IOException {
            int[] lines = {0};
            chunk.clear().limit(n);
            boolean ok = framer.feed(chunk, (buf, start, end) -> {
                lines[0]++;
                for (int i = start; i < end; i++) replies.write(buf.get(i));
            });
            if (replies.size() > 0) {
                out.write(replies.toByteArray());
                replies.reset();
            }
            if (!ok) {
                out.write(Protocol.ERR_LINE_TOO_LONG);
                return -1;
            }
            return lines[0];
        }

        byte[] buffer() {
            return buffer;
        }
    }
}
