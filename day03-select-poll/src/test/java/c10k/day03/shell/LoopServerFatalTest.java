package c10k.day03.shell;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.NoFdLeak;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A loop whose own machinery fails serves nobody any more: the shell lets every connection go
 * first, then says so to {@code onFatal} (the command line exits with status 1), instead of
 * leaving a process that lives on and answers no one. The fault is injected: the loop's turn
 * throws at its second call, as a broken selector would.
 */
@ExtendWith(NoFdLeak.class)
class LoopServerFatalTest {

    /** A loop with a real selector and listener whose second turn fails. */
    static final class BreakingServer extends LoopServer<BreakingServer> {
        final List<String> order = new CopyOnWriteArrayList<>();
        private Selector selector;
        private ServerSocketChannel listener;
        private int turns;

        BreakingServer() {
            super("breaking", System.getLogger(LoopServerFatalTest.class.getName()));
        }

        @Override
        protected void open() throws IOException {
            selector = Selector.open();
            listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        }

        @Override
        protected void turn(long maxWaitNanos) throws IOException {
            if (++turns == 2) throw new IOException("the selector broke (injected)");
            order.add("turn");
        }

        @Override
        protected void beginStop() {
        }

        @Override
        protected void wake() {
            selector.wakeup();
        }

        @Override
        protected void loopEnded() {
            order.add("loopEnded");
            try {
                listener.close();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        protected void released() {
            try {
                selector.close();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int port() {
            return 0;
        }
    }

    @Test
    @Timeout(10)
    void aFailedLoopLetsEveryConnectionGoThenSaysSo() throws Exception {
        CompletableFuture<Throwable> fatal = new CompletableFuture<>();
        BreakingServer server = new BreakingServer();
        server.onFatal(why -> {
            server.order.add("onFatal");
            fatal.complete(why);
        });
        try (server) {
            server.start();
            Throwable why = fatal.get(10, TimeUnit.SECONDS);
            assertThat(why).as("what onFatal was told").hasMessageContaining("injected");
            assertThat(server.order).as("connections let go before the fatal is reported")
                    .containsExactly("turn", "loopEnded", "onFatal");
        }
    }
}
