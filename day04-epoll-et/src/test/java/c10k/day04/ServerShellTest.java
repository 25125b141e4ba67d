package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The shell every epoll server of days 4 to 6 runs in ({@link EpollServer}), seen through loops
 * that only say what was asked of them, and when: the order of a shutdown is what keeps a
 * client from being handed to a loop that is closing, and a listener from being closed under
 * a thread that may still accept on it. The last test runs a real loop.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the listeners are made through FFM")
@ExtendWith(NoFdLeak.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerShellTest {

    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    /** A loop that does nothing but note each call; a listening probe says whether the port still takes connections. */
    final class Recorder implements EpollServer.Loop {
        final String name;
        boolean failsToStart, stopsAccepting = true, leavesAThreadBehind, stopsAcceptingWhenClosed;
        final CountDownLatch stopAsked = new CountDownLatch(1), closing = new CountDownLatch(1);
        Shell server;

        Recorder(String name) {
            this.name = name;
        }

        private void note(String what) {
            calls.add(name + " " + what);
        }

        @Override public void start() throws IOException {
            note("start");
            if (failsToStart) throw new IOException(name + " cannot start");
        }
        @Override public void onFatal(Consumer<Throwable> handler) { }
        @Override public void stopGracefully(long drainNanos) {
            note("stop");
            stopAsked.countDown();
        }
        @Override public boolean awaitStoppedAccepting(long deadline) throws InterruptedException {
            if (stopsAcceptingWhenClosed) closing.await();   // day 5's shared threads: close() says so, even if it gave up on one
            note("stopped accepting: " + stopsAccepting);
            return stopsAccepting;
        }
        @Override public boolean awaitEnd(long deadline) {
            note("ended, listening: " + listening(server.port()));
            return true;
        }
        @Override public boolean close() {
            note("close");
            closing.countDown();
            return !leavesAThreadBehind;
        }
        @Override public void releaseFds(boolean closeWake) { note("release " + closeWake); }
        @Override public void wakeup() { }
        @Override public void beforeEachWait(Runnable hook) { }
        @Override public int connectionCount() { return 1; }
        @Override public int readPausedCount() { return 1; }
        @Override public int largestOutbox() { return name.length(); }
    }

    /** The shell around recorders, one listener, and an acceptor in front of the loops if given one. */
    final class Shell extends EpollServer {
        final List<Recorder> loops;
        final Recorder acceptor;

        Shell(Recorder acceptor, Recorder... loops) {
            super("127.0.0.1", 0);
            this.loops = List.of(loops);
            this.acceptor = acceptor;
            for (Recorder r : this.loops) r.server = this;
            if (acceptor != null) acceptor.server = this;
        }

        @Override protected List<Recorder> newLoops(int[] listenFds) { return loops; }
        @Override protected Loop newAcceptor(int listenFd, List<? extends Loop> l) { return acceptor; }
        @Override protected boolean loopEnded() {
            calls.add("loopEnded");
            return true;
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            return true;
        } catch (IOException refused) {
            return false;
        }
    }

    @Test
    void theAcceptorEndsFirstAndTheListenerClosesOnceEveryLoopStoppedAccepting() throws Exception {
        Shell s = new Shell(new Recorder("acceptor"), new Recorder("loop0"), new Recorder("loop1"));
        s.start();
        assertThat(s.connectionCount()).as("summed over the loops").isEqualTo(2);
        assertThat(s.largestOutbox()).as("the largest of the loops'").isEqualTo(5);
        s.shutdownGracefully(Duration.ofSeconds(1));
        assertThat(calls).containsExactly(
                "loop0 start", "loop1 start", "acceptor start",              // the acceptor last: every loop can take fds
                "acceptor stop", "acceptor ended, listening: true",          // first: no fd handed to a closing loop
                "loop0 stop", "loop1 stop",
                "loop0 stopped accepting: true", "loop1 stopped accepting: true",
                "loop0 ended, listening: false", "loop1 ended, listening: false",   // closed before the drain
                "acceptor close", "loop0 close", "loop1 close",
                "loopEnded",                                                 // once, after every loop ended
                "acceptor release true", "loop0 release true", "loop1 release true");
        assertThat(s.connectionCount()).isZero();
    }

    @Test
    void aLoopThatHasNotLetGoOfTheListenerKeepsItOpenUntilItHasEnded() throws Exception {
        Recorder stuck = new Recorder("loop1");
        stuck.stopsAccepting = false;
        Shell s = new Shell(null, new Recorder("loop0"), stuck);
        s.start();
        s.shutdownGracefully(Duration.ofSeconds(1));
        assertThat(calls).contains("loop0 ended, listening: true", "loop1 ended, listening: true");
        assertThat(listening(s.port())).as("closed by close(), once the loops ended").isFalse();
    }

    @Test
    void aLoopLeftBehindKeepsTheListenersForItselfToClose() throws Exception {
        Recorder behind = new Recorder("loop0");
        behind.leavesAThreadBehind = true;
        Shell s = new Shell(null, behind);
        s.start();
        s.close();
        assertThat(listening(s.port())).as("its thread may still accept on it").isTrue();
        s.closeListeners();                                              // what that thread does when it ends
        assertThat(listening(s.port())).isFalse();
    }

    /**
     * A second signal while the graceful shutdown waits for the loops to stop accepting: its
     * close() gives up on a loop's thread, and that thread keeps the listeners. Neither the
     * graceful shutdown, which that close() let on (every loop "stopped accepting"), nor the
     * close() the shutdown ends with may close them under it: the number would be free for the
     * next socket or file, and the thread's next accept4 or epoll_ctl would act on that.
     */
    @Test
    void aSecondSignalThatLeavesALoopBehindLeavesItTheListenersThoughTheShutdownGoesOn() throws Exception {
        Recorder behind = new Recorder("loop0");
        behind.leavesAThreadBehind = true;
        behind.stopsAcceptingWhenClosed = true;
        Shell s = new Shell(null, behind);
        s.start();
        Thread graceful = Thread.ofPlatform().name("graceful-shutdown").start(() -> s.shutdownGracefully(Duration.ofSeconds(1)));
        behind.stopAsked.await();                                        // the shutdown has the loops and waits for them
        s.close();                                                       // the second signal, on this thread
        graceful.join();
        assertThat(calls).containsSubsequence("loop0 stop", "loop0 close", "loop0 stopped accepting: true");
        assertThat(listening(s.port())).as("the thread left behind may still accept on it").isTrue();
        s.closeListeners();                                              // what that thread does when it ends
    }

    @Test
    void aLoopThatFailsToStartUndoesTheWholeStart() throws Exception {
        Recorder broken = new Recorder("loop1");
        broken.failsToStart = true;
        Shell s = new Shell(new Recorder("acceptor"), new Recorder("loop0"), broken, new Recorder("loop2"));
        assertThatThrownBy(s::start).isInstanceOf(IOException.class).hasMessage("loop1 cannot start");
        assertThat(calls).containsExactly("loop0 start", "loop1 start",
                "acceptor close", "loop0 close", "loop1 close", "loop2 close", "loopEnded",
                "acceptor release true", "loop0 release true", "loop1 release true", "loop2 release true");
        assertThat(listening(s.port())).isFalse();                       // and NoFdLeak: the listener is closed
    }

    /**
     * Bounded, with a real loop: its clock stands still (a test's), so its drain never ends by
     * itself, and the client never closes. The shutdown still returns, a moment past the drain
     * time, by closing the loop, and the client sees its answer and then the end of the stream.
     */
    @Test
    void aShutdownIsBoundedThoughTheLoopsDrainNeverEnds() throws Exception {
        EpollServer s = new EpollEchoServer("127.0.0.1", 0, EpollEchoServer.Mode.ET).clock(() -> 42L)
                .timeouts(Timeouts.NONE);
        s.start();
        try (TestClient c = new TestClient(s.port())) {
            assertThat(c.roundTrip("hello\n")).isEqualTo("hello\n");
            s.shutdownGracefully(Duration.ofNanos(1));
            assertThat(c.endsStream()).isTrue();
            assertThat(s.connectionCount()).isZero();
        } finally {
            s.close();
        }
    }
}
