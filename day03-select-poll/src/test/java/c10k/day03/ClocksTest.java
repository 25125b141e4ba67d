package c10k.day03;

import c10k.day01.harness.Timeouts;
import c10k.day03.sys.Poll;
import java.net.InetSocketAddress;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Nested;

/** {@link ClockLessons} on day 3's two servers. */
class ClocksTest {

    @Nested
    @org.junit.jupiter.api.condition.EnabledOnOs(value = org.junit.jupiter.api.condition.OS.LINUX,
            disabledReason = "poll(2) through FFM is tested on Linux")
    class Poll extends ClockLessons {
        @Override
        protected EventLoopServer newServer(Timeouts timeouts, LongSupplier clock) {
            return new PollEchoServer("127.0.0.1", 0).timeouts(timeouts).clock(clock);
        }

        @Override
        protected void wakeup(EventLoopServer server) {
            ((PollEchoServer) server).wakeup();
        }
    }

    @Nested
    class Selector extends ClockLessons {
        @Override
        protected EventLoopServer newServer(Timeouts timeouts, LongSupplier clock) {
            return new SelectorEchoServer(new InetSocketAddress("127.0.0.1", 0)).timeouts(timeouts).clock(clock);
        }

        @Override
        protected void wakeup(EventLoopServer server) {
            ((SelectorEchoServer) server).wakeup();
        }
    }
}
