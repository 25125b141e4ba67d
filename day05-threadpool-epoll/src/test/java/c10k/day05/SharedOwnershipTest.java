package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.Poll;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shared mode's rule, one thread on a connection at a time, put to the test at the two moments
 * it is in danger, each reached through the server's hooks and a clock the test moves, never
 * by waiting: another thread hears of a connection its owner is still reading (a new edge, a
 * timer), and a timer runs out on one thread while the owner is about to restart it.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 90, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class SharedOwnershipTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong(1_000 * SECOND);
    private SharedEpollServer server;

    private SharedEpollServer start(Handler handler) throws Exception {
        server = new SharedEpollServer("127.0.0.1", 0, 2, handler).timeouts(Timeouts.ofSeconds(10, 10, 5)).clock(now::get);
        server.start();
        return server;
    }

    @AfterEach
    void stop() {
        if (server == null) return;
        server.close();
    }

    /** Past the idle deadline, and a thread is woken to look at the clock. */
    private void pastTheIdleDeadline() {
        now.addAndGet(11 * SECOND);
        server.wakeup();
    }

    private static void awaitPosted(SharedConnection c, AtomicReference<String> orViolation) {
        Fds.await("another thread fired the idle clock", PATIENCE,
                () -> (c.ownership.posted() & SharedConnections.TIMED_OUT) != 0 || orViolation.get() != null);
    }

    /**
     * The owner reads one dripped byte and is held before it restarts the clock; meanwhile the
     * other thread finds the deadline passed and posts the timeout. A byte is not a line: the
     * timeout stands, and the dripper is closed.
     */
    @Test
    void aByteDrippedAsTheDeadlinePassesBuysNoNewIdlePeriod() throws Exception {
        assertThat(raceTheDeadline("x")).as("closed at its deadline").isTrue();
        assertThat(server.timeoutsFired()).isEqualTo(1);
    }

    /** The same race with a complete line: that is activity, and the timeout is void. */
    @Test
    void aLineArrivingAsTheDeadlinePassesVoidsTheTimeout() throws Exception {
        assertThat(raceTheDeadline("a whole line\n")).as("still open").isFalse();
        assertThat(server.timeoutsFired()).isZero();
    }

    /** Returns whether the connection was closed once the owner let go. */
    private boolean raceTheDeadline(String sent) throws Exception {
        SharedEpollServer s = start(Handlers.ECHO);
        CountDownLatch held = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicReference<SharedConnection> conn = new AtomicReference<>();
        AtomicBoolean armed = new AtomicBoolean(true);
        s.beforeEachRetime(c -> {
            // The first owner that has read the client's bytes (not the accepting thread's turn).
            if (s.stats().snapshot().bytesIn() == 0 || !armed.compareAndSet(true, false)) return;
            conn.set(c);
            held.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (TestClient client = new TestClient(s.port())) {
            client.send(sent);
            assertThat(held.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            pastTheIdleDeadline();
            awaitPosted(conn.get(), new AtomicReference<>());
            release.countDown();
            if (sent.endsWith("\n")) {
                assertThat(client.readLine()).isEqualTo(sent);
                assertThat(client.roundTrip("after\n")).isEqualTo("after\n");   // the owner has dealt with the news
                return false;
            }
            return client.endsStream();
        }
    }

    /**
     * The owner is held inside the handler, mid-read. A new line arrives (a new edge) and a
     * timer runs out on the other thread. With {@code EPOLLONESHOT} the edge is not reported
     * to anyone (the other thread would have to post it); with the ownership flag the timer's
     * thread posts its news instead of acting. Either missing, another thread gets the
     * connection while its owner is still on it.
     */
    @Test
    void aConnectionIsNeverHandledByTwoThreadsAtOnce() throws Exception {
        CountDownLatch inHandler = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicReference<Thread> holder = new AtomicReference<>();
        Handler holding = line -> {
            if (line[0] == 'h') {
                holder.set(Thread.currentThread());
                inHandler.countDown();
                release.await();
            }
            return line;
        };
        SharedEpollServer s = start(holding);
        AtomicReference<SharedConnection> conn = new AtomicReference<>();
        AtomicReference<String> violation = new AtomicReference<>();
        s.beforeEachRetime(c -> {
            conn.compareAndSet(null, c);
            Thread h = holder.get();
            if (h != null && h != Thread.currentThread() && release.getCount() > 0) {
                violation.set(Thread.currentThread().getName() + " acted on the connection " + h.getName() + " holds");
            }
        });
        try (TestClient client = new TestClient(s.port()); Arena arena = Arena.ofConfined()) {
            assertThat(client.roundTrip("first\n")).isEqualTo("first\n");
            client.send("hold\n");
            assertThat(inHandler.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            client.send("next\n");
            // The kernel has the new line (POLLIN on the server's socket), so its edge has been
            // queued before the wake-up below: a thread woken by that wake-up gets the edge first.
            MemorySegment pollfd = arena.allocate(Poll.POLLFD);
            Poll.set(pollfd, 0, conn.get().fd, Poll.POLLIN);
            assertThat(Poll.poll(pollfd, 1, (int) PATIENCE.toMillis())).isEqualTo(1);
            pastTheIdleDeadline();
            awaitPosted(conn.get(), violation);
            assertThat(violation.get()).as("the timer's thread acted itself").isNull();
            assertThat(conn.get().ownership.posted()).as("only the timer's news; no edge reported to another thread")
                    .isEqualTo(SharedConnections.TIMED_OUT);
            release.countDown();
            assertThat(client.readLine()).isEqualTo("hold\n");
            assertThat(client.readLine()).isEqualTo("next\n");
            assertThat(violation.get()).isNull();
            assertThat(s.timeoutsFired()).as("the line that was held is activity: the timeout is void").isZero();
        }
    }
}
