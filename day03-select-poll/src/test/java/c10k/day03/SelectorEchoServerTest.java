package c10k.day03;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Nested;

class SelectorEchoServerTest {

    static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

    @Nested
    class Contract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return new SelectorEchoServer(ANY_PORT);
        }
    }

    @Nested
    class Lessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return new SelectorEchoServer(ANY_PORT);
        }

        /** The bar: at least 5,000 connections at once that all still echo. Client
         *  and server ends in this one JVM make 10,000 fds, under the limit of 20,000. */
        @Override
        protected int heldConnections() {
            return 5_000;
        }
    }
}
