package c10k.day01.harness;

import c10k.day01.EchoServer;
import c10k.day01.BlockingEchoServer;
import c10k.day01.TestClient;

import c10k.day01.harness.GracefulShutdown;
import c10k.day01.harness.ServerCli;
import c10k.day01.harness.StartError;
import c10k.day01.harness.Timeouts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class ServerCliTest {

    private final ServerCli cli = ServerCli.named("dayXX", "A test server.", 9099)
            .modes("alpha", "beta").threads(4).intOption("--pool", "SIZE", 100, "connections in the pool")
            .only("--pool", "alpha").timeouts();

    @Test
    void defaultsListenOnLoopbackOnly() throws Exception {
        ServerCli.Options o = cli.parse();
        assertThat(o.host()).isEqualTo("127.0.0.1");
        assertThat(o.port()).isEqualTo(9099);
        assertThat(o.threads()).isEqualTo(4);
        assertThat(o.mode()).isEqualTo("alpha");
        assertThat(o.intOption("--pool")).isEqualTo(100);
        assertThat(o.timeouts()).isEqualTo(Timeouts.DEFAULTS);
        assertThat(o.stats()).isFalse();
        assertThat(o.logLevel()).isEqualTo(System.Logger.Level.INFO);
    }

    @Test
    void parsesBothSpellingsAndModesInAnyCase() throws Exception {
        ServerCli.Options o = cli.parse("--port", "0", "--mode=BETA", "--threads=8", "--host", "127.0.0.2",
                "--idle-timeout", "0", "--send-timeout=7", "--drain-timeout", "2", "--stats", "--log-level", "debug");
        assertThat(o).extracting(ServerCli.Options::port, ServerCli.Options::mode, ServerCli.Options::threads, ServerCli.Options::host)
                .containsExactly(0, "beta", 8, "127.0.0.2");
        assertThat(o.timeouts()).isEqualTo(Timeouts.ofSeconds(0, 7, 2));
        assertThat(o.stats()).isTrue();
        assertThat(o.logLevel()).isEqualTo(System.Logger.Level.DEBUG);
        assertThat(cli.parse("--pool", "7").intOption("--pool")).isEqualTo(7);
    }

    @Test
    void rejectsWhatItDoesNotKnow() {
        assertThatThrownBy(() -> cli.parse("--bogus")).hasMessageContaining("Unknown option: '--bogus'");
        assertThatThrownBy(() -> cli.parse("--mode", "gamma")).hasMessageContaining("unknown mode 'gamma' (expected one of alpha, beta)");
        assertThatThrownBy(() -> cli.parse("--port", "70000")).hasMessageContaining("--port needs a whole number from 0 to 65535");
        assertThatThrownBy(() -> cli.parse("--threads", "0")).hasMessageContaining("--threads needs a whole number from 1");
        assertThatThrownBy(() -> cli.parse("--idle-timeout", "-1")).hasMessageContaining("from 0 up");
        assertThatThrownBy(() -> cli.parse("--port")).hasMessageContaining("Missing required parameter for option '--port'");
        assertThatThrownBy(() -> cli.parse("--host", "::1")).hasMessageContaining("not an IPv4 address");
        assertThatThrownBy(() -> cli.parse("--log-level", "loud")).hasMessageContaining("--log-level");
        ServerCli day01 = ServerCli.named("day01", "x", 9001);
        assertThatThrownBy(() -> day01.parse("--mode=a")).hasMessageContaining("Unknown option: '--mode=a'");
        assertThatThrownBy(() -> day01.parse("--idle-timeout")).as("timeouts only where declared")
                .hasMessageContaining("Unknown option: '--idle-timeout'");
        assertThat(ServerCli.named("day02", "x", 9002).timeouts("--idle-timeout").usage())
                .contains("--idle-timeout").doesNotContain("--send-timeout");
    }

    @Test
    void refusesAnOptionThatDoesNotApplyToTheMode() throws Exception {
        ServerCli day02 = ServerCli.named("day02", "x", 9002).modes("virtual", "platform", "pool").threads(4).only("--threads", "pool");
        assertThatThrownBy(() -> day02.parse("--mode", "virtual", "--threads", "8"))
                .hasMessage("--threads does not apply to --mode virtual (only to pool)");
        assertThat(day02.parse("--mode", "Pool", "--threads", "8").threads()).isEqualTo(8);
        assertThat(day02.parse("--mode", "virtual").mode()).as("the default is not 'given'").isEqualTo("virtual");
        assertThatThrownBy(() -> cli.parse("--mode", "beta", "--pool", "5")).hasMessageContaining("--pool does not apply to --mode beta");
    }

    @Test
    void aBadOptionPrintsOneLineAndTheUsageAndExitsWith2() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = cli.runWithoutExit(new String[] {"--nope"}, o -> { throw new AssertionError("not started"); },
                print(out), print(err), new FakeSignals());
        assertThat(status).isEqualTo(2);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("dayXX: Unknown option: '--nope'\nUsage: dayXX");
    }

    @Test
    void helpListsEveryOptionWithItsDefaultOnStdoutAndExitsWith0() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = cli.runWithoutExit(new String[] {"--help"}, o -> { throw new AssertionError("not started"); },
                print(out), System.err, new FakeSignals());
        assertThat(status).isZero();
        String help = out.toString(StandardCharsets.UTF_8);
        assertThat(help).contains("A test server.", "IPv4",
                "--host=HOST", "(default 127.0.0.1)", "--port=PORT", "(default 9099)",
                "--mode=MODE", "alpha, beta", "(default alpha)", "--threads=N", "(default 4)",
                "--pool=SIZE", "only with --mode alpha", "(default 100)",
                "--idle-timeout=SECONDS", "(default 60)", "--send-timeout=SECONDS", "--drain-timeout=SECONDS", "(default 5)",
                "--stats", "--log-level=LEVEL", "(default INFO)", "--help", "--version");
        assertThat(help.indexOf("--host")).as("in the order declared, not sorted").isLessThan(help.indexOf("--port"));
    }

    @Test
    void versionNamesTheProgram() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(cli.runWithoutExit(new String[] {"--version"}, o -> { throw new AssertionError(); }, print(out), System.err,
                new FakeSignals())).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("dayXX, from the C10K workbook, on Java ");
    }

    @Test
    void aPortInUseIsSaidInWords() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = ServerCli.named("day01", "x", 9001).runWithoutExit(new String[] {"--port", "" + port},
                    o -> new BlockingEchoServer(new InetSocketAddress(o.host(), o.port())), print(new ByteArrayOutputStream()), print(err),
                    new FakeSignals());
            assertThat(status).isEqualTo(1);
            assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("day01: cannot start: port " + port
                    + " is in use: is another server running? --port 0 picks a free one\n");
        }
    }

    @Test
    void anAddressNotOnThisMachineIsSaidInWords() {
        // 10.255.255.1 is a private address this machine (almost surely) does not have.
        assertThat(StartError.inWords(new java.net.BindException("Cannot assign requested address"), "10.255.255.1", 9001))
                .startsWith("address 10.255.255.1 is not on this machine");
        // ...and day 3's SyscallException says it the same way, in strerror's words.
        assertThat(StartError.inWords(new java.io.IOException("bind 10.255.255.1:9005: EADDRNOTAVAIL (cannot assign requested address)"),
                "10.255.255.1", 9005)).startsWith("address 10.255.255.1 is not on this machine");
        assertThat(StartError.inWords(new java.io.IOException("bind 127.0.0.1:9004: EADDRINUSE (address already in use)"), "127.0.0.1", 9004))
                .isEqualTo("port 9004 is in use: is another server running? --port 0 picks a free one");
    }

    /** A server that only records what is asked of it; its graceful shutdown waits for a close(). */
    static final class FakeServer implements EchoServer {
        final AtomicReference<Duration> drainAsked = new AtomicReference<>();
        final AtomicReference<Thread> shutdownThread = new AtomicReference<>();
        final CountDownLatch shutdownStarted = new CountDownLatch(1);
        final CountDownLatch closed = new CountDownLatch(1);
        final boolean drainsUntilClosed;

        FakeServer(boolean drainsUntilClosed) {
            this.drainsUntilClosed = drainsUntilClosed;
        }

        @Override public void start() { }
        @Override public int port() { return 4242; }
        @Override public void close() { closed.countDown(); }

        @Override
        public void shutdownGracefully(Duration drain) {
            drainAsked.set(drain);
            shutdownThread.set(Thread.currentThread());
            shutdownStarted.countDown();
            if (!drainsUntilClosed) return;
            try {
                closed.await();   // a drain that only a second signal ends
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Signals the test sends itself: install() hands over the handler the real ones would call. */
    static final class FakeSignals implements GracefulShutdown.Signals {
        final CompletableFuture<Runnable> handler = new CompletableFuture<>();

        @Override
        public void install(Runnable onSignal) {
            handler.complete(onSignal);
        }

        void send() throws Exception {
            handler.get(10, TimeUnit.SECONDS).run();
        }
    }

    @Test
    void theFirstSignalShutsDownGracefullyOnItsOwnThreadAndExits0() throws Exception {
        FakeServer server = new FakeServer(false);
        FakeSignals signals = new FakeSignals();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> cli.runWithoutExit(
                new String[] {"--port", "0", "--drain-timeout", "3"}, o -> server, print(out), System.err, signals));
        signals.send();
        assertThat(status.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("listening on 127.0.0.1:4242\n");
        assertThat(server.drainAsked.get()).isEqualTo(Duration.ofSeconds(3));
        assertThat(server.shutdownThread.get()).isNotEqualTo(Thread.currentThread());
        assertThat(server.closed.getCount()).as("the graceful path closes by itself, not through close()").isEqualTo(1);
    }

    @Test
    void aSecondSignalClosesAtOnce() throws Exception {
        FakeServer server = new FakeServer(true);
        FakeSignals signals = new FakeSignals();
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> cli.runWithoutExit(
                new String[] {"--port", "0"}, o -> server, print(new ByteArrayOutputStream()), System.err, signals));
        signals.send();
        assertThat(server.shutdownStarted.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(status).as("still draining").isNotDone();
        signals.send();   // the impatient second Ctrl-C
        assertThat(server.closed.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(status.get(10, TimeUnit.SECONDS)).as("cut short").isEqualTo(1);
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void sigtermEndsARealServerProcessWithStatus0() throws Exception {
        // The real signal path, in a JVM of its own (a SIGTERM here would end the test run).
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path stderr = Files.createTempFile("day01-stderr", ".txt");
        Process p = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                "c10k.day01.Day01", "--port", "0")).redirectError(stderr.toFile()).start();
        try (BufferedReader stdout = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String ready = stdout.readLine();
            assertThat(ready).startsWith("listening on 127.0.0.1:");
            int port = Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1));
            try (TestClient c = new TestClient(port)) {
                assertThat(c.roundTrip("before the signal\n")).isEqualTo("before the signal\n");
            }
            p.destroy();   // SIGTERM on Linux
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            assertThat(Files.readString(stderr)).contains("INFO    day01: shutting down");
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(stderr);
        }
    }

    private static PrintStream print(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }
}
