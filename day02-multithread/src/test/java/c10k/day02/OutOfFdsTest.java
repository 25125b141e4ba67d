package c10k.day02;

import c10k.day01.FirstWakeUpBurst;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FirstWakeUpBurst} for day 2's threads: a burst that fills the fd table before the
 * first client's thread has run. The pool's acceptor meets EMFILE and backs off (a class it
 * had never used); each virtual thread serves with day 1's code, loaded for the first time,
 * and the first one to wait for a read starts the JDK's poller, which needs fds of its own.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "ulimit and kill(1) in a shell")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OutOfFdsTest {

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"virtual", "pool"})
    void survivesRunningOutOfFdsBeforeItsFirstClientRan(String mode) throws Exception {
        FirstWakeUpBurst.survives("c10k.day02.Day02", "--mode", mode);
    }
}
