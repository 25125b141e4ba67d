package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.Protocol;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * What every event-loop server in the book must show, whatever drives its loop (the JDK's
 * selector and poll(2) on day 3, epoll on days 4 to 6): a few threads, or one, serve many
 * clients because they never wait on any one of them; a peer that never reads cannot make
 * the server's memory grow; thousands of connections are held at once.
 *
 * <p>Each day's test class extends this in a {@code @Nested} class and says how to make its
 * server. Nothing here measures time: the proof that nobody waits is that every round trip
 * completes while the idle and the slow clients are still connected.
 */
public abstract class EventLoopLessons extends ServerTestBase {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @Override
    protected abstract EventLoopServer newServer() throws Exception;

    /** Connections held at once by {@link #manyConnectionsAtOnce()}. Client and server share
     *  this JVM, so that is twice as many fds, under the limit of 20,000 per process. */
    protected int heldConnections() {
        return 2_000;
    }

    /**
     * The most one read can add to a connection's outbox: the answers to one read's bytes
     * (64 KiB for a server that reads 64 KiB at a time) plus the start of a line held back
     * from earlier reads (less than a line). A server with another read size overrides it.
     */
    protected int maxReplyPerRead() {
        return 64 * 1024 + Protocol.MAX_LINE;
    }

    private EventLoopServer loop() {
        return (EventLoopServer) server;
    }

    @Test
    void anIdleClientDoesNotDelayOthers() throws Exception {
        List<TestClient> idle = new ArrayList<>();
        try (TestClient slow = new TestClient(server.port())) {
            for (int i = 0; i < 100; i++) {
                TestClient c = new TestClient(server.port());
                idle.add(c);
                assertThat(c.roundTrip("hello " + i + ", then silence\n")).isEqualTo("hello " + i + ", then silence\n");
            }
            // Half a line and then nothing: a blocking server would now sit in read() for
            // this client. The event loop keeps the half line and goes on with the others.
            slow.send("a slow client's half line,");
            Fds.await("the slow client to be accepted", PATIENCE, () -> loop().connectionCount() == 101);

            try (TestClient fresh = new TestClient(server.port())) {
                for (int i = 0; i < 100; i++) {
                    assertThat(fresh.roundTrip("fresh " + i + "\n")).isEqualTo("fresh " + i + "\n");
                }
            }
            slow.send(" finished at last\n");
            assertThat(slow.readLine()).isEqualTo("a slow client's half line, finished at last\n");
            assertThat(idle.getLast().roundTrip("still here\n")).isEqualTo("still here\n");
        } finally {
            for (TestClient c : idle) c.close();
        }
    }

    @Test
    void aClientThatNeverReadsIsThrottledAndOthersAreServed() throws Exception {
        // Far more than the kernel buffers between client and server can hold, so the
        // server's outbox for this peer must pass the high-water mark.
        long total = 32L * 1024 * 1024;
        AtomicLong written = new AtomicLong();
        // The client is declared last, so closed first: if the test fails, closing its socket
        // unblocks a writer stuck in write() before the executor waits for the writer to end.
        try (ExecutorService writerThread = Executors.newSingleThreadExecutor();
             TestClient flooder = new TestClient(server.port())) {
            Future<?> writer = writerThread.submit(() -> {
                OutputStream out = flooder.socket().getOutputStream();
                byte[] chunk = new byte[64 * Flood.LINE];
                for (long off = 0; off < total; off += chunk.length) {
                    Flood.fill(chunk, off);
                    out.write(chunk);   // blocks once every buffer on the way is full: expected
                    written.addAndGet(chunk.length);
                }
                flooder.shutdownOutput();
                return null;
            });

            Fds.await("the server to stop reading from the flooder", PATIENCE, () -> loop().readPausedCount() == 1);
            int bound = Outbox.HIGH_WATER + maxReplyPerRead();
            assertThat(loop().largestOutbox()).as("bytes held for a peer that does not read").isLessThanOrEqualTo(bound);

            for (int k = 0; k < 3; k++) {
                try (TestClient other = new TestClient(server.port())) {
                    for (int i = 0; i < 10; i++) {
                        assertThat(other.roundTrip("other " + k + "." + i + "\n")).isEqualTo("other " + k + "." + i + "\n");
                    }
                }
            }
            assertThat(loop().readPausedCount()).as("still holding the flooder back").isEqualTo(1);

            // Now the flooder reads: the server drains its outbox, reads again, and every byte
            // comes back once, in order, until the half-close ends the stream.
            long received = Flood.readAndCheck(flooder.socket().getInputStream());
            writer.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            assertThat(written.get()).isEqualTo(total);
            assertThat(received).isEqualTo(total);
            assertThat(loop().largestOutbox()).as("bounded all along").isLessThanOrEqualTo(bound);
            assertThat(loop().readPausedCount()).isZero();
        }
    }

    @Test
    void manyConnectionsAtOnce() throws Exception {
        int n = heldConnections();
        List<TestClient> clients = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) clients.add(new TestClient(server.port()));
            Fds.await(n + " connections accepted", PATIENCE, () -> loop().connectionCount() == n);
            // Every one is connected before any speaks; then all are answered.
            for (int i = 0; i < n; i++) clients.get(i).send("held " + i + "\n");
            for (int i = 0; i < n; i++) assertThat(clients.get(i).readLine()).isEqualTo("held " + i + "\n");
            assertThat(loop().connectionCount()).isEqualTo(n);
        } finally {
            for (TestClient c : clients) c.close();
        }
        // Each client's FIN is seen as end of stream, and the server closes its side.
        Fds.await("every connection closed by the server", PATIENCE, () -> loop().connectionCount() == 0);
    }

    /** The flooder's byte stream: 1 KiB lines, each starting with its line number. */
    private static final class Flood {
        static final int LINE = 1024;

        /** The byte at {@code offset} of the stream: computable anywhere, so nothing is stored. */
        static byte at(long offset) {
            long line = offset / LINE;
            int col = (int) (offset % LINE);
            if (col == LINE - 1) return '\n';
            if (col < 10) return (byte) ('0' + (line / POW10[9 - col]) % 10);
            if (col == 10) return ' ';
            return (byte) ('a' + (line + col) % 26);
        }

        private static final long[] POW10 = {1L, 10L, 100L, 1_000L, 10_000L, 100_000L, 1_000_000L,
                10_000_000L, 100_000_000L, 1_000_000_000L};

        static void fill(byte[] chunk, long offset) {
            for (int i = 0; i < chunk.length; i++) chunk[i] = at(offset + i);
        }

        /** Reads to the end, failing at the first byte that differs; returns the count. */
        static long readAndCheck(InputStream in) throws IOException {
            byte[] buf = new byte[64 * 1024];
            long offset = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                for (int i = 0; i < n; i++, offset++) {
                    if (buf[i] != at(offset)) {
                        throw new AssertionError("byte " + offset + " (line " + offset / LINE + ") is '"
                                + (char) buf[i] + "', expected '" + (char) at(offset) + "'");
                    }
                }
            }
            return offset;
        }
    }
}
