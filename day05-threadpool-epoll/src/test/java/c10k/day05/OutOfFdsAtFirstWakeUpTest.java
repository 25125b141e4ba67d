package c10k.day05;

import c10k.day01.FirstWakeUpBurst;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The book's {@link FirstWakeUpBurst} for day 5's designs: out of fds at the first wake-up, neither
 * the reactor's hand-off (its first read batch) nor shared mode's threads may load a class they
 * cannot open.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OutOfFdsAtFirstWakeUpTest {

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"reactor", "shared"})
    void survivesRunningOutOfFdsAtItsFirstWakeUp(String mode) throws Exception {
        FirstWakeUpBurst.survives("c10k.day05.Day05", "--mode", mode);
    }

    /** The reactor's workers and shared mode's threads answer a line over the limit with an error line that, out of fds, must already be loaded. */
    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"reactor", "shared"})
    void answersAnOversizedLineWhileOutOfFds(String mode) throws Exception {
        FirstWakeUpBurst.survivesAnOversizedLine("c10k.day05.Day05", "--mode", mode);
    }
}
