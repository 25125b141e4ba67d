package c10k.exercises.day02;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.TestClient;
import c10k.exercises.ExerciseRun;
import c10k.exercises.Expect;
import c10k.exercises.Hints;
import c10k.exercises.LearnerFailure;
import c10k.exercises.ServerExerciseBase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Hints({
        "Which ThreadPoolExecutor settings fix the number of threads, and which kind of queue refuses when full? What does execute() do when it cannot take a task, and who must then tell the client?",
        "Re-read day 2's \"PooledServer: bounded threads, bounded queue\".",
        "A refused client is still a connection you hold: after its answer, what does it still own, and who else still knows about it?"})
@DisplayName("1. BoundedServer: a fixed pool, a bounded queue, and the starvation it brings")
// ServerTestBase allows a server test 120 s; an exercise answer that spins is stopped sooner.
@Timeout(ExerciseRun.TEST_SECONDS)
class BoundedServerTest extends ServerExerciseBase {

    static final int WORKERS = 2;
    static final int QUEUE = 1;
    private static final LearnerFailure NONE = new LearnerFailure();   // BoundedServer catches its own
    private final List<TestClient> idle = new ArrayList<>();

    @Override
    protected EchoServer newServer() {
        return new BoundedServer(WORKERS, QUEUE);
    }

    @Override
    protected String whatToClose() {
        return "Did dispatch close the client the pool refused, after 'ERR server busy' and shutdownOutput()?"
                + " shutdownOutput() sends the FIN but keeps the fd, and a refused client is forgotten (removed"
                + " from clients), so close() will not close it for you";
    }

    private BoundedServer pool() {
        return (BoundedServer) server;
    }

    /** Before the server is closed and the fds counted (a subclass's @AfterEach runs before its superclass's). */
    @org.junit.jupiter.api.AfterEach
    void closeIdleClients() throws Exception {
        for (TestClient c : idle) c.close();
    }

    /** WORKERS clients that say hello and then nothing: each one holds a worker in read(). */
    private void occupyEveryWorker() throws Exception {
        for (int i = 0; i < WORKERS; i++) {
            TestClient c = Expect.client(pool().port());
            idle.add(c);
            assertThat(Expect.line(c.send("hello, then silence\n"), NONE, "client " + i + " of " + WORKERS
                    + " got no answer while workers were free: does dispatch hand the client to the pool?"))
                    .isEqualTo("hello, then silence\n");
        }
    }

    @Test
    void servesClientsOnAFixedNumberOfThreads() throws Exception {
        for (int i = 0; i < 5; i++) {
            try (TestClient c = Expect.client(pool().port())) {
                assertThat(Expect.line(c.send("client " + i + "\n"), NONE, "no answer from the pool"))
                        .isEqualTo("client " + i + "\n");
            }
        }
        occupyEveryWorker();
        assertThat(pool().workerThreads())
                .as("a pool of " + WORKERS + " must have " + WORKERS + " threads: core and max size both " + WORKERS)
                .isEqualTo(WORKERS);
    }

    @Test
    void idleClientsStarveTheNextOne() throws Exception {
        occupyEveryWorker();
        try (TestClient late = Expect.client(pool().port())) {
            late.send("anyone there?\n");
            Expect.eventually(Duration.ofSeconds(5), NONE,
                    "a client arriving while all " + WORKERS + " workers are busy must wait in the queue"
                            + " (waitingConnections() == 1)", () -> pool().waitingConnections() == 1);
            assertThat(late.silentFor(300))
                    .as("every worker is held by an idle client, so the late one must NOT be answered yet:"
                            + " did the pool grow a thread for it? (core = max = workers)")
                    .isTrue();
            assertThat(pool().workerThreads()).as("the pool does not grow").isEqualTo(WORKERS);

            idle.removeFirst().close();   // one idle client leaves, its worker is free...
            assertThat(Expect.line(late, NONE, "when an idle client left, the queued client was not served"))
                    .as("...and only then is the late one served").isEqualTo("anyone there?\n");
        }
    }

    @Test
    void refusesWhenEveryWorkerIsBusyAndTheQueueIsFull() throws Exception {
        occupyEveryWorker();
        try (TestClient queued = Expect.client(pool().port())) {
            queued.send("queued\n");
            Expect.eventually(Duration.ofSeconds(5), NONE, "the queue (of " + QUEUE + ") must hold the third client",
                    () -> pool().waitingConnections() == QUEUE);
            try (TestClient refused = Expect.client(pool().port())) {
                String lesson = "with every worker busy and the queue (of " + QUEUE + ") full, a newcomer must be told"
                        + " 'ERR server busy' at once and closed: is your queue bounded (ArrayBlockingQueue),"
                        + " and do you catch RejectedExecutionException in dispatch?";
                assertThat(Expect.line(refused, NONE, lesson)).as(lesson).isEqualTo("ERR server busy\n");
                assertThat(refused.endsStream()).as("and the refused connection is closed").isTrue();
            }
            idle.removeFirst().close();
            assertThat(Expect.line(queued, NONE, "the queued client was not served once a worker was free"))
                    .isEqualTo("queued\n");
        }
    }
}
