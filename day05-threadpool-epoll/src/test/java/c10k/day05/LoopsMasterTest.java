package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day04.ManyConnectionsTest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The process form: a master, worker JVMs on one port with SO_REUSEPORT, a restart, SIGTERM passed on, and a master killed. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "SO_REUSEPORT's spreading is Linux's")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LoopsMasterTest {

    @Test
    void aWorkerThatDiesIsReplacedAndNoNewClientIsLost() throws Exception {
        try (Master master = new Master("127.0.0.1", 0, 2, List.of("--mode", "loops-reuseport", "--threads", "2"))) {
            master.start();
            ManyConnectionsTest.holdAndEcho(master.port(), 200);
            long[] pids = master.workerPids();
            assertThat(pids).doesNotContain(0L);
            ProcessHandle.of(pids[0]).orElseThrow().destroyForcibly();   // a crash: its listeners close with it
            EpollExclusiveTest.awaitCondition(() -> master.restarts() == 1 && master.workerPids()[0] != 0);
            assertThat(master.workerPids()[0]).isNotEqualTo(pids[0]);
            // The dead worker's listeners left the kernel's group: every new client reaches a live one.
            ManyConnectionsTest.holdAndEcho(master.port(), 200);
            long[] now = master.workerPids();
            master.shutdownGracefully(Duration.ofSeconds(5));
            for (long pid : now) assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    /** As a reader runs it: one {@code listening on} line once every worker is ready; SIGTERM stops them all; exit 0. */
    @Test
    void sigtermStopsEveryWorkerAndTheMasterExitsZero() throws Exception {
        try (MasterProcess m = MasterProcess.start()) {
            ManyConnectionsTest.holdAndEcho(m.port, 100);
            m.process.destroy();                                    // SIGTERM
            assertThat(m.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(m.process.exitValue()).isZero();
            for (ProcessHandle w : m.workers) assertThat(w.isAlive()).isFalse();
            assertThat(lines(m.stdout)).hasSize(1);                // one line on stdout, once every worker was ready
        }
    }

    /**
     * A master killed with SIGKILL passes nothing on: each worker sees the pipe on its stdin end,
     * shuts down as on SIGTERM, and the port is free again. Red without the watch: the workers go
     * on serving under pid 1, the port held.
     */
    @Test
    void theWorkersOfAKilledMasterShutDownByThemselves() throws Exception {
        try (MasterProcess m = MasterProcess.start()) {
            ManyConnectionsTest.holdAndEcho(m.port, 100);
            m.process.destroyForcibly();                            // SIGKILL
            assertThat(m.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle w : m.workers) {
                assertThat(w.onExit().completeOnTimeout(null, 60, TimeUnit.SECONDS).join())
                        .as("worker " + w.pid() + " ended after its master was killed").isNotNull();
            }
            assertThat(Files.readString(m.stderr)).contains("the master is gone").contains("shutting down: finishing answers");
            try (ServerSocket again = new ServerSocket()) {
                again.bind(new InetSocketAddress("127.0.0.1", m.port));   // nobody holds the port
            }
        }
    }

    /** {@code Day05 --mode loops --processes 2} in a child JVM, as a reader starts it; its workers, and their output. */
    private record MasterProcess(Process process, int port, List<ProcessHandle> workers, Path stdout, Path stderr) implements AutoCloseable {

        static MasterProcess start() throws Exception {
            String java = ProcessHandle.current().info().command().orElse("java");
            // Output to files, read by polling: a pipe read while the JDK reaps the process races its clean-up ("Stream closed").
            Path stdout = Files.createTempFile("loops-master", ".out");
            Path stderr = Files.createTempFile("loops-master", ".err");
            Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "c10k.day05.Day05", "--mode", "loops", "--processes", "2", "--threads", "1", "--port", "0", "--drain-timeout", "2")
                    .redirectError(stderr.toFile()).redirectOutput(stdout.toFile()).start();
            try {
                EpollExclusiveTest.awaitCondition(() -> lines(stdout).size() == 1 || !p.isAlive());
                String ready = lines(stdout).getFirst();
                assertThat(ready).startsWith("listening on 127.0.0.1:");
                int port = Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1));
                List<ProcessHandle> workers = new ArrayList<>(p.toHandle().children().filter(h -> h.info().command().orElse("").endsWith("java")).toList());
                assertThat(workers).hasSize(2);
                return new MasterProcess(p, port, workers, stdout, stderr);
            } catch (Throwable t) {
                p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw t;
            }
        }

        /** Whatever is left, even orphans (once the master is dead they are no longer its children). */
        @Override
        public void close() throws IOException {
            process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            workers.forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            Files.deleteIfExists(stdout);
            Files.deleteIfExists(stderr);
        }
    }

    private static List<String> lines(Path file) {
        try {
            String text = Files.readString(file);
            return text.endsWith("\n") ? text.lines().toList() : List.of();   // whole lines only
        } catch (IOException e) {
            return List.of();
        }
    }
}
