package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import c10k.day07.sys.BufferRing;
import c10k.day07.sys.IoUring;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The paths a server rarely takes and must still get right: a completion handler that throws
 * in the middle of a batch, a burst of connections that has come and gone, an accept that
 * fails for want of kernel memory, and a kernel whose pages are not 4 KiB.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class ErrorPathsTest extends ServerTestBase {

    static final Duration WAIT = Duration.ofSeconds(20);

    @Override
    protected EchoServer newServer() {
        IoUringAvailable.assume();
        return new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.BASIC, 1, Timeouts.NONE);
    }

    IoUringEchoServer uring() {
        return (IoUringEchoServer) server;
    }

    @AfterEach
    void disarmFaults() {
        Faults.clear();
    }

    /**
     * A loop whose handler throws reaps once more (it cancels everything and waits before it
     * frees memory). The completions handled before the throw, and the one that threw, must
     * not come back: handled twice, a receive would be framed twice, a provided buffer given
     * back twice, and the count of requests in flight could reach 0 with the kernel still
     * owning memory.
     */
    @Test
    void completionsHandedOutBeforeAHandlerThrewAreNotHandedOutAgain() throws Exception {
        try (IoUring ring = IoUring.open(8, 16)) {
            for (long ud = 1; ud <= 3; ud++) ring.sq().nop(ud);
            assertThat(ring.submitAndWait(3, Long.MAX_VALUE)).isEqualTo(3);
            List<Long> seen = new ArrayList<>();
            try {
                ring.cq().drain((ud, res, flags) -> {
                    seen.add(ud);
                    if (ud == 2) throw new IllegalStateException("a handler fails");
                });
            } catch (IllegalStateException expected) {
                // the loop would log it and stop: cancel, reap again, and wait
            }
            ring.cq().drain((ud, res, flags) -> seen.add(ud));
            assertThat(seen).as("each completion handed out once").containsExactly(1L, 2L, 3L);
            assertThat(ring.cq().ready()).isZero();
        }
    }

    /**
     * basic mode: each connection has its own receive buffer (16 KiB). When they close, a few
     * are kept for the next connections; the rest are freed. Kept without a cap, a burst of
     * 10,000 that came and went would hold 160 MiB with no connection open.
     */
    @Test
    void receiveBuffersKeptAfterABurstAreCapped() throws Exception {
        List<TestClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < Receiver.KEEP + 36; i++) {
                TestClient c = new TestClient(server.port());
                clients.add(c);
                assertThat(c.roundTrip("at once " + i + "\n")).isEqualTo("at once " + i + "\n");
            }
            Fds.await("every connection open", WAIT, () -> uring().connectionCount() == clients.size());
        } finally {
            for (TestClient c : clients) c.close();
        }
        Fds.await("every connection closed", WAIT, () -> uring().connectionCount() == 0);
        assertThat(uring().recvBuffersHeld()).isZero();
        assertThat(uring().recvBuffersKept()).isEqualTo(Receiver.KEEP);
    }

    /**
     * accept(2)'s ENOBUFS and ENOMEM are the kernel short of memory, as EMFILE is short of
     * fds: accepting again at once would fail again at once, a busy loop just when the
     * machine can least afford one. The ring waits 100 ms instead, as day 3's servers do.
     */
    @Test
    void anAcceptThatFailsForWantOfMemoryPausesAcceptingInsteadOfRetryingAtOnce() throws Exception {
        Faults.failNext("io_uring accept", Errno.ENOBUFS, 1);
        try (TestClient unlucky = new TestClient(server.port())) {
            Fds.await("the accept paused", WAIT, () -> uring().acceptPauses() == 1);
            assertThat(unlucky.endsStream()).as("its socket was closed").isTrue();
        } catch (IOException reset) {
            // the connection the failed accept made was reset: what a real failure does
        }
        try (TestClient next = new TestClient(server.port())) {
            assertThat(next.roundTrip("after the pause\n")).isEqualTo("after the pause\n");
        }
        assertThat(uring().acceptPauses()).isEqualTo(1);
    }

    /**
     * The kernel maps a provided-buffer ring from an address that must start a page, and a page
     * is 64 KiB on some aarch64 kernels. The page size comes from the system, not a constant:
     * here it is checked against the kernel's own word for it (AT_PAGESZ in /proc/self/auxv),
     * and rings are placed on the pages of a pretended 64-KiB-page kernel.
     */
    @Test
    void theBufferRingStartsOnAPageOfThisKernelsSize() throws Exception {
        assertThat(BufferRing.PAGE_SIZE).isEqualTo(pageSizeFromAuxv());
        try (Arena arena = Arena.ofConfined(); IoUring ring = IoUring.open(8, 16)) {
            for (short group = 1; group <= 4; group++) {
                BufferRing buffers = new BufferRing(ring, group, 4, 64, false, arena, 64 * 1024);
                assertThat(buffers.entriesAddress() % (64 * 1024)).as("ring %d on a 64 KiB page", group).isZero();
                buffers.close();
            }
        }
    }

    private static long pageSizeFromAuxv() throws IOException {
        ByteBuffer auxv = ByteBuffer.wrap(Files.readAllBytes(Path.of("/proc/self/auxv"))).order(ByteOrder.nativeOrder());
        while (auxv.remaining() >= 16) {
            long type = auxv.getLong(), value = auxv.getLong();
            if (type == 6) return value;   // AT_PAGESZ, getauxval(3)
        }
        throw new AssertionError("no AT_PAGESZ in /proc/self/auxv");
    }
}
