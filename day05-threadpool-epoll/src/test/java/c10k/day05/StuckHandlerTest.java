package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.Fds;
import c10k.day01.TestClient;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import c10k.day03.sys.SyscallException;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The end of a server must come even when its threads do not: a handler that ignores
 * interrupts, and a start that fails after the pool was started. Without bounds, the first
 * hangs the second signal's close (the process never exits); without clean-up, the second
 * leaves workers waiting for work for ever.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)   // a close that hangs fails here
class StuckHandlerTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private final int fdsBefore = Fds.baseline();

    @AfterEach
    void clean() {
        Faults.clear();
    }

    /** Blocks until released, and swallows every interrupt meanwhile: the worst a handler can do. */
    private static final class Stubborn implements Handler {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public byte[] handle(byte[] line) {
            entered.countDown();
            while (true) {
                try {
                    release.await();
                    return line;
                } catch (InterruptedException ignored) {
                    // "not now"
                }
            }
        }
    }

    @Test
    void sharedModeClosesDespiteAHandlerThatIgnoresInterrupts() throws Exception {
        Stubborn handler = new Stubborn();
        SharedEpollServer s = new SharedEpollServer("127.0.0.1", 0, 1, handler);
        s.closeWait = Duration.ofMillis(200);          // it will never end by itself: any bound will do
        s.start();
        try (TestClient c = new TestClient(s.port())) {
            c.send("stuck\n");
            assertThat(handler.entered.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            // First signal: its only thread is in the handler, so nobody stops accepting.
            Thread first = Thread.ofPlatform().start(() -> s.shutdownGracefully(Duration.ZERO));
            // It has asked the loop to stop and waits for it to stop accepting (its one timed wait).
            Fds.await("the graceful shutdown waits", PATIENCE, () -> first.getState() == Thread.State.TIMED_WAITING);
            s.close();                                 // second signal: returns, leaving that thread behind
            first.join();                              // and the graceful one ends with it
            assertThat(s.workerThreads()).as("the stubborn thread is still in its handler").isEqualTo(1);
            // Neither close() (the first to end the loops) nor the graceful shutdown's own close()
            // after it closes the listener under that thread: its number could be another file's by
            // the time the thread acts on it.
            assertThat(listening(s.port())).as("the listener stays that thread's to close").isTrue();
            handler.release.countDown();
            Fds.await("the stubborn thread ended", PATIENCE, () -> s.workerThreads() == 0);
            assertThat(listening(s.port())).as("closed by that thread as it ended").isFalse();
            assertThat(c.readLine()).as("its answer went out, to the right peer").isEqualTo("stuck\n");
            assertThat(c.endsStream()).as("then the last thread out closed it").isTrue();
        }
        Fds.awaitNoLeak(fdsBefore);                    // that thread released what close() had left open
    }

    private static boolean listening(int port) {
        try (Socket probe = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException refused) {
            return false;
        }
    }

    @Test
    void aGracefulShutdownEndsThoughNobodyIsLeftToStopAccepting() throws Exception {
        Stubborn handler = new Stubborn();
        SharedEpollServer s = new SharedEpollServer("127.0.0.1", 0, 1, handler);
        s.closeWait = Duration.ofMillis(200);
        s.start();
        try (TestClient c = new TestClient(s.port())) {
            c.send("stuck\n");
            assertThat(handler.entered.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            s.shutdownGracefully(Duration.ZERO);       // one signal only: returns all the same
            handler.release.countDown();
            Fds.await("the stubborn thread ended", PATIENCE, () -> s.workerThreads() == 0);
            assertThat(c.readLine()).isEqualTo("stuck\n");
            assertThat(c.endsStream()).isTrue();
        }
        Fds.awaitNoLeak(fdsBefore);
    }

    @Test
    void aReactorWhoseLoopFailsToStartStopsItsWorkers() {
        ReactorServer s = new ReactorServer("127.0.0.1", 0, 3, Handlers.ECHO);
        // The loop's first epoll_ctl(ADD) (its eventfd) fails: after newLoops started the pool.
        Faults.failNext("epoll_ctl(ADD)", Errno.ENOMEM, 1);
        assertThatThrownBy(s::start).isInstanceOf(SyscallException.class).hasMessageContaining("epoll_ctl");
        assertThat(s.largestPoolSize()).as("the pool had been started").isEqualTo(3);
        assertThat(s.poolSize()).as("and is stopped again").isZero();
        Fds.awaitNoLeak(fdsBefore);
    }
}
