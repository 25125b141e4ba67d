package c10k.day02;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.LingeringCloseContract;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Day 2's timeouts are socket read timeouts, and its refusals lingering closes. The
 * idle deadline is measured on a clock the tests hold: they advance it instead of sleeping.
 */
class Day02TimeoutsTest {

    static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);
    static final Duration IDLE = Duration.ofSeconds(10);

    @Nested
    class PlatformLingeringClose extends LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.PLATFORM, Timeouts.DEFAULTS);
        }
    }

    @Nested
    class VirtualLingeringClose extends LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.VIRTUAL, Timeouts.DEFAULTS);
        }
    }

    @Nested
    class PoolLingeringClose extends LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return new PooledServer(ANY_PORT, 2, Timeouts.DEFAULTS);
        }
    }

    /** The idle timeout, on a fake clock: only a complete line moves the deadline. */
    @Nested
    class IdleTimeoutOnAFakeClock extends ServerTestBase {
        final AtomicLong now = new AtomicLong();
        /** How often the server has read the clock: serve() reads it once to start, once per pass, once after each answer. */
        final AtomicLong clockReads = new AtomicLong();

        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.VIRTUAL,
                    new Timeouts(IDLE, Duration.ZERO, Duration.ofSeconds(5)), () -> {
                        clockReads.incrementAndGet();
                        return now.get();
                    });
        }

        void advance(Duration d) {
            now.addAndGet(d.toNanos());
        }

        @Test
        void aClientThatKeepsSendingLinesIsKept() throws Exception {
            try (TestClient c = new TestClient(server.port())) {
                for (int i = 0; i < 5; i++) {
                    assertThat(c.roundTrip("line " + i + "\n")).isEqualTo("line " + i + "\n");
                    advance(IDLE.minusSeconds(1));   // 45 s in all, never 10 s without a line
                }
                assertThat(c.roundTrip("still here\n")).isEqualTo("still here\n");
            }
        }

        @Test
        void bytesThatCompleteNoLineDoNotPutOffTheDeadline() throws Exception {
            try (TestClient c = new TestClient(server.port())) {
                assertThat(c.roundTrip("hello\n")).isEqualTo("hello\n");   // the deadline: now + 10 s
                // The server restarts its deadline just after it has sent the answer: the clock is
                // moved only once it has been read for that (its third read), or the deadline
                // would be taken from the moved clock.
                c10k.day01.Fds.await("the deadline restarted", Duration.ofSeconds(30), () -> clockReads.get() >= 3);
                advance(IDLE.minusSeconds(1));
                c.send("a slow");                  // a byte-dripper: bytes, but no line
                advance(Duration.ofSeconds(2));    // 11 s since the last complete line
                c.send("loris");                   // wakes the server's read: past the deadline
                assertThat(c.socket().getInputStream().read()).as("closed, with FIN").isEqualTo(-1);
            }
        }
    }

    /** The idle timeout on the real clock, short: a silent client is closed, whoever serves it. */
    @Nested
    class IdleTimeoutForReal extends ServerTestBase {
        @Override
        protected EchoServer newServer() {
            return new PooledServer(ANY_PORT, 1, new Timeouts(Duration.ofMillis(200), Duration.ZERO, Duration.ofSeconds(5)));
        }

        @Test
        void aSilentClientIsClosedAndItsWorkerFreed() throws Exception {
            PooledServer pool = (PooledServer) server;
            try (TestClient silent = new TestClient(server.port()); TestClient next = new TestClient(server.port())) {
                assertThat(silent.roundTrip("hello, then silence\n")).isEqualTo("hello, then silence\n");
                next.send("my turn?\n");           // queued behind the only worker...
                assertThat(silent.socket().getInputStream().read()).as("closed at its idle deadline").isEqualTo(-1);
                assertThat(next.readLine()).as("...which the timeout freed").isEqualTo("my turn?\n");
                assertThat(pool.workerThreads()).isEqualTo(1);
            }
        }
    }

    @Nested
    class ARefusalWhenThePoolIsFull extends ServerTestBase {
        @Override
        protected EchoServer newServer() {
            return new PooledServer(ANY_PORT, 1, 1, Timeouts.NONE, System::nanoTime);
        }

        @Test
        void reachesAClientThatIsStillSendingThenEndsWithFin() throws Exception {
            PooledServer pool = (PooledServer) server;
            try (TestClient busy = new TestClient(server.port()); TestClient queued = new TestClient(server.port())) {
                assertThat(busy.roundTrip("I hold the worker\n")).isEqualTo("I hold the worker\n");
                queued.send("I wait\n");
                Fds.await("the second client to be queued", Duration.ofSeconds(10), () -> pool.waitingConnections() == 1);
                try (TestClient refused = new TestClient(server.port())) {
                    // Lines the server will never read: closing over them would reset.
                    refused.send("please\n".repeat(20_000));
                    assertThat(refused.readLine()).isEqualTo("ERR server busy\n");
                    InputStream in = refused.socket().getInputStream();
                    assertThat(in.read()).as("FIN, not RST").isEqualTo(-1);
                }
                busy.close();
                assertThat(queued.readLine()).isEqualTo("I wait\n");
                assertThat(pool.stats().snapshot().refused()).isEqualTo(1);
            }
        }
    }

    /** --stats in the thread-per-client modes: each thread counts, and folds its figures in as it ends. */
    @Nested
    class StatsOfAThreadPerClient extends ServerTestBase {
        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.VIRTUAL);
        }

        @Test
        void countsEveryClientAndKeepsTheFiguresOfThoseThatLeft() throws Exception {
            ThreadPerClientServer s = (ThreadPerClientServer) server;
            for (int i = 0; i < 3; i++) {
                try (TestClient c = new TestClient(server.port())) {
                    assertThat(c.roundTrip("one\n")).isEqualTo("one\n");
                    assertThat(c.roundTrip("two\n")).isEqualTo("two\n");
                }
            }
            Fds.await("the three server threads to end", Duration.ofSeconds(10), () -> s.stats().snapshot().closed() == 3);
            var snapshot = s.stats().snapshot();
            assertThat(snapshot.accepted()).isEqualTo(3);
            assertThat(snapshot.open()).isZero();
            assertThat(snapshot.lines()).isEqualTo(6);
            assertThat(snapshot.bytesIn()).isEqualTo(24);
            assertThat(snapshot.bytesOut()).isEqualTo(24);
        }
    }
}
