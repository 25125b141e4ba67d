package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.StreamingWriter;
import c10k.day01.TestClient;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

@EnabledOnOs(value = OS.LINUX, disabledReason = "poll(2) through FFM is written for Linux")
class PollEchoServerTest {

    @Nested
    class Contract extends EchoContract {
        @Override
        protected PollEchoServer newServer() {
            return new PollEchoServer("127.0.0.1", 0);
        }
    }

    @Nested
    class Lessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return new PollEchoServer("127.0.0.1", 0);
        }

        @Override
        protected int heldConnections() {
            return 5_000;
        }
    }

    /** The {@code --stats} line's "paused readers" is the loop's own count: a client that does not read, then none. */
    @Test
    @ExtendWith(NoFdLeak.class)
    void statsCountAReaderPausedByBackpressure() throws Exception {
        Duration patience = Duration.ofSeconds(30);
        byte[] lines = new byte[1 << 16];
        Arrays.fill(lines, (byte) '\n');
        try (PollEchoServer server = new PollEchoServer("127.0.0.1", 0)) {
            server.start();
            TestClient stalled = new TestClient(server.port());
            StreamingWriter writer = StreamingWriter.repeating(stalled.socket(), lines);   // and never reads
            try {
                Fds.await("the stalled reader paused", patience, () -> server.readPausedCount() == 1);
                assertThat(server.stats().snapshot().pausedReaders()).as("the figure --stats prints").isEqualTo(1);
            } finally {
                stalled.close();   // unblocks the writer first
                writer.close();
            }
            Fds.await("the paused reader gone from the figure", patience, () -> server.stats().snapshot().pausedReaders() == 0);
        }
    }
}
