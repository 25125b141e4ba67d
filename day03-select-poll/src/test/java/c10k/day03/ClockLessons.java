package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.Protocol;
import c10k.day01.StreamingWriter;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.function.LongSupplier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Day 3's two servers keep the protocol's clocks and end as gently as day 4's engine: a silent
 * client and a dripper closed with FIN, an active one kept, the error line followed by FIN
 * whatever the client still sends, and a shutdown that answers what it read. Shown on a clock
 * the test moves by hand (no sleeps); each server is one nested class of {@code ClocksTest}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
abstract class ClockLessons {

    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    /** A new, not yet started server on 127.0.0.1, port 0, with these clocks. */
    protected abstract EventLoopServer newServer(Timeouts timeouts, LongSupplier clock);

    /** Wakes the server's loop, so that it looks at the clock again. */
    protected abstract void wakeup(EventLoopServer server);

    private EventLoopServer server;

    private EventLoopServer start() throws IOException {
        server = newServer(Timeouts.ofSeconds(10, 10, 5), now::get);
        server.start();
        return server;
    }

    @AfterEach
    void closeAndCheckForLeaks() {
        if (server == null) return;
        server.close();
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
        wakeup(server);
    }

    @Test
    void theSilentAndTheDripperAreClosedGentlyTheActiveKept() throws Exception {
        start();
        try (TestClient silent = new TestClient(server.port());
             TestClient dripper = new TestClient(server.port());
             TestClient active = new TestClient(server.port())) {
            Fds.await("3 connections", Duration.ofSeconds(30), () -> server.connectionCount() == 3);
            advance(Duration.ofSeconds(6));
            assertThat(active.roundTrip("here\n")).isEqualTo("here\n");
            dripper.send("half a li");
            advance(Duration.ofSeconds(5));
            assertThat(silent.socket().getInputStream().read()).as("FIN, not a reset").isEqualTo(-1);
            assertThat(dripper.socket().getInputStream().read()).as("half a line is no activity").isEqualTo(-1);
            assertThat(active.roundTrip("still\n")).isEqualTo("still\n");
        }
    }

    @Test
    void theErrorLineIsFollowedByFinEvenWhenTheClientKeepsSending() throws Exception {
        start();
        try (TestClient c = new TestClient(server.port())) {
            byte[] tooLong = new byte[Protocol.MAX_LINE + 10_000];
            Arrays.fill(tooLong, (byte) 'x');
            c.send("first\n").send(tooLong);
            assertThat(c.readLine()).isEqualTo("first\n");
            assertThat(c.readLine()).isEqualTo("ERR line too long\n");
            assertThat(c.socket().getInputStream().read()).as("then FIN, not a reset").isEqualTo(-1);
        }
    }

    @Test
    void shutdownAnswersWhatItReadThenSendsFin() throws Exception {
        start();
        byte[] line = "a whole line or nothing\n".getBytes(StandardCharsets.US_ASCII);
        try (TestClient c = new TestClient(server.port())) {
            StreamingWriter writer = StreamingWriter.repeating(c.socket(), line);
            InputStream in = c.socket().getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            got.write(in.readNBytes(line.length));
            CompletableFuture<Void> stop = CompletableFuture.runAsync(() -> server.shutdownGracefully(Duration.ofSeconds(20)));
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) got.write(buf, 0, n);    // a reset would throw here
            c.close();
            writer.close();
            stop.get(60, TimeUnit.SECONDS);
            byte[] all = got.toByteArray();
            assertThat(all.length % line.length).isZero();
            for (int i = 0; i < all.length; i += line.length) assertThat(Arrays.copyOfRange(all, i, i + line.length)).isEqualTo(line);
        }
        assertThat(server.connectionCount()).isZero();
    }
}
