package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.StreamingWriter;
import c10k.day01.ChildServer;
import c10k.day01.TestClient;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The server as a reader starts it, {@code main} with options, in a JVM of its own: the
 * options reach the engine, and SIGTERM is the graceful end (whole lines, then FIN).
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CommandLineTest {

    @Test
    void idleTimeoutFromTheCommandLineClosesASilentClient() throws Exception {
        try (ChildServer server = ChildServer.start("c10k.day04.Day04", 0, "--idle-timeout", "1");
             TestClient silent = new TestClient(server.port());
             TestClient active = new TestClient(server.port())) {
            assertThat(active.roundTrip("hi\n")).isEqualTo("hi\n");
            // A real second passes here: the read below waits for the server's FIN (at most
            // TestClient's 20 s read timeout, which would fail the test if the option were lost).
            assertThat(silent.socket().getInputStream().read()).as("FIN after the idle timeout").isEqualTo(-1);
            silent.close();
            active.close();
            String log = server.stop();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) timeouts").matcher(log);
            assertThat(m.find()).as(log).isTrue();
            assertThat(Long.parseLong(m.group(1))).as("the server counted its timeouts").isPositive();
            assertThat(log).doesNotContain("Exception");
        }
    }

    @Test
    void sigtermAnswersWhatWasReadThenSendsFin() throws Exception {
        byte[] line = "streaming while the server is told to stop\n".getBytes(StandardCharsets.US_ASCII);
        try (ChildServer server = ChildServer.start("c10k.day04.Day04", 0);
             TestClient c = new TestClient(server.port())) {
            StreamingWriter writer = StreamingWriter.repeating(c.socket(), line);
            InputStream in = c.socket().getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            got.write(in.readNBytes(line.length));           // streaming and answered
            Thread stopper = Thread.ofPlatform().start(() -> {
                try {
                    server.stop();                           // SIGTERM, as Ctrl-C or systemd would
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) got.write(buf, 0, n);   // a reset would throw here
            c.close();                                       // our FIN ends the server's drain
            writer.close();
            stopper.join();
            byte[] all = got.toByteArray();
            assertThat(all.length % line.length).as("whole lines, then FIN").isZero();
            for (int i = 0; i < all.length; i += line.length) {
                assertThat(Arrays.copyOfRange(all, i, i + line.length)).isEqualTo(line);
            }
        }
    }
}
