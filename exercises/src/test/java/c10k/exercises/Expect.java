package c10k.exercises;

import c10k.day01.TestClient;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Reads an answer, or fails with the lesson: what the server should have done, and why it
 * probably did not. Exercise tests use short read timeouts ({@link #READ_TIMEOUT_MS}), so an
 * unfinished exercise fails in seconds, not minutes.
 */
public final class Expect {

    /** Long enough for any correct server on loopback, short enough to fail fast. */
    public static final int READ_TIMEOUT_MS = 2_000;

    private Expect() {
    }

    public static TestClient client(int port) throws IOException {
        return new TestClient(port, READ_TIMEOUT_MS);
    }

    /** Reads one line; fails with {@code lesson} if none comes (timeout or end of stream). */
    public static String line(TestClient c, LearnerFailure failure, String lesson) {
        try {
            return c.readLine();
        } catch (IOException e) {
            throw noAnswer(lesson, e, failure);
        }
    }

    /** Reads exactly {@code n} bytes; fails with {@code lesson} if they do not come. */
    public static byte[] bytes(TestClient c, int n, LearnerFailure failure, String lesson) {
        try {
            return c.readExactly(n);
        } catch (IOException e) {
            throw noAnswer(lesson, e, failure);
        }
    }

    /** Reads to the end of the stream; fails with {@code lesson} if the server does not close. */
    public static byte[] toEnd(TestClient c, LearnerFailure failure, String lesson) {
        try {
            return c.readToEnd();
        } catch (IOException e) {
            throw noAnswer(lesson, e, failure);
        }
    }

    /** The lesson, or, while the learner's code is still the skeleton, just that. */
    private static AssertionError noAnswer(String lesson, IOException e, LearnerFailure failure) {
        if (failure.isTodo()) return new AssertionError("not written yet: " + String.valueOf(failure.get().getMessage()).replaceFirst("^TODO:?\\s*", ""), e);
        return new AssertionError(lesson + "\n  (no answer: " + e.getMessage() + ")" + failure.explain(), e);
    }

    /**
     * Waits (at most {@code limit}) for something the server does on its own thread; fails at
     * once if the learner's code threw meanwhile.
     */
    public static void eventually(Duration limit, LearnerFailure failure, String lesson, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            failure.failIfAny(lesson);
            if (System.nanoTime() > deadline) throw new AssertionError(lesson + "\n  (waited " + limit.toSeconds() + " s)");
            LockSupport.parkNanos(1_000_000);
        }
    }
}
