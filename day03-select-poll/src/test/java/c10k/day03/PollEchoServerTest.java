package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.NoFdLeak;
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
        try (PollEchoServer server = new PollEchoServer("127.0.0.1", 0)) {
            server.start();
            PausedReaderFigure.countedThenGone(server);
        }
    }
}
