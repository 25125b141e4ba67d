package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

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

    /** {@code --stats} reads the selector's own counts: lines and bytes as they are echoed, a reader paused by backpressure, then none. */
    @Test
    @ExtendWith(NoFdLeak.class)
    void statsCountLinesAndAPausedReader() throws Exception {
        Duration patience = Duration.ofSeconds(30);
        try (SelectorEchoServer server = new SelectorEchoServer(ANY_PORT)) {
            server.start();
            try (TestClient client = new TestClient(server.port())) {
                client.send("one\ntwo\nthree\n");
                assertThat(client.readString(14)).isEqualTo("one\ntwo\nthree\n");
            }
            Fds.await("the client counted as closed", patience, () -> server.stats().snapshot().closed() == 1);
            assertThat(server.stats().snapshot().lines()).as("lines --stats counts").isEqualTo(3);
            assertThat(server.stats().snapshot().bytesOut()).as("bytes --stats counts as sent").isEqualTo(14);
            PausedReaderFigure.countedThenGone(server);
        }
    }
}
