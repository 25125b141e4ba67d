package c10k.day07;

import static c10k.day03.sys.Errno.ECANCELED;
import static c10k.day03.sys.Errno.ENOBUFS;
import static c10k.day07.sys.IoUringAbi.*;
import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.NoFdLeak;
import c10k.day03.sys.Sockets;
import c10k.day07.sys.BufferRing;
import c10k.day07.sys.IoUring;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The completion model's own traps, on a bare ring (no server): memory handed to the
 * kernel stays the kernel's until the completion arrives, closing the fd does not change
 * that, and only a cancel that has completed gives it back. And a provided-buffer ring that
 * runs dry ends a multishot recv with ENOBUFS, from which the reader recovers.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class CompletionModelTest {

    private static final long ACCEPTED = 1, RECV = 2, CANCEL = 3, BARRIER = 4;
    private static final long NO_LIMIT = Long.MAX_VALUE;

    private IoUring ring;
    private int listener;

    @BeforeEach
    void ring() throws Exception {
        IoUringAvailable.assume();
        ring = IoUring.open(16, 64);
        listener = c10k.day03.sys.Sockets.listen("127.0.0.1", 0, 16, false, false);
    }

    @AfterEach
    void close() {
        if (ring == null) return;
        Sockets.close(listener);
        ring.close();
    }

    /** Accepts {@code client}'s connection through the ring (one more round trip of the model). */
    private int accept(Socket client) {
        ring.sq().accept(listener, Sockets.SOCK_CLOEXEC, false, ACCEPTED);
        assertThat(ring.submitAndWait(1, NO_LIMIT)).isEqualTo(1);
        assertThat(ring.cq().userData(0)).isEqualTo(ACCEPTED);
        int fd = ring.cq().res(0);
        ring.cq().consumed(1);
        assertThat(fd).as("accept's completion carries the new fd").isGreaterThanOrEqualTo(0);
        return fd;
    }

    private Socket connect() throws Exception {
        Socket s = new Socket("127.0.0.1", c10k.day03.sys.Sockets.localPort(listener));
        s.setTcpNoDelay(true);
        return s;
    }

    /**
     * Whether nothing but a NOP submitted now completes. A receive that data or a close(2) had
     * already ended would be posted before the NOP's completion, so no timeout has to pass to
     * show that nothing came.
     */
    private boolean onlyTheBarrierCompletes() {
        ring.sq().nop(BARRIER);
        assertThat(ring.submitAndWait(1, NO_LIMIT)).isEqualTo(1);
        boolean onlyBarrier = ring.cq().ready() == 1 && ring.cq().userData(0) == BARRIER;
        ring.cq().consumed(ring.cq().ready());
        return onlyBarrier;
    }

    /** Waits until {@code n} completions are in and returns them by user_data (res, flags). */
    private Map<Long, int[]> await(int n) {
        Map<Long, int[]> got = new HashMap<>();
        while (got.size() < n) {
            if (ring.cq().ready() == 0) ring.submitAndWait(1, NO_LIMIT);
            int ready = ring.cq().ready();
            for (int i = 0; i < ready; i++) got.put(ring.cq().userData(i), new int[] {ring.cq().res(i), ring.cq().flags(i)});
            ring.cq().consumed(ready);
        }
        return got;
    }

    @Test
    void closingTheSocketDoesNotEndAPendingReceive() throws Exception {
        try (Socket client = connect(); Arena arena = Arena.ofConfined()) {
            int fd = accept(client);
            MemorySegment buffer = arena.allocate(64);
            ring.sq().recv(fd, buffer.address(), 64, RECV);
            assertThat(ring.submit()).isEqualTo(1);
            assertThat(onlyTheBarrierCompletes()).as("no data yet: the recv waits in the kernel").isTrue();

            // The readiness habit: close the fd and consider the read over. It is not: the
            // request holds its own reference to the socket, so the socket stays open (the
            // peer sees no FIN) and the kernel still owns our buffer.
            Sockets.close(fd);
            assertThat(onlyTheBarrierCompletes()).as("close(2) posted no completion").isTrue();

            // Data sent now still lands in our memory, after our close. Had we freed the arena
            // at close, this would have been a write into freed memory: a use-after-free that
            // no exception reports.
            OutputStream out = client.getOutputStream();
            out.write("after close\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Map<Long, int[]> done = await(1);
            int n = done.get(RECV)[0];
            assertThat(n).isEqualTo(12);
            assertThat(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE)).asString(StandardCharsets.US_ASCII).isEqualTo("after close\n");
        }
    }

    @Test
    void memoryMayBeFreedOnlyOnceTheCancelledRequestHasCompleted() throws Exception {
        try (Socket client = connect()) {
            int fd = accept(client);
            Arena arena = Arena.ofConfined();
            MemorySegment buffer = arena.allocate(64);
            ring.sq().recv(fd, buffer.address(), 64, RECV);
            assertThat(ring.submit()).isEqualTo(1);
            assertThat(onlyTheBarrierCompletes()).isTrue();

            // Cancel it, and wait for BOTH completions: the cancel's own (0: found and
            // cancelled) and the recv's (-ECANCELED). Only the second one gives the memory back.
            ring.sq().cancel(RECV, CANCEL);
            Map<Long, int[]> done = await(2);
            assertThat(done.get(CANCEL)[0]).as("the cancel found the recv").isZero();
            assertThat(done.get(RECV)[0]).as("the recv ended without data").isEqualTo(-ECANCELED);
            arena.close();   // now, and not before, the buffer is ours to free

            // The cancelled request took nothing: what the client sends next is still in the
            // socket for the next reader.
            client.getOutputStream().write("kept\n".getBytes(StandardCharsets.US_ASCII));
            byte[] b = new byte[16];
            int n = Sockets.recv(fd, b, 0, b.length);   // blocking socket: waits for the bytes
            assertThat(new String(b, 0, n, StandardCharsets.US_ASCII)).isEqualTo("kept\n");
            Sockets.close(fd);
        }
    }

    @Test
    void aMultishotReceiveEndsWithEnobufsWhenTheBufferRingRunsDryAndIsReArmed() throws Exception {
        byte[] sent = "0123456789abcdef".repeat(3).getBytes(StandardCharsets.US_ASCII);   // 48 bytes
        try (Socket client = connect(); Arena arena = Arena.ofConfined()) {
            int fd = accept(client);
            BufferRing buffers = new BufferRing(ring, (short) 7, 2, 16, arena);   // 2 buffers of 16 bytes
            client.getOutputStream().write(sent);

            ByteBuffer received = ByteBuffer.allocate(sent.length);
            ring.sq().recvMultishot(fd, buffers.group(), RECV);
            int usedBuffers = 0;
            boolean armed = true;
            int lastRes = 0;
            // First round: at most 32 bytes fit in the two buffers; the kernel keeps them
            // until we give them back, then has nowhere to put the rest.
            while (armed) {
                if (ring.cq().ready() == 0) ring.submitAndWait(1, NO_LIMIT);
                int ready = ring.cq().ready();
                for (int i = 0; i < ready; i++) {
                    int res = ring.cq().res(i), flags = ring.cq().flags(i);
                    lastRes = res;
                    armed = (flags & IORING_CQE_F_MORE) != 0;
                    if (res > 0) {
                        assertThat(flags & IORING_CQE_F_BUFFER).as("each chunk names its buffer").isNotZero();
                        received.put(buffers.filled(flags >>> IORING_CQE_BUFFER_SHIFT, res));
                        usedBuffers++;
                    }
                }
                ring.cq().consumed(ready);
            }
            assertThat(lastRes).as("the ring ran dry").isEqualTo(-ENOBUFS);
            assertThat(usedBuffers).isEqualTo(2);
            assertThat(received.position()).isLessThan(sent.length);

            // Give the buffers back and re-arm: the rest of the bytes arrive, in order.
            buffers.give(0);
            buffers.give(1);
            buffers.publish();
            while (received.position() < sent.length) {
                ring.sq().recvMultishot(fd, buffers.group(), RECV);
                armed = true;
                while (armed && received.position() < sent.length) {
                    if (ring.cq().ready() == 0) ring.submitAndWait(1, NO_LIMIT);
                    int ready = ring.cq().ready();
                    for (int i = 0; i < ready; i++) {
                        int res = ring.cq().res(i), flags = ring.cq().flags(i);
                        armed = (flags & IORING_CQE_F_MORE) != 0;
                        if (res > 0) {
                            int bid = flags >>> IORING_CQE_BUFFER_SHIFT;
                            received.put(buffers.filled(bid, res));
                            buffers.give(bid);
                        }
                    }
                    ring.cq().consumed(ready);
                    buffers.publish();
                }
            }
            assertThat(received.array()).isEqualTo(sent);

            // The multishot recv may still be armed: cancel it and wait before the arena goes.
            ring.sq().cancelFd(fd, CANCEL);
            Map<Long, int[]> done = await(armed ? 2 : 1);
            assertThat(done).containsKey(CANCEL);
            buffers.close();
            Sockets.close(fd);
        }
    }
}
