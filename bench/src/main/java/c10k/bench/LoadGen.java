package c10k.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load generator, run in a process of its own so it never shares a JVM (or a heap, or a
 * GC) with the server it measures.
 *
 * <p>Throughput mode: C connections, each keeping D lines of L bytes in flight (a closed
 * loop: every answer that comes back sends the next line). Every byte that comes back is
 * checked against the line that was sent; latency is measured per line, send to answer.
 * Prints one {@code RESULT} line.
 *
 * <p>Hold mode ({@code --hold}): opens C connections, has each echo one line, prints
 * {@code HELD}, then holds them all, idle, until its stdin closes: meanwhile the benchmark
 * reads the server's memory.
 */
public final class LoadGen {

    private final int port;
    private final int connections;
    private final int depth;
    private final int lineSize;
    private final int threads;
    private final AtomicLong errors = new AtomicLong();

    LoadGen(int port, int connections, int depth, int lineSize, int threads) {
        this.port = port;
        this.connections = connections;
        this.depth = depth;
        this.lineSize = lineSize;
        this.threads = Math.min(threads, connections);
    }

    public static void main(String[] args) throws Exception {
        int port = 0, connections = 100, depth = 16, lineSize = 64, threads = 1;
        double warmup = 1, seconds = 3;
        boolean hold = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--connections" -> connections = Integer.parseInt(args[++i]);
                case "--pipeline" -> depth = Integer.parseInt(args[++i]);
                case "--line-size" -> lineSize = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Double.parseDouble(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--hold" -> hold = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        LoadGen gen = new LoadGen(port, connections, depth, lineSize, threads);
        if (hold) gen.hold();
        else gen.run((long) (warmup * 1e9), (long) (seconds * 1e9));
    }

    /** The i-th line of connection c: deterministic, so the answer can be checked without storing it. */
    static void line(byte[] into, int c, long seq) {
        int n = into.length;
        java.util.Arrays.fill(into, (byte) 'x');
        String head = c + ":" + seq + " ";
        for (int i = 0; i < head.length() && i < n - 1; i++) into[i] = (byte) head.charAt(i);
        into[n - 1] = '\n';
    }

    private final class Conn {
        final int id;
        final SocketChannel ch;
        final long[] sentAt;
        final ByteBuffer in;
        final ByteBuffer out;
        final byte[] expected;
        final byte[] got;
        long sent, received;
        SelectionKey key;

        Conn(int id, SocketChannel ch) {
            this.id = id;
            this.ch = ch;
            sentAt = new long[depth];
            in = ByteBuffer.allocate(Math.max(4096, lineSize * depth));
            out = ByteBuffer.allocate(lineSize * (depth + 1));
            expected = new byte[lineSize];
            got = new byte[lineSize];
        }

        void queueNext(long now) {
            line(expected, id, sent);
            out.put(expected);
            sentAt[(int) (sent % depth)] = now;
            sent++;
        }

        void flush() throws IOException {
            out.flip();
            ch.write(out);
            out.compact();
            int ops = out.position() > 0 ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ;
            if (key.interestOps() != ops) key.interestOps(ops);
        }

        /** Checks each complete answer, records its latency, and sends the next line for it. */
        void onReadable(Histogram h, long[] lines, boolean measuring) throws IOException {
            int n = ch.read(in);
            if (n < 0) throw new IOException("server closed connection " + id);
            long now = System.nanoTime();
            in.flip();
            while (in.remaining() >= lineSize) {
                in.get(got);
                line(expected, id, received);
                if (!java.util.Arrays.equals(got, expected)) errors.incrementAndGet();
                if (measuring) {
                    h.record(now - sentAt[(int) (received % depth)]);
                    lines[0]++;
                }
                received++;
                queueNext(now);
            }
            in.compact();
            flush();
        }
    }

    private List<SocketChannel> connectAll() throws IOException {
        List<SocketChannel> channels = new ArrayList<>(connections);
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        for (int i = 0; i < connections; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.connect(address);
            channels.add(ch);
        }
        return channels;
    }

    void run(long warmupNanos, long measureNanos) throws Exception {
        List<SocketChannel> channels = connectAll();
        Histogram total = new Histogram();
        long[] totalLines = new long[1];
        CountDownLatch done = new CountDownLatch(threads);
        long start = System.nanoTime();
        long measureFrom = start + warmupNanos;
        long end = measureFrom + measureNanos;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            workers.add(Thread.ofPlatform().name("loadgen-" + t).start(() -> {
                Histogram h = new Histogram();
                long[] lines = new long[1];
                try (Selector selector = Selector.open()) {
                    List<Conn> mine = new ArrayList<>();
                    for (int i = first; i < channels.size(); i += threads) {
                        SocketChannel ch = channels.get(i);
                        ch.configureBlocking(false);
                        Conn c = new Conn(i, ch);
                        c.key = ch.register(selector, SelectionKey.OP_READ, c);
                        mine.add(c);
                    }
                    long now = System.nanoTime();
                    for (Conn c : mine) {
                        for (int k = 0; k < depth; k++) c.queueNext(now);
                        c.flush();
                    }
                    boolean[] measuring = {false};
                    while (true) {
                        now = System.nanoTime();
                        if (now >= end) break;
                        measuring[0] = now >= measureFrom;
                        selector.select(key -> {
                            Conn c = (Conn) key.attachment();
                            try {
                                if (key.isWritable()) c.flush();
                                if (key.isReadable()) c.onReadable(h, lines, measuring[0]);
                            } catch (IOException e) {
                                errors.incrementAndGet();
                                key.cancel();
                            }
                        }, 50);
                    }
                } catch (IOException e) {
                    errors.incrementAndGet();
                } finally {
                    synchronized (total) {
                        total.add(h);
                        totalLines[0] += lines[0];
                    }
                    done.countDown();
                }
            }));
        }
        done.await();
        for (SocketChannel ch : channels) ch.close();
        double seconds = measureNanos / 1e9;
        System.out.printf(java.util.Locale.ROOT, "RESULT lines_per_sec=%.0f p50_us=%.1f p99_us=%.1f errors=%d connections=%d%n",
                totalLines[0] / seconds, total.quantile(0.50) / 1e3, total.quantile(0.99) / 1e3, errors.get(), connections);
    }

    void hold() throws IOException {
        List<SocketChannel> channels = connectAll();
        int ok = 0;
        byte[] line = new byte[lineSize];
        ByteBuffer answer = ByteBuffer.allocate(lineSize);
        for (int i = 0; i < channels.size(); i++) {
            line(line, i, 0);
            channels.get(i).write(ByteBuffer.wrap(line));
        }
        for (int i = 0; i < channels.size(); i++) {
            answer.clear();
            while (answer.hasRemaining() && channels.get(i).read(answer) >= 0) { }
            line(line, i, 0);
            if (java.util.Arrays.equals(answer.array(), line)) ok++;
        }
        System.out.println("HELD connections=" + channels.size() + " echoed=" + ok);
        System.out.flush();
        while (System.in.read() >= 0) { }   // hold until the benchmark closes our stdin
        for (SocketChannel ch : channels) ch.close();
    }
}
