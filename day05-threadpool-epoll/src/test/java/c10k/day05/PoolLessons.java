package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What day 5's servers must show, whichever design: requests of one connection answered in
 * order even when handlers finish out of order; a slow request holds up only its own connection;
 * the thread count does not grow with the clients. Each test makes its server with the handler
 * it needs, and checks for leaked fds after closing it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
public abstract class PoolLessons {

    protected abstract ThreadedServer newServer(int threads, Handler handler);

    private ThreadedServer server;

    private ThreadedServer start(int threads, Handler handler) throws Exception {
        server = newServer(threads, handler);
        server.start();
        return server;
    }

    @AfterEach
    void closeAndCheckForLeaks() {
        if (server == null) return;
        server.close();
    }

    /**
     * Handlers that finish out of order, on purpose: A's first request is held in its handler
     * until B's request, sent after it, has been handled. A's answers must still come in
     * order, and B's are not held up.
     */
    @Test
    void answersComeBackInOrderWhenHandlersFinishOutOfOrder() throws Exception {
        CountDownLatch aHeld = new CountDownLatch(1), bHandled = new CountDownLatch(1);
        ThreadedServer s = start(4, line -> {
            if (line[0] == 'A' && line[2] == '0' && line[3] == '\n') {
                aHeld.countDown();
                bHandled.await(30, TimeUnit.SECONDS);   // bounds a broken server only; B comes at once
            }
            if (line[0] == 'B') bHandled.countDown();
            return line;
        });
        StringBuilder aLines = new StringBuilder();
        for (int j = 0; j < 100; j++) aLines.append("A ").append(j).append('\n');
        try (TestClient a = new TestClient(s.port()); TestClient b = new TestClient(s.port())) {
            a.send(aLines.toString());
            assertThat(aHeld.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(b.roundTrip("B, sent later, answered first\n")).isEqualTo("B, sent later, answered first\n");
            assertThat(a.readString(aLines.length())).isEqualTo(aLines.toString());
        }
    }

    /** Many clients pipelining on 8 threads: workers finish in whatever order; no answer strays or overtakes. */
    @Test
    void manyPipelinedClientsEachGetTheirOwnAnswersInOrder() throws Exception {
        ThreadedServer s = start(8, Handlers.ECHO);
        int clients = 50;
        int lines = 500;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int id = i;
                results.add(pool.submit(() -> {
                    StringBuilder request = new StringBuilder();
                    for (int j = 0; j < lines; j++) request.append("client ").append(id).append(" line ").append(j).append('\n');
                    byte[] bytes = request.toString().getBytes(StandardCharsets.US_ASCII);
                    try (TestClient c = new TestClient(s.port())) {
                        c.send(bytes);   // all 500 requests pipelined in one write
                        String answer = c.readString(bytes.length);
                        // Exactly its own lines, in order, none interleaved with another's.
                        assertThat(answer).isEqualTo(request.toString());
                    }
                    return null;
                }));
            }
            for (Future<?> r : results) r.get();
        }
        assertThat(s.workerThreads()).isEqualTo(8);
    }

    @Test
    void aSlowRequestDelaysOnlyItsOwnConnection() throws Exception {
        CountDownLatch slowStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ThreadedServer s = start(4, line -> {
            if (new String(line, StandardCharsets.US_ASCII).equals("slow\n")) {
                slowStarted.countDown();
                release.await();   // a database that takes its time: the handler blocks
            }
            return line;
        });
        try (TestClient a = new TestClient(s.port()); TestClient b = new TestClient(s.port())) {
            a.send("slow\n");
            assertThat(slowStarted.await(30, TimeUnit.SECONDS)).as("the slow request reached a handler").isTrue();
            // One thread is stuck in A's handler; the others answer B, all 100 times.
            for (int i = 0; i < 100; i++) assertThat(b.roundTrip("quick " + i + "\n")).isEqualTo("quick " + i + "\n");
            assertThat(release.getCount()).as("A is still blocked").isEqualTo(1);
            release.countDown();
            assertThat(a.readLine()).isEqualTo("slow\n");
        } finally {
            release.countDown();
        }
    }

    @Test
    void theThreadCountStaysFixedUnderAThousandClients() throws Exception {
        ThreadedServer s = start(4, Handlers.ECHO);
        int clients = 1_000;
        List<TestClient> held = new ArrayList<>(clients);
        try {
            for (int i = 0; i < clients; i++) held.add(new TestClient(s.port()));
            Fds.await(clients + " connections accepted", Duration.ofSeconds(30), () -> s.connectionCount() == clients);
            for (int i = 0; i < clients; i++) held.get(i).send("round trip " + i + "\n");
            for (int i = 0; i < clients; i++) assertThat(held.get(i).readLine()).isEqualTo("round trip " + i + "\n");
            assertThat(s.workerThreads()).isEqualTo(4);
            if (s instanceof ReactorServer r) {
                assertThat(r.poolSize()).as("pool threads now").isEqualTo(4);
                assertThat(r.largestPoolSize()).as("pool threads ever").isEqualTo(4);
            }
        } finally {
            for (TestClient c : held) c.close();
        }
        Fds.await("every connection closed by the server", Duration.ofSeconds(30), () -> s.connectionCount() == 0);
    }
}
