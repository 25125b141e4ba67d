package c10k.exercises.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.ExerciseRun;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "Which bytes may be on their way to this socket, somewhere in the server, at the instant a worker decides that nothing waits? Where can they be, and can the worker see every one of those places?",
        "Re-read day 5's \"Why one reader and one writer per fd\" (what a partial send does when another thread sends next) and \"Reactor: getting answers back\" (how two threads agree, each writing its own variable and reading the other's): the worker's question \"is anything pending?\" must have an answer that cannot go stale before its send.",
        "Play the failing test's story on paper (./jbang check day05 --verbose prints it: what each thread did, and at which step the other one moved), one line of the class at a time, with the kernel taking 3 bytes: where is the rest of the first answer at each instant the worker could look, and does its check see it there? Only one who knows nothing is pending anywhere may send; who can keep that knowledge, and when may it be lowered?"})
@DisplayName("3. DirectReply: find the bug: a worker's shortcut cuts a line in two")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DirectReplyTest {

    /** The real-socket test opens a listener, two sockets and a selector: every fd is closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("DirectReply holds answers, not sockets, and the test closes its own:"
            + " did your code open a descriptor, and leave it open?");

    private static final byte[] FIRST = bytes("one two three\n");
    private static final byte[] SECOND = bytes("four five\n");

    private final ExecutorService loopThread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("loop").daemon().unstarted(r));
    private final ExecutorService workerThread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("worker").daemon().unstarted(r));
    private final ExecutorService clientThread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("client").daemon().unstarted(r));

    @AfterEach
    void stopThreads() throws InterruptedException {
        loopThread.shutdownNow();
        workerThread.shutdownNow();
        clientThread.shutdownNow();
        clientThread.awaitTermination(5, TimeUnit.SECONDS);
        loopThread.awaitTermination(5, TimeUnit.SECONDS);
        workerThread.awaitTermination(5, TimeUnit.SECONDS);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.US_ASCII).replace("\n", "\\n");
    }

    /** What the kernel takes of each send: everything, or 3 bytes and then EAGAIN, in turn. */
    enum Kernel {
        TAKES_ALL("takes every byte"),
        TAKES_3_THEN_FULL("takes 3 bytes, then says EAGAIN, in turn"),
        FULL_THEN_TAKES_3("says EAGAIN, then takes 3 bytes, in turn");

        final String story;

        Kernel(String story) {
            this.story = story;
        }
    }

    /**
     * One connection, its loop thread and one worker thread, a scripted kernel that records what
     * reached the wire, and the hooks: the {@code inject}-th hook the main thread passes (each of
     * the queues' operations, each send) runs the other thread's move, on that other thread, and
     * waits for it (2 s at most: longer means one thread waited for the other).
     */
    final class Run {
        final ByteArrayOutputStream wire = new ByteArrayOutputStream();
        final List<String> broken = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger inSend = new AtomicInteger();
        final AtomicInteger wakeups = new AtomicInteger();
        final AtomicLong workerBytes = new AtomicLong();
        final ByteArrayOutputStream expected = new ByteArrayOutputStream();
        final List<String> story = new ArrayList<>();
        volatile Kernel kernel = Kernel.TAKES_ALL;
        volatile boolean kernelTakesNext = true;
        volatile boolean woken;
        volatile boolean wantsOut;
        volatile boolean workerSawEagain;
        volatile Thread main;
        volatile int inject = -1;
        volatile int hooks;
        volatile String injectedAt;
        volatile boolean mainIsLoop;
        volatile byte[] injectedReply;
        final DirectReply path;

        Run() {
            DirectReply.Socket socket = this::send;
            path = new DirectReply(socket, () -> {
                wakeups.incrementAndGet();
                woken = true;
            }, hooked("handedBack"), hooked("outbox"));
        }

        private DirectReply.Answers hooked(String name) {
            return new DirectReply.Answers() {
                @Override
                void before(String operation) {
                    hook(name + "." + operation + "()");
                }
            };
        }

        void kernel(Kernel k) {
            kernel = k;
            kernelTakesNext = k != Kernel.FULL_THEN_TAKES_3;
        }

        private int send(byte[] buf, int off, int len) {
            boolean worker = Thread.currentThread().getName().equals("worker");
            if (inSend.incrementAndGet() > 1) {
                broken.add("two threads were inside send() on this socket at the same instant (the loop and a worker):"
                        + " the kernel may take part of each, and the client then reads pieces of two answers in"
                        + " one line. One writer per fd, at every instant");
            }
            try {
                hook("send()");
                if (worker && workerSawEagain) {
                    broken.add("a worker called send() again after the kernel said EAGAIN: a worker must not wait on"
                            + " the socket (when it is full, what is left is the loop's, which watches EPOLLOUT)");
                }
                int n;
                if (kernel == Kernel.TAKES_ALL) {
                    n = len;
                } else {
                    n = kernelTakesNext ? Math.min(3, len) : 0;
                    kernelTakesNext = !kernelTakesNext;
                }
                synchronized (wire) {
                    wire.write(buf, off, n);
                }
                if (worker) workerBytes.addAndGet(n);
                if (worker && n == 0) workerSawEagain = true;
                return n;
            } finally {
                inSend.decrementAndGet();
            }
        }

        private void hook(String where) {
            if (Thread.currentThread() != main || inject < 0) return;
            int k = hooks++;
            if (k != inject) return;
            inject = -1;
            injectedAt = where;
            String other = mainIsLoop ? "a worker's reply" : "the loop's flush";
            String self = mainIsLoop ? "the loop" : "a worker";
            Future<?> f = mainIsLoop ? workerThread.submit(() -> reply(injectedReply)) : loopThread.submit(this::flush);
            try {
                f.get(2, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                broken.add(other + " did not return within 2 s while " + self + " stood just before " + where
                        + ": it waited for " + self + ". The loop never waits for a worker and a worker never waits for"
                        + " the loop: either may be descheduled at any instant, and the other must go on");
            } catch (ExecutionException e) {
                throw new AssertionError(other + " threw: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void reply(byte[] answer) {
            workerSawEagain = false;
            path.reply(answer);
        }

        void flush() {
            wantsOut = path.flush();
        }

        /** Runs a move on its thread; {@code inject >= 0}: the other thread's move at that hook. */
        void on(boolean loop, String what, Runnable move) {
            story.add(what);
            Callable<Void> task = () -> {
                main = Thread.currentThread();
                try {
                    move.run();
                } finally {
                    main = null;
                }
                return null;
            };
            Future<Void> f = (loop ? loopThread : workerThread).submit(task);
            try {
                f.get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                throw new AssertionError((loop ? "the loop's flush" : "a worker's reply") + " did not return within 5 s: "
                        + (loop ? "the loop never blocks" : "a worker never waits on the socket or the loop")
                        + "\n  " + ExerciseRun.STORY + " " + String.join("; then ", story));
            } catch (ExecutionException e) {
                throw new AssertionError("your code threw: " + e.getCause() + "\n  " + ExerciseRun.STORY + " " + String.join("; then ", story), e.getCause());
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        void workerReplies(byte[] answer) {
            expected.writeBytes(answer);
            on(false, "a worker replied \"" + text(answer) + "\" (the kernel " + kernel.story + ")", () -> reply(answer));
        }

        void loopFlushes() {
            on(true, "the loop flushed (the kernel " + kernel.story + ")", this::flush);
        }

        /** The loop, as day 4's engine runs it: a turn when woken, or while it watches EPOLLOUT; the reader now reads everything. */
        void settle() {
            kernel(Kernel.TAKES_ALL);
            for (int turns = 0; turns < 50 && (woken || wantsOut); turns++) {
                woken = false;
                on(true, "the loop's turn (woken, or EPOLLOUT; the client now reads everything)", this::flush);
            }
        }

        /** Every rule the story broke, then the bytes on the wire against the answers replied. */
        void check() {
            String told = "\n  " + ExerciseRun.STORY + " " + String.join("; then ", story);
            if (!broken.isEmpty()) throw new AssertionError(broken.getFirst() + told);
            byte[] want = expected.toByteArray();
            byte[] got;
            synchronized (wire) {
                got = wire.toByteArray();
            }
            if (Arrays.equals(want, got)) return;
            String saw = "the client read \"" + text(got) + "\" where it expected \"" + text(want) + "\": ";
            if (got.length < want.length && Arrays.equals(got, Arrays.copyOf(want, got.length))) {
                throw new AssertionError(saw + "the last " + (want.length - got.length) + " bytes never left. They wait in the"
                        + " server and nobody will send them: the loop was not woken for them, and does not watch"
                        + " EPOLLOUT (edge-triggered epoll reports nothing for a socket that stays writable)" + told);
            }
            if (got.length > want.length) {
                throw new AssertionError(saw + "some bytes were sent twice. Every answer leaves exactly once" + told);
            }
            throw new AssertionError(saw + "an answer went out while bytes of the one before it still waited in the server."
                    + " Two writers on one fd, one after the other (day 5, \"Why one reader and one writer per fd\"): the"
                    + " client, which matches answers to requests by position, reads a line cut around another, or"
                    + " answers out of order" + told);
        }
    }

    @Test
    @Order(1)
    @Hints({"Did your fix send every answer through the loop? The contract keeps the shortcut for the case where it is safe.", "",
            "When nothing of the connection is on its way anywhere, and nobody sends for it, the worker's own send is the"
            + " only writer: how does a worker know that case for sure, without waiting for anyone?"})
    void anAnswerForAnIdleConnectionLeavesFromTheWorker() {
        Run run = new Run();
        run.workerReplies(FIRST);
        assertThat(run.workerBytes.get())
                .as("an idle connection, a kernel that takes everything: the answer must leave from the worker's own"
                        + " send. The loop sent it instead: the hop this class exists to save was spent")
                .isEqualTo(FIRST.length);
        assertThat(run.wakeups.get())
                .as("the worker sent its whole answer and still woke the loop: a wake-up is a system call on each side,"
                        + " for nothing")
                .isZero();
        run.check();
        run.loopFlushes();
        assertThat(run.wantsOut).as("nothing waits: flush says so (false), or the loop would watch EPOLLOUT for nothing").isFalse();
        run.check();
    }

    @Test
    @Order(2)
    @Hints({"What does EAGAIN tell a worker, whose is the socket after it, and when is the shortcut open again?", "",
            "A worker that meets a full socket hands what is left to the loop, makes sure the loop will look, and returns;"
            + " the loop watches EPOLLOUT. Once the loop has sent the last byte, nothing waits: what tells the next worker so?"})
    void aWorkerThatMeetsAFullSocketLeavesTheRestToTheLoop() {
        Run run = new Run();
        run.kernel(Kernel.TAKES_3_THEN_FULL);
        run.workerReplies(FIRST);
        run.settle();
        run.check();
        // Everything has left: the connection is idle again, and the shortcut with it.
        long before = run.workerBytes.get();
        int wakeups = run.wakeups.get();
        run.workerReplies(SECOND);
        assertThat(run.workerBytes.get() - before)
                .as("the first answer's rest has left, so nothing waits and nobody sends: the next answer must leave"
                        + " from the worker's own send again. It did not: the hop is spent for good once a"
                        + " send came up short")
                .isEqualTo(SECOND.length);
        assertThat(run.wakeups.get()).as("the worker sent its whole answer and still woke the loop").isEqualTo(wakeups);
        run.check();
    }

    @Test
    @Order(3)
    @Hints({"When the worker looked, where was the rest of the first answer?", "",
            "Follow the first answer's rest (./jbang check day05 --verbose prints the test's story) from the worker that could not send it to the instant the loop sends it: which"
            + " places does it pass through, and which of them does the worker's check look at?"})
    void theNextAnswerWaitsForTheRestOfTheOneBefore() {
        Run run = new Run();
        run.kernel(Kernel.TAKES_3_THEN_FULL);
        run.workerReplies(FIRST);
        run.kernel(Kernel.TAKES_ALL);   // the client read a little: the socket has room again
        run.workerReplies(SECOND);
        run.settle();
        run.check();
    }

    /**
     * The exploration: for each starting state (nothing pending; the first answer's rest handed
     * back; that rest in the loop's hands, partly sent), each kernel, and each side as the one
     * interrupted, the other side's move is played at every step the first one takes (before
     * each of the queues' operations, and inside each send), one step per run.
     */
    @Test
    @Order(4)
    @Hints({"At which step of the other thread did the worker decide that nothing waits, and was it true at that instant?", "",
            "./jbang check day05 --verbose prints the failing interleaving step by step. The worker's check and the loop's moves between handedBack, the outbox and the kernel are separate steps:"
            + " between any two of them the other thread can act. What single fact would make the worker's decision"
            + " right at every step, and who changes it, when?"})
    void everyInterleavingOfTheLoopAndAWorkerKeepsTheContract() {
        int played = 0;
        for (int start = 0; start < 3; start++) {
            for (Kernel kernel : Kernel.values()) {
                for (boolean mainIsLoop : new boolean[] {true, false}) {
                    for (int k = 0; ; k++) {
                        Run run = new Run();
                        if (start >= 1) {
                            run.kernel(Kernel.TAKES_3_THEN_FULL);
                            run.workerReplies(FIRST);
                        }
                        if (start >= 2) {
                            run.kernel(Kernel.TAKES_3_THEN_FULL);
                            run.loopFlushes();
                        }
                        run.kernel(kernel);
                        run.mainIsLoop = mainIsLoop;
                        run.injectedReply = SECOND;
                        run.inject = k;
                        if (mainIsLoop) {
                            run.expected.writeBytes(SECOND);
                            run.loopFlushes();
                        } else {
                            run.workerReplies(SECOND);
                        }
                        if (run.injectedAt == null) break;   // fewer than k + 1 steps: every one was played
                        played++;
                        String last = run.story.removeLast();
                        run.story.add(last + ", and just before its step " + (k + 1) + " (" + run.injectedAt + ") "
                                + (mainIsLoop ? "a worker replied \"" + text(SECOND) + "\"" : "the loop flushed")
                                + " on the other thread");
                        run.settle();
                        run.check();
                    }
                }
            }
        }
        assertThat(played).as("interleavings played (the test's own check: your class must use the given queues and"
                + " Socket)").isGreaterThan(18);
    }

    /**
     * Over a real socket to a client that reads slowly: a worker replies with an answer larger
     * than the socket's buffers; the client reads a part, so the socket has room again; the next
     * answer comes; then the loop runs, as epoll would drive it, while the client reads the rest.
 * No thread waits for another here: each step is done before the next starts.
     */
    @Test
    @Order(5)
    void aSlowReaderOverARealSocketGetsEveryAnswerWhole() throws Exception {
        StringBuilder big = new StringBuilder();
        for (int i = 0; i < 8_000; i++) big.append(String.format("answer %05d of the first\n", i));
        byte[] first = bytes(big.toString());
        byte[] last = bytes("the last answer\n");
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0), 1);
             Socket client = new Socket()) {
            client.setReceiveBufferSize(8192);
            client.connect(listener.getLocalAddress(), 2_000);
            client.setSoTimeout(2_000);
            try (SocketChannel server = listener.accept(); Selector writable = Selector.open()) {
                server.setOption(StandardSocketOptions.SO_SNDBUF, 8192);
                server.configureBlocking(false);
                server.register(writable, SelectionKey.OP_WRITE);
                AtomicLong taken = new AtomicLong();
                boolean[] woken = {false};
                DirectReply path = new DirectReply((buf, off, len) -> {
                    try {
                        int n = server.write(ByteBuffer.wrap(buf, off, len));
                        taken.addAndGet(n);
                        return n;
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, () -> {
                    synchronized (woken) {
                        woken[0] = true;
                    }
                });
                workerThread.submit(() -> path.reply(first)).get(5, TimeUnit.SECONDS);
                assertThat(taken.get()).as("the test's own setup: the socket's buffers take part of the first answer, not all")
                        .isLessThan(first.length);
                InputStream in = client.getInputStream();
                byte[] head = in.readNBytes((int) taken.get());   // the slow reader catches up with what was sent, no more
                assertThat(writable.select(2_000)).as("the test's own setup: the socket has room again").isPositive();
                writable.selectedKeys().clear();
                workerThread.submit(() -> path.reply(last)).get(5, TimeUnit.SECONDS);
                int rest = first.length + last.length - head.length;
                Future<byte[]> reader = clientThread.submit(() -> in.readNBytes(rest));
                boolean wantsOut = false;
                for (int turns = 0; turns < 100_000; turns++) {
                    boolean wake;
                    synchronized (woken) {
                        wake = woken[0];
                        woken[0] = false;
                    }
                    if (!wake && !wantsOut) break;
                    if (!wake) {
                        writable.select(2_000);   // EPOLLOUT, as the loop would wait for it
                        writable.selectedKeys().clear();
                    }
                    wantsOut = loopThread.submit(path::flush).get(5, TimeUnit.SECONDS);
                }
                byte[] tail;
                try {
                    tail = reader.get(5, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    reader.cancel(true);
                    throw new AssertionError("the client waited for " + rest + " more bytes and they never came: an"
                            + " answer was left in the server, with no wake-up of the loop and no EPOLLOUT watched");
                }
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                got.writeBytes(head);
                got.writeBytes(tail);
                String read = got.toString(StandardCharsets.US_ASCII);
                String want = big + "the last answer\n";
                if (!read.equals(want)) {
                    int at = read.indexOf("the last answer");
                    if (at < 0 || at >= first.length) {
                        throw new AssertionError("the client did not read every answer whole and in order (" + read.length()
                                + " bytes of " + want.length() + ")");
                    }
                    int lineStart = read.lastIndexOf('\n', at - 1) + 1;
                    throw new AssertionError("the client read \"the last answer\" after only " + at + " of the first answer's "
                            + first.length + " bytes" + (lineStart < at ? ", cutting the line \"" + read.substring(lineStart, at)
                            + "...\" in two" : ", before the rest of it") + ": a worker sent the next answer while the rest of"
                            + " the one before still waited for the loop. Two writers on one fd, over a real socket with a"
                            + " slow reader");
                }
            }
        }
    }
}
