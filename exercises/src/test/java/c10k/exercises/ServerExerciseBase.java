package c10k.exercises;

import c10k.day01.ServerTestBase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Day 1's {@link ServerTestBase} for the exercises that run a whole server (days 1 and 2):
 * the same fresh server for each test, and the same fd-leak check, said in words by
 * {@link FdLeakCheck} and within the exercises' time limits.
 *
 * <p>Why not ServerTestBase's own check: it waits up to 10 s and then says "descriptors
 * leaked" with the kernel's names for them, and an exercise's {@code @AfterEach} may take
 * only {@link ExerciseRun#LIFECYCLE_SECONDS} (10 s, server close included), so a learner
 * whose server leaks a socket would be told the server did not shut down. Here the server is
 * closed and checked first; ServerTestBase's {@code @AfterEach} runs after this one (a
 * superclass's after its subclass's) and finds no server left to close or check.
 */
public abstract class ServerExerciseBase extends ServerTestBase {

    /** Counts before ServerTestBase starts the server (extensions' callbacks come before any {@code @BeforeEach}). */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck(whatToClose());

    /** The exercise's question when an fd is left open: what should the learner's code have closed? A constant. */
    protected abstract String whatToClose();

    /**
     * Closes the server, then checks that every fd it and the test opened is closed. A
     * subclass's {@code @AfterEach} (closing the test's own clients) runs before this one.
     */
    @AfterEach
    void closeServerThenCheckFds() {
        if (server == null) return;   // it never started: the test has failed already
        try {
            server.close();
        } finally {
            server = null;            // closed (or failed to): ServerTestBase has nothing left to do
        }
        fds.check();
    }
}
