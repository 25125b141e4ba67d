package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * "A connection deleted while its callback runs", the pool's version: a client resets while
 * its request is with a worker, the loop closes its fd at once, a newcomer is accepted on the
 * same fd number, and then the worker's answer comes back. The reactor keeps the connection
 * object in the batch and never looks the answer's owner up by number, so the late answer is
 * dropped; it must not reach the newcomer.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class LateAnswerTest {

    private final CountDownLatch blocked = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private ReactorServer server;

    @BeforeEach
    void start() throws Exception {
        server = new ReactorServer("127.0.0.1", 0, 2, line -> {
            if (new String(line, StandardCharsets.US_ASCII).equals("for the old client\n")) {
                blocked.countDown();
                release.await();                          // a slow database: the worker holds the request
            }
            return line;
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.close();
    }

    @Test
    void aLateAnswerForAClientThatResetDoesNotReachTheNewcomerOnItsFdNumber() throws Exception {
        TestClient old = new TestClient(server.port());
        old.send("for the old client\n");
        assertThat(blocked.await(30, TimeUnit.SECONDS)).as("the request reached a worker").isTrue();
        int oldFd = serverFd(old);

        old.reset();                                      // RST while its request is with the worker
        Fds.await("the server closed the reset connection", Duration.ofSeconds(30), () -> server.connectionCount() == 0);
        assertThat(server.requestsInFlight()).as("the answer is still to come").isEqualTo(1);

        // Newcomers until one is accepted on the old client's number: accept(2) takes the lowest
        // free one, so the first usually does (the client side's own socket may take a lower one).
        List<TestClient> newcomers = new ArrayList<>();
        TestClient heir = null;
        try {
            for (int i = 0; i < 8 && heir == null; i++) {
                TestClient c = new TestClient(server.port());
                newcomers.add(c);
                int expected = i + 1;
                Fds.await("newcomer accepted", Duration.ofSeconds(30), () -> server.connectionCount() == expected);
                if (serverFd(c) == oldFd) heir = c;
            }
            assumeThat(heir).as("a newcomer got fd " + oldFd + " (another file of this JVM may have taken it)").isNotNull();

            release.countDown();                          // the worker answers the client that is gone
            Fds.await("the late answer came back to the loop", Duration.ofSeconds(30), () -> server.requestsInFlight() == 0);

            // The newcomer's first bytes are the answer to its own first line, nothing before it.
            // Nothing after it either, without waiting to see: the loop handled the late answer
            // (inFlight is counted down in the pass that handles it) before it read this line, so a
            // late answer sent to the newcomer would have come first.
            assertThat(heir.roundTrip("the newcomer's own line\n")).isEqualTo("the newcomer's own line\n");
        } finally {
            for (TestClient c : newcomers) c.close();
        }
    }

    /**
     * The server's fd for this client's connection, found as ss(8) would: the server side's
     * socket inode in /proc/self/net/tcp (local port the server's, remote port the client's),
     * then the fd in /proc/self/fd that links to that inode.
     */
    private int serverFd(TestClient client) throws IOException {
        String local = String.format("0100007F:%04X", server.port());
        String remote = String.format("0100007F:%04X", client.socket().getLocalPort());
        String inode = null;
        for (String row : Files.readAllLines(Path.of("/proc/self/net/tcp"))) {
            String[] f = row.trim().split("\\s+");
            if (f.length > 9 && f[1].equals(local) && f[2].equals(remote)) inode = f[9];
        }
        assertThat(inode).as("the server side of port " + client.socket().getLocalPort()).isNotNull();
        String target = "socket:[" + inode + "]";
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals(target)) return Integer.parseInt(p.getFileName().toString());
                } catch (IOException gone) {
                    // closed while we looked (the listing's own fd, for one)
                }
            }
        }
        throw new AssertionError("no fd of this process is " + target);
    }
}
