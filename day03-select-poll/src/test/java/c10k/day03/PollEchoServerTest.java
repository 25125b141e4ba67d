package c10k.day03;

import c10k.day01.EchoContract;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

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
}
