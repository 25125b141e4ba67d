package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.harness.Stats;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import c10k.day03.NativeConnection;
import c10k.day03.sys.Sockets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Out of fds, a loop stops watching its listener for a while (nginx's pause). For a listener
 * registered with {@code EPOLLEXCLUSIVE} (several loops on one listener) "stop watching"
 * cannot be an {@code EPOLL_CTL_MOD}: epoll_ctl(2) refuses MOD on such a registration with
 * {@code EINVAL}, which would end the loop at its first {@code EMFILE}.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExclusiveListenerTest {

    @AfterEach
    void clear() {
        Faults.clear();
    }

    @Test
    void anExclusiveListenerPausesOnEmfileAndAcceptsAgain() throws Exception {
        int fdsBefore = Fds.baseline();
        int listenFd = Sockets.listen("127.0.0.1", 0, 16);
        CompletableFuture<Throwable> fatal = new CompletableFuture<>();
        EventLoop loop = new EventLoop("exclusive", listenFd, Tuning.EDGE.withoutSpareFd(), new LoopExtension() { },
                new NativeConnection.LoopBuffers(1024, NativeConnection.ECHO, new Stats().newCounters()),
                Timeouts.NONE, System::nanoTime);
        loop.listenerFlags(Epoll.EPOLLEXCLUSIVE);
        loop.onFatal(fatal::complete);
        try {
            loop.start();
            Faults.failNext("accept4", Errno.EMFILE, 1);
            try (TestClient first = new TestClient(Sockets.localPort(listenFd))) {
                // The fault comes before the real accept4: this client waits in the queue through the pause.
                CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
                    try {
                        return first.roundTrip("after the pause\n");
                    } catch (java.io.IOException e) {
                        return e.toString();
                    }
                });
                // Whichever comes first: the answer (the loop paused and resumed) or the loop's death.
                Object outcome = CompletableFuture.anyOf(answer, fatal).get(30, TimeUnit.SECONDS);
                assertThat(outcome).isEqualTo("after the pause\n");
                assertThat(Faults.remaining("accept4")).as("the fault was met").isZero();
            }
            try (TestClient next = new TestClient(Sockets.localPort(listenFd))) {
                assertThat(next.roundTrip("next\n")).isEqualTo("next\n");
            }
        } finally {
            loop.close();
            loop.releaseFds(true);
            Sockets.close(listenFd);
        }
        Fds.awaitNoLeak(fdsBefore);
    }
}
