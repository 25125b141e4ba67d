package c10k.exercises.day02;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.TestClient;
import c10k.exercises.BlockingHarness;
import c10k.exercises.ExerciseRun;
import c10k.exercises.Expect;
import c10k.exercises.Hints;
import c10k.exercises.LearnerFailure;
import c10k.exercises.ServerExerciseBase;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Hints({
        "A thread blocked in read() wakes for data, end of stream, or a time limit: where does java.net.Socket let you set one? And if only complete lines count as activity, what does a byte that completes no line change?",
        "Re-read day 2's \"The idle timeout: a read timeout, and what it cannot do\".",
        "A timeout per read restarts with every byte: what would have to be measured from the last complete line instead?"})
@DisplayName("2. IdleTimeout: free a blocked worker from a silent client")
// ServerTestBase allows a server test 120 s; an exercise answer that spins is stopped sooner.
@Timeout(ExerciseRun.TEST_SECONDS)
class IdleTimeoutTest extends ServerExerciseBase {

    /** Short, so the test is quick; far longer than a loopback round trip. */
    static final int IDLE_MS = 300;

    @Override
    protected EchoServer newServer() {
        // One worker, like a pool of one: a silent client holds it until the timeout frees it.
        return new BlockingHarness(client -> IdleTimeout.serve(client, IDLE_MS));
    }

    @Override
    protected String whatToClose() {
        return "The harness closes the client's socket when serve returns, after a timeout too: did your code open"
                + " a socket or a stream of its own, and leave it open?";
    }

    private LearnerFailure failure() {
        return ((BlockingHarness) server).failure();
    }

    @Test
    void aClientThatKeepsTalkingIsServed() throws Exception {
        try (TestClient c = Expect.client(server.port())) {
            for (int i = 0; i < 20; i++) {
                assertThat(Expect.line(c.send("line " + i + "\n"), failure(), "an active client got no answer"))
                        .as("an active client is served like on day 1").isEqualTo("line " + i + "\n");
            }
        }
    }

    @Test
    void aSilentClientIsToldAndClosed() throws Exception {
        try (TestClient c = Expect.client(server.port())) {
            assertThat(Expect.line(c.send("hello\n"), failure(), "no answer to 'hello'")).isEqualTo("hello\n");
            // ...and now silence. Expect.line waits 2 s, far more than the 300 ms idle timeout.
            String lesson = "a client silent for more than idleMillis must get 'ERR idle timeout' and be closed:"
                    + " did you set a read timeout on the socket (setSoTimeout) and catch SocketTimeoutException?";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("ERR idle timeout\n");
            assertThat(c.endsStream()).as("closed after the error line").isTrue();
        }
    }

    @Test
    void aClientDrippingBytesWithoutANewlineIsCut() throws Exception {
        int drips = 30;   // one byte every IDLE_MS / 3: ten idle timeouts' worth in all
        try (TestClient c = Expect.client(server.port())) {
            assertThat(Expect.line(c.send("hello\n"), failure(), "no answer to 'hello'")).isEqualTo("hello\n");
            c.socket().setSoTimeout(IDLE_MS / 3);
            int sent = 0;
            int first = -1;
            while (sent < drips && first < 0) {
                try {
                    c.send("x");   // a byte, and never a newline
                    sent++;
                } catch (java.io.IOException closed) {
                    break;         // the server closed: it did cut us
                }
                try {
                    first = c.socket().getInputStream().read();
                } catch (java.net.SocketTimeoutException stillServed) {
                    // nothing yet: drip on
                }
            }
            c.socket().setSoTimeout(Expect.READ_TIMEOUT_MS);
            String lesson = "a client that sends a byte every " + (IDLE_MS / 3) + " ms and never a newline was still"
                    + " connected after " + sent + " bytes (" + (sent * IDLE_MS / 3) + " ms, idle timeout " + IDLE_MS
                    + " ms): the slowloris. Bytes that complete no line are not activity, yet each one gave the client"
                    + " a fresh idle timeout (day 2, \"The idle timeout: a read timeout, and what it cannot do\")";
            failure().failIfAny(lesson);
            assertThat(first).as(lesson).isNotNegative();
            String rest = first == 'E' ? Expect.line(c, failure(), lesson) : "";
            assertThat((char) first + rest).as(lesson).isEqualTo("ERR idle timeout\n");
        }
    }

    @Test
    void theClientWaitingBehindASilentOneIsServed() throws Exception {
        try (TestClient silent = Expect.client(server.port()); TestClient waiting = Expect.client(server.port())) {
            assertThat(Expect.line(silent.send("hi, then nothing\n"), failure(), "no answer to the first client"))
                    .isEqualTo("hi, then nothing\n");
            waiting.send("my turn?\n");   // queued behind the silent client: the only worker is in read()
            String lesson = "the only worker stayed in read() for a silent client, so the next client starved:"
                    + " the idle timeout must free it";
            assertThat(Expect.line(waiting, failure(), lesson)).as(lesson).isEqualTo("my turn?\n");
        }
    }
}
