///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day05-threadpool-epoll/src/main/java/c10k/day05/*.java

package c10k.day06;

import c10k.day05.Handler;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * {@code ./jbang day06-race}: the fd-reuse race, played step by step against the unpinned and
 * the pinned server. No luck involved: a latch holds the worker until the moment of our choosing.
 *
 * <ol>
 * <li>Alice sends a private line; the handler (a worker) holds it, as a slow request would.</li>
 * <li>Alice's connection resets; the loop closes her fd.</li>
 * <li>Bob connects: accept hands out the lowest free number.</li>
 * <li>The worker finishes and writes Alice's answer to the number it holds.</li>
 * </ol>
 */
public final class RaceDemo {

    /** What Bob received in the race; empty if nothing. */
    public record Outcome(int aliceFd, int bobFd, String bobReceived, long refusedLateWrites) {
    }

    public static void main(String[] args) throws Exception {
        for (FdReuseServer.Identity identity : FdReuseServer.Identity.values()) {
            Outcome o = play(identity == FdReuseServer.Identity.FD_NUMBER
                    ? h -> FdReuseServer.unpinned("127.0.0.1", 0, 2, h)
                    : h -> FdReuseServer.pinned("127.0.0.1", 0, 2, h, 16, 1_024));
            System.out.printf("%-12s Alice had fd %d, Bob got fd %d; Bob received: %s%s%n",
                    identity == FdReuseServer.Identity.FD_NUMBER ? "unpinned:" : "pinned:",
                    o.aliceFd(), o.bobFd(), o.bobReceived().isEmpty() ? "nothing" : "\"" + o.bobReceived().strip() + "\"",
                    identity == FdReuseServer.Identity.PINNED_SLOT ? " (late writes refused: " + o.refusedLateWrites() + ")" : "");
        }
    }

    /** Plays the interleaving once against a fresh server made by {@code make} around our handler. */
    public static Outcome play(java.util.function.Function<Handler, FdReuseServer> make) throws Exception {
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
        try {
            Socket alice = connect(server.port());
            await(() -> server.connectionCount() == 1);
            int aliceFd = server.newestFd();
            alice.getOutputStream().write("alice: my password is hunter2\n".getBytes(StandardCharsets.US_ASCII));
            aliceInHandler.await();                      // 1. a worker holds Alice's request
            alice.setSoLinger(true, 0);
            alice.close();                               // 2. RST: the loop closes her fd
            await(() -> server.connectionCount() == 0);
            Socket bob = connect(server.port());         // 3. Bob gets the lowest free number
            await(() -> server.connectionCount() == 1);
            int bobFd = server.newestFd();
            finishAlice.countDown();                     // 4. the late worker writes
            String received = readFor(bob, 1000);
            bob.close();
            return new Outcome(aliceFd, bobFd, received, server.refusedLateWrites());
        } finally {
            finishAlice.countDown();
            server.close();
        }
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port));
        return s;
    }

    /** Whatever arrives on {@code s} within {@code ms}. */
    private static String readFor(Socket s, int ms) throws IOException {
        s.setSoTimeout(ms);
        InputStream in = s.getInputStream();
        StringBuilder got = new StringBuilder();
        try {
            int b;
            while ((b = in.read()) >= 0) {
                got.append((char) b);
                if (b == '\n') break;
            }
        } catch (SocketTimeoutException quiet) {
            // nothing (more) came
        }
        return got.toString();
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the server did not get there in 10 s");
            TimeUnit.MILLISECONDS.sleep(1);
        }
    }
}
