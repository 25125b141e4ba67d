package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import c10k.day01.Fds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * {@code ./jbang hold}'s promises that a test can keep small: a step the machine cannot reach is
 * refused in words before anything starts, and a Ctrl-C leaves no process and no socket behind.
 * The hold itself (a million connections) is never part of the build.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the hold reads /proc and runs the process form")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HoldTest {

    private static final HoldMachine THIS_KIND = new HoldMachine(20_000, 2_466_239, 2_000, 32768, 60999, 24L << 30,
            new long[] {287_907, 383_877, 575_814}, 5_491_645, -1, 96_367);

    @Test
    void aMillionFitsAMachineOfThisKind() {
        assertThat(THIS_KIND.problems(1_000_000, 56, 51)).isEmpty();
        assertThat(THIS_KIND.perSource()).isEqualTo(12_704);   // 90% of half of 28,232 ports
    }

    @Test
    void aStepTheMachineCannotReachIsRefusedInWordsWithWhatToRaise() {
        List<String> problems = THIS_KIND.problems(1_500_000, 84, 76);
        assertThat(problems).anySatisfy(p -> assertThat(p).contains("fs.file-max is 2,466,239 with 2,000 in use")
                .contains("at most 1,226,999 connections fit").contains("sysctl -w fs.file-max="));
        HoldMachine small = new HoldMachine(20_000, 10_000_000, 2_000, 32768, 60999, 4L << 30,
                new long[] {1, 2, 3}, 1_000_000, 100_000, 1_000);
        assertThat(String.join("\n", small.problems(1_000_000, 56, 51)))
                .contains("GiB are available").contains("fs.epoll.max_user_watches").contains("nf_conntrack_max")
                .contains("ulimit -u");
    }

    private Process hold;
    private List<ProcessHandle> ours = List.of();

    /**
     * SIGINT to the hold alone (a terminal's Ctrl-C signals the whole process group; this is the
     * harder case, where only the hold hears it) while it holds: it stops the clients, the master
     * and its workers, and no socket is left on the server's port.
     */
    @Test
    void ctrlCWhileHoldingLeavesNoProcessAndNoSocket() throws Exception {
        assumeTrue(HttpBench.which("cc") != null, "no cc: the hold client is C");
        Path out = Files.createTempFile("hold", ".out");
        hold = new ProcessBuilder(ServerProcess.javaBin(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Hold.class.getName(), "2000", "--workers", "2", "--wait")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            Fds.await("the hold holding", Duration.ofSeconds(150), () -> text(out).contains("press Enter") || !hold.isAlive());
            String text = text(out);
            assertThat(text).contains("| connections held | 2,000 of 2,000 |").contains("| echoed when opened / again while all held | 2,000 / 2,000 |");
            int port = Integer.parseInt(text.replaceAll("(?s).*workers ready on 127\\.0\\.0\\.1:(\\d+).*", "$1"));
            ours = hold.toHandle().descendants().toList();
            assertThat(ours.stream().filter(h -> h.info().command().orElse("").endsWith("hold_client"))).hasSize(1);
            assertThat(ours.stream().filter(h -> h.info().command().orElse("").endsWith("java"))).hasSize(3);   // master, 2 workers
            assertThat(HoldFigures.socketsOnPort(port)).isGreaterThanOrEqualTo(4_000);

            assertThat(new ProcessBuilder("kill", "-INT", "" + hold.pid()).start().waitFor()).isZero();   // Ctrl-C, to the hold only
            assertThat(hold.waitFor(120, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle h : ours) assertThat(h.isAlive()).as("%s", h.info().commandLine().orElse("" + h.pid())).isFalse();
            assertThat(text(out)).contains("interrupted: stopping the clients and the server")
                    .contains("stopped: no process left; sockets left on port " + port + ": 0");
            assertThat(HoldFigures.socketsOnPort(port)).isZero();
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @AfterEach
    void stopWhateverIsLeft() {
        if (hold == null) return;
        hold.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        ours.forEach(ProcessHandle::destroyForcibly);             // reparented, if the hold died without stopping them
        hold.destroyForcibly();
    }

    private static String text(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
