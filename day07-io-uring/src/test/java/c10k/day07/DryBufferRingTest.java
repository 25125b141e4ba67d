package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day07.sys.KernelCeiling;
import c10k.day07.sys.KernelFeatures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Multishot mode with more busy connections than provided buffers: the shape of the bench's
 * 10,000 busy connections, in a test's size (32 clients, 4 buffers of 1 KiB).
 *
 * <p>The fault is made through the server's turn hook: the loop is held before it enters
 * the kernel while every client sends a line, and let go only when the server's kernel has
 * taken all 32 lines (every client's unacknowledged bytes at 0 in /proc/net/tcp6: no sleep,
 * no guess). Whenever the kernel runs the 32 receives meanwhile, it runs them all before
 * the loop reaps a completion, so before any buffer can come back.
 *
 * <p>With whole buffers, one per receive, 4 receives get one and 28 end in ENOBUFS: the bug
 * behind multishot's collapse at 10,000 busy connections, where most completions were
 * ENOBUFS, re-armed, ENOBUFS again, and clients waited seconds for a turn. Incremental
 * buffers put the 32 lines side by side in the first buffer. Both must answer every client:
 * a receive that ended in ENOBUFS and was never re-armed would leave its client waiting
 * forever.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class DryBufferRingTest {

    static final int CLIENTS = 32, BUFFERS = 4, BUFFER_SIZE = 1024;
    static final Duration WAIT = Duration.ofSeconds(20);

    abstract static class Scenario extends ServerTestBase {
        /** Permits to run a turn; the hook takes one each turn once {@link #hold} is set. */
        final Semaphore turns = new Semaphore(0);
        /** One permit each time the loop stops at the hook. */
        final Semaphore held = new Semaphore(0);
        volatile boolean hold;
        final List<TestClient> clients = new ArrayList<>();

        abstract boolean incremental();

        IoUringEchoServer uring() {
            return (IoUringEchoServer) server;
        }

        @Override
        protected EchoServer newServer() {
            IoUringAvailable.assume(IoUringEchoServer.Mode.MULTISHOT);
            return new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.MULTISHOT, 1, Timeouts.DEFAULTS)
                    .withBufferRing(BUFFERS, BUFFER_SIZE)
                    .withIncrementalBuffers(incremental())
                    .withTurnHook(() -> {
                        if (!hold) return;
                        held.release();
                        turns.acquireUninterruptibly();
                    });
        }

        @AfterEach
        void letGoAndCloseClients() throws IOException {
            hold = false;
            turns.release(1_000);
            for (TestClient c : clients) c.close();
        }

        /** Every client sends one line while the loop is held; returns the ENOBUFS this cost. */
        long linesArrivingInOneTurn(String round) throws Exception {
            long before = uring().enobufs();
            hold = true;
            uring().wakeUp();   // the loop comes round to the hook and waits there
            held.acquire();
            for (int i = 0; i < CLIENTS; i++) clients.get(i).send(line(round, i));
            Fds.await(CLIENTS + " lines taken by the server's kernel", WAIT, () -> unacknowledged(server.port(), clients) == 0);
            hold = false;
            turns.release();
            for (int i = 0; i < CLIENTS; i++) assertThat(clients.get(i).readLine()).isEqualTo(line(round, i));
            return uring().enobufs() - before;
        }

        void connectAll() throws IOException {
            for (int i = 0; i < CLIENTS; i++) {
                TestClient c = new TestClient(server.port());
                clients.add(c);
                assertThat(c.roundTrip(line("hello", i))).isEqualTo(line("hello", i));
            }
        }
    }

    @Nested
    class WholeBuffers extends Scenario {
        @Override
        boolean incremental() {
            return false;
        }

        @Test
        void aDryRingEndsMostReceivesAndEachOneIsReArmedAndAnswered() throws Exception {
            connectAll();
            long enobufs = linesArrivingInOneTurn("one");
            assertThat(enobufs).as("receives that found the ring dry").isGreaterThanOrEqualTo(CLIENTS - BUFFERS);
            // Re-armed, not lost: each connection still reads its next line.
            for (int i = 0; i < CLIENTS; i++) assertThat(clients.get(i).roundTrip(line("two", i))).isEqualTo(line("two", i));
        }
    }

    @Nested
    class IncrementalBuffers extends Scenario {
        @Override
        boolean incremental() {
            return true;
        }

        @Test
        void linesThatArriveTogetherShareABufferAndNoReceiveEndsInEnobufs() throws Exception {
            org.junit.jupiter.api.Assumptions.assumeTrue(kernelConsumesIncrementally(),
                    "incremental provided buffers need Linux 6.12");
            connectAll();
            assertThat(linesArrivingInOneTurn("one")).as("receives that found the ring dry").isZero();
            assertThat(linesArrivingInOneTurn("two")).isZero();
        }
    }

    static String line(String round, int client) {
        return (round + " from client " + client + " ").repeat(3).substring(0, 40) + "\n";
    }

    /**
     * Bytes {@code clients} have sent to {@code port} and the server's kernel has not
     * acknowledged (tx_queue), or -1 while a client is not listed yet. The JDK's sockets are
     * IPv6 sockets that reach 127.0.0.1 as ::ffff:127.0.0.1, so they are listed in
     * /proc/net/tcp6 (tcp(7)), not in /proc/net/tcp; and only our clients' rows count: another
     * process's connection to a port of the same number must not hold the test.
     */
    static long unacknowledged(int port, List<TestClient> clients) {
        Set<String> ours = new HashSet<>();
        for (TestClient c : clients) ours.add(String.format(":%04X", c.socket().getLocalPort()));
        String remote = String.format(":%04X", port);
        long n = 0;
        int seen = 0;
        try {
            for (String table : List.of("/proc/net/tcp6", "/proc/net/tcp")) {
                for (String row : Files.readAllLines(Path.of(table))) {
                    if (!row.contains(remote + " ")) continue;   // most rows: the split below costs more than the read
                    String[] f = row.trim().split("\\s+");
                    if (f.length < 5 || !f[2].endsWith(remote) || !f[3].equals("01")) continue;   // 01: ESTABLISHED
                    if (!ours.contains(f[1].substring(f[1].lastIndexOf(':')))) continue;
                    seen++;
                    n += Long.parseLong(f[4].substring(0, f[4].indexOf(':')), 16);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return seen == clients.size() ? n : -1;
    }

    static boolean kernelConsumesIncrementally() throws Exception {
        return KernelFeatures.probe(KernelCeiling.fromSystemProperty()).has(KernelFeatures.Feature.INCREMENTAL_BUFFERS);
    }
}
