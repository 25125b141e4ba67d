package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.KernelView;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * In shared mode a thread handles alone every event it took from one
 * {@code epoll_wait} (ONESHOT disarmed them for the other threads). So a handler that blocks
 * must cost one connection, not a batch: for a handler that may block, each thread takes one
 * event at a time, and the other threads serve the rest, the listener included.
 *
 * <p>To put A's, B's and the listener's events in one batch on purpose, both threads are held
 * just before {@code epoll_wait} (the server's hook) while the three become ready, then let go.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class SharedBatchTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private final CountDownLatch slowStarted = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicReference<CountDownLatch> gate = new AtomicReference<>();
    private final AtomicInteger held = new AtomicInteger();
    private SharedEpollServer server;
    private volatile String slowThread;
    /** Each server thread's kernel id, by name, as the thread itself reads it. */
    private final java.util.Map<String, String> tids = new java.util.concurrent.ConcurrentHashMap<>();

    /** Echo, except that "slow" blocks its handler until the test releases it. */
    private Handler blockingOnSlow(boolean saysItMayBlock) {
        return new Handler() {
            @Override
            public byte[] handle(byte[] line) throws InterruptedException {
                if (new String(line, StandardCharsets.US_ASCII).equals("slow\n")) {
                    slowThread = Thread.currentThread().getName();
                    slowStarted.countDown();
                    release.await();   // a database that takes its time
                }
                return line;
            }

            @Override
            public boolean mayBlock() {
                return saysItMayBlock;
            }
        };
    }

    private void start(Handler handler) throws Exception {
        server = new SharedEpollServer("127.0.0.1", 0, 2, handler);
        server.start();
        server.beforeEachWait(() -> {
            tids.putIfAbsent(Thread.currentThread().getName(), KernelView.threadSelf());
            CountDownLatch g = gate.get();
            if (g == null) return;
            held.incrementAndGet();
            try {
                g.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @AfterEach
    void stop() {
        release.countDown();
        CountDownLatch g = gate.getAndSet(null);
        if (g != null) g.countDown();
        if (server == null) return;
        server.close();
    }

    /** Both threads stop before epoll_wait; A, B and a newcomer become ready together; both go. */
    private TestClient sameBatch(TestClient a, TestClient b) throws Exception {
        gate.set(new CountDownLatch(1));
        Fds.await("both threads held before epoll_wait", PATIENCE, () -> {
            server.wakeup();   // a thread in epoll_wait comes round to the hook
            return held.get() == 2;
        });
        a.send("slow\n");
        b.send("quick\n");
        TestClient newcomer = new TestClient(server.port());   // queued on the listener: its event too
        newcomer.send("newcomer\n");
        gate.getAndSet(null).countDown();
        assertThat(slowStarted.await(30, TimeUnit.SECONDS)).as("A's request reached its handler").isTrue();
        return newcomer;
    }

    @Test
    void aBlockedHandlerHoldsUpNeitherAnotherConnectionNorTheListener() throws Exception {
        start(blockingOnSlow(true));
        try (TestClient a = new TestClient(server.port()); TestClient b = new TestClient(server.port())) {
            Fds.await("A and B accepted", PATIENCE, () -> server.connectionCount() == 2);
            try (TestClient newcomer = sameBatch(a, b)) {
                assertThat(b.readLine()).as("B, answered by the other thread").isEqualTo("quick\n");
                assertThat(newcomer.readLine()).as("the newcomer, accepted by the other thread").isEqualTo("newcomer\n");
                assertThat(newcomer.roundTrip("and again\n")).isEqualTo("and again\n");
                assertThat(release.getCount()).as("A is still blocked").isEqualTo(1);
                release.countDown();
                assertThat(a.readLine()).isEqualTo("slow\n");
            }
        }
    }

    /** Why: a handler that blocks but says it does not gets batches, and its batch waits with it. */
    @Test
    void aHandlerThatBlocksInABatchHoldsUpTheRestOfThatBatch() throws Exception {
        start(blockingOnSlow(false));
        try (TestClient a = new TestClient(server.port()); TestClient b = new TestClient(server.port())) {
            Fds.await("A and B accepted", PATIENCE, () -> server.connectionCount() == 2);
            try (TestClient newcomer = sameBatch(a, b)) {
                // The other thread is free, but B's event and the listener's sit in the blocked
                // thread's batch, disarmed for everyone else.
                // As the kernel sees it: the free thread asleep in epoll_wait while B's line sits
                // unread in B's socket and the newcomer in the listener's queue. Asleep, it is
                // told nothing of them: no waiting to see that nothing comes.
                String free = tids.get(slowThread.endsWith("-1") ? "day05-shared-2" : "day05-shared-1");
                Fds.await("the free thread asleep, B and the newcomer waiting", PATIENCE,
                        () -> KernelView.asleepInEpollWait(free)
                                && KernelView.rxQueue(server.port(), b.socket().getLocalPort()) == "quick\n".length()
                                && KernelView.rxQueue(server.port(), 0) == 1);
                release.countDown();
                assertThat(a.readLine()).isEqualTo("slow\n");
                assertThat(b.readLine()).isEqualTo("quick\n");
                assertThat(newcomer.readLine()).isEqualTo("newcomer\n");
            }
        }
    }
}
