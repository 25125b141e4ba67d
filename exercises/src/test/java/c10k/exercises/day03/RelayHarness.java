package c10k.exercises.day03;

import c10k.exercises.LearnerFailure;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The given part of exercise 3: one relayed connection, all four ends in the test, driven turn
 * by turn on the test's thread so every interleaving is the test's choice. The client and the
 * upstream server are the test's non-blocking channels ({@link Peer}); the relay's two ends,
 * {@link #a} (accepted from the client) and {@link #b} (connected to the upstream), are
 * registered with one selector, and every ready key goes to the learner's {@link Relay}.
 *
 * <p>Every socket's buffers are set small and fixed (no autotuning), so a peer that does not
 * read fills the path in a few hundred KiB; and how much the relay itself holds is measured
 * exactly: what one end sent, minus what the other received, minus what the kernel's queues on
 * the way hold ({@code /proc/self/net/tcp}).
 */
final class RelayHarness implements AutoCloseable {

    /** The bound the relay is given: per direction. Not a round number, so it must be the one given. */
    static final int BOUND = 100 * 1024 + 123;
    /** SO_SNDBUF and SO_RCVBUF of every socket (the kernel doubles it for its bookkeeping). */
    static final int SOCKET_BUFFER = 16 * 1024;

    final LearnerFailure failure = new LearnerFailure();
    final Peer client;
    final Peer upstream;
    final SocketChannel a;
    final SocketChannel b;
    final Selector selector;
    final SelectionKey keyA;
    final SelectionKey keyB;
    Relay relay;
    /** How many ready keys the selector has handed to the relay. */
    long wakeups;

    /** One end the test holds: the client, or the upstream server's accepted socket. */
    static final class Peer {
        final String name;
        final SocketChannel ch;
        private final ByteBuffer out = ByteBuffer.allocate(64 * 1024);
        private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        long sent;
        long received;
        boolean ended;
        IOException error;

        Peer(String name, SocketChannel ch) {
            this.name = name;
            this.ch = ch;
        }

        /** Sends flood bytes, from where it stopped, up to {@code upTo}: what the kernel takes now. */
        int send(long upTo) {
            int total = 0;
            try {
                while (sent < upTo) {
                    // out holds the bytes from offset sent on; only the new ones are computed
                    long have = sent + out.position();
                    int more = (int) Math.max(0, Math.min(out.remaining(), upTo - have));
                    for (int i = 0; i < more; i++) out.put(Flood.at(have + i));
                    int w = ch.write(out.flip());
                    out.compact();
                    sent += w;
                    total += w;
                    if (w == 0) break;
                }
            } catch (IOException e) {
                if (error == null) error = e;
            }
            return total;
        }

        /** Reads what has arrived, checking every byte against the flood; notes the end of the stream. */
        int receive() {
            int total = 0;
            try {
                while (!ended) {
                    int n = ch.read(in.clear());
                    if (n < 0) ended = true;
                    if (n <= 0) break;
                    for (int i = 0; i < n; i++, received++) {
                        if (in.get(i) != Flood.at(received)) {
                            throw new AssertionError("byte " + received + " that reached the " + name + " is '" + (char) in.get(i)
                                    + "', expected '" + (char) Flood.at(received) + "': bytes were relayed out of order,"
                                    + " twice, or lost");
                        }
                    }
                    total += n;
                }
            } catch (IOException e) {
                if (error == null) error = e;
                ended = true;
            }
            return total;
        }

        void shutdownOutput() throws IOException {
            ch.shutdownOutput();
        }

        /** Closes with SO_LINGER 0: the kernel sends a reset (RST), not a FIN. */
        void reset() throws IOException {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
            ch.close();
        }
    }

    RelayHarness() throws IOException {
        SocketChannel a0 = null, b0 = null, c0 = null, u0 = null;
        Selector sel = null;
        try (ServerSocketChannel front = listener(); ServerSocketChannel back = listener()) {
            c0 = small(SocketChannel.open());
            c0.connect(front.getLocalAddress());
            a0 = small(front.accept());
            b0 = small(SocketChannel.open());
            b0.configureBlocking(false);
            sel = Selector.open();
            // The relay's upstream connection is made non-blocking, as a proxy's loop makes it.
            boolean connected = b0.connect(back.getLocalAddress());
            u0 = small(back.accept());
            if (!connected) {
                SelectionKey k = b0.register(sel, SelectionKey.OP_CONNECT);
                while (!b0.finishConnect()) sel.select(1000);
                k.cancel();
                sel.selectNow();
            }
            for (SocketChannel ch : List.of(a0, c0, u0)) ch.configureBlocking(false);
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable c : new AutoCloseable[] {a0, b0, c0, u0, sel}) closeQuietly(c);
            throw e;
        }
        a = a0;
        b = b0;
        selector = sel;
        client = new Peer("client", c0);
        upstream = new Peer("upstream", u0);
        keyA = a.register(selector, 0);
        keyB = b.register(selector, 0);
        try {
            relay = new Relay(keyA, keyB, BOUND);
        } catch (RuntimeException e) {
            learnerThrew(e);
        }
    }

    private static ServerSocketChannel listener() throws IOException {
        ServerSocketChannel l = ServerSocketChannel.open();
        l.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);   // inherited by the accepted socket
        l.bind(new InetSocketAddress("127.0.0.1", 0), 1);
        return l;
    }

    private static SocketChannel small(SocketChannel ch) throws IOException {
        ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
        ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
        return ch;
    }

    /** One look at the selector, without waiting: hands every ready key to the relay; how many there were. */
    int turn() throws IOException {
        return selector.selectNow(this::dispatch);
    }

    /** One wait of at most 10 ms (for bytes on their way through loopback), then the same. */
    int step() throws IOException {
        return selector.select(this::dispatch, 10);
    }

    private void dispatch(SelectionKey key) {
        wakeups++;
        if (relay == null || !key.isValid()) return;   // a key whose channel the relay closed in this same turn
        try {
            relay.onReady(key);
        } catch (RuntimeException e) {
            learnerThrew(e);
        }
    }

    /** The learner's code threw: keep it for the test's message, and end the pair so the test ends. */
    private void learnerThrew(RuntimeException e) {
        failure.record(e);
        relay = null;
        closeQuietly(a);
        closeQuietly(b);
    }

    /**
     * Whether the relay's end {@code ch} has taken in its peer's reset: the kernel then moves it
     * to CLOSE and takes it out of the table of connections, whether or not the relay has
     * closed the fd yet.
     */
    boolean resetArrived(SocketChannel ch) throws IOException {
        if (!ch.isOpen()) return true;
        String k = ((InetSocketAddress) ch.getLocalAddress()).getPort() + ">" + ((InetSocketAddress) ch.getRemoteAddress()).getPort();
        return !queues().containsKey(k);
    }

    /** "OP_READ OP_WRITE", "OP_READ", "nothing", or "closed". */
    static String ops(SelectionKey key) {
        if (!key.isValid()) return "closed";
        int ops = key.interestOps();
        if (ops == 0) return "nothing";
        return (((ops & SelectionKey.OP_READ) != 0 ? "OP_READ " : "") + ((ops & SelectionKey.OP_WRITE) != 0 ? "OP_WRITE" : "")).strip();
    }

    /** What both keys watch, in words, for a message. */
    String watching() {
        return "the client's key watches " + ops(keyA) + ", the upstream's " + ops(keyB);
    }

    /** Bytes the relay holds on their way from the client to the upstream. */
    long heldTowardUpstream() throws IOException {
        Map<String, long[]> q = settledQueues();
        return client.sent - upstream.received - tx(q, client.ch) - rx(q, a) - tx(q, b) - rx(q, upstream.ch);
    }

    /** Bytes the relay holds on their way from the upstream to the client. */
    long heldTowardClient() throws IOException {
        Map<String, long[]> q = settledQueues();
        return upstream.sent - client.received - tx(q, upstream.ch) - rx(q, b) - tx(q, a) - rx(q, client.ch);
    }

    /**
     * The queues once no segment is on its way: a byte that has reached the receiver's queue
     * stays in the sender's until its ACK comes back, and the receiver may delay that ACK
     * (by up to 40 ms on Linux). While any of the four sockets waits for an ACK, its
     * retransmission timer runs ("tr" 1 in the table); polls until none does, at most 2 s.
     */
    private Map<String, long[]> settledQueues() throws IOException {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (true) {
            Map<String, long[]> q = queues();
            boolean inFlight = false;
            for (SocketChannel ch : List.of(client.ch, a, b, upstream.ch)) inFlight |= queue(q, ch)[2] == 1;
            if (!inFlight || System.nanoTime() > deadline) return q;
            LockSupport.parkNanos(1_000_000);
        }
    }

    private static long tx(Map<String, long[]> q, SocketChannel ch) throws IOException {
        return queue(q, ch)[0];
    }

    private static long rx(Map<String, long[]> q, SocketChannel ch) throws IOException {
        return queue(q, ch)[1];
    }

    private static long[] queue(Map<String, long[]> q, SocketChannel ch) throws IOException {
        String k = ((InetSocketAddress) ch.getLocalAddress()).getPort() + ">" + ((InetSocketAddress) ch.getRemoteAddress()).getPort();
        long[] v = q.get(k);
        if (v == null) throw new IllegalStateException("no line for the socket " + k + " in /proc/self/net/tcp");
        return v;
    }

    /**
     * Each TCP socket's send and receive queues, by "local port>remote port": tx_queue is what
     * was written and not yet acknowledged, rx_queue what arrived and was not yet read. On
     * loopback a byte is counted in both only while its ACK is on the way, which can only make
     * the relay's share look smaller, never larger.
     */
    private static Map<String, long[]> queues() throws IOException {
        Map<String, long[]> q = new HashMap<>();
        for (String table : List.of("tcp", "tcp6")) {
            Path p = Path.of("/proc/self/net", table);
            if (!Files.exists(p)) continue;
            for (String line : Files.readAllLines(p)) {
                String[] cols = line.strip().split("\\s+");
                if (cols.length < 5 || !cols[0].endsWith(":") || !cols[4].contains(":")) continue;
                String local = cols[1].substring(cols[1].indexOf(':') + 1);
                String remote = cols[2].substring(cols[2].indexOf(':') + 1);
                String[] txrx = cols[4].split(":");
                q.put(Integer.parseInt(local, 16) + ">" + Integer.parseInt(remote, 16),
                        new long[] {Long.parseLong(txrx[0], 16), Long.parseLong(txrx[1], 16), Long.parseLong(cols[5].substring(0, cols[5].indexOf(':')), 16)});
            }
        }
        return q;
    }

    @Override
    public void close() {
        closeQuietly(selector);
        closeQuietly(a);
        closeQuietly(b);
        closeQuietly(client.ch);
        closeQuietly(upstream.ch);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}
