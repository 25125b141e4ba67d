package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day04.ManyConnectionsTest;
import java.io.IOException;
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

/** The process form: a master, worker JVMs on one port with SO_REUSEPORT, a restart, and SIGTERM passed on. */
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
        String java = ProcessHandle.current().info().command().orElse("java");
        // stdout to a file, read by polling: a pipe read while the JDK reaps the process races its clean-up ("Stream closed").
        Path stdout = Files.createTempFile("loops-master", ".out");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "c10k.day05.Day05", "--mode", "loops", "--processes", "2", "--threads", "1", "--port", "0")
                .redirectError(ProcessBuilder.Redirect.DISCARD).redirectOutput(stdout.toFile()).start();
        try {
            EpollExclusiveTest.awaitCondition(() -> lines(stdout).size() == 1 || !p.isAlive());
            String ready = lines(stdout).getFirst();
            assertThat(ready).startsWith("listening on 127.0.0.1:");
            int port = Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1));
            List<ProcessHandle> workers = new ArrayList<>(p.toHandle().children().filter(h -> h.info().command().orElse("").endsWith("java")).toList());
            assertThat(workers).hasSize(2);
            ManyConnectionsTest.holdAndEcho(port, 100);
            p.destroy();                                            // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            for (ProcessHandle w : workers) assertThat(w.isAlive()).isFalse();
            assertThat(lines(stdout)).hasSize(1);                  // one line on stdout, once every worker was ready
        } finally {
            p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Files.deleteIfExists(stdout);
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
