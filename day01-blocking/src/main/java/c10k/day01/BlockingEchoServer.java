package c10k.day01;

import c10k.day01.harness.Log;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Day 1: the simplest correct echo server. One thread does everything, in order:
 * {@code accept} a client, then {@code read} and {@code write} until that client leaves, then
 * {@code accept} the next one.
 *
 * <p>It is correct, and it is useless for more than one client: while it sits in
 * {@code read()} waiting for the first client to say something, nobody else is accepted. The
 * second client's connection is completed by the kernel (it sits in the listen backlog) and
 * its bytes wait in the kernel's receive buffer, but no code looks at them until the first
 * client disconnects. (The accept loop around it, and closing, are {@link AcceptingServer}'s:
 * this class only says what is done with a client once accepted.)
 */
public final class BlockingEchoServer extends AcceptingServer {

    /** How {@link #serve} ended, for the DEBUG line a caller logs when it closes the client. */
    public enum Ending {
        CLIENT_CLOSED("the client closed"),
        LINE_TOO_LONG("line too long"),
        IDLE_TIMEOUT("no complete line within the idle timeout");

        private final String words;

        Ending(String words) {
            this.words = words;
        }

        @Override
        public String toString() {
            return words;
        }
    }

    private final Timeouts timeouts;
    private final Stats.Counters counters = stats.newCounters();   // the one serving thread's
    private final AtomicInteger accepted = new AtomicInteger();

    public BlockingEchoServer(InetSocketAddress address) {
        this(address, Timeouts.NONE);
    }

    /** Only {@code timeouts.drain()} applies here: day 1 has no idle timeout, see the chapter. */
    public BlockingEchoServer(InetSocketAddress address, Timeouts timeouts) {
        super(address, 128, "day01-server", Log.logger("day01"));
        this.timeouts = timeouts;
    }

    /** How many clients have been accepted so far: the test's window into the server. */
    public int acceptedCount() {
        return accepted.get();
    }

    /** The whole design: the accepting thread serves the client itself, to the end. */
    @Override
    protected void handle(Socket client) {
        accepted.incrementAndGet();
        counters.accepted();
        log.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " accepted");
        serveAndClose(client, timeouts, System::nanoTime, counters);   // ...and everyone else waits meanwhile
    }

    /** {@link #serve(Socket, Timeouts, LongSupplier, Stats.Counters)} with no idle timeout. */
    public static Ending serve(Socket client) throws IOException {
        return serve(client, Timeouts.NONE, System::nanoTime, new Stats.Counters());
    }

    /**
     * Echoes one client's lines until it disconnects: the heart of days 1 and 2, shared by
     * every blocking server in the book.
     *
     * <p>Each {@code read} returns whatever bytes have arrived: part of a line, several lines,
     * or both. The framer turns them into lines; the complete lines of one read are written
     * back in one {@code write}, so a client that pipelines a thousand lines costs a handful
     * of system calls, not a thousand. An incomplete line waits for the rest.
     *
     * <p>Returns at end of stream (the client closed or shut down its sending side; the
     * unterminated tail is discarded, as the protocol says), after answering an oversized line
     * with {@code ERR line too long} and a {@link #lingeringClose}, and when the client has sent
     * no complete line for {@code timeouts.idle()} (if not zero). Throws on a reset. The caller
     * closes.
     *
     * <p>The idle timeout is a socket read timeout ({@code SO_TIMEOUT}), set before each
     * {@code read} to the time left until the deadline, so bytes that do not complete a line
     * do not move it: a client dripping a byte a second is closed on time, like a silent one.
     * What it cannot do is free the thread meanwhile: an idle client holds its blocked thread
     * until the deadline. (Where the story goes next: an event loop keeps one list of
     * deadlines, and an idle client there costs no thread at all, day 3.)
     *
     * @param nanoTime the clock for the idle deadline ({@code System::nanoTime}; tests pass a
     *     fake one and advance it)
     * @param counters the serving thread's own counters (see {@link Stats})
     */
    public static Ending serve(Socket client, Timeouts timeouts, LongSupplier nanoTime, Stats.Counters counters)
            throws IOException {
        // Nagle's algorithm would hold a short answer back until the client ACKs the last one,
        // and the client's delayed ACK waits up to 40 ms (tcp(7)): off, as every server here and Netty set it.
        client.setTcpNoDelay(true);
        InputStream in = client.getInputStream();
        OutputStream out = client.getOutputStream();
        byte[] readBuffer = new byte[16 * 1024];
        ByteBuffer chunk = ByteBuffer.wrap(readBuffer);
        ByteBuffer replies = ByteBuffer.allocate(16 * 1024);
        LineFramer framer = new LineFramer();
        long[] linesAndBytes = new long[2];      // of the current read, for the counters
        LineFramer.LineSink collect = (buf, start, end) -> {
            int length = end - start;
            linesAndBytes[0]++;
            linesAndBytes[1] += length;
            if (replies.remaining() < length) {
                flush(out, replies);
                if (replies.capacity() < length) {
                    // A line longer than the reply buffer: write it straight from where it is
                    // (both the read buffer and the framer's assembly buffer are heap arrays).
                    out.write(buf.array(), buf.arrayOffset() + start, length);
                    return;
                }
            }
            replies.put(replies.position(), buf, start, length).position(replies.position() + length);
        };
        long idle = timeouts.idle().toNanos();
        long lastLine = nanoTime.getAsLong();
        while (true) {
            if (idle > 0) {
                long left = lastLine + idle - nanoTime.getAsLong();
                if (left <= 0) return Ending.IDLE_TIMEOUT;
                client.setSoTimeout((int) Math.clamp(TimeUnit.NANOSECONDS.toMillis(left), 1, Integer.MAX_VALUE));
            }
            int n;
            try {
                n = in.read(readBuffer);              // blocks: this is the whole problem of day 1
            } catch (SocketTimeoutException e) {
                continue;                             // the deadline is checked above
            }
            if (n < 0) {
                // End of stream: the peer sent FIN. Answer what is complete, drop the rest.
                flush(out, replies);
                framer.discardPartial();
                return Ending.CLIENT_CLOSED;
            }
            counters.bytesIn(n);
            chunk.clear().limit(n);
            boolean ok = framer.feed(chunk, collect);
            flush(out, replies);
            if (linesAndBytes[0] > 0) {
                lastLine = nanoTime.getAsLong();
                counters.lines(linesAndBytes[0]);
                counters.bytesOut(linesAndBytes[1]);
                linesAndBytes[0] = linesAndBytes[1] = 0;
            }
            if (!ok) {
                out.write(Protocol.ERR_LINE_TOO_LONG);
                out.flush();
                lingeringClose(client, timeouts.drain());
                return Ending.LINE_TOO_LONG;
            }
        }
    }

    /**
     * The lingering close (nginx's {@code lingering_close}), for a server that closes while
     * the client is still sending: after an error line, or when it refuses a client.
     *
     * <p>Closing a socket whose receive buffer holds unread bytes makes the kernel send RST
     * instead of FIN (RFC 1122 4.2.2.13, RFC 9293 3.6), and a client that gets RST may throw
     * away what it had received but not yet read: {@code nc} then never prints the error line.
     * So: shut down the sending side (our FIN goes out after the error line), then read and
     * discard until the client closes too, or {@code drain} has passed in all, however the
     * client drips. The caller then closes, with nothing unread: FIN, not RST.
     */
    public static void lingeringClose(Socket s, Duration drain) {
        try {
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            byte[] discard = new byte[8 * 1024];
            long deadline = System.nanoTime() + drain.toNanos();
            for (long left = drain.toNanos(); left > 0; left = deadline - System.nanoTime()) {
                s.setSoTimeout((int) Math.clamp(TimeUnit.NANOSECONDS.toMillis(left), 1, Integer.MAX_VALUE));
                if (in.read(discard) < 0) return;   // the client closed: nothing unread now
            }
        } catch (IOException e) {
            // the drain ran out (SocketTimeoutException), or the peer reset: close follows
        }
    }

    private static void flush(OutputStream out, ByteBuffer replies) throws IOException {
        if (replies.position() == 0) return;
        out.write(replies.array(), 0, replies.position());  // blocks while the peer's window is full
        replies.clear();
    }

    @Override
    public String toString() {
        return "day01 blocking";
    }
}
