package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.KernelView;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day03.EventLoopLessons;
import c10k.day03.EventLoopServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
class EpollEchoServerTest {

    static EpollEchoServer server(EpollEchoServer.Mode mode) {
        return new EpollEchoServer("127.0.0.1", 0, mode);
    }

    @Nested
    class EdgeTriggeredContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(EpollEchoServer.Mode.ET);
        }
    }

    @Nested
    class LevelTriggeredContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(EpollEchoServer.Mode.LT);
        }
    }

    /** The lingering close, day 4's: the error line reaches a client that is still sending. */
    @Nested
    class LingeringClose extends c10k.day01.LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return server(EpollEchoServer.Mode.ET);
        }
    }

    @Nested
    class EdgeTriggeredLessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return server(EpollEchoServer.Mode.ET);
        }
    }

    @Nested
    class LevelTriggeredLessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return server(EpollEchoServer.Mode.LT);
        }
    }

    @Nested
    class EdgeTriggeredEngine extends EngineLessons {
        @Override
        protected EpollServer newServer() {
            return server(EpollEchoServer.Mode.ET);
        }
    }

    @Nested
    class LevelTriggeredEngine extends EngineLessons {
        @Override
        protected EpollServer newServer() {
            return server(EpollEchoServer.Mode.LT);
        }
    }

    /**
     * The lesson of edge-triggered mode, made visible: a server that reads once per event
     * instead of until EAGAIN leaves data in the socket, and no event will ever come for it.
     */
    @Nested
    class StoppingBeforeEagain extends ServerTestBase {
        /**
         * Small reads, and a request that fits in the socket's receive window but needs many
         * reads: more than one turn's budget (16 reads), so the correct server also has to use
         * its owed list.
         */
        static final int READ_SIZE = 1024;
        static final int REQUEST = 32_000;
        private final Semaphore loopMayWait = new Semaphore(0);
        private final CountDownLatch loopIsHeld = new CountDownLatch(1);

        @Override
        protected EchoServer newServer() {
            return new EpollEchoServer("127.0.0.1", 0, EpollEchoServer.Mode.ET_STOPS_EARLY, READ_SIZE);
        }

        /**
         * Parks the loop thread before its next epoll_wait and returns once it is parked; the
         * returned Runnable lets it go. Meanwhile the test can make data arrive that the loop
         * has not seen yet: everything is in the socket before the server reads once.
         */
        private Runnable holdLoop(EpollEchoServer s) throws Exception {
            java.util.concurrent.atomic.AtomicBoolean hold = new java.util.concurrent.atomic.AtomicBoolean(true);
            int before = s.connectionCount();
            s.beforeEachWait(() -> {
                if (loopTid == null) loopTid = KernelView.threadSelf();
                // Hold only once the waker is accepted: the loop may be between its last
                // epoll_wait and the hook right now, and must not park with the waker queued.
                if (s.connectionCount() > before && hold.getAndSet(false)) {
                    loopIsHeld.countDown();
                    loopMayWait.acquireUninterruptibly();
                }
            });
            // The loop sleeps in epoll_wait: a new connection wakes it, it accepts it, and on
            // its way back to epoll_wait it meets the hook.
            waker = new TestClient(s.port());
            loopIsHeld.await();
            return () -> loopMayWait.release();
        }

        private TestClient waker;
        private volatile String loopTid;

        /**
         * The stall, as the kernel sees it: the loop thread asleep in epoll_wait while
         * {@code unread} bytes (or queued clients, for a listener) wait in the socket of
         * {@code localPort} connected to {@code remotePort}. Edge-triggered, nothing will wake it
         * for them: no waiting to see that nothing comes.
         */
        private void awaitStall(int localPort, int remotePort, long unread) {
            c10k.day01.Fds.await("the loop asleep with " + unread + " waiting", java.time.Duration.ofSeconds(30),
                    () -> KernelView.asleepInEpollWait(loopTid) && KernelView.rxQueue(localPort, remotePort) == unread);
        }

        @org.junit.jupiter.api.AfterEach
        void letGo() throws Exception {
            loopMayWait.release(10);   // never leave the loop parked, even if a test failed
            if (waker != null) waker.close();
        }

        /** How many bytes of complete lines the first {@code reads} reads of READ_SIZE contain. */
        private static int echoedAfterReads(byte[] request, int reads) {
            int end = reads * READ_SIZE;
            while (request[end - 1] != '\n') end--;
            return end;
        }

        private static byte[] request() {
            StringBuilder lines = new StringBuilder();
            for (int i = 0; lines.length() < REQUEST; i++) lines.append("line ").append(i).append('\n');
            return lines.toString().getBytes(StandardCharsets.US_ASCII);
        }

        @Test
        void stallsWithDataLeftInTheSocket() throws Exception {
            EpollEchoServer s = (EpollEchoServer) server;
            byte[] request = request();

            try (TestClient c = new TestClient(s.port())) {
                assertThat(c.roundTrip("connected\n")).isEqualTo("connected\n");   // accepted and registered
                Runnable letGo = holdLoop(s);            // the loop is parked before epoll_wait
                c.send(request);                         // every byte is in the server's socket now
                letGo.run();                             // one edge, one read of 1 KiB, then...

                ByteArrayOutputStream got = new ByteArrayOutputStream();
                got.writeBytes(c.readExactly(echoedAfterReads(request, 1)));   // the lines of one read
                // ...the rest stays in the kernel, and the loop sleeps: no new edge, no read.
                awaitStall(s.port(), c.socket().getLocalPort(), request.length - READ_SIZE);

                // Only new data makes a new edge; each one moves the stream one read further.
                c.send("x\n");
                got.writeBytes(c.readExactly(echoedAfterReads(request, 2) - got.size()));
                assertThat(got.toByteArray()).isEqualTo(java.util.Arrays.copyOf(request, got.size()));
                awaitStall(s.port(), c.socket().getLocalPort(), request.length + 2 - 2 * READ_SIZE);   // and stalls again
            }
        }

        @Test
        void anEdgeTriggeredListenerThatAcceptsOncePerEventLeavesClientsQueued() throws Exception {
            EpollEchoServer s = (EpollEchoServer) server;
            Runnable letGo = holdLoop(s);                // the waker is accepted, then the loop parks
            try (TestClient a = new TestClient(s.port()); TestClient b = new TestClient(s.port())) {
                // Both handshakes are done by the kernel: both wait in the listen queue, one edge.
                letGo.run();
                assertThat(a.roundTrip("a\n")).isEqualTo("a\n");
                b.send("b\n");
                awaitStall(s.port(), 0, 1);           // one accept per edge: b stays in the listener's queue
                assertThat(s.connectionCount()).as("the waker and a").isEqualTo(2);
                // Only a new connection makes a new edge, and it moves the queue by one: b.
                try (TestClient c = new TestClient(s.port())) {
                    assertThat(b.readLine()).isEqualTo("b\n");
                }
            }
        }

        @Test
        void theCorrectListenerAcceptsTheWholeQueueOnOneEdge() throws Exception {
            server.close();
            EpollEchoServer s = new EpollEchoServer("127.0.0.1", 0, EpollEchoServer.Mode.ET);
            server = s;
            s.start();
            Runnable letGo = holdLoop(s);
            try (TestClient a = new TestClient(s.port()); TestClient b = new TestClient(s.port())) {
                letGo.run();
                assertThat(a.roundTrip("a\n")).isEqualTo("a\n");
                assertThat(b.roundTrip("b\n")).isEqualTo("b\n");
            }
        }

        @Test
        void theCorrectServerDrainsTheSameStream() throws Exception {
            server.close();   // swap in the ET server that drains to EAGAIN, same scenario
            EpollEchoServer s = new EpollEchoServer("127.0.0.1", 0, EpollEchoServer.Mode.ET, READ_SIZE);
            server = s;
            s.start();
            byte[] request = request();
            try (TestClient c = new TestClient(s.port())) {
                assertThat(c.roundTrip("connected\n")).isEqualTo("connected\n");
                Runnable letGo = holdLoop(s);
                c.send(request);
                letGo.run();
                assertThat(c.readExactly(request.length)).isEqualTo(request);
            }
        }
    }
}
