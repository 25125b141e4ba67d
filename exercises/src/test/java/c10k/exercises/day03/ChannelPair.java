package c10k.exercises.day03;

import c10k.day01.TestClient;
import c10k.exercises.Expect;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/** One connection, both ends in the test: the server end non-blocking, registered with a selector. */
final class ChannelPair implements AutoCloseable {

    final TestClient client;
    final SocketChannel server;
    final Selector selector;
    final SelectionKey key;

    ChannelPair() throws IOException {
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress("127.0.0.1", 0), 1);
            client = Expect.client(listener.socket().getLocalPort());
            server = listener.accept();
        }
        server.configureBlocking(false);
        selector = Selector.open();
        key = server.register(selector, SelectionKey.OP_READ);
    }

    @Override
    public void close() throws IOException {
        selector.close();
        server.close();
        client.close();
    }
}
