package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.KernelView;
import c10k.day01.Protocol;
import c10k.day01.TestClient;
import c10k.day03.Outbox;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The reactor's bounds hold per line, not per read: a client that sends nothing but newlines
 * and never reads its answers makes 65,536 requests out of every 64 KiB read. Each must not
 * become a task, a queue entry or an object the server keeps.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReactorBoundsTest {

    private static final Duration PATIENCE = Duration.ofSeconds(60);
    private ReactorServer server;
    private int fdsBefore;

    private ReactorServer start(int workers) throws IOException {
        fdsBefore = Fds.baseline();
        server = new ReactorServer("127.0.0.1", 0, workers, Handlers.ECHO);
        server.start();
        return server;
    }

    @AfterEach
    void closeAndCheckForLeaks() {
        if (server == null) return;
        server.close();
        Fds.awaitNoLeak(fdsBefore);
    }

    @Test
    void floodsOfEmptyLinesFromPeersThatNeverReadAreHeldToABound() throws Exception {
        ReactorServer s = start(2);
        int flooders = 16;
        byte[] newlines = new byte[1 << 20];
        Arrays.fill(newlines, (byte) '\n');
        List<TestClient> clients = new ArrayList<>();
        List<Thread> writers = new ArrayList<>();
        try {
            for (int i = 0; i < flooders; i++) {
                TestClient c = new TestClient(s.port());
                clients.add(c);
                writers.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int mib = 0; mib < 32; mib++) c.send(newlines);   // blocks once the server stops reading
                    } catch (IOException closed) {
                        // the test is over
                    }
                }));
            }
            Fds.await("every flooder paused by backpressure", PATIENCE, () -> s.readPausedCount() == flooders);
            try (TestClient polite = new TestClient(s.port())) {
                assertThat(polite.roundTrip("still served?\n")).isEqualTo("still served?\n");
            }
            // One batch per connection at a time: a handful of batches, not millions of tasks
            // (the queue's own bound is shown below, with more connections than it holds).
            assertThat(s.requestsInFlight()).isLessThanOrEqualTo(flooders);
            // The outbox passes the high-water mark by at most one batch of answers, then reading stops.
            assertThat(s.largestOutbox()).isLessThanOrEqualTo(Outbox.HIGH_WATER + ReactorServer.READ_SIZE + Protocol.MAX_LINE);
        } finally {
            for (TestClient c : clients) c.reset();
            for (Thread w : writers) w.join();
        }
    }

    /**
     * The queue's bound, across connections: every worker is held in its handler, and more
     * clients than the queue holds send a line each. The loop hands out as many reads as the
     * workers and the queue can take, leaves the other connections unread (their bytes stay in
     * the kernel), and sleeps: it never blocks, and never queues more. Seen from the kernel:
     * the loop asleep in epoll_wait while the rest wait unread, with no more reads out than
     * the workers and the queue hold.
     */
    @Test
    void moreClientsThanTheQueueHoldsWaitUnreadInTheKernel() throws Exception {
        int workers = 2, bound = ReactorServer.QUEUE_CAPACITY + workers, clients = bound + 30;
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        fdsBefore = Fds.baseline();
        server = new ReactorServer("127.0.0.1", 0, workers, line -> {
            release.await();
            return line;
        });
        server.start();
        ReactorServer s = server;
        // The loop's kernel thread id, from the loop itself (a name could be an older server's thread's).
        java.util.concurrent.atomic.AtomicReference<String> loop = new java.util.concurrent.atomic.AtomicReference<>();
        s.beforeEachWait(() -> loop.compareAndSet(null, KernelView.threadSelf()));
        List<TestClient> clientsList = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) clientsList.add(new TestClient(s.port()).send("line " + i + "\n"));
            java.util.concurrent.atomic.AtomicReference<String> seen = new java.util.concurrent.atomic.AtomicReference<>();
            try {
                Fds.await("the queue full, the rest unread, the loop asleep", PATIENCE, () -> {
                    int unread = 0;
                    for (TestClient c : clientsList) if (KernelView.rxQueue(s.port(), c.socket().getLocalPort()) > 0) unread++;
                    boolean asleep = loop.get() != null && KernelView.asleepInEpollWait(loop.get());
                    long inFlight = s.requestsInFlight();
                    seen.set(inFlight + " in flight, " + unread + " unread, loop asleep " + asleep);
                    // The queue is full: the loop read no more. (It may sleep with two places free:
                    // a worker's take does not wake it, a finished batch does.)
                    return asleep && inFlight >= ReactorServer.QUEUE_CAPACITY && unread == clients - inFlight;
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; last seen: " + seen.get(), e);
            }
            assertThat(s.requestsInFlight()).as("no more than the workers hold and the queue holds").isLessThanOrEqualTo(bound);
            release.countDown();
            for (int i = 0; i < clients; i++) assertThat(clientsList.get(i).readLine()).isEqualTo("line " + i + "\n");
        } finally {
            release.countDown();
            for (TestClient c : clientsList) c.close();
        }
    }

    /**
     * The stall: reading stops when the outbox passes its high-water mark; once the
     * peer reads and the outbox drains, bytes that arrived meanwhile are still in the socket,
     * and edge-triggered epoll will say nothing about them. The loop must read on its own.
     */
    @Test
    void readingResumesAfterBackpressureWithNoNewEdge() throws Exception {
        ReactorServer s = start(2);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; lines.length() < 24 << 20; i++) lines.append("line ").append(i).append('\n');
        byte[] request = lines.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (TestClient c = new TestClient(s.port())) {
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    c.send(request);          // 24 MiB, then nothing more: no new edge will ever come
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Fds.await("the server paused reading", PATIENCE, () -> s.readPausedCount() == 1);
            assertThat(c.readExactly(request.length)).as("every answer, after the pause").isEqualTo(request);
            writer.join();
        }
    }
}
