package c10k.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
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
 * Prints one {@code RESULT} line; its {@code served} counts the connections that got at least
 * one answer while measuring (a server that starves some clients shows there).
 *
 * <p>Hold mode ({@code --hold}): opens C connections, has each echo one line, prints
 * {@code HELD}, then holds them all, idle, until its stdin closes: meanwhile the benchmark
 * reads the server's memory (and {@code echo} on stdin has them all echo again). With
 * {@code --sources K} the connections come from 127.0.0.2 … 127.0.0.(K+1), and with
 * {@code --processes P} from P processes: 60,000 connections need both (ports, fds).
 */
public final class LoadGen {

    private final int port;
    private final int connections;
    private final int depth;
    private final int lineSize;
    private final int threads;
    /** Source addresses 127.0.0.2 … 127.0.0.(1+sources) the connections are spread over (0: let the kernel choose). */
    private int sources;
    /** The id of this process's first connection, when several processes share the load. */
    private int firstId;
    private final AtomicLong errors = new AtomicLong();
    /** Connections that got at least one answer while measuring: fewer than all means some clients were starved. */
    private final java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();

    LoadGen(int port, int connections, int depth, int lineSize, int threads) {
        this.port = port;
        this.connections = connections;
        this.depth = depth;
        this.lineSize = lineSize;
        this.threads = Math.min(threads, connections);
    }

    /**
     * Below the kernel's ephemeral range (32768-60999 by default, ip_local_port_range): the
     * ports a bound client picks for itself. Taking them from the ephemeral range instead would
     * take them from every other program on the machine too, since connect(2) skips a port
     * that any socket has bound explicitly.
     */
    static final int FIRST_SOURCE_PORT = 10_000, LAST_SOURCE_PORT = 32_767;

    public static void main(String[] args) throws Exception {
        int port = 0, connections = 100, depth = 16, lineSize = 64, threads = 1, sources = 0, processes = 1, firstId = 0;
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
                case "--sources" -> sources = Integer.parseInt(args[++i]);
                case "--processes" -> processes = Integer.parseInt(args[++i]);
                case "--first-id" -> firstId = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (hold && processes > 1) {
            holdInProcesses(port, connections, lineSize, sources, processes);
            return;
        }
        LoadGen gen = new LoadGen(port, connections, depth, lineSize, threads);
        gen.sources = sources;
        gen.firstId = firstId;
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
        long sent, received, measured;
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
                    measured++;
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
            if (sources > 0) bindSource(ch, firstId + i);
            ch.connect(address);
            channels.add(ch);
        }
        return channels;
    }

    /**
     * One source address and port per connection, chosen before connect. A TCP connection is
     * named by its four numbers (source and destination address and port); to one server
     * address and port, one source address has at most ~28,000 ephemeral ports, so 60,000
     * connections need several source addresses: 127.0.0.2, 127.0.0.3, … (all of 127/8 is
     * loopback on Linux). Connection {@code id} gets address {@code id % sources} and port
     * {@code FIRST_SOURCE_PORT + id / sources}, so no two connections of any of our processes
     * pick the same pair. SO_REUSEADDR lets a pair still in TIME_WAIT from an earlier run be bound again.
     */
    private void bindSource(SocketChannel ch, int id) throws IOException {
        String source = "127.0.0." + (2 + id % sources);
        int sourcePort = FIRST_SOURCE_PORT + id / sources;
        if (sourcePort > LAST_SOURCE_PORT) throw new IOException("too many connections for " + sources + " source addresses: give more --sources");
        ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        try {
            ch.bind(new InetSocketAddress(source, sourcePort));
        } catch (java.net.BindException taken) {
            ch.bind(new InetSocketAddress(source, 0));   // another program has it: let the kernel pick
        }
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
                List<Conn> mine = new ArrayList<>();
                try (Selector selector = Selector.open()) {
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
                    for (Conn c : mine) if (c.measured > 0) served.incrementAndGet();
                    done.countDown();
                }
            }));
        }
        done.await();
        for (SocketChannel ch : channels) ch.close();
        double seconds = measureNanos / 1e9;
        System.out.printf(java.util.Locale.ROOT, "RESULT lines_per_sec=%.0f p50_us=%.1f p99_us=%.1f errors=%d connections=%d served=%d%n",
                totalLines[0] / seconds, total.quantile(0.50) / 1e3, total.quantile(0.99) / 1e3, errors.get(), connections, served.get());
    }

    /**
     * Opens the connections, has each echo one line, prints {@code HELD connections=N echoed=M},
     * then holds them idle. Each line {@code echo} on stdin has every connection echo once more
     * while all are held (prints {@code ECHOED M}); the end of stdin closes them all.
     */
    void hold() throws IOException {
        List<SocketChannel> channels = connectAll();
        int ok = echoAll(channels, 0);
        System.out.println("HELD connections=" + channels.size() + " echoed=" + ok);
        System.out.flush();
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String command;
        for (int round = 1; (command = commands.readLine()) != null; round++) {   // hold until the caller closes our stdin
            if (command.equals("echo")) {
                System.out.println("ECHOED " + echoAll(channels, round));
                System.out.flush();
            }
        }
        for (SocketChannel ch : channels) ch.close();
    }

    /** Every connection sends line {@code seq} and reads it back; returns how many came back exact. */
    private int echoAll(List<SocketChannel> channels, long seq) throws IOException {
        int ok = 0;
        byte[] line = new byte[lineSize];
        ByteBuffer answer = ByteBuffer.allocate(lineSize);
        for (int i = 0; i < channels.size(); i++) {
            line(line, firstId + i, seq);
            channels.get(i).write(ByteBuffer.wrap(line));
        }
        for (int i = 0; i < channels.size(); i++) {
            answer.clear();
            while (answer.hasRemaining() && channels.get(i).read(answer) >= 0) { }
            line(line, firstId + i, seq);
            if (java.util.Arrays.equals(answer.array(), line)) ok++;
        }
        return ok;
    }

    /**
     * {@code --hold --processes P}: the connections split over P load generators in processes of
     * their own, since one process may hold no more fds than its open-files limit (20,000 here).
     * Speaks the same lines on stdin and stdout as one process would, with the sums.
     */
    static void holdInProcesses(int port, int connections, int lineSize, int sources, int processes) throws Exception {
        List<Process> children = new ArrayList<>();
        List<BufferedReader> outs = new ArrayList<>();
        try {
            int share = (connections + processes - 1) / processes;
            for (int k = 0, first = 0; k < processes && first < connections; k++, first += share) {
                List<String> command = List.of(ServerProcess.javaBin(), "-cp", System.getProperty("java.class.path"),
                        LoadGen.class.getName(), "--hold", "--port", "" + port, "--line-size", "" + lineSize,
                        "--connections", "" + Math.min(share, connections - first), "--sources", "" + sources, "--first-id", "" + first);
                Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                children.add(p);
                outs.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII)));
            }
            long held = 0, echoed = 0;
            for (BufferedReader out : outs) {
                String line = out.readLine();
                if (line == null || !line.startsWith("HELD")) throw new IOException("a load generator failed: " + line);
                held += field(line, "connections");
                echoed += field(line, "echoed");
            }
            System.out.println("HELD connections=" + held + " echoed=" + echoed + " processes=" + children.size());
            System.out.flush();
            BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
            String command;
            while ((command = commands.readLine()) != null) {
                if (!command.equals("echo")) continue;
                for (Process p : children) {
                    p.getOutputStream().write("echo\n".getBytes(StandardCharsets.US_ASCII));
                    p.getOutputStream().flush();
                }
                long again = 0;
                for (BufferedReader out : outs) {
                    String line = out.readLine();
                    if (line == null || !line.startsWith("ECHOED ")) throw new IOException("a load generator failed: " + line);
                    again += Long.parseLong(line.substring("ECHOED ".length()).trim());
                }
                System.out.println("ECHOED " + again);
                System.out.flush();
            }
        } finally {
            for (Process p : children) p.getOutputStream().close();   // they close their connections and exit
            for (Process p : children) if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    private static long field(String line, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(name + "=(\\d+)").matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
