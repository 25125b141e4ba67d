package c10k.day01.harness;

import c10k.day01.harness.Log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LogTest {

    private final ByteArrayOutputStream lines = new ByteArrayOutputStream();

    @AfterEach
    void backToStderr() {
        Log.to(null);
        Log.level(System.Logger.Level.INFO);
    }

    @Test
    void oneLinePerRecordWithTimeLevelServerAndMessage() {
        Log.to(new PrintStream(lines, true, StandardCharsets.UTF_8));
        System.Logger log = Log.logger("dayXX");
        log.log(System.Logger.Level.INFO, "listening, {0} threads", 4);
        log.log(System.Logger.Level.DEBUG, "client 1 accepted");   // hidden at INFO
        log.log(System.Logger.Level.WARNING, "accept failed", new java.io.IOException("Too many open files"));
        Log.level(System.Logger.Level.DEBUG);
        log.log(System.Logger.Level.DEBUG, () -> "client 2 accepted");
        assertThat(lines.toString(StandardCharsets.UTF_8).split("\n")).satisfiesExactly(
                l -> assertThat(l).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO    dayXX: listening, 4 threads"),
                l -> assertThat(l).endsWith(" WARNING dayXX: accept failed: java.io.IOException: Too many open files"),
                l -> assertThat(l).endsWith(" DEBUG   dayXX: client 2 accepted"));
    }
}
