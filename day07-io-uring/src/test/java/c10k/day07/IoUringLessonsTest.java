package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day03.Outbox;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * What this day's server must do beyond the contract, in both modes: backpressure, the
 * three clocks (on a fake clock the test moves), the graceful shutdown, batching, and what
 * an idle connection holds.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class IoUringLessonsTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    /** The tests' clocks: idle and send timeouts of 10 s, on a clock only the test moves. */
    static final Timeouts TEN_SECONDS = Timeouts.ofSeconds(10, 10, 5);
    static final long SECOND = 1_000_000_000L;
    /** multishot: a small ring, so that the lag of a pause (one batch of buffers) stays small too. */
    static final int RING_BUFFERS = 16, RING_BUFFER_SIZE = 4096;
    /**
     * More than the kernel's buffers can absorb: loopback TCP auto-tunes a socket's buffers up
     * to several MiB each way (tcp_rmem, tcp_wmem), and a peer that does not read must make
     * the server's own output pile up.
     */
    static final int PAYLOAD = 32 * 1024 * 1024;

    @Nested
    class Basic extends Lessons {
        Basic() {
            super(IoUringEchoServer.Mode.BASIC);
        }
    }

    @Nested
    class Multishot extends Lessons {
        Multishot() {
            super(IoUringEchoServer.Mode.MULTISHOT);
        }
    }

    abstract static class Lessons extends ServerTestBase {
        final IoUringEchoServer.Mode mode;
        final AtomicLong clock = new AtomicLong(1_000 * SECOND);
        /** Turns the loop has begun; and time to pass at the top of the next one, as if its last turn had been long. */
        final AtomicLong turns = new AtomicLong(), lateBy = new AtomicLong();

        Lessons(IoUringEchoServer.Mode mode) {
            this.mode = mode;
        }

        IoUringEchoServer uring() {
            return (IoUringEchoServer) server;
        }

        @Override
        protected EchoServer newServer() {
            IoUringAvailable.assume(mode);
            return new IoUringEchoServer("127.0.0.1", 0, mode, 1, TEN_SECONDS)
                    .withClock(clock::get)
                    .withTurnHook(() -> {
                        turns.incrementAndGet();
                        clock.addAndGet(lateBy.getAndSet(0));
                    })
                    .withBufferRing(RING_BUFFERS, RING_BUFFER_SIZE);
        }

        void advance(long nanos) {
            clock.addAndGet(nanos);
            uring().wakeUp();
        }

        @Test
        void anIdleConnectionHoldsAReceiveBufferOnlyInBasicMode() throws Exception {
            List<TestClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) {
                    TestClient c = new TestClient(server.port());
                    clients.add(c);
                    assertThat(c.roundTrip("hi " + i + "\n")).isEqualTo("hi " + i + "\n");
                }
                Fds.await("50 connections", WAIT, () -> uring().connectionCount() == 50);
                // basic: every connection keeps a recv in flight, so it pins a buffer even while
                // it says nothing. multishot: the kernel picks a buffer when data arrives.
                int expected = mode == IoUringEchoServer.Mode.BASIC ? 50 : 0;
                Fds.await("buffers held", WAIT, () -> uring().recvBuffersHeld() == expected);
            } finally {
                for (TestClient c : clients) c.close();
            }
        }

        @Test
        void manyLinesInOneWriteCostAFewSystemCallsNotOneEach() throws Exception {
            StringBuilder lines = new StringBuilder();
            for (int i = 0; i < 1_000; i++) lines.append("line ").append(i).append('\n');
            byte[] request = lines.toString().getBytes(StandardCharsets.US_ASCII);
            try (TestClient c = new TestClient(server.port())) {
                assertThat(c.roundTrip("warm\n")).isEqualTo("warm\n");
                long before = uring().enters();
                c.send(request);
                assertThat(c.readExactly(request.length)).isEqualTo(request);
                // Each turn is one io_uring_enter that submits the sends and the re-armed
                // recv together and collects their completions; 1,000 lines that arrive in a
                // few reads need a few turns. A bound, not a count: how TCP cuts one 8.9 KB
                // write into reads is the kernel's choice, but no cut makes a turn per line.
                assertThat(uring().enters() - before).isLessThan(100);
            }
        }

        @Test
        void stopsReadingAPeerThatDoesNotReadAndResumesWhenItDoes() throws Exception {
            byte[] payload = EchoContract.randomLines(PAYLOAD, new Random(7));
            try (TestClient c = new TestClient(server.port());
                 ExecutorService writer = Executors.newSingleThreadExecutor()) {
                Future<?> sent = writer.submit(() -> {
                    OutputStream out = c.socket().getOutputStream();
                    out.write(payload);
                    out.flush();
                    return null;
                });
                // We do not read: the kernel buffers fill, the server's unsent output grows past
                // the high-water mark, and it stops reading from us.
                Fds.await("reading paused", WAIT, () -> uring().stats().snapshot().pausedReaders() == 1);
                // Bounded: the high-water mark plus what one turn can bring in (one recv in basic
                // mode; in multishot mode, what the kernel put in buffers before the cancel), plus
                // the start of a line that an earlier turn brought in: the framer held those bytes,
                // not the outbox, and they become output with the turn that brings the newline
                // (days 3 and 5 bound it the same way, with Protocol.MAX_LINE).
                int oneTurn = mode == IoUringEchoServer.Mode.BASIC ? 16 * 1024 : RING_BUFFERS * RING_BUFFER_SIZE;
                int bound = Outbox.HIGH_WATER + oneTurn + longestLine(payload) - 1;
                assertThat(uring().largestUnsent()).isLessThanOrEqualTo(bound);

                byte[] echoed = c.readExactly(payload.length);   // now read: it resumes
                sent.get(20, TimeUnit.SECONDS);
                assertThat(Arrays.equals(echoed, payload)).as("every byte, in order").isTrue();
                assertThat(uring().stats().snapshot().pausedReaders()).isZero();
                assertThat(uring().largestUnsent()).isLessThanOrEqualTo(bound);
            }
        }

        private static int longestLine(byte[] lines) {
            int longest = 0;
            for (int i = 0, start = 0; i < lines.length; i++) {
                if (lines[i] == '\n') {
                    longest = Math.max(longest, i + 1 - start);
                    start = i + 1;
                }
            }
            return longest;
        }

        @Test
        void closesAConnectionThatSendsNoCompleteLineForTheIdleTimeout() throws Exception {
            try (TestClient talker = new TestClient(server.port()); TestClient dripper = new TestClient(server.port())) {
                assertThat(talker.roundTrip("hello\n")).isEqualTo("hello\n");
                dripper.send("no newline yet");               // bytes, but no complete line
                Fds.await("both accepted", WAIT, () -> uring().connectionCount() == 2);
                advance(6 * SECOND);
                assertThat(talker.roundTrip("still here\n")).isEqualTo("still here\n");   // its clock restarts
                dripper.send(", still none");                 // a slowloris: activity, not a line
                advance(5 * SECOND);                          // 11 s since the dripper's last line (its accept)

                assertThat(dripper.endsStream()).as("the dripper is closed").isTrue();
                assertThat(talker.roundTrip("and now?\n")).as("6 s since the talker's last line").isEqualTo("and now?\n");
                assertThat(uring().stats().snapshot().timeouts()).isEqualTo(1);
            }
        }

        @Test
        void closesAConnectionWhoseAnswersMakeNoProgressForTheSendTimeout() throws Exception {
            byte[] payload = EchoContract.randomLines(PAYLOAD, new Random(9));
            try (TestClient c = new TestClient(server.port());
                 ExecutorService writer = Executors.newSingleThreadExecutor()) {
                writer.submit(() -> {
                    c.socket().getOutputStream().write(payload);
                    return null;
                });
                Fds.await("reading paused", WAIT, () -> uring().stats().snapshot().pausedReaders() == 1);
                // The peer never reads. Each step moves the clock past the send timeout; the
                // sends still in progress restart it, until the buffers are full and nothing moves.
                Fds.await("closed by the send timeout", WAIT, () -> {
                    advance(11 * SECOND);
                    return uring().connectionCount() == 0;
                });
                assertThat(uring().stats().snapshot().timeouts()).isEqualTo(1);
                c.reset();
            }
        }

        @Test
        void shutsDownGracefullyWholeLinesThenFin() throws Exception {
            StringBuilder many = new StringBuilder();
            for (int i = 0; i < 2_000; i++) many.append("pending ").append(i).append('\n');
            try (TestClient reader = new TestClient(server.port()); TestClient unread = new TestClient(server.port())) {
                assertThat(reader.roundTrip("one\n")).isEqualTo("one\n");
                unread.send(many.toString() + "and half a line");   // answers not read yet
                Fds.await("all lines read by the server", WAIT, () -> uring().stats().snapshot().lines() >= 2_001);

                CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> uring().shutdownGracefully(Duration.ofSeconds(5)));
                // Each client gets every answer it was owed, whole, then a clean end of stream.
                assertThat(reader.readToEnd()).as("FIN, not RST").isEmpty();
                assertThat(new String(unread.readToEnd(), StandardCharsets.US_ASCII)).isEqualTo(many.toString());
                reader.close();
                unread.close();   // the server was reading and discarding until this FIN
                shutdown.get(20, TimeUnit.SECONDS);
                assertThat(uring().connectionCount()).isZero();
            }
        }

        @Test
        void theDrainTimeoutEndsAShutdownThatAClientWillNotFinish() throws Exception {
            try (TestClient stubborn = new TestClient(server.port())) {
                assertThat(stubborn.roundTrip("x\n")).isEqualTo("x\n");
                CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> uring().shutdownGracefully(Duration.ofSeconds(10)));
                assertThat(stubborn.readToEnd()).isEmpty();      // our FIN arrived; we never close
                Fds.await("draining", WAIT, () -> !shutdown.isDone());
                advance(11 * SECOND);                            // the drain deadline passes
                shutdown.get(20, TimeUnit.SECONDS);
            }
        }

        /**
         * The loop reads the clock once per turn, after its wait; a turn that handled a large
         * batch of completions (seconds, on a slow machine) leaves that reading old. The drain
         * must start from when the shutdown begins, or the old reading eats into it and the
         * answers still being sent are cut off.
         */
        @Test
        void theShutdownsDrainStartsWhenTheShutdownBeginsEvenAfterALongTurn() throws Exception {
            try (TestClient stubborn = new TestClient(server.port())) {
                assertThat(stubborn.roundTrip("x\n")).isEqualTo("x\n");
                lateBy.set(4 * SECOND);                          // the turn that sees the shutdown began 4 s late
                CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> uring().shutdownGracefully(Duration.ofSeconds(5)));
                assertThat(stubborn.readToEnd()).isEmpty();      // our FIN: the drain has begun
                advance(2 * SECOND);                             // 2 s into a 5 s drain
                long seen = turns.get();
                Fds.await("turns after the clock moved", WAIT, () -> {
                    uring().wakeUp();
                    return turns.get() >= seen + 4 || shutdown.isDone();
                });
                assertThat(uring().connectionCount()).as("still draining").isEqualTo(1);
                assertThat(shutdown).isNotDone();
                advance(4 * SECOND);                             // now past the drain
                shutdown.get(20, TimeUnit.SECONDS);
            }
        }

        @Test
        void aLineTooLongIsAnsweredThenTheConnectionLingers() throws Exception {
            byte[] tooLong = new byte[c10k.day01.Protocol.MAX_LINE + 100];
            Arrays.fill(tooLong, (byte) 'z');
            try (TestClient c = new TestClient(server.port())) {
                c.send("ok\n").send(tooLong);
                assertThat(c.readLine()).isEqualTo("ok\n");
                assertThat(c.readLine()).isEqualTo("ERR line too long\n");
                // Our side is shut down (FIN), but the server still reads and discards, so more
                // bytes from us cause no RST that could destroy answers we had not read.
                c.send("ignored\n".repeat(100));
                assertThat(c.readToEnd()).isEmpty();
            }
        }
    }
}
