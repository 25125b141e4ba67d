package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.Fds;
import c10k.day01.TestClient;
import c10k.day01.harness.Timeouts;
import c10k.day07.sys.IoUring;
import c10k.day07.sys.IoUringAbi;
import c10k.day07.sys.KernelCeiling;
import c10k.day07.sys.KernelFeatures.Feature;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The server on the kernels readers have, played on this one: io_uring made to answer as an
 * older kernel would ({@link KernelCeiling}: every flag, field and request newer than
 * that kernel refused with EINVAL, as that kernel refuses it), or not at all, as a container's
 * seccomp profile answers.
 *
 * <p>Each fallback is shown where it used to break: 50 clients that connect and send a line
 * while the loop is held before its first turn, so that every one of them is accepted, and
 * has its receive armed, in one batch. On Debian 12's Linux 6.1 the multishot server armed
 * each such receive with a byte budget the kernel did not know, and answered none of them.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class OlderKernelsTest {

    static final int CLIENTS = 50;

    @Test
    void beforeLinux617MultishotReceivesAreArmedWithNoBudget() throws Exception {
        IoUringEchoServer server = burst(IoUringEchoServer.Mode.MULTISHOT, "6.16");
        // (The ceiling only takes away: what 6.16 has beyond the real kernel stays missing.)
        assertThat(server.kernel().has(Feature.RECV_BUDGET)).isFalse();
        assertThat(server.recvBudget()).isZero();
    }

    @Test
    void beforeLinux612EachReceiveTakesAWholeBuffer() throws Exception {
        IoUringEchoServer server = burst(IoUringEchoServer.Mode.MULTISHOT, "6.11");
        assertThat(server.kernel().has(Feature.INCREMENTAL_BUFFERS)).isFalse();
        assertThat(server.kernel().has(Feature.MULTISHOT_RECV)).isTrue();
    }

    @Test
    void onLinux60TheRingIsNotSingleIssuerAndCompletionsComeAtTheNextEnter() throws Exception {
        IoUringEchoServer server = burst(IoUringEchoServer.Mode.MULTISHOT, "6.0");
        assertThat(server.kernel().has(Feature.SINGLE_ISSUER)).isFalse();
        assertThat(server.kernel().has(Feature.COOP_TASKRUN)).isTrue();
        assertThat(server.kernel().setupFlags()).isEqualTo(IoUringAbi.IORING_SETUP_COOP_TASKRUN);
    }

    /**
     * Where closing a direct descriptor puts its socket only once the requests issued before
     * the close have completed (Debian 12's 6.1 and Debian 13's 6.12 do), one idle client's armed receive keeps
     * every client we close from getting its FIN: there multishot mode holds connections as
     * fds. Seen from outside: the server's established sockets on its port, counted in this
     * process's fd table (none when they are direct descriptors). Without a ceiling, the real
     * kernel's answer decides the same way.
     */
    @ParameterizedTest(name = "kernel as of {0}")
    @ValueSource(strings = {"6.1", "6.12", "6.16", ""})
    void whereClosingADirectDescriptorIsDeferredConnectionsAreFds(String kernel) throws Exception {
        IoUringAvailable.assume(IoUringEchoServer.Mode.MULTISHOT);
        int fdsBefore = Fds.baseline();
        IoUringEchoServer server = new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.MULTISHOT, 1, Timeouts.NONE);
        if (!kernel.isEmpty()) server.withKernelAsOf(kernel);
        List<TestClient> clients = new ArrayList<>();
        try (server) {
            server.start();
            for (int i = 0; i < 3; i++) {
                clients.add(new TestClient(server.port()).send("line " + i + "\n"));
                assertThat(clients.get(i).readLine()).isEqualTo("line " + i + "\n");
            }
            boolean direct = server.kernel().has(Feature.DIRECT_CLOSE);
            if (kernel.equals("6.1") || kernel.equals("6.12")) assertThat(direct).as(kernel + " closes a direct descriptor late").isFalse();
            assertThat(establishedFdsOnPort(server.port())).isEqualTo(direct ? 0 : 3);
        } finally {
            for (TestClient c : clients) c.close();
        }
        Fds.awaitNoLeak(fdsBefore);
    }

    /** This process's fds that are TCP sockets in ESTABLISHED state with {@code port} as their local port. */
    private static int establishedFdsOnPort(int port) throws Exception {
        java.util.Set<String> inodes = new java.util.HashSet<>();
        for (String table : List.of("tcp", "tcp6")) {
            java.nio.file.Path p = java.nio.file.Path.of("/proc/self/net", table);
            if (!java.nio.file.Files.exists(p)) continue;
            List<String> lines = java.nio.file.Files.readAllLines(p);
            for (String line : lines.subList(1, lines.size())) {
                String[] c = line.trim().split("\\s+");
                int localPort = Integer.parseInt(c[1].substring(c[1].indexOf(':') + 1), 16);
                if (localPort == port && c[3].equals("01")) inodes.add(c[9]);
            }
        }
        int n = 0;
        try (var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            for (java.nio.file.Path fd : (Iterable<java.nio.file.Path>) fds::iterator) {
                try {
                    String t = java.nio.file.Files.readSymbolicLink(fd).toString();
                    if (t.startsWith("socket:[") && inodes.contains(t.substring(8, t.length() - 1))) n++;
                } catch (java.io.IOException closedMeanwhile) {
                    // the listing's own fd
                }
            }
        }
        return n;
    }

    @Test
    void onLinux519WithoutMultishotReceiveBasicModeServes() throws Exception {
        IoUringEchoServer server = burst(IoUringEchoServer.Mode.BASIC, "5.19");
        assertThat(server.kernel().has(Feature.MULTISHOT_RECV)).isFalse();
    }

    @Test
    void onLinux519MultishotModeRefusesToStartAndSaysWhy() throws Exception {
        IoUringAvailable.assume();
        int fdsBefore = Fds.baseline();
        IoUringEchoServer server = new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.MULTISHOT).withKernelAsOf("5.19");
        assertThatThrownBy(server::start)
                .isInstanceOf(IoUring.UnavailableException.class)
                .hasMessageContaining("multishot receive (Linux 6.0)")
                .hasMessageContaining("--mode basic runs here");
        server.close();
        Fds.awaitNoLeak(fdsBefore);
    }

    @ParameterizedTest(name = "io_uring_setup fails with {0}")
    @ValueSource(strings = {"EPERM", "ENOSYS"})
    void whereIoUringIsRefusedTheServerSaysWhoRefusesIt(String errno) throws Exception {
        int fdsBefore = Fds.baseline();
        IoUringEchoServer server = new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.BASIC).withKernelAsOf(errno);
        assertThatThrownBy(server::start)
                .isInstanceOf(IoUring.UnavailableException.class)
                .hasMessageStartingWith("io_uring is not available: io_uring_setup failed with " + errno)
                .hasMessageContaining(errno.equals("EPERM") ? "seccomp" : "CONFIG_IO_URING");
        server.close();
        Fds.awaitNoLeak(fdsBefore);
    }

    /** What a reader sees: one line that says why, and exit status 1. */
    @Test
    void theCommandLineSaysItInOneLineAndExitsWithStatus1() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Dc10k.day07.kernel=EPERM",
                "-cp", System.getProperty("java.class.path"), "c10k.day07.Day07", "--port", "0").start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(out).as("no listening line").isEmpty();
        assertThat(err.lines().toList()).singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith("day07: cannot start: io_uring is not available: io_uring_setup failed with EPERM");
    }

    /**
     * Starts a server on io_uring as {@code kernel} answers, held before its first turn; 50
     * clients connect and send a line; then the loop goes, and every one must be answered.
     * Returns the server, closed, for what it found.
     */
    private static IoUringEchoServer burst(IoUringEchoServer.Mode mode, String kernel) throws Exception {
        IoUringAvailable.assume();
        int fdsBefore = Fds.baseline();
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> fatal = new AtomicReference<>();
        IoUringEchoServer server = new IoUringEchoServer("127.0.0.1", 0, mode, 1, Timeouts.NONE)
                .withKernelAsOf(kernel)
                .onFatal(fatal::set)
                .withTurnHook(() -> {
                    try {
                        go.await();   // the first turn waits; the latch then stays open
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
        List<TestClient> clients = new ArrayList<>();
        try (server) {
            server.start();
            for (int i = 0; i < CLIENTS; i++) clients.add(new TestClient(server.port()).send("queued " + i + "\n"));
            go.countDown();
            for (int i = 0; i < CLIENTS; i++) {
                int k = i;
                assertThat(clients.get(i).readLine()).as(() -> "client " + k + " (ring failure: " + fatal.get() + ")")
                        .isEqualTo("queued " + i + "\n");
            }
        } finally {
            go.countDown();
            for (TestClient c : clients) c.close();
        }
        assertThat(fatal.get()).as("the ring failed").isNull();
        Fds.awaitNoLeak(fdsBefore);
        return server;
    }
}
