package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.NoFdLeak;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code ./jbang day06-race} as the reader runs it: each scene is reported, then held with Bob
 * connected while the reader looks at the numbers, for a bounded time the output states, and
 * Enter goes on. The tests end every wait with their own input (or its end), never with the
 * clock: the hold they give is an hour, so a wait that ignored Enter would be seen, not slept.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll and dup3 are Linux's")
@ExtendWith(NoFdLeak.class)
class RaceDemoTest {

    private static String run(String input, Duration hold) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            RaceDemo.run(out, new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), hold);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void eachSceneSaysWhatToTypeAndHowLongItWaitsAndEnterGoesOn() throws Exception {
        String out = run("\n\n", Duration.ofHours(1));
        long pid = ProcessHandle.current().pid();
        assertThat(out).contains("unpinned:  Alice had fd ")
                .contains("Bob received: \"alice: my password is hunter2\" (late writes refused: 0)")
                .contains("pinned:    Alice had fd 1024, Bob got fd 1025; Bob received: nothing (late writes refused: 1)")
                .contains("  ls -l /proc/" + pid + "/fd/")
                .contains("  ls -l /proc/" + pid + "/fd/{1024,1025,1026}");
        assertThat(out.split("Waiting up to 3600 s: press Enter to go on", -1))
                .as("both scenes wait, and say for how long and what ends the wait").hasSize(3);
        assertThat(out).as("Enter, not the hour, ended each wait").doesNotContain("passed: going on");
        assertThat(out.indexOf("unpinned:")).isLessThan(out.indexOf("Waiting up to")).isLessThan(out.indexOf("pinned:    "));
    }

    @Test
    void theEndOfInputEndsEveryWait() throws Exception {
        String out = run("", Duration.ofHours(1));
        assertThat(out).contains("unpinned:").contains("pinned:").doesNotContain("passed: going on");
    }

    @Test
    void holdZeroDoesNotWait() throws Exception {
        String out = run("", Duration.ZERO);
        assertThat(out).contains("pinned:    Alice had fd 1024, Bob got fd 1025").doesNotContain("Waiting");
    }
}
