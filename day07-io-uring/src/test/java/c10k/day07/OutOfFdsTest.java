package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.TestClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Running out of descriptors, in a server started as a reader starts it ({@code Day07}) but
 * under {@code ulimit -n 256}. basic: the accept completes with -EMFILE, the server waits
 * 100 ms on a timeout request instead of retrying at once, keeps serving the clients it has,
 * and takes the queued ones as soon as closes free descriptors. multishot: connections are
 * direct descriptors in the ring's file table, which the kernel sizes no larger than the
 * limit; the server stops accepting when every slot is taken (an accept into a full table
 * resets the client) and starts again when one closes. Either way nobody is refused and nothing spins.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OutOfFdsTest {

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"basic", "multishot"})
    void pausesAcceptingAndServesTheQueueOnceFdsAreFree(String mode) throws Exception {
        IoUringAvailable.assume();
        List<TestClient> clients = new ArrayList<>();
        Process p = null;
        Path err = Files.createTempFile("day07-child", ".log");
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            p = new ProcessBuilder("/bin/sh", "-c", "ulimit -n 256 && exec \"$@\"", "sh",
                    java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "c10k.day07.Day07", "--port", "0", "--mode", mode)
                    .redirectError(err.toFile()).start();
            String ready = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(ready).as(() -> read(err)).startsWith("listening on ");
            int port = Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1));

            // More clients than the server has descriptors: the kernel completes every
            // handshake and queues them; the server accepts until EMFILE.
            for (int i = 0; i < 300; i++) {
                TestClient c = new TestClient(port);
                c.send("hello " + i + "\n");
                clients.add(c);
            }
            // Nobody reads or closes yet: the server accepts until it is out of descriptors.
            // (multishot: its connections are direct descriptors, which use no fds, in a file
            // table no larger than the open-files limit; the server stops when it is full.)
            String limit = mode.equals("basic") ? "EMFILE" : "the file table is full";
            Fds.await("the server ran out of room", Duration.ofSeconds(60), () -> read(err).contains(limit));
            // Served in order: the first ones at once, the queued ones once closing the first
            // ones frees descriptors (within a pause of 100 ms each time).
            for (int i = 0; i < clients.size(); i++) {
                assertThat(clients.get(i).readLine()).isEqualTo("hello " + i + "\n");
                clients.get(i).close();
            }

            p.destroy();   // SIGTERM: the graceful shutdown
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String log = read(err);
            assertThat(log).as("it accepted again").contains("accepting again");
            Matcher m = Pattern.compile("(\\d+) io_uring_enter calls, \\d+ completions, (\\d+) accept pauses").matcher(log);
            assertThat(m.find()).as(log).isTrue();
            // A loop that retried accept at once would enter the kernel millions of times.
            assertThat(Long.parseLong(m.group(1))).as("no busy loop").isLessThan(20_000);
            if (mode.equals("basic")) assertThat(Long.parseLong(m.group(2))).as("it paused").isPositive();
        } finally {
            for (TestClient c : clients) c.close();
            if (p != null && p.isAlive()) p.destroyForcibly().waitFor();
            Files.deleteIfExists(err);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
