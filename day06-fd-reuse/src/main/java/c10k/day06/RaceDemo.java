///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day05-threadpool-epoll/src/main/java/c10k/day05/*.java

package c10k.day06;

import c10k.day05.Handler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
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
 */
public final class RaceDemo {

    static final String ALICE = "alice: my password is hunter2\n";
    private static final String BOB = "bob\n";

    /** What happened: the two fd numbers, what reached Bob before his own echo, late writes refused. */
    public record Outcome(int aliceFd, int bobFd, String bobReceived, long refusedLateWrites) {
    }

    public static void main(String[] args) throws Exception {
        report("unpinned:", play(h -> FdReuseServer.unpinned("127.0.0.1", 0, 2, h)));
        report("pinned:", play(h -> FdReuseServer.pinned("127.0.0.1", 0, 2, h, 16, 1_024)));
    }

    private static void report(String name, Outcome o) {
        System.out.printf("%-10s Alice had fd %d, Bob got fd %d; Bob received: %s (late writes refused: %d)%n",
                name, o.aliceFd(), o.bobFd(), o.bobReceived().isEmpty() ? "nothing" : "\"" + o.bobReceived().strip() + "\"",
                o.refusedLateWrites());
    }

    /** Plays the interleaving once against a fresh server made by {@code make} around our handler. */
    public static Outcome play(Function<Handler, ? extends FdReuseServer> make) throws Exception {
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
                return new Outcome(aliceFd, bobFd, received, server.lateWritesRefused());
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
