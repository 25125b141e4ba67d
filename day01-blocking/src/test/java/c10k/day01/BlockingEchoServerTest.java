package c10k.day01;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BlockingEchoServerTest {

    static BlockingEchoServer newServer() {
        return new BlockingEchoServer(new InetSocketAddress("127.0.0.1", 0));
    }

    @Nested
    class Contract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return BlockingEchoServerTest.newServer();
        }

        @Override
        protected boolean servesClientsConcurrently() {
            return false;
        }
    }

    @Nested
    class LingeringClose extends LingeringCloseContract {
        @Override
        protected EchoServer newServer() {
            return BlockingEchoServerTest.newServer();
        }
    }

    @Nested
    class TheLesson extends ServerTestBase {
        @Override
        protected EchoServer newServer() {
            return BlockingEchoServerTest.newServer();
        }

        @Test
        void aSecondClientWaitsUntilTheFirstLeaves() throws Exception {
            BlockingEchoServer s = (BlockingEchoServer) server;
            try (TestClient first = new TestClient(s.port()); TestClient second = new TestClient(s.port())) {
                // The first client got its answer, so the server is inside serve(first): it
                // will sit in read() on that socket until the first client leaves.
                assertThat(first.roundTrip("I am first\n")).isEqualTo("I am first\n");

                // The kernel completed the second handshake on its own (connect() returned)
                // and now buffers the second client's bytes, but nobody reads them.
                second.send("me too?\n");
                // As the kernel sees it: the server's one thread asleep, in serve(first) (it has
                // not accepted again), while the second client waits in the listener's queue,
                // its bytes unread. Asleep, the thread waits for the first client only: no
                // waiting to see that nothing comes.
                Fds.await("the server asleep with the second client queued", Duration.ofSeconds(30),
                        () -> KernelView.allAsleep("day01-server") && KernelView.rxQueue(s.port(), 0) == 1);
                assertThat(s.acceptedCount()).as("the server never even accepted the second client").isEqualTo(1);

                first.close();
                assertThat(second.readLine()).as("answered as soon as the first leaves").isEqualTo("me too?\n");
                assertThat(s.acceptedCount()).isEqualTo(2);
            }
        }
    }
}
