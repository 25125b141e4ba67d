package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Day 4's clocks on N threads, with a clock the test moves by hand: nothing sleeps.
 * A timer may run out on a thread that does not own the connection; it must then leave the
 * closing to the owner, and the owner must not miss it.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class SharedTimersTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong(1_000 * SECOND);
    private SharedEpollServer server;

    private SharedEpollServer start(Timeouts timeouts) throws Exception {
        server = new SharedEpollServer("127.0.0.1", 0, 2, Handlers.ECHO).timeouts(timeouts).clock(now::get);
        server.start();
        return server;
    }

    @AfterEach
    void stop() {
        if (server == null) return;
        server.close();
    }

    private void advance(long seconds) {
        now.addAndGet(seconds * SECOND);
        server.wakeup();   // a thread wakes, reads the clock, and finds what is due
    }

    @Test
    void silentAndDrippingClientsAreClosedAtTheirDeadlineAndAnActiveOneIsKept() throws Exception {
        SharedEpollServer s = start(Timeouts.ofSeconds(10, 10, 5));
        try (TestClient silent = new TestClient(s.port());
             TestClient dripper = new TestClient(s.port());
             TestClient active = new TestClient(s.port())) {
            Fds.await("three connections", PATIENCE, () -> s.connectionCount() == 3);
            dripper.send("half a li");
            assertThat(active.roundTrip("one\n")).isEqualTo("one\n");

            advance(6);
            dripper.send("n");                        // bytes, but no complete line: not activity
            assertThat(active.roundTrip("two\n")).isEqualTo("two\n");   // a line: its idle clock restarts

            advance(5);                               // 11 s after the start: past the first two deadlines
            assertThat(silent.endsStream()).as("silent for 10 s: closed").isTrue();
            assertThat(dripper.endsStream()).as("10 s without a whole line: closed").isTrue();
            assertThat(active.roundTrip("three\n")).as("its last line was 5 s ago").isEqualTo("three\n");
            assertThat(s.timeoutsFired()).isEqualTo(2);
        }
        Fds.await("every connection closed", PATIENCE, () -> s.connectionCount() == 0);
    }

    @Test
    void aReaderThatNeverReadsIsClosedByTheSendTimeout() throws Exception {
        SharedEpollServer s = start(Timeouts.ofSeconds(0, 10, 5));
        byte[] chunk = new byte[64 * 1024];
        Arrays.fill(chunk, (byte) 'z');
        for (int i = 1023; i < chunk.length; i += 1024) chunk[i] = '\n';
        try (ExecutorService writerThread = Executors.newSingleThreadExecutor();
             TestClient stalled = new TestClient(s.port());
             TestClient polite = new TestClient(s.port())) {
            Future<?> writer = writerThread.submit(() -> {
                OutputStream out = stalled.socket().getOutputStream();
                for (int i = 0; i < 1024; i++) out.write(chunk);   // 64 MiB it never reads the answers to
                return null;
            });
            Fds.await("backpressure on the stalled reader", PATIENCE, () -> s.readPausedCount() == 1);
            // Its output makes no progress any more; each step moves the clock past the send timeout.
            Fds.await("the stalled reader closed", PATIENCE, () -> {
                advance(11);
                return s.connectionCount() == 1;
            });
            assertThat(polite.roundTrip("unaffected\n")).isEqualTo("unaffected\n");
            assertThat(s.timeoutsFired()).isEqualTo(1);
            stalled.close();
            writer.cancel(true);
        }
    }

    @Test
    void aClosedConnectionsTimerNeverFires() throws Exception {
        SharedEpollServer s = start(Timeouts.ofSeconds(10, 10, 5));
        try (TestClient c = new TestClient(s.port())) {
            assertThat(c.roundTrip("bye\n")).isEqualTo("bye\n");
        }
        Fds.await("the connection closed", PATIENCE, () -> s.connectionCount() == 0);
        long before = s.wakeups();
        advance(60);
        Fds.await("a thread woke and looked at the clock", PATIENCE, () -> s.wakeups() > before);
        assertThat(s.timeoutsFired()).isZero();
    }
}
