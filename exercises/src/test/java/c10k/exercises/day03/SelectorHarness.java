package c10k.exercises.day03;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import c10k.day03.EventLoopServer;
import c10k.exercises.LearnerFailure;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * The given part of the day 3 exercises: a selector loop (day 3's {@code SelectorEchoServer},
 * cut down) that accepts, reads once per event, frames, and leaves writing to the learner's
 * {@link WritePath} and, if asked, the decision to read to the learner's {@link Backpressure}.
 * Whatever the learner's code throws closes that connection and is kept in {@link #failure()}.
 */
final class SelectorHarness implements EventLoopServer {

    private final boolean backpressure;
    private final LearnerFailure failure = new LearnerFailure();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(Backpressure.READ_BYTES);
    private final ByteBuffer replies = ByteBuffer.allocate(Backpressure.READ_BYTES + Protocol.MAX_LINE + Protocol.ERR_LINE_TOO_LONG.length);
    private final LineFramer.LineSink collect = (buf, start, end) ->
            replies.put(replies.position(), buf, start, end - start).position(replies.position() + end - start);
    private Selector selector;
    private ServerSocketChannel listener;
    private Thread thread;
    private volatile boolean stopping;
    private volatile int connections;
    private volatile int readPaused;
    private volatile int largestOutbox;

    private static final class Conn {
        final SocketChannel channel;
        final LineFramer framer = new LineFramer();
        final WritePath out;
        final Backpressure bp;
        SelectionKey key;
        boolean finishing;
        boolean paused;
        boolean closed;

        Conn(SocketChannel channel, boolean backpressure) {
            this.channel = channel;
            this.out = new WritePath(channel);
            this.bp = backpressure ? new Backpressure() : null;
        }
    }

    /** @param backpressure whether to ask the learner's {@link Backpressure} before reading */
    SelectorHarness(boolean backpressure) {
        this.backpressure = backpressure;
    }

    LearnerFailure failure() {
        return failure;
    }

    @Override
    public void start() throws IOException {
        selector = Selector.open();
        listener = ServerSocketChannel.open();
        listener.bind(new InetSocketAddress("127.0.0.1", 0), 128);
        listener.configureBlocking(false);
        listener.register(selector, SelectionKey.OP_ACCEPT);
        thread = Thread.ofPlatform().name("exercise-selector").start(this::loop);
    }

    @Override
    public int port() {
        return listener.socket().getLocalPort();
    }

    private void loop() {
        try {
            while (!stopping) selector.select(this::dispatch);
        } catch (IOException e) {
            System.err.println("exercise selector: " + e);
        } finally {
            for (SelectionKey key : selector.keys()) if (key.attachment() instanceof Conn c) close(c);
            closeQuietly(listener);
            closeQuietly(selector);
        }
    }

    private void dispatch(SelectionKey key) {
        if (key.attachment() == null) {
            accept();
            return;
        }
        Conn c = (Conn) key.attachment();
        try {
            int ready = key.readyOps();
            if ((ready & SelectionKey.OP_WRITE) != 0) c.out.onWritable();
            if ((ready & SelectionKey.OP_READ) != 0 && !c.finishing && !c.paused) onReadable(c);
            if (!c.closed) afterIo(c);
        } catch (IOException e) {
            close(c);                  // reset, broken pipe: this connection only
        } catch (RuntimeException e) {
            failure.record(e);         // the learner's code threw: say so in the test's message
            close(c);
        }
    }

    private void accept() {
        while (true) {
            SocketChannel ch;
            try {
                ch = listener.accept();
                if (ch == null) return;
                ch.configureBlocking(false);
                Conn c = new Conn(ch, backpressure);
                c.key = ch.register(selector, SelectionKey.OP_READ, c);
                connections++;
            } catch (IOException e) {
                return;
            }
        }
    }

    private void onReadable(Conn c) throws IOException {
        replies.clear();
        int n = c.channel.read(readBuffer.clear());
        if (n == 0) return;
        if (n < 0) {
            c.framer.discardPartial();
            c.finishing = true;
            return;
        }
        if (!c.framer.feed(readBuffer.flip(), collect)) {
            replies.put(Protocol.ERR_LINE_TOO_LONG);
            c.finishing = true;
        }
        c.out.send(replies.flip());
    }

    private void afterIo(Conn c) throws IOException {
        int pending = c.out.pendingBytes();
        if (pending > largestOutbox) largestOutbox = pending;
        if (c.finishing && pending == 0) {
            c.channel.shutdownOutput();
            close(c);
            return;
        }
        boolean reading = !c.finishing;
        if (c.bp != null) {
            boolean paused = !c.bp.shouldRead(pending);
            if (paused != c.paused) readPaused += paused ? 1 : -1;
            c.paused = paused;
            reading &= !paused;
        }
        c.out.updateInterest(c.key, reading);
    }

    private void close(Conn c) {
        if (c.closed) return;
        c.closed = true;
        if (c.paused) readPaused--;
        connections--;
        closeQuietly(c.channel);
    }

    @Override
    public int connectionCount() {
        return connections;
    }

    @Override
    public int readPausedCount() {
        return readPaused;
    }

    @Override
    public int largestOutbox() {
        return largestOutbox;
    }

    @Override
    public void close() {
        if (thread == null || stopping) return;
        stopping = true;
        selector.wakeup();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
