package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.LingeringCloseContract;
import c10k.day01.StreamingWriter;
import c10k.day01.TestClient;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * SIGTERM on N threads: stop accepting, answer what was read, FIN, drain. The
 * connections are spread over threads that are busy with them when the shutdown begins; each
 * owner must hear of it, and clients must see whole lines and then end of stream, not a reset.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SharedShutdownTest {

    private static final int WINDOW = 2_000;

    @Test
    void clientsStreamingLinesGetWholeLinesThenEndOfStream() throws Exception {
        int fdsBefore = Fds.baseline();
        SharedEpollServer server = new SharedEpollServer("127.0.0.1", 0, 2, Handlers.ECHO);
        server.start();
        int clients = 20;
        CountDownLatch allAnswered = new CountDownLatch(clients);
        List<TestClient> sockets = new ArrayList<>();
        List<StreamingWriter> writers = new ArrayList<>();
        // Platform threads: a writer that never blocks would keep a virtual thread's carrier from its reader.
        try (ExecutorService pool = Executors.newFixedThreadPool(2 * clients)) {
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    TestClient c = new TestClient(server.port());
                    sockets.add(c);
                    int id = i;
                    CountDownLatch readerDone = new CountDownLatch(1);
                    // At most WINDOW lines unanswered: the last answers sit in the kernel's buffers
                    // after the server's FIN, and a reader megabytes behind would outlast the drain.
                    Semaphore window = new Semaphore(WINDOW);
                    // Writes numbered lines until its reader has seen the end; then its FIN lets
                    // the server's drain see our end of stream, and close.
                    writers.add(StreamingWriter.start(c.socket(), k -> {
                        if (readerDone.getCount() == 0) return null;
                        window.acquire(100);
                        return lines(id, (int) k * 100, 100);
                    }));
                    results.add(pool.submit(() -> {
                        try {
                            return readWholeLinesToEnd(new BufferedInputStream(c.socket().getInputStream()), id, allAnswered, window);
                        } finally {
                            readerDone.countDown();
                            window.release(WINDOW);
                        }
                    }));
                }
                assertThat(allAnswered.await(30, TimeUnit.SECONDS)).as("every client is being answered").isTrue();
                server.shutdownGracefully(Duration.ofSeconds(30));
                // A reset would have thrown in the reader (SocketException), failing its future.
                for (Future<Integer> r : results) assertThat(r.get(30, TimeUnit.SECONDS)).as("lines answered").isPositive();
                assertThatThrownBy(() -> new TestClient(server.port()).close()).as("the listener is closed").isInstanceOf(ConnectException.class);
            } finally {
                for (TestClient c : sockets) c.close();
                for (StreamingWriter w : writers) w.close();
                server.close();
            }
        }
        Fds.awaitNoLeak(fdsBefore);
    }

    private static byte[] lines(int id, int from, int count) {
        StringBuilder b = new StringBuilder();
        for (int j = from; j < from + count; j++) b.append("client ").append(id).append(" line ").append(j).append('\n');
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads until end of stream: every line whole, the client's own, in order. Returns how many. */
    private static int readWholeLinesToEnd(InputStream in, int id, CountDownLatch answered, Semaphore window) throws Exception {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int lines = 0;
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b != '\n') continue;
            String got = line.toString(StandardCharsets.US_ASCII), expected = "client " + id + " line " + lines + "\n";
            if (!got.equals(expected)) throw new AssertionError("expected " + expected + " but got " + got);   // no AssertJ per line: it is slow
            if (lines++ == 0) answered.countDown();
            window.release();
            line.reset();
        }
        assertThat(line.size()).as("no partial line before the end of stream").isZero();
        return lines;
    }

    /** After "ERR line too long", the same lingering close: the error line reaches a client that is still sending. */
    @Nested
    class LingeringClose extends LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return new SharedEpollServer("127.0.0.1", 0, 2, Handlers.ECHO);
        }
    }
}
