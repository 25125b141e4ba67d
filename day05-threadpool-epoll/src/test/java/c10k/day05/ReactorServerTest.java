package c10k.day05;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day03.EventLoopLessons;
import c10k.day03.EventLoopServer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
class ReactorServerTest {

    static ReactorServer server(int workers, Handler handler) {
        return new ReactorServer("127.0.0.1", 0, workers, handler);
    }

    @Nested
    class Contract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(4, Handlers.ECHO);
        }
    }

    @Nested
    class Lessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return server(4, Handlers.ECHO);
        }
    }

    @Nested
    class Engine extends c10k.day04.EngineLessons {
        @Override
        protected c10k.day04.EpollServer newServer() {
            return server(2, Handlers.ECHO);
        }
    }

    @Nested
    class Pool extends PoolLessons {
        @Override
        protected ThreadedServer newServer(int threads, Handler handler) {
            return server(threads, handler);
        }
    }
}
