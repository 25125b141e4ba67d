///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day05-threadpool-epoll/src/main/java/c10k/day05/*.java

package c10k.day06;

import c10k.day01.harness.Timeouts;
import c10k.day05.Handler;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * {@code ./jbang day06-race}: the fd-reuse race, played step by step against each design. No
 * luck and no timing: a latch holds the worker until the moment of our choosing, and every wait
 * is for the server's own state.
 *
 * <ol>
 * <li>Alice sends a private line; the handler (on a worker) holds it, as a slow request would.</li>
 * <li>Alice's connection resets; the loop closes her connection.</li>
 * <li>Bob connects.</li>
 * <li>The worker finishes and writes Alice's answer; we wait until it has
 *     ({@link FdReuseServer#batchesWritten}).</li>
 * <li>Bob sends {@code bob} and reads up to its echo. TCP keeps order, so anything the late
 *     worker put on Bob's socket arrives before it: that is what Bob received.</li>
 * </ol>
 *
 * <p>After each scene the demo keeps Bob connected and waits, so that the reader can look at
 * the numbers from another terminal ({@code ls -l /proc/PID/fd/N}, printed with the real PID
 * and numbers): until Enter, the end of standard input, or {@code --hold SECONDS} (default
 * {@value #DEFAULT_HOLD_SECONDS}; 0 does not wait), whichever comes first. The tests end that
 * wait with their own input, never with the clock.
 */
public final class RaceDemo {

    static final String ALICE = "alice: my password is hunter2\n";
    private static final String BOB = "bob\n";

    /** What happened: the two fd numbers, what reached Bob before his own echo, late writes refused. */
    public record Outcome(int aliceFd, int bobFd, String bobReceived, long refusedLateWrites) {
    }

    /** How long each scene waits for the reader, by default: enough to switch terminals and type one command. */
    static final int DEFAULT_HOLD_SECONDS = 120;

    /**
     * Called once Bob's outcome is known, while Bob is still connected and the server still
     * runs: the demo's chance to let the reader look at the fds. The tests pass {@link #NONE}.
     */
    @FunctionalInterface
    public interface Pause {
        Pause NONE = (server, o) -> { };

        void at(FdReuseServer server, Outcome o) throws InterruptedException;
    }

    public static void main(String[] args) throws Exception {
        int hold = DEFAULT_HOLD_SECONDS;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--hold") && i + 1 < args.length && args[i + 1].matches("\\d{1,5}")) {
                hold = Integer.parseInt(args[++i]);
            } else {
                System.err.println("day06-race: unknown option or value: " + args[i]
                        + "\nusage: day06-race [--hold SECONDS]   how long each scene waits for you to look (default "
                        + DEFAULT_HOLD_SECONDS + "; 0: no wait; Enter goes on at once)");
                System.exit(2);
            }
        }
        run(System.out, System.in, Duration.ofSeconds(hold));
    }

    /** Both scenes, each reported and then held for the reader: Enter on {@code in}, its end, or {@code hold}. */
    static void run(PrintStream out, InputStream in, Duration hold) throws Exception {
        Reader reader = new Reader(in);
        long pid = ProcessHandle.current().pid();
        play(h -> untimed(FdReuseServer.unpinned("127.0.0.1", 0, 2, h)), (server, o) -> {
            report(out, "unpinned:", o);
            out.println(INDENT + "Bob is still connected. Alice's old number now names Bob's socket; in another terminal:");
            out.println(INDENT + "  ls -l /proc/" + pid + "/fd/" + o.bobFd());
            reader.await(out, hold);
        });
        play(h -> untimed(FdReuseServer.pinned("127.0.0.1", 0, 2, h, 16, 1_024)), (server, o) -> {
            report(out, "pinned:", o);
            out.println(INDENT + "Bob is still connected. Alice's old number and a slot never used name one socket, the");
            out.println(INDENT + "placeholder; Bob's number names his own. In another terminal:");
            out.println(INDENT + "  ls -l /proc/" + pid + "/fd/{" + o.aliceFd() + "," + o.bobFd() + "," + (o.bobFd() + 1) + "}");
            reader.await(out, hold);
        });
    }

    private static final String INDENT = " ".repeat(11);

    /** No idle timeout: Bob, silent while the reader looks, must not be closed after 60 s. */
    private static FdReuseServer untimed(FdReuseServer server) {
        server.timeouts(Timeouts.NONE);
        return server;
    }

    private static void report(PrintStream out, String name, Outcome o) {
        out.printf("%-10s Alice had fd %d, Bob got fd %d; Bob received: %s (late writes refused: %d)%n",
                name, o.aliceFd(), o.bobFd(), o.bobReceived().isEmpty() ? "nothing" : "\"" + o.bobReceived().strip() + "\"",
                o.refusedLateWrites());
    }

    /**
     * The reader's input, read on a thread of its own so that a wait for Enter can also end at
     * its bound. End of input (a pipe, {@code < /dev/null}) ends this wait and every later one.
     */
    private static final class Reader {
        private final BlockingQueue<Boolean> lines = new LinkedBlockingQueue<>();   // true: a line, false: the end
        private boolean ended;

        Reader(InputStream in) {
            Thread t = new Thread(() -> {
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                try {
                    while (r.readLine() != null) lines.add(true);
                } catch (IOException e) {
                    // an unreadable input counts as an ended one
                }
                lines.add(false);
            }, "day06-race-input");
            t.setDaemon(true);   // never keeps the demo alive
            t.start();
        }

        void await(PrintStream out, Duration hold) throws InterruptedException {
            if (ended || hold.isZero()) return;
            out.println(INDENT + "Waiting up to " + hold.toSeconds() + " s: press Enter to go on (--hold SECONDS changes the wait).");
            out.flush();
            Boolean line = lines.poll(hold.toMillis(), TimeUnit.MILLISECONDS);
            if (line == null) {
                out.println(INDENT + "(" + hold.toSeconds() + " s passed: going on)");
            } else if (!line) {
                ended = true;
            }
        }
    }

    /** Plays the interleaving once against a fresh server made by {@code make} around our handler. */
    public static Outcome play(Function<Handler, ? extends FdReuseServer> make) throws Exception {
        return play(make, Pause.NONE);
    }

    /** The same, and {@code pause} runs once the outcome is known, before Bob and the server are closed. */
    public static Outcome play(Function<Handler, ? extends FdReuseServer> make, Pause pause) throws Exception {
        CountDownLatch aliceInHandler = new CountDownLatch(1);
        CountDownLatch finishAlice = new CountDownLatch(1);
        Handler handler = line -> {
            if (new String(line, StandardCharsets.US_ASCII).startsWith("alice")) {
                aliceInHandler.countDown();
                finishAlice.await();
            }
            return line;
        };
        FdReuseServer server = make.apply(handler);
        server.start();
        try (Socket alice = connect(server.port())) {
            await(() -> server.connectionCount() == 1);
            int aliceFd = server.newestFd();
            alice.getOutputStream().write(ALICE.getBytes(StandardCharsets.US_ASCII));
            aliceInHandler.await();                      // 1. a worker holds Alice's request
            alice.setSoLinger(true, 0);
            alice.close();                               // 2. RST: the loop closes her connection
            await(() -> server.connectionCount() == 0);
            try (Socket bob = connect(server.port())) {  // 3. Bob connects
                await(() -> server.connectionCount() == 1);
                int bobFd = server.newestFd();
                long written = server.batchesWritten();
                finishAlice.countDown();                 // 4. the late worker writes, or refuses to
                await(() -> server.batchesWritten() > written);
                bob.getOutputStream().write(BOB.getBytes(StandardCharsets.US_ASCII));
                String received = readUpTo(bob, BOB);    // 5. whatever came before Bob's own echo
                Outcome o = new Outcome(aliceFd, bobFd, received, server.lateWritesRefused());
                pause.at(server, o);
                return o;
            }
        } finally {
            finishAlice.countDown();
            server.close();
        }
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port));
        s.setSoTimeout(20_000);   // a broken server fails the demo instead of hanging it
        return s;
    }

    /** Reads until the stream ends with {@code echo}; returns what came before it. */
    private static String readUpTo(Socket s, String echo) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while (!got.toString(StandardCharsets.US_ASCII).endsWith(echo)) {
            int b = in.read();
            if (b < 0) throw new IOException("Bob's stream ended after: " + got.toString(StandardCharsets.US_ASCII));
            got.write(b);
        }
        String all = got.toString(StandardCharsets.US_ASCII);
        return all.substring(0, all.length() - echo.length());
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the server did not get there in 30 s");
            TimeUnit.MILLISECONDS.sleep(1);
        }
    }
}
