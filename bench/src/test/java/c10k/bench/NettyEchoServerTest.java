package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.TestClient;
import io.netty.channel.Channel;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The peer does the very job the book's servers do: same contract, same tests. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "Netty's native epoll transport")
class NettyEchoServerTest extends EchoContract {
    @Override
    protected EchoServer newServer() {
        return new NettyEchoServer(new InetSocketAddress("127.0.0.1", 0), 2);
    }

    /**
     * The race behind a socket left in CLOSE_WAIT after {@code close()}: the connection's loop
     * is running a task, past its own check for a shutdown, when the shutdown begins. Here the
     * task is ours and holds the loop until {@code close()} has reached it (the loop is shutting
     * down, or a task such as the connection's close is queued for it), so the order is forced,
     * not hoped for. The connection must be closed when {@code close()} returns.
     */
    @Test
    void closeClosesAConnectionWhoseLoopIsBusyWhenTheShutdownBegins() throws Exception {
        NettyEchoServer netty = (NettyEchoServer) server;
        try (TestClient client = new TestClient(server.port())) {
            assertThat(client.roundTrip("served\n")).isEqualTo("served\n");
            assertThat(netty.connections().size()).isEqualTo(1);
            Channel connection = netty.connections().iterator().next();
            SingleThreadEventExecutor loop = (SingleThreadEventExecutor) connection.eventLoop();

            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            loop.execute(() -> {
                running.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();

            int queuedBefore = loop.pendingTasks();
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
            Fds.await("close() reaching the connection's loop", Duration.ofSeconds(30),
                    () -> loop.isShuttingDown() || loop.pendingTasks() > queuedBefore);
            release.countDown();
            closing.get(30, TimeUnit.SECONDS);

            assertThat(connection.isOpen()).as("the connection is closed when close() returns").isFalse();
            assertThat(netty.connections().size()).as("connections still tracked").isZero();
            assertThat(client.endsStream()).as("the client sees the end of the stream").isTrue();
        }
    }
}
