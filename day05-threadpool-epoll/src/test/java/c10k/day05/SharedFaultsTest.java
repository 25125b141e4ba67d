package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import c10k.day03.sys.SyscallException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One failed system call ends one connection, never the server, reached through
 * day 3's fault-injection seam. In shared mode the danger is particular: the thread that meets
 * an accept error holds the one-shot listener, and if it gave up without re-arming it (or
 * pausing and re-arming later), nobody would ever accept again.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class SharedFaultsTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private final CompletableFuture<Throwable> fatal = new CompletableFuture<>();
    private SharedEpollServer server;

    @BeforeEach
    void start() throws Exception {
        server = new SharedEpollServer("127.0.0.1", 0, 2, Handlers.ECHO).onFatal(fatal::complete);
        server.start();
    }

    @AfterEach
    void stop() {
        Faults.clear();
        server.close();
    }

    private void everyoneIsServed(int clients) throws Exception {
        for (int i = 0; i < clients; i++) {
            try (TestClient c = new TestClient(server.port())) {
                assertThat(c.roundTrip("client " + i + "\n")).isEqualTo("client " + i + "\n");
            }
        }
    }

    /** ENOBUFS: the kernel is short of memory; the listener pauses and is re-armed. EPROTO: that one client is gone. */
    @ParameterizedTest(name = "accept4 fails once with errno {0}")
    @ValueSource(ints = {Errno.ENOBUFS, Errno.EPROTO})
    void anAcceptThatFailsOnceDoesNotStopAccepting(int errno) throws Exception {
        Faults.failNext("accept4", errno, 1);
        try (TestClient first = new TestClient(server.port())) {
            // The injected failure comes before the real accept4, so this client is still queued.
            assertThat(first.roundTrip("after the failure\n")).isEqualTo("after the failure\n");
        }
        assertThat(Faults.remaining("accept4")).as("the server met the fault").isZero();
        everyoneIsServed(20);
        assertThat(server.workerThreads()).as("no thread died of it").isEqualTo(2);
    }

    @Test
    void aFailedRegistrationClosesThatClientOnly() throws Exception {
        try (TestClient before = new TestClient(server.port())) {
            assertThat(before.roundTrip("registered\n")).isEqualTo("registered\n");
            Faults.failNext("epoll_ctl(ADD)", Errno.ENOMEM, 1);
            try (TestClient unlucky = new TestClient(server.port())) {
                assertThat(unlucky.endsStream()).as("the client whose epoll_ctl(ADD) failed is closed").isTrue();
            }
            assertThat(Faults.remaining("epoll_ctl(ADD)")).isZero();
            everyoneIsServed(20);
            assertThat(before.roundTrip("still here\n")).isEqualTo("still here\n");
        }
        Fds.await("every connection closed", PATIENCE, () -> server.connectionCount() == 0);
        assertThat(fatal).isNotDone();
    }

    /** Only a broken epoll instance ends the server, and then it says why (the CLI exits 1). */
    @Test
    void aFailedEpollWaitEndsTheServerSayingWhy() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            assertThat(c.roundTrip("hello\n")).isEqualTo("hello\n");
            Faults.failNext("epoll_wait", Errno.EBADF, 1);
            server.wakeup();   // a thread returns from epoll_wait and calls it again: the fault
            Throwable why = fatal.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            assertThat(why).isInstanceOf(SyscallException.class).hasMessageContaining("epoll_wait");
            assertThat(c.endsStream()).as("every connection is closed").isTrue();
            assertThat(server.workerThreads()).isZero();
        }
    }
}
