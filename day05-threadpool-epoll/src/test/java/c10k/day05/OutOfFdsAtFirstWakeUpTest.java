package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.TestClient;
import c10k.day04.ChildServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Day 4's {@code OutOfFdsTest#survivesRunningOutOfFdsAtItsFirstWakeUp} for day 5's designs: a
 * burst queued while the server was stopped fills its fd table (ulimit -n 64) in the first
 * accept batch. Run from class folders, a class the loop or the reactor's hand-off loads for
 * the first time after that point cannot be opened, and its NoClassDefFoundError would end the
 * loop and every client. The stopped loop may instead get EINTR at SIGCONT (signal(7)) and see
 * the burst one pass later, which hides the fault; so a few rounds.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OutOfFdsAtFirstWakeUpTest {

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"reactor", "shared"})
    void survivesRunningOutOfFdsAtItsFirstWakeUp(String mode) throws Exception {
        for (int round = 0; round < 4; round++) {
            List<TestClient> burst = new ArrayList<>();
            try (ChildServer server = ChildServer.startFromClassFolders("c10k.day05.Day05", 64, "--mode", mode)) {
                server.signal("STOP");
                try {
                    for (int i = 0; i < 100; i++) burst.add(new TestClient(server.port()).send("hello " + i + "\n"));
                } finally {
                    server.signal("CONT");
                }
                // The first in the queue was accepted first: it holds an fd and gets its line back.
                assertThat(burst.getFirst().readLine()).as("round " + round).isEqualTo("hello 0\n");

                for (TestClient c : burst) c.close();
                burst.clear();
                boolean servedAgain = false;
                for (int attempt = 0; attempt < 200 && !servedAgain; attempt++) {
                    try (TestClient c = new TestClient(server.port())) {
                        servedAgain = c.roundTrip("back\n").equals("back\n");
                    }
                }
                assertThat(servedAgain).as("accepting again once fds are free").isTrue();
                assertThat(server.stop()).doesNotContain("cannot go on").doesNotContain("NoClassDefFoundError");
            } finally {
                for (TestClient c : burst) c.close();
            }
        }
    }
}
