package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.LingeringCloseContract;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day03.EventLoopLessons;
import c10k.day03.EventLoopServer;
import c10k.day01.ChildServer;
import c10k.day04.ManyConnectionsTest;
import c10k.day05.Handler;
import c10k.day05.Handlers;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll and dup3 are Linux's")
class PinnedServerTest {

    static PinnedServer pinned(Handler handler, int pool) {
        return new PinnedServer("127.0.0.1", 0, 4, handler, pool, 2_048);
    }

    @Nested
    class Contract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return pinned(Handlers.ECHO, 128);
        }
    }

    @Nested
    class UnpinnedContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return FdReuseServer.unpinned("127.0.0.1", 0, 4, Handlers.ECHO);
        }
    }

    @Nested
    class ErrorLines extends LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return pinned(Handlers.ECHO, 16);
        }
    }

    /** Day 4's engine lessons (timers on a fake clock, graceful shutdown, injected accept and epoll_ctl failures), on day 6. */
    @Nested
    class Engine extends c10k.day04.EngineLessons {
        @Override
        protected c10k.day04.EpollServer newServer() {
            return pinned(Handlers.ECHO, 64);
        }
    }

    @Nested
    class UnpinnedEngine extends c10k.day04.EngineLessons {
        @Override
        protected c10k.day04.EpollServer newServer() {
            return (c10k.day04.EpollServer) FdReuseServer.unpinned("127.0.0.1", 0, 2, Handlers.ECHO);
        }
    }

    @Nested
    class Lessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return pinned(Handlers.ECHO, 4_096);
        }
    }

    @Nested
    class PoolExhaustion extends ServerTestBase {
        @Override
        protected EchoServer newServer() {
            return pinned(Handlers.ECHO, 3);
        }

        @Test
        void aFullPoolRefusesNewcomersAndKeepsServingTheOthers() throws Exception {
            List<TestClient> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    TestClient c = new TestClient(server.port());
                    held.add(c);
                    assertThat(c.roundTrip("in " + i + "\n")).isEqualTo("in " + i + "\n");
                }
                try (TestClient late = new TestClient(server.port())) {
                    assertThat(late.readLine()).isEqualTo("ERR server full\n");
                    assertThat(late.endsStream()).isTrue();
                }
                // The counter is the loop thread's: poll for it (bounded), never assume it is already visible.
                c10k.day01.Fds.await("the refusal counted", java.time.Duration.ofSeconds(10),
                        () -> ((PinnedServer) server).refusedForLackOfFds() == 1);
                // The acceptor counted it accepted; --stats must not count the refused one open.
                c10k.day01.Fds.await("open back to the pool's 3", java.time.Duration.ofSeconds(10),
                        () -> ((PinnedServer) server).stats().snapshot().open() == 3);
                for (int i = 0; i < 3; i++) assertThat(held.get(i).roundTrip("still " + i + "\n")).isEqualTo("still " + i + "\n");
            } finally {
                for (TestClient c : held) c.close();
            }
        }
    }

    @Test
    void aPoolBeyondTheOpenFilesLimitIsRefusedAtStartWithAClearError() {
        FdReuseServer tooBig = FdReuseServer.pinned("127.0.0.1", 0, 1, Handlers.ECHO, 10_000_000, 1_024);
        assertThatThrownBy(tooBig::start).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a pool of 10000000 connections at fds 1024..10001023 needs an open-files limit above");
    }

    @Test
    void aRangeThatOverlapsOpenDescriptorsIsRefusedAndNothingInItIsTouched() throws Exception {
        int open = 3;
        while (!FdCalls.isOpen(open)) open++;
        String before = Files.readSymbolicLink(Path.of("/proc/self/fd/" + open)).toString();
        FdReuseServer overlapping = FdReuseServer.pinned("127.0.0.1", 0, 1, Handlers.ECHO, 8, open);
        assertThatThrownBy(overlapping::start).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fd " + open + " in the pinned range").hasMessageContaining("is already open in this process");
        assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + open)).toString())
                .as("F_DUPFD, unlike dup3, never replaces a file that is open").isEqualTo(before);
    }

    /**
     * The promise: the whole range is open at every instant, while idle, while clients
     * are on it and after they came and went; free slots show the one placeholder socket.
     * After close, none of it is.
     */
    @Nested
    class TheRangeIsAlwaysHeld extends ServerTestBase {
        static final int SLOTS = 16;

        @Override
        protected EchoServer newServer() {
            return pinned(Handlers.ECHO, SLOTS);
        }

        @Test
        void everySlotNumberIsOpenIdleBusyAndAfterClientsLeftAndNoneAfterClose() throws Exception {
            PinnedServer s = (PinnedServer) server;
            String placeholder = link(s.placeholderFd());
            assertThat(placeholder).startsWith("socket:[");
            assertHeld(s, placeholder, 0);
            List<TestClient> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(new TestClient(s.port()));
                    assertThat(held.get(i).roundTrip("on a slot\n")).isEqualTo("on a slot\n");
                }
                assertHeld(s, placeholder, 3);
            } finally {
                for (TestClient c : held) c.close();
            }
            Probe.awaitAllFree(s);
            assertHeld(s, placeholder, 0);
            for (int i = 0; i < 3 * SLOTS; i++) {            // round the FIFO three times
                try (TestClient c = new TestClient(s.port())) {
                    assertThat(c.roundTrip("passing " + i + "\n")).isEqualTo("passing " + i + "\n");
                }
            }
            Probe.awaitAllFree(s);
            assertHeld(s, placeholder, 0);
            s.close();
            for (int n = s.fdBase(); n < s.fdBase() + SLOTS; n++) assertThat(FdCalls.isOpen(n)).as("fd %d after close", n).isFalse();
        }

        private static void assertHeld(PinnedServer s, String placeholder, int busy) throws Exception {
            int withPlaceholder = 0;
            for (int n = s.fdBase(); n < s.fdBase() + SLOTS; n++) {
                assertThat(FdCalls.isOpen(n)).as("slot number %d is open", n).isTrue();
                if (link(n).equals(placeholder)) withPlaceholder++;
            }
            assertThat(withPlaceholder).as("free slots hold the placeholder").isEqualTo(SLOTS - busy);
        }

        private static String link(int fd) {
            return Probe.link(fd);
        }
    }

    /**
     * Many short-lived clients, clients that reset in the middle: with a pool
     * of 8 slots every number is reused constantly while workers are still late. Every byte
     * each client receives must be its own. A client that resets waits until a worker holds its
     * first line, so that its worker surely comes late (the loop sees the reset while the worker
     * is still on the other four lines): the test does exercise the race.
     */
    @Nested
    class UnderStress extends ServerTestBase {
        private final Map<Integer, CountDownLatch> inHandler = new ConcurrentHashMap<>();
        private final Map<Integer, CountDownLatch> hasReset = new ConcurrentHashMap<>();

        @Override
        protected EchoServer newServer() {
            Handler holdsResetters = line -> {
                String text = new String(line, StandardCharsets.US_ASCII);
                int id = Integer.parseInt(text.substring(text.indexOf('-') + 1, text.indexOf('|')));
                if (text.endsWith("|0\n") && inHandler.containsKey(id)) {
                    inHandler.get(id).countDown();
                    hasReset.get(id).await(20, TimeUnit.SECONDS);
                }
                return line;
            };
            return pinned(holdsResetters, 8);
        }

        @Test
        void everyClientReceivesOnlyItsOwnBytes() throws Exception {
            PinnedServer s = (PinnedServer) server;
            try (ExecutorService clients = Executors.newFixedThreadPool(6)) {
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    int id = i;
                    results.add(clients.submit(() -> client(s.port(), id)));
                }
                for (Future<String> r : results) assertThat(r.get()).isEqualTo("ok");
            }
            assertThat(s.lateWritesRefused()).as("late writers did come, and were refused").isPositive();
        }

        private String client(int port, int id) throws Exception {
            String tag = "client-" + id + "|";
            boolean resets = id % 3 == 0;
            if (resets) {
                inHandler.put(id, new CountDownLatch(1));
                hasReset.put(id, new CountDownLatch(1));
            }
            try (Socket socket = new Socket("127.0.0.1", port)) {
                socket.setSoTimeout(20_000);
                StringBuilder request = new StringBuilder();
                for (int j = 0; j < 5; j++) request.append(tag).append(j).append('\n');
                socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.US_ASCII));
                if (resets) {
                    // Refused (pool full) clients never reach a handler: then the wait just ends.
                    inHandler.get(id).await(2, TimeUnit.SECONDS);
                    socket.setSoLinger(true, 0);   // leave with work in flight: a late writer
                    socket.close();
                    hasReset.get(id).countDown();
                    return "ok";
                }
                byte[] got = socket.getInputStream().readNBytes(request.length());
                String answer = new String(got, StandardCharsets.US_ASCII);
                if (answer.startsWith("ERR server full")) return "ok";   // the pool was full: refused, fine
                for (String line : answer.split("\n")) {
                    if (!line.startsWith(tag)) return "client " + id + " received someone else's bytes: " + line;
                }
                return answer.equals(request.toString()) ? "ok" : "client " + id + " got: " + answer;
            }
        }
    }

    @Test
    void tenThousandPinnedConnectionsAllStillEcho() throws Exception {
        try (ChildServer child = ChildServer.start("c10k.day06.Day06", 0, "--pool", "10000", "--fd-base", "1024")) {
            ManyConnectionsTest.holdAndEcho(child.port(), 10_000);
            // The closing line is day 6's own, though day 4's EpollServer writes it.
            assertThat(child.stop()).contains("open-files limit: soft", "(soft raised to hard)", "day06: day06 pinned");
        }
    }
}
