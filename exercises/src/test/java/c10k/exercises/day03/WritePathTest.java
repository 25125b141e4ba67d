package c10k.exercises.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.TestClient;
import c10k.exercises.Expect;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "A non-blocking write takes what fits and returns. What happens to the rest, who sends it later, and what if older bytes are still waiting? Why must OP_WRITE not stay armed?",
        "Re-read day 3's \"Send first; ask for writability only while bytes wait\" and \"A connection's life\".",
        "For each of the three methods, write the one fact it must leave true when it returns (about the outbox, and about the key's interest)."})
@DisplayName("1. WritePath: every byte once and in order, with no blocked and no spinning loop")
class WritePathTest {

    /** Each test opens a connection and a selector (or a selector loop): every fd is closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("WritePath writes to the channel it is given, and the test (or the loop)"
            + " closes that channel: did your code open a channel or a selector of its own, and leave it open?");

    /** Far more than the kernel's buffers between the two ends can hold. */
    static final int BIG = 16 * 1024 * 1024;

    private static String ops(int ops) {
        if (ops == 0) return "none";
        String s = ((ops & SelectionKey.OP_READ) != 0 ? "OP_READ " : "") + ((ops & SelectionKey.OP_WRITE) != 0 ? "OP_WRITE" : "");
        return s.strip();
    }

    /** Runs {@code step}; if it does not return within 5 s, fails with {@code lesson} (and closes the pair to stop it). */
    private static <T> T within(ChannelPair pair, String lesson, Callable<T> step) throws Exception {
        try (ExecutorService one = Executors.newSingleThreadExecutor()) {
            Future<T> f = one.submit(step);
            try {
                return f.get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                pair.close();   // a write spinning on a full socket now throws and ends
                throw new AssertionError(lesson);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof Exception cause) throw cause;
                throw (Error) e.getCause();
            }
        }
    }

    private static final String SPINS = "send() did not return within 5 s while the peer was not reading: a non-blocking"
            + " write takes what fits and returns (maybe 0); looping until all is written spins forever."
            + " Queue the rest in the outbox instead";

    @Test
    void sendsAtOnceAndArmsNothingWhenTheSocketTakesItAll() throws Exception {
        try (ChannelPair pair = new ChannelPair()) {
            WritePath w = new WritePath(pair.server);
            within(pair, SPINS, () -> {
                w.send(ByteBuffer.wrap("hello\n".getBytes(StandardCharsets.US_ASCII)));
                return null;
            });
            assertThat(Expect.line(pair.client, new c10k.exercises.LearnerFailure(),
                    "send() must write at once when the socket has room (send first), not wait for OP_WRITE"))
                    .isEqualTo("hello\n");
            assertThat(w.pendingBytes()).as("the socket took all 6 bytes: nothing waits").isZero();
            w.updateInterest(pair.key, true);
            assertThat(ops(pair.key.interestOps()))
                    .as("nothing waits to be written, so the key must not have OP_WRITE: a socket is writable"
                            + " almost always, and select() would return at once, forever (a busy loop)")
                    .isEqualTo("OP_READ");
            w.updateInterest(pair.key, false);
            assertThat(ops(pair.key.interestOps())).as("updateInterest(key, reading = false): no OP_READ either").isEqualTo("none");
        }
    }

    @Test
    void queuesWhatTheKernelRefusesAndArmsOpWrite() throws Exception {
        try (ChannelPair pair = new ChannelPair()) {
            WritePath w = new WritePath(pair.server);
            within(pair, SPINS, () -> {
                w.send(ByteBuffer.wrap(Flood.bytes(0, BIG)));
                return null;
            });
            assertThat(w.pendingBytes())
                    .as("16 MiB to a peer that does not read: the kernel takes what fits in its buffers,"
                            + " the rest must wait in the outbox (pendingBytes() > 0)")
                    .isPositive();
            assertThat(w.pendingBytes())
                    .as("all 16 MiB waited in the outbox, though the kernel had room for part of it: answers wait for OP_WRITE that could have gone at once (\"send first\")")
                    .isLessThan(BIG);
            w.updateInterest(pair.key, true);
            assertThat(ops(pair.key.interestOps()))
                    .as("bytes wait: the key needs OP_WRITE, or nobody will ever send them")
                    .isEqualTo("OP_READ OP_WRITE");
        }
    }

    @Test
    void aSlowReaderGetsEveryByteInOrderThenOpWriteIsDisarmed() throws Exception {
        byte[] tail = "and the answer to a later read\n".getBytes(StandardCharsets.US_ASCII);
        try (ChannelPair pair = new ChannelPair(); ExecutorService readerThread = Executors.newSingleThreadExecutor()) {
            WritePath w = new WritePath(pair.server);
            within(pair, SPINS, () -> {
                w.send(ByteBuffer.wrap(Flood.bytes(0, BIG)));
                return null;
            });
            int queued = w.pendingBytes();
            // The peer reads a little, so the socket has room again, but no OP_WRITE was handled yet:
            // a new answer must still go behind the queued bytes, not ahead of them.
            InputStream in = pair.client.socket().getInputStream();
            byte[] first = in.readNBytes(1024 * 1024);
            assertThat(first).as("the first MiB the peer reads").isEqualTo(Flood.bytes(0, first.length));
            w.send(ByteBuffer.wrap(tail));
            // Either keeps the order: the new answer queued behind the old bytes, or the old bytes
            // written first and the new answer after them. The order itself is checked at the end.
            assertThat(w.pendingBytes())
                    .as("bytes went missing: after a new answer, at most what waited plus that answer may wait")
                    .isLessThanOrEqualTo(queued + tail.length);

            Future<byte[]> rest = readerThread.submit(() -> in.readNBytes(BIG - first.length + tail.length));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            w.updateInterest(pair.key, true);
            while (w.pendingBytes() > 0) {
                assertThat(System.nanoTime() < deadline)
                        .as("the outbox did not drain in 10 s while the peer read: does onWritable() write what"
                                + " waits and tell the outbox (consumed)? Is OP_WRITE armed while bytes wait?")
                        .isTrue();
                pair.selector.select(key -> {
                    try {
                        if (key.isWritable()) w.onWritable();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    w.updateInterest(key, true);
                }, 100);
            }
            byte[] got = rest.get(10, TimeUnit.SECONDS);
            byte[] expected = new byte[got.length];
            System.arraycopy(Flood.bytes(first.length, BIG - first.length), 0, expected, 0, BIG - first.length);
            System.arraycopy(tail, 0, expected, BIG - first.length, tail.length);
            assertThat(Arrays.equals(got, expected)).as("every byte, once, in order, the later answer last: an answer written while older bytes"
                    + " wait overtakes them, and the peer gets answers out of order").isTrue();
            assertThat(ops(pair.key.interestOps()))
                    .as("the outbox drained: OP_WRITE must go, or select() returns at once forever (a busy loop)")
                    .isEqualTo("OP_READ");
        }
    }

    @Test
    @Hints({
            "The kernel took part of the answers and refused the rest. Where, in the buffer you were given, does the rest begin, and where did the answers begin?",
            "Re-read day 3's \"Send first; ask for writability only while bytes wait\", and ByteBuffer's position, limit and what a write does to them.",
            "The loop does not always hand you a buffer whose answers start at index 0. Follow one whose answers start at 100 through a write that takes part of them."})
    void aLineCutByTheKernelIsNeitherLostNorDoubled() throws Exception {
        // The loop's buffer holds other bytes before and after this read's answers: the answers
        // are buffer[100, 100 + BIG). The kernel takes what fits, cutting a line somewhere.
        byte[] buffer = new byte[100 + BIG + 100];
        Arrays.fill(buffer, (byte) '#');
        System.arraycopy(Flood.bytes(0, BIG), 0, buffer, 100, BIG);
        try (ChannelPair pair = new ChannelPair(); ExecutorService readerThread = Executors.newSingleThreadExecutor()) {
            WritePath w = new WritePath(pair.server);
            within(pair, SPINS, () -> {
                w.send(ByteBuffer.wrap(buffer, 100, BIG));
                return null;
            });
            assertThat(w.pendingBytes())
                    .as("of the 16 MiB of answers, the kernel took part and refused the rest: the rest, and only it,"
                            + " waits")
                    .isBetween(1, BIG - 1);
            InputStream in = pair.client.socket().getInputStream();
            Future<Long> rest = readerThread.submit(() -> Flood.readAndCheck(in, BIG));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            w.updateInterest(pair.key, true);
            while (w.pendingBytes() > 0 && !rest.isDone()) {
                assertThat(System.nanoTime() < deadline).as("the outbox did not drain in 10 s while the peer read").isTrue();
                pair.selector.select(key -> {
                    try {
                        if (key.isWritable()) w.onWritable();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    w.updateInterest(key, true);
                }, 100);
            }
            long got;
            try {
                got = rest.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new AssertionError("the kernel cut the answers somewhere in a line, and what was sent after"
                        + " OP_WRITE did not continue where it stopped: "
                        + e.getCause().getMessage() + ". The rest of a partial write starts where the kernel stopped,"
                        + " not where the buffer begins", e.getCause());
            }
            assertThat(got).as("every byte of the answers, once").isEqualTo(BIG);
        }
    }

    @Test
    void echoesMebibytesBothWaysThroughASelectorLoop() throws Exception {
        long total = 8L * 1024 * 1024;
        try (SelectorHarness server = new SelectorHarness(false)) {
            server.start();
            // The client is declared last, so closed first: that unblocks a writer stuck in write().
            try (ExecutorService writerThread = Executors.newSingleThreadExecutor(); TestClient c = Expect.client(server.port())) {
                Future<?> writer = writerThread.submit(() -> {
                    OutputStream out = c.socket().getOutputStream();
                    for (long off = 0; off < total; off += 64 * Flood.LINE) out.write(Flood.bytes(off, 64 * Flood.LINE));
                    c.shutdownOutput();
                    return null;
                });
                long echoed;
                try {
                    echoed = Flood.readAndCheck(c.socket().getInputStream(), total);
                } catch (IOException e) {
                    throw new AssertionError("8 MiB streamed through the selector loop with your WritePath: the echo"
                            + " stopped (" + e.getMessage() + ")" + server.failure().explain(), e);
                }
                assertThat(echoed).as("8 MiB in, 8 MiB echoed" + server.failure().explain()).isEqualTo(total);
                writer.get(10, TimeUnit.SECONDS);
            }
        }
    }
}
