package c10k.day01;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The echo contract: what every server in the book must do, whatever its design. Each day's
 * test class extends this and says how to make its server; the same tests then run against
 * blocking threads, selectors, poll, epoll and thread pools alike.
 *
 * <p>Every test starts a fresh server on port 0 ({@link ServerTestBase}), talks to it over
 * real loopback sockets and checks exact bytes; after each test the server is closed and the
 * descriptors of the process must be back to what they were before it started.
 */
public abstract class EchoContract extends ServerTestBase {

    /**
     * Whether the server answers several connected clients at once. Day 1's does not, by
     * design: the tests that need simultaneous answers then serve clients one after another.
     */
    protected boolean servesClientsConcurrently() {
        return true;
    }

    @Test
    void echoesEveryByteValueExceptNewlineUnchanged() throws IOException {
        byte[] line = new byte[256];
        for (int i = 0; i < 255; i++) line[i] = (byte) (i < '\n' ? i : i + 1);   // all but 0x0A
        line[255] = '\n';
        try (TestClient c = new TestClient(server.port())) {
            c.send(line);
            assertThat(c.readExactly(line.length)).isEqualTo(line);
            assertThat(c.roundTrip("\n")).as("an empty line is a line").isEqualTo("\n");
            assertThat(c.roundTrip("héllo wörld ✓ \r\n")).isEqualTo("héllo wörld ✓ \r\n");
        }
    }

    @Test
    void answersALineSentOneByteAtATime() throws IOException {
        // TCP is a byte stream: a line may arrive in as many pieces as it has bytes. With
        // TCP_NODELAY on the client each write goes out as its own segment.
        String line = "one byte per segment, answered once, whole\n";
        try (TestClient c = new TestClient(server.port())) {
            for (byte b : line.getBytes(StandardCharsets.UTF_8)) c.send(new byte[] {b});
            assertThat(c.readLine()).isEqualTo(line);
            c.send("a").send("b\nc").send("d\n");
            assertThat(c.readLine()).isEqualTo("ab\n");
            assertThat(c.readLine()).isEqualTo("cd\n");
        }
    }

    @Test
    void answersThousandsOfLinesSentInOneWrite() throws IOException {
        // The opposite case: one read returns many lines, and every one must be answered.
        Random random = new Random(1);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 5_000; i++) {
            all.writeBytes(("line " + i + " " + "x".repeat(random.nextInt(40)) + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        byte[] request = all.toByteArray();
        try (TestClient c = new TestClient(server.port())) {
            c.send(request);
            assertThat(c.readExactly(request.length)).isEqualTo(request);
        }
    }

    @Test
    void streamsEightMebibytesBothWaysAtOnce() throws Exception {
        // The client writes 8 MiB while it reads the echo. A server that wrote without
        // reading, or read without writing, would deadlock here once the kernel buffers fill.
        int total = 8 * 1024 * 1024;
        byte[] payload = randomLines(total, new Random(8));
        try (TestClient c = new TestClient(server.port());
             ExecutorService writer = Executors.newSingleThreadExecutor()) {
            Future<?> sent = writer.submit(() -> {
                OutputStream out = c.socket().getOutputStream();
                for (int off = 0; off < payload.length; off += 64 * 1024) {
                    out.write(payload, off, Math.min(64 * 1024, payload.length - off));
                }
                c.shutdownOutput();
                return null;
            });
            byte[] echoed = c.readToEnd();
            sent.get();
            assertThat(echoed.length).isEqualTo(payload.length);
            assertThat(sha256(echoed)).isEqualTo(sha256(payload));
        }
    }

    @Test
    void keepsEachClientsAnswersInOrderWithManyClients() throws Exception {
        int clients = 50;
        int lines = 200;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int id = i;
                results.add(pool.submit(() -> {
                    StringBuilder request = new StringBuilder();
                    for (int j = 0; j < lines; j++) request.append("client ").append(id).append(" line ").append(j).append('\n');
                    try (TestClient c = new TestClient(server.port())) {
                        // Send everything, then half-close: this works for a server that
                        // serves clients one at a time as well as for a concurrent one.
                        c.send(request.toString());
                        c.shutdownOutput();
                        String answer = new String(c.readToEnd(), StandardCharsets.UTF_8);
                        return answer.equals(request.toString()) ? "ok" : "client " + id + " got: " + answer;
                    }
                }));
            }
            for (Future<String> r : results) assertThat(r.get()).isEqualTo("ok");
        }
    }

    @Test
    void answersClientsThatTakeTurnsTalking() throws Exception {
        Assumptions.assumeTrue(servesClientsConcurrently(), "day 1's very point is that it cannot");
        try (TestClient a = new TestClient(server.port()); TestClient b = new TestClient(server.port())) {
            for (int i = 0; i < 100; i++) {
                assertThat(a.roundTrip("a" + i + "\n")).isEqualTo("a" + i + "\n");
                assertThat(b.roundTrip("b" + i + "\n")).isEqualTo("b" + i + "\n");
            }
        }
    }

    @Test
    void acceptsALineOfExactlyTheLimit() throws IOException {
        byte[] line = new byte[Protocol.MAX_LINE];
        Arrays.fill(line, (byte) 'a');
        line[line.length - 1] = '\n';
        try (TestClient c = new TestClient(server.port())) {
            c.send(line);
            assertThat(c.readExactly(line.length)).isEqualTo(line);
            assertThat(c.roundTrip("still here\n")).isEqualTo("still here\n");
        }
    }

    @Test
    void refusesALineOverTheLimitAndClosesOnlyThatConnection() throws Exception {
        byte[] tooLong = new byte[Protocol.MAX_LINE + 1];
        Arrays.fill(tooLong, (byte) 'b');
        tooLong[tooLong.length - 1] = '\n';
        TestClient other = servesClientsConcurrently() ? new TestClient(server.port()) : null;
        try (TestClient c = new TestClient(server.port())) {
            if (other != null) assertThat(other.roundTrip("before\n")).isEqualTo("before\n");
            c.send("fine\n").send(tooLong);
            assertThat(c.readLine()).as("lines before the bad one are answered").isEqualTo("fine\n");
            assertThat(c.readLine()).isEqualTo("ERR line too long\n");
            assertThat(c.endsStream()).as("the server closes the connection after the error").isTrue();
        }
        try (TestClient o = other != null ? other : new TestClient(server.port())) {
            assertThat(o.roundTrip("after\n")).as("other connections are untouched").isEqualTo("after\n");
        }
    }

    @Test
    void refusesAnEndlessLineWithoutWaitingForItsNewline() throws IOException {
        // A peer that never sends a newline must not make the server buffer forever: the
        // error comes as soon as the limit is passed, not when (if ever) the line ends.
        byte[] endless = new byte[Protocol.MAX_LINE + 10];
        Arrays.fill(endless, (byte) 'c');
        try (TestClient c = new TestClient(server.port())) {
            c.send(endless);
            assertThat(c.readLine()).isEqualTo("ERR line too long\n");
            assertThat(c.endsStream()).isTrue();
        }
    }

    @Test
    void afterHalfCloseAnswersCompleteLinesThenCloses() throws IOException {
        try (TestClient c = new TestClient(server.port())) {
            c.send("first\nsecond\nno newline, discarded");
            c.shutdownOutput();   // FIN: "I will send no more", but I still read
            assertThat(new String(c.readToEnd(), StandardCharsets.UTF_8)).isEqualTo("first\nsecond\n");
        }
    }

    @Test
    void survivesAClientThatResets() throws IOException {
        try (TestClient victim = new TestClient(server.port())) {
            victim.send("half a li");
            victim.reset();
        }
        try (TestClient c = new TestClient(server.port())) {
            c.send("x".repeat(10_000) + "\n");
            c.reset();   // reset while the server may still be writing the echo
        }
        try (TestClient c = new TestClient(server.port())) {
            assertThat(c.roundTrip("alive\n")).isEqualTo("alive\n");
        }
    }

    @Test
    void survivesClientsThatLeaveWithoutReadingTheirAnswers() throws IOException {
        for (int i = 0; i < 20; i++) {
            try (TestClient c = new TestClient(server.port())) {
                c.send(("gone " + i + "\n").repeat(1000));
            }
        }
        try (TestClient c = new TestClient(server.port())) {
            assertThat(c.roundTrip("alive\n")).isEqualTo("alive\n");
        }
    }

    /** Random printable lines, 1 to 200 bytes each, exactly {@code total} bytes in all. */
    public static byte[] randomLines(int total, Random random) {
        byte[] b = new byte[total];
        int lineLeft = 0;
        for (int i = 0; i < total; i++) {
            if (lineLeft == 0) lineLeft = 1 + random.nextInt(200);
            b[i] = --lineLeft == 0 || i == total - 1 ? (byte) '\n' : (byte) (' ' + random.nextInt(95));
        }
        return b;
    }

    public static byte[] sha256(byte[] b) throws NoSuchAlgorithmException {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    /**
     * {@code close()} with a client still connected and being served (its thread, or its loop,
     * waits for its next line): it returns, without waiting for the client to leave, and the
     * descriptor check after the test finds everything released ({@link EchoServer#close}).
     */
    @Test
    void closeReturnsWhileAClientIsStillConnected() throws Exception {
        try (TestClient connected = new TestClient(server.port())) {
            assertThat(connected.roundTrip("being served\n")).isEqualTo("being served\n");
            CompletableFuture.runAsync(server::close).get(30, TimeUnit.SECONDS);
        }
    }
}
