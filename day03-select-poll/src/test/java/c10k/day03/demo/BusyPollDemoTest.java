package c10k.day03.demo;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.NoFdLeak;
import c10k.day03.sys.Sockets;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The source notes' polling loop against poll(2), by counting calls, not by the clock: while
 * nothing arrives, the polling loop keeps calling recv on every socket (each call a system call
 * that finds nothing), and poll(2) makes one call and sleeps.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "recv and poll through FFM are Linux calls")
@org.junit.jupiter.api.Timeout(60)
@ExtendWith(NoFdLeak.class)
class BusyPollDemoTest {

    private static final int SOCKETS = 100;
    private static final byte[] LINE = "hello\n".getBytes(StandardCharsets.US_ASCII);

    private int listener = -1;
    private final List<SocketChannel> clients = new ArrayList<>();
    private final int[] fds = new int[SOCKETS];

    @BeforeEach
    void idleSockets() throws Exception {
        listener = Sockets.listen("127.0.0.1", 0, SOCKETS);
        for (int i = 0; i < SOCKETS; i++) {
            clients.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", Sockets.localPort(listener))));
            int fd;
            do fd = Sockets.accept(listener); while (fd == Sockets.WOULD_BLOCK);   // the handshake is done: bounded
            fds[i] = fd;
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int fd : fds) if (fd > 0) Sockets.close(fd);
        for (SocketChannel c : clients) c.close();
        if (listener >= 0) Sockets.close(listener);
    }

    /** Sends the line on the last client once {@code go} opens. */
    private Thread sender(CountDownLatch go) {
        SocketChannel last = clients.get(SOCKETS - 1);
        return Thread.ofPlatform().start(() -> {
            try {
                go.await();
                last.write(ByteBuffer.wrap(LINE));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void thePollingLoopAsksEverySocketAgainAndAgainWhileNothingArrives() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        Thread sender = sender(go);
        // The line is sent only after 1,000 sweeps: until then nothing can stop the loop from
        // asking, and nothing in it waits. Every sweep is SOCKETS system calls that find nothing.
        BusyPollDemo.Cost cost = BusyPollDemo.busyPoll(fds, sweeps -> {
            if (sweeps == 1000) go.countDown();
        });
        sender.join();

        assertThat(cost.line()).isEqualTo(LINE);
        assertThat(cost.sweeps()).isGreaterThanOrEqualTo(1000);
        assertThat(cost.fruitless()).as("recv calls that found nothing, for one line")
                .isGreaterThanOrEqualTo(1000L * SOCKETS);
        assertThat(cost.recvCalls() - cost.fruitless()).as("recv calls that found bytes").isBetween(1L, (long) LINE.length);
    }

    @Test
    void pollSleepsUntilASocketIsReadyAndReadsOnlyThatOne() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        Thread sender = sender(go);
        // The line is sent once the first poll call is about to start: however long the sender
        // then takes, poll sleeps in the kernel and counts nothing.
        BusyPollDemo.Cost cost = BusyPollDemo.poll(fds, call -> {
            if (call == 1) go.countDown();
        });
        sender.join();

        assertThat(cost.line()).isEqualTo(LINE);
        assertThat(cost.pollCalls()).as("poll calls (more than one only if a signal interrupted it, or the line came in pieces)")
                .isBetween(1L, 1L + LINE.length);
        assertThat(cost.fruitless()).as("recv calls that found nothing").isZero();
        assertThat(cost.recvCalls()).as("recv calls, all on the socket that was ready").isBetween(1L, (long) LINE.length);
    }
}
