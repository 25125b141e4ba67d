package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.Protocol;
import c10k.day01.StreamingWriter;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the engine gives every epoll server of days 4 to 6, shown on each: timers that close
 * the connections nobody would otherwise close, a graceful shutdown that loses no answer, and
 * a failure policy in which one failed system call costs one connection at most.
 *
 * <p>Time is a clock the test moves by hand ({@link #advance}): no test sleeps, and none
 * depends on how fast the machine is. Faults are injected through {@link Faults}, the seam in
 * the bindings, since a real kernel gives {@code ENOBUFS} or a failed {@code epoll_ctl} only
 * when it likes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
public abstract class EngineLessons {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final Timeouts TIMEOUTS = Timeouts.ofSeconds(10, 10, 5);

    /** A new, not yet started server on 127.0.0.1, port 0. */
    protected abstract EpollServer newServer();

    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    private final List<Throwable> fatal = new ArrayList<>();
    private final CountDownLatch fatalReported = new CountDownLatch(1);
    private EpollServer server;

    private EpollServer start() throws IOException {
        server = newServer();
        server.timeouts(TIMEOUTS).clock(now::get).onFatal(e -> {
            fatal.add(e);
            fatalReported.countDown();
        });
        server.start();
        return server;
    }

    @AfterEach
    void closeAndCheckForLeaks() {
        Faults.clear();
        if (server == null) return;
        server.close();
    }

    /** Moves the server's clock and wakes its loop, which looks at its timers on the way. */
    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
        server.wakeup();
    }

    private void awaitConnections(int n) {
        Fds.await(n + " connections", PATIENCE, () -> server.connectionCount() == n);
    }

    @Test
    void timersCloseTheSilentAndTheDripperAndKeepTheActive() throws Exception {
        start();
        try (TestClient silent = new TestClient(server.port());
             TestClient dripper = new TestClient(server.port());
             TestClient active = new TestClient(server.port())) {
            awaitConnections(3);
            advance(Duration.ofSeconds(6));
            assertThat(active.roundTrip("still here\n")).isEqualTo("still here\n");   // a complete line: its clock restarts
            dripper.send("half a li");                                              // bytes, but no line: no restart
            advance(Duration.ofSeconds(5));                                          // 11 s: past the first deadlines
            assertThat(silent.endsStream()).as("silent for 10 s: closed").isTrue();
            assertThat(dripper.endsStream()).as("a line that never ends is no activity").isTrue();
            assertThat(active.roundTrip("and here\n")).as("active 5 s ago: kept").isEqualTo("and here\n");
            assertThat(server.timeoutsFired()).isEqualTo(2);
        }
    }

    @Test
    void theIdleCloseIsGentleAClientReadsEofNotAReset() throws Exception {
        start();
        try (TestClient c = new TestClient(server.port())) {
            assertThat(c.roundTrip("one\n")).isEqualTo("one\n");
            c.send("unfinished");                       // unread input would turn a plain close into RST
            advance(Duration.ofSeconds(11));
            InputStream in = c.socket().getInputStream();
            assertThat(in.read()).as("FIN, not a reset: read() says end of stream").isEqualTo(-1);
        }
    }

    @Test
    void aReaderThatNeverReadsIsClosedByTheSendTimeout() throws Exception {
        start();
        try (TestClient stalled = new TestClient(server.port()); TestClient polite = new TestClient(server.port())) {
            awaitConnections(2);
            byte[] lines = new byte[1 << 20];
            Arrays.fill(lines, (byte) '\n');
            // Blocks once both kernels' buffers are full; ends when the server closes it.
            StreamingWriter writer = StreamingWriter.repeating(stalled.socket(), lines);
            Fds.await("the stalled reader paused", PATIENCE, () -> server.readPausedCount() == 1);
            advance(Duration.ofSeconds(6));
            assertThat(polite.roundTrip("ping\n")).isEqualTo("ping\n");
            assertThat(server.connectionCount()).as("6 s without progress: not yet").isEqualTo(2);
            advance(Duration.ofSeconds(5));
            awaitConnections(1);
            assertThat(polite.roundTrip("pong\n")).as("the polite client lives on").isEqualTo("pong\n");
            stalled.close();
            writer.close();
        }
    }

    /**
     * A short read says the socket is empty (epoll(7)), so the loops skip the recv that would
     * only say EAGAIN. Not once the peer's FIN was reported: a FIN that came with the last line
     * came in the same event, and no later edge will announce it. The loop is held while both
     * arrive, so that they are one event; a loop that trusted the short read would answer the
     * line and then wait for an edge that never comes, and the client would never read EOF.
     */
    @Test
    void aFinThatCameWithTheLastLineIsStillSeen() throws Exception {
        start();
        java.util.concurrent.Semaphore go = new java.util.concurrent.Semaphore(0);
        CountDownLatch held = new CountDownLatch(1);
        AtomicBoolean hold = new AtomicBoolean();
        server.beforeEachWait(() -> {
            if (hold.getAndSet(false)) {
                held.countDown();
                go.acquireUninterruptibly();
            }
        });
        try (TestClient c = new TestClient(server.port())) {
            awaitConnections(1);
            hold.set(true);
            server.wakeup();                             // the loop wakes, and parks before its next epoll_wait
            assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
            c.send("the last line\n");
            c.shutdownOutput();                          // the line and the FIN wait together
            go.release();
            assertThat(c.readLine()).isEqualTo("the last line\n");
            assertThat(c.endsStream()).as("the FIN behind the line was read: the server closed too").isTrue();
        } finally {
            go.release(10);                              // never leave the loop parked
        }
    }

    @Test
    void aConnectionThatClosedNeverTimesOut() throws Exception {
        start();
        try (TestClient gone = new TestClient(server.port()); TestClient probe = new TestClient(server.port())) {
            awaitConnections(2);
            gone.close();
            awaitConnections(1);
            advance(Duration.ofSeconds(6));
            assertThat(probe.roundTrip("a\n")).isEqualTo("a\n");
            advance(Duration.ofSeconds(6));            // past gone's deadline; probe's restarted at 6 s
            assertThat(probe.roundTrip("b\n")).isEqualTo("b\n");
            assertThat(probe.roundTrip("c\n")).isEqualTo("c\n");   // a second pass: the timers have run
            assertThat(server.timeoutsFired()).as("a closed connection's timer is gone with it").isZero();
        }
    }

    @Test
    void anErrorLineIsFollowedByFinEvenWhenTheClientKeepsSending() throws Exception {
        start();
        try (TestClient c = new TestClient(server.port())) {
            byte[] tooLong = new byte[Protocol.MAX_LINE + 10_000];
            Arrays.fill(tooLong, (byte) 'x');
            c.send("first\n").send(tooLong);            // the client has sent more than the server will read
            assertThat(c.readLine()).isEqualTo("first\n");
            assertThat(c.readLine()).isEqualTo("ERR line too long\n");
            assertThat(c.socket().getInputStream().read()).as("then FIN: the unread input did not make it a reset").isEqualTo(-1);
        }
    }

    @Test
    void gracefulShutdownAnswersWhatItReadThenSendsFin() throws Exception {
        start();
        int clients = 20;
        byte[] line = "a line of the stream, whole or not at all\n".getBytes(StandardCharsets.US_ASCII);
        List<TestClient> streams = new ArrayList<>();
        for (int i = 0; i < clients; i++) streams.add(new TestClient(server.port()));
        awaitConnections(clients);
        List<StreamingWriter> writers = new ArrayList<>();
        CountDownLatch allAnswered = new CountDownLatch(clients);
        // Platform threads: a virtual thread whose write never blocks (the server drains fast)
        // never yields its carrier, and the readers would never run.
        try (ExecutorService pool = Executors.newFixedThreadPool(2 * clients)) {
            List<Future<byte[]>> received = new ArrayList<>();
            for (TestClient c : streams) {
                writers.add(StreamingWriter.repeating(c.socket(), line));   // until the client side closes below
                received.add(pool.submit(() -> {
                    InputStream in = c.socket().getInputStream();
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    byte[] buf = new byte[8192];
                    boolean counted = false;
                    int n;
                    while ((n = in.read(buf)) >= 0) {              // a reset would throw here
                        got.write(buf, 0, n);
                        if (!counted && got.size() >= line.length) {
                            counted = true;
                            allAnswered.countDown();
                        }
                    }
                    c.close();                                     // our FIN: the server's drain ends
                    return got.toByteArray();
                }));
            }
            assertThat(allAnswered.await(30, TimeUnit.SECONDS)).as("every client is being answered").isTrue();
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> server.shutdownGracefully(Duration.ofSeconds(20)));
            for (Future<byte[]> r : received) {
                byte[] got = r.get(60, TimeUnit.SECONDS);
                assertThat(got.length % line.length).as("whole lines only").isZero();
                for (int i = 0; i < got.length; i += line.length) {
                    assertThat(Arrays.copyOfRange(got, i, i + line.length)).isEqualTo(line);
                }
            }
            shutdown.get(60, TimeUnit.SECONDS);
            for (StreamingWriter w : writers) w.close();
        }
        assertThat(server.connectionCount()).isZero();
        try (java.net.Socket late = new java.net.Socket()) {
            assertThat(catchConnect(late)).as("the listener is closed").isTrue();
        }
    }

    private boolean catchConnect(java.net.Socket s) {
        try {
            s.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()), 5_000);
            return false;
        } catch (IOException refused) {
            return true;
        }
    }

    @Test
    void transientAcceptErrorsCostNothingAndAcceptingGoesOn() throws Exception {
        start();
        try (TestClient before = new TestClient(server.port())) {
            assertThat(before.roundTrip("before\n")).isEqualTo("before\n");
            for (int errno : new int[] {105 /* ENOBUFS */, 71 /* EPROTO */, Errno.ECONNABORTED, 12 /* ENOMEM */}) {
                Faults.failNext("accept4", errno, 1);
                try (TestClient next = new TestClient(server.port())) {
                    assertThat(next.roundTrip("after " + errno + "\n")).isEqualTo("after " + errno + "\n");
                }
                assertThat(Faults.remaining("accept4")).as("the fault was met").isZero();
                assertThat(before.roundTrip("still\n")).isEqualTo("still\n");
            }
        }
        assertThat(fatal).isEmpty();
    }

    @Test
    void aFailedRegistrationClosesThatClientOnly() throws Exception {
        start();
        try (TestClient before = new TestClient(server.port())) {
            assertThat(before.roundTrip("before\n")).isEqualTo("before\n");
            Faults.failNext("epoll_ctl(ADD)", Errno.ENOMEM, 1);
            try (TestClient unlucky = new TestClient(server.port())) {
                assertThat(unlucky.endsStream()).as("the one client epoll could not take is closed").isTrue();
            }
            try (TestClient next = new TestClient(server.port())) {
                assertThat(next.roundTrip("next\n")).isEqualTo("next\n");
            }
            assertThat(before.roundTrip("still\n")).isEqualTo("still\n");
        }
        assertThat(fatal).isEmpty();
    }

    @Test
    void aBrokenEpollEndsTheLoopSayingWhyAndClosesEveryone() throws Exception {
        start();
        try (TestClient c = new TestClient(server.port())) {
            assertThat(c.roundTrip("hello\n")).isEqualTo("hello\n");
            Faults.failNext("epoll_wait", Errno.EBADF, 1);
            server.wakeup();
            assertThat(fatalReported.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(fatal.get(0)).hasMessageContaining("epoll_wait").hasMessageContaining("EBADF");
            assertThat(c.endsStream()).as("no client is left half served").isTrue();
        }
    }
}
