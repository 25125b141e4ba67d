package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day03.Outbox;
import c10k.day07.sys.KernelFeatures.Feature;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Backpressure in the completion model, at the server's own buffer ring (512 buffers of
 * 16 KiB): peers that flood empty lines and never read. A readiness loop stops reading such a
 * peer the moment its outbox passes the high-water mark. A multishot recv does not stop by
 * itself: it goes on receiving, as fast as the peer sends and buffers come back, until our
 * cancel reaches the kernel, and every byte of an empty line is a byte of answer to hold.
 * Armed with no limit, one connection could so take in up to the whole ring (8 MiB) past
 * the mark. Each recv is therefore armed with a byte budget, after which it ends: what one
 * peer makes us hold is the mark, one budget and one buffer, however large the ring.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class ReceiveBudgetTest {

    static final int FLOODERS = 8, BUFFER_SIZE = 16 * 1024;
    static final Duration WAIT = Duration.ofSeconds(30);

    /** On this kernel, if it takes a budget: the mark, one budget and one buffer. */
    @Nested
    class WithABudget extends Flood {
        @Override
        IoUringEchoServer configure(IoUringEchoServer server) {
            return server;
        }

        @Test
        void peersThatFloodEmptyLinesAndNeverReadMakeEachConnectionHoldAtMostTheMarkABudgetAndABuffer() throws Exception {
            Assumptions.assumeTrue(uring().kernel().has(Feature.RECV_BUDGET), "this kernel takes no budget on a multishot recv (Linux 6.17)");
            floodAndCheck(Outbox.HIGH_WATER + Receiver.RECV_BUDGET + BUFFER_SIZE);
        }
    }

    /** As Linux 6.16 answers (and 6.1, 6.8): no budget, so one buffer per receive. */
    @Nested
    class WithoutABudget extends Flood {
        @Override
        IoUringEchoServer configure(IoUringEchoServer server) {
            return server.withKernelAsOf("6.16");
        }

        @Test
        void peersThatFloodEmptyLinesAndNeverReadMakeEachConnectionHoldAtMostTheMarkAndABuffer() throws Exception {
            assertThat(uring().kernel().has(Feature.RECV_BUDGET)).isFalse();
            floodAndCheck(Outbox.HIGH_WATER + BUFFER_SIZE);
        }
    }

    abstract static class Flood extends ServerTestBase {

        abstract IoUringEchoServer configure(IoUringEchoServer server);

        IoUringEchoServer uring() {
            return (IoUringEchoServer) server;
        }

        @Override
        protected EchoServer newServer() {
            IoUringAvailable.assume(IoUringEchoServer.Mode.MULTISHOT);
            return configure(new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.MULTISHOT, 1, Timeouts.DEFAULTS)
                    .withBufferRing(512, BUFFER_SIZE));
        }

        /** FLOODERS peers write newlines and never read; once all are paused, none has held more than {@code bound}. */
        void floodAndCheck(int bound) throws Exception {
            List<Socket> flooders = new ArrayList<>();
            ExecutorService writers = Executors.newFixedThreadPool(FLOODERS);
            try (TestClient honest = new TestClient(server.port())) {
                assertThat(honest.roundTrip("first\n")).isEqualTo("first\n");
                byte[] newlines = new byte[64 * 1024];
                Arrays.fill(newlines, (byte) '\n');
                for (int i = 0; i < FLOODERS; i++) {
                    Socket s = new Socket("127.0.0.1", server.port());
                    flooders.add(s);
                    writers.submit(() -> {
                        try {
                            OutputStream out = s.getOutputStream();
                            while (true) out.write(newlines);   // blocks once every buffer on the way is full
                        } catch (IOException closedByTheTest) {
                            return null;
                        }
                    });
                }
                Fds.await("every flooder paused", WAIT, () -> uring().stats().snapshot().pausedReaders() == FLOODERS);

                assertThat(uring().largestUnsent()).as("answers held for one peer that does not read").isLessThanOrEqualTo(bound);
                assertThat(honest.roundTrip("still served\n")).isEqualTo("still served\n");
            } finally {
                for (Socket s : flooders) s.close();
                writers.shutdown();
            }
        }
    }
}
