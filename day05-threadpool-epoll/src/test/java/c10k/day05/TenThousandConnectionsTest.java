package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.ChildServer;
import c10k.day04.ManyConnectionsTest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 10,000 clients on four threads, in both designs. The server runs in a child JVM, started
 * as a reader starts it: both ends of 10,000 connections in one process would need the
 * machine's whole limit of 20,000 descriptors.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TenThousandConnectionsTest {

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"reactor", "shared"})
    void fourThreadsHoldTenThousandConnectionsThatAllStillEcho(String mode) throws Exception {
        try (ChildServer server = ChildServer.start("c10k.day05.Day05", 0, "--mode", mode, "--threads", "4")) {
            ManyConnectionsTest.holdAndEcho(server.port(), 10_000);
            // SIGTERM: the graceful shutdown, which ends without an error.
            String log = server.stop();
            assertThat(log).contains("shutting down").doesNotContain("ERROR").doesNotContain("Exception");
            assertThat(log).as("the closing line, on day 5's logger").contains("day05: day05 ");
            if (mode.equals("shared")) assertThat(log).contains("epoll_wait wake-ups");
        }
    }
}
