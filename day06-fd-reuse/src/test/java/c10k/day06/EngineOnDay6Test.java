package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.Protocol;
import c10k.day01.StreamingWriter;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day05.Handler;
import c10k.day05.Handlers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What day 6 gets from the engine and must not lose by letting workers write: a handler's
 * Error ends a request, not a connection; a peer that hangs up while held back is closed;
 * memory stays bounded under a flood; idle connections time out; SIGTERM drains. Each test on
 * the pinned server, the one {@code ./jbang day06} runs.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll and dup3 are Linux's")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
class EngineOnDay6Test {

    private static final int SLOTS = 64;
    /**
     * The most a day 6 outbox holds: one batch's answers, since no read goes to the workers
     * while anything waits. A batch is one read (64 KiB) plus the start of a line held back from
     * earlier reads (under a line); for a flood of empty lines, 64 KiB exactly.
     */
    private static final int ONE_BATCH = 64 * 1024 + Protocol.MAX_LINE;

    private PinnedServer server;
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void closeAll() throws IOException {
        for (Socket s : sockets) s.close();
        if (server != null) server.close();
    }

    private PinnedServer start(Handler handler, Timeouts timeouts, java.util.function.LongSupplier clock) throws IOException {
        server = new PinnedServer("127.0.0.1", 0, 2, handler, SLOTS, 2_600);
        server.timeouts(timeouts).clock(clock);
        server.start();
        return server;
    }

    private PinnedServer start(Handler handler) throws IOException {
        return start(handler, Timeouts.NONE, System::nanoTime);
    }

    @Test
    void anErrorThrownByAHandlerAnswersErrAndTheConnectionGoesOn() throws Exception {
        start(line -> switch (new String(line, StandardCharsets.US_ASCII)) {
            case "overflow\n" -> throw new StackOverflowError("a handler that recursed too deep");
            case "assert\n" -> throw new AssertionError("a handler's bug");
            default -> line;
        });
        try (TestClient c = new TestClient(server.port())) {
            c.send("a\noverflow\nb\nassert\nc\n");
            for (String want : List.of("a\n", "ERR handler failed\n", "b\n", "ERR handler failed\n", "c\n")) {
                assertThat(c.readLine()).isEqualTo(want);
            }
            assertThat(c.roundTrip("still served\n")).isEqualTo("still served\n");
            c.shutdownOutput();
            assertThat(c.endsStream()).as("and it closes normally: nothing was wedged").isTrue();
        }
        Probe.awaitAllFree(server);
        assertThat(server.connectionCount()).isZero();
    }

    /**
     * On day 6: 16 clients send megabytes of bare newlines (65,536 requests per read)
     * and never read. Each is held back after one batch: every one is read-paused, no outbox
     * passes one batch, and a polite client is answered meanwhile.
     */
    @Test
    void aFloodOfEmptyLinesFromPeersThatNeverReadIsHeldToOneBatchEach() throws Exception {
        start(Handlers.ECHO);
        int flooders = 16;
        try (ExecutorService writers = Executors.newFixedThreadPool(flooders)) {
            List<Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < flooders; i++) {
                Socket s = smallWindowClient();
                sent.add(writers.submit(() -> flood(s, 8 << 20)));
            }
            Fds.await("every flooder held back", Probe.PATIENCE, () -> server.readPausedCount() == flooders);
            try (TestClient polite = new TestClient(server.port())) {
                for (int i = 0; i < 10; i++) assertThat(polite.roundTrip("polite " + i + "\n")).isEqualTo("polite " + i + "\n");
            }
            assertThat(server.readPausedCount()).as("still holding every flooder back").isEqualTo(flooders);
            assertThat(server.largestOutbox()).as("bytes held for one peer that does not read").isLessThanOrEqualTo(ONE_BATCH);
            for (Socket s : sockets) {
                s.setSoLinger(true, 0);
                s.close();                                  // reset: the writers' blocked writes fail
            }
            for (Future<?> f : sent) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException expected) {
                    // the write was cut short by our own reset
                }
            }
        }
        Fds.await("every flooder closed", Probe.PATIENCE, () -> server.connectionCount() == 0);
        assertThat(server.readPausedCount()).isZero();
        Probe.awaitAllFree(server);
    }

    /**
     * Connections the loop no longer reads (held back: their answers wait) whose peers hang up
     * are closed, their slots freed, and the loop does not spin on them: the kernel reports
     * EPOLLERR | EPOLLHUP for a reset, and the engine closes a connection it is not reading
     * when it hangs up, instead of being told so again and again.
     */
    @Test
    void heldBackConnectionsWhosePeersHangUpAreClosed() throws Exception {
        start(Handlers.ECHO);
        Socket heldBack = smallWindowClient();
        Socket halfClosed = smallWindowClient();
        try (ExecutorService writers = Executors.newFixedThreadPool(2)) {
            writers.submit(() -> flood(heldBack, 8 << 20));
            writers.submit(() -> {
                flood(halfClosed, 8 << 20);
                halfClosed.shutdownOutput();                 // FIN after the flood, if it ever gets that far
                return null;
            });
            Fds.await("both held back", Probe.PATIENCE, () -> server.readPausedCount() == 2);
            for (Socket s : List.of(heldBack, halfClosed)) {
                s.setSoLinger(true, 0);
                s.close();                                  // RST: the blocked writes fail, and so does the server's send
            }
            Fds.await("both closed", Probe.PATIENCE, () -> server.connectionCount() == 0);
        }
        Probe.awaitAllFree(server);
        assertThat(server.readPausedCount()).isZero();
        java.util.concurrent.atomic.AtomicReference<String> loop = new java.util.concurrent.atomic.AtomicReference<>();
        server.beforeEachWait(() -> loop.compareAndSet(null, c10k.day01.KernelView.threadSelf()));
        try (TestClient c = new TestClient(server.port())) {
            for (int i = 0; i < 5; i++) assertThat(c.roundTrip("after " + i + "\n")).isEqualTo("after " + i + "\n");
            // A loop told of a hung-up fd again and again never sleeps; this one does, as the kernel says.
            Fds.await("the loop asleep in epoll_wait", Probe.PATIENCE,
                    () -> loop.get() != null && c10k.day01.KernelView.asleepInEpollWait(loop.get()));
        }
    }

    /**
     * A silent client is closed at its idle deadline, on the engine's clock, moved by
     * hand. (The reactor counts a line as activity when it arrives, so an answer seen means the
     * clock has restarted; the test still lets every batch come back before moving the clock,
     * so that nothing of the loop's is left to happen at the new time.)
     */
    @Test
    void anIdleClientIsClosedWhenTheClockPassesItsDeadlineAndAnActiveOneIsKept() throws Exception {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        start(Handlers.ECHO, new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(5)), now::get);
        try (TestClient silent = new TestClient(server.port()); TestClient active = new TestClient(server.port())) {
            assertThat(silent.roundTrip("then silence\n")).isEqualTo("then silence\n");
            assertThat(active.roundTrip("first\n")).isEqualTo("first\n");
            awaitBatchesBack();
            now.addAndGet(Duration.ofSeconds(6).toNanos());
            server.wakeup();
            assertThat(active.roundTrip("six seconds on\n")).isEqualTo("six seconds on\n");
            awaitBatchesBack();
            now.addAndGet(Duration.ofSeconds(6).toNanos());   // 12 s of silence: past 10
            server.wakeup();
            assertThat(silent.endsStream()).as("closed gently: FIN").isTrue();
            assertThat(active.roundTrip("still here\n")).isEqualTo("still here\n");
            assertThat(server.timeoutsFired()).isEqualTo(1);
        }
        Probe.awaitAllFree(server);
    }

    /**
     * SIGTERM's graceful shutdown while clients stream lines: each receives whole
     * lines, its own, in order, then end of stream, never a reset; then every slot number is
     * given back.
     */
    @Test
    void aGracefulShutdownWhileClientsStreamGivesWholeLinesThenEndOfStream() throws Exception {
        // A drain clock long enough for clients on a busy machine: past it, a reset is allowed.
        start(Handlers.ECHO, new Timeouts(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(60)), System::nanoTime);
        int clients = 10;
        AtomicInteger streaming = new AtomicInteger();
        // Platform threads: a virtual thread that writes without ever blocking would keep its
        // carrier from the readers.
        try (ExecutorService pool = Executors.newCachedThreadPool()) {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int id = i;
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", server.port()));
                s.setSoTimeout(60_000);
                sockets.add(s);
                results.add(pool.submit(() -> stream(s, id, streaming)));
            }
            Fds.await("every client streaming", Probe.PATIENCE, () -> streaming.get() == clients);
            server.shutdownGracefully(Duration.ofSeconds(60));
            for (Future<String> r : results) assertThat(r.get(60, TimeUnit.SECONDS)).isEqualTo("ok");
        }
        assertThat(server.connectionCount()).isZero();
        for (int n = 2_600; n < 2_600 + SLOTS; n++) assertThat(c10k.day06.FdCalls.isOpen(n)).as("fd %d after shutdown", n).isFalse();
    }

    private void awaitBatchesBack() {
        Fds.await("every batch back on the loop", Probe.PATIENCE, () -> server.requestsInFlight() == 0);
    }

    /** Writes numbered lines until the server ends the stream; checks that what came back is a whole-line prefix of them. */
    private static String stream(Socket s, int id, AtomicInteger streaming) throws Exception {
        StreamingWriter writer = StreamingWriter.start(s, j -> ("client " + id + " line " + j + "\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        boolean counted = false;
        int n;
        try {
            while ((n = in.read(buf)) >= 0) {
                got.write(buf, 0, n);
                if (!counted && got.size() > 1_000) {
                    counted = true;
                    streaming.incrementAndGet();
                }
            }
        } catch (IOException e) {
            return "client " + id + ": " + e + " after " + got.size() + " bytes";
        } finally {
            writer.close();   // writing after the server shut its side may fail; the answers are what count
        }
        s.close();                                          // our FIN ends the server's drain of this client
        String all = got.toString(StandardCharsets.US_ASCII);
        if (!all.isEmpty() && !all.endsWith("\n")) {
            return "client " + id + ": a cut line at the end of " + all.length() + " bytes: ..." + all.substring(Math.max(0, all.length() - 80));
        }
        String[] lines = all.isEmpty() ? new String[0] : all.split("\n");
        for (int j = 0; j < lines.length; j++) {
            if (!lines[j].equals("client " + id + " line " + j)) return "client " + id + ": line " + j + " is " + lines[j];
        }
        return counted ? "ok" : "client " + id + ": too little came back to count as streaming";
    }

    /** A client whose receive window is small, so that the path back to it fills quickly. */
    private Socket smallWindowClient() throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(16 * 1024);                  // before connect: it sets the window
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        sockets.add(s);
        return s;
    }

    /** Writes {@code bytes} bare newlines; blocks once every buffer on the way is full, as expected. */
    private static Void flood(Socket s, int bytes) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) '\n');
        OutputStream out = s.getOutputStream();
        for (int off = 0; off < bytes; off += chunk.length) out.write(chunk);
        return null;
    }
}
