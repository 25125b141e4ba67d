package c10k.day01.harness;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.Fds;
import java.time.Duration;
import java.util.ResourceBundle;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The exit status when the end of the graceful shutdown and a second signal cross. The JVM runs
 * each signal's handler on a new thread, so the second one may still be on its way to close()
 * (logging, say) when the graceful shutdown returns: the run must then wait for that close() and
 * exit 1, as a second signal promises; and a signal that comes once the graceful shutdown is over
 * changes nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GracefulShutdownTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private final AtomicReference<Thread> gracefulThread = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Counted down when the second signal's handler logs: the graceful shutdown ends then. */
    private final CountDownLatch secondSignalIn = new CountDownLatch(1);
    /** Holds the second signal's handler in its log call until the test lets it go on. */
    private final CountDownLatch letItGoOn = new CountDownLatch(1);
    private volatile boolean endsAsTheSecondSignalComes;

    private final EchoServer server = new EchoServer() {
        @Override public void start() { }
        @Override public int port() { return 4242; }
        @Override public void close() { closed.set(true); }

        @Override
        public void shutdownGracefully(Duration drain) {
            gracefulThread.set(Thread.currentThread());
            try {
                if (endsAsTheSecondSignalComes) secondSignalIn.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    };

    /** A logger whose WARNING (the second signal's line) waits for the test. */
    private final System.Logger log = new System.Logger() {
        @Override public String getName() { return "test"; }
        @Override public boolean isLoggable(Level level) { return true; }
        @Override public void log(Level level, ResourceBundle bundle, String format, Object... params) { log(level, bundle, format, (Throwable) null); }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            if (level != Level.WARNING) return;
            secondSignalIn.countDown();
            try {
                letItGoOn.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    };

    private boolean gracefulShutdownOver() {
        Thread t = gracefulThread.get();
        return t != null && !t.isAlive();
    }

    @Test
    void aSecondSignalThatCameBeforeTheGracefulShutdownEndedExitsWith1() throws Exception {
        endsAsTheSecondSignalComes = true;
        GracefulShutdown shutdown = new GracefulShutdown(server, Duration.ofSeconds(5), log);
        shutdown.onSignal();                                             // the graceful shutdown starts
        Thread second = Thread.ofPlatform().name("second-signal").start(shutdown::onSignal);
        Fds.await("the graceful shutdown has returned", PATIENCE, this::gracefulShutdownOver);
        Thread test = Thread.currentThread();
        // Let the second signal go on only once await() waits: had the graceful shutdown ended the
        // run, await() would already have answered, with the second signal still to act.
        Thread.ofPlatform().start(() -> {
            Fds.await("await() waits for the second signal", PATIENCE, () -> test.getState() == Thread.State.WAITING);
            letItGoOn.countDown();
        });
        try {
            assertThat(shutdown.await()).as("cut short by the second signal").isEqualTo(1);
            assertThat(closed).isTrue();
        } finally {
            letItGoOn.countDown();
            second.join();
        }
    }

    @Test
    void aSignalAfterTheGracefulShutdownEndedChangesNothing() throws Exception {
        letItGoOn.countDown();
        GracefulShutdown shutdown = new GracefulShutdown(server, Duration.ofSeconds(5), log);
        shutdown.onSignal();
        Fds.await("the graceful shutdown has returned", PATIENCE, this::gracefulShutdownOver);
        shutdown.onSignal();                                             // too late: the process is on its way out with 0
        assertThat(shutdown.await()).isZero();
        assertThat(closed).as("nothing left to close at once").isFalse();
    }
}
