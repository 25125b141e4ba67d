package c10k.day03;

import c10k.day01.LineFramer;
import c10k.day01.harness.Log;
import c10k.day01.Protocol;
import c10k.day01.harness.Timeouts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Day 3, the Java way: one thread serves every client because it never waits on any one of
 * them. Every socket is non-blocking and registered with one {@link Selector}; the thread
 * sleeps in {@code select} until the kernel says some sockets are ready, does a little work
 * for each, and goes back to sleep.
 *
 * <p>On Linux the JDK's selector is epoll inside ({@code sun.nio.ch.EPollSelectorImpl}), used
 * level-triggered: a socket with unread bytes is reported again on the next {@code select},
 * as select(2) and poll(2) would. It takes at most 1,024 events per {@code epoll_wait}, and
 * {@link Selector#wakeup()} writes to an eventfd in the same epoll set.
 * {@link Selector#select(java.util.function.Consumer)} hands each ready key to a callback
 * instead of filling the selected-key set, so the loop makes no garbage there.
 *
 * <p>Connection state belongs to the loop thread; other threads only read the volatile
 * counters and call {@link #close()}.
 */
public final class SelectorEchoServer implements EventLoopServer {

    /** One read's worth; it also bounds what one read can add to an outbox. */
    private static final System.Logger LOG = Log.logger("day03.selector");

    private static final int READ_BUFFER = 64 * 1024;
    /** Accepts per wakeup: a burst of connections must not starve the clients already here. */
    private static final int ACCEPTS_PER_WAKEUP = 64;
    /** How long the listener is left alone after accept fails (nginx's default, too). */
    private static final long ACCEPT_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private final InetSocketAddress address;
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private LongSupplier clock = System::nanoTime;
    // The three clocks (day 4's Timers, written here for a JDK channel instead of an fd):
    // one fixed duration per list, so appending keeps each list in deadline order.
    private Deadlines idle, sendClock, drain;
    private long now, hardStop;
    private boolean nowIsFresh;   // now was read in this pass, at its first event
    private volatile boolean stoppingGracefully;
    private volatile long stopDrainNanos;
    private boolean stopBegun;
    private Selector selector;
    private ServerSocketChannel listener;
    private SelectionKey listenerKey;
    private Thread thread;
    private int port;
    private volatile boolean stopping;

    // Shared by every connection (the loop serves one at a time): idle ones hold no buffer.
    // On the heap: the JDK reads into a cached per-thread direct buffer and copies from it.
    private final ByteBuffer readBuffer = ByteBuffer.allocate(READ_BUFFER);
    /** Answers to one read: at most its bytes, plus a line start held back from earlier reads
     *  (under MAX_LINE), plus the error line. So it never overflows. */
    private final ByteBuffer replies = ByteBuffer.allocate(READ_BUFFER + Protocol.MAX_LINE + Protocol.ERR_LINE_TOO_LONG.length);
    /** Made once: a capturing lambda written inline would be allocated on every read. */
    private final LineFramer.LineSink collect = (buf, start, end) ->
            replies.put(replies.position(), buf, start, end - start).position(replies.position() + end - start);

    private long acceptResumeAt;      // when to watch the listener again after a failed accept
    private boolean acceptFailing;    // log only the first failure of a streak

    // Written by the loop thread only (one writer, so ++ on a volatile is safe); read by tests.
    private volatile int connections;
    private volatile int readPaused;
    private volatile int largestOutbox;

    /** What the loop knows about one client; attached to its selection key. */
    private static final class Connection {
        final SocketChannel channel;
        final LineFramer framer = new LineFramer();
        final Outbox outbox = new Outbox();
        SelectionKey key;
        ByteBuffer outView;     // over the outbox's array, so writes allocate nothing
        boolean readPaused;     // backpressure: the peer is not reading its answers
        boolean finishing;      // end of stream, error line, timeout or shutdown: read no more, flush
        boolean peerClosed;     // end of stream: after the flush, close at once
        boolean lingering;      // our FIN is out; input is read only to be dropped
        boolean closed;
        final Deadlines.Timer timer = new Deadlines.Timer(this);

        Connection(SocketChannel channel) {
            this.channel = channel;
        }
    }

    public SelectorEchoServer(InetSocketAddress address) {
        this.address = address;
    }

    /** {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}; before {@link #start}. */
    public SelectorEchoServer timeouts(Timeouts t) {
        this.timeouts = t;
        return this;
    }

    /** Tests: a clock they move by hand; before {@link #start}. */
    public SelectorEchoServer clock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return this;
    }

    /** Wakes the loop, e.g. after a test moved its clock. */
    public void wakeup() {
        if (selector != null) selector.wakeup();
    }

    @Override
    public void start() throws IOException {
        selector = Selector.open();
        try {
            listener = ServerSocketChannel.open();
            listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            listener.bind(address, 4096);   // for bursts of connects; capped by net.core.somaxconn
            listener.configureBlocking(false);
            listenerKey = listener.register(selector, SelectionKey.OP_ACCEPT);
            port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
        } catch (IOException | RuntimeException e) {
            if (listener != null) listener.close();
            selector.close();
            throw e;
        }
        idle = new Deadlines("idle", timeouts.idle().toNanos());
        sendClock = new Deadlines("send", timeouts.send().toNanos());
        drain = new Deadlines("drain", timeouts.drain().toNanos());
        now = clock.getAsLong();
        thread = Thread.ofPlatform().name("day03-selector").start(this::loop);
    }

    @Override
    public int port() {
        return port;
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

    private void loop() {
        try {
            while (!stopping) {
                if (stoppingGracefully && !stopBegun) beginStop();
                if (stopBegun && (connections == 0 || now - hardStop >= 0)) break;
                // A timeout of 0 blocks until something is ready or wakeup() is called. While
                // accepts are paused, wake in time to resume them; and wake for the nearest
                // deadline (at least 1 ms: 0 is forever).
                boolean acceptPaused = listenerKey.isValid() && listenerKey.interestOps() == 0;
                long nanos = Math.min(idle.nanosUntilNext(now), Math.min(sendClock.nanosUntilNext(now), drain.nanosUntilNext(now)));
                if (acceptPaused) nanos = Math.min(nanos, acceptResumeAt - System.nanoTime());
                if (stopBegun) nanos = Math.min(nanos, hardStop - now);
                long timeout = nanos == Long.MAX_VALUE ? 0 : Math.max(1, (nanos + 999_999) / 1_000_000);
                nowIsFresh = false;
                selector.select(this::dispatch, timeout);
                if (!nowIsFresh) now = clock.getAsLong();
                expire();
                if (acceptPaused && System.nanoTime() - acceptResumeAt >= 0 && listenerKey.isValid()) {
                    listenerKey.interestOps(SelectionKey.OP_ACCEPT);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the event loop failed, closing everything", e);
        } finally {
            closeEverything();
        }
    }

    private void dispatch(SelectionKey key) {
        // select(Consumer) calls us from inside select: read the clock at the first event of the
        // pass, or a line would restart its idle clock at the time of the PREVIOUS pass (and a
        // clock that jumped while we slept, in a test, would close an active client).
        if (!nowIsFresh) {
            now = clock.getAsLong();
            nowIsFresh = true;
        }
        if (key == listenerKey) {
            accept();
            return;
        }
        Connection c = (Connection) key.attachment();
        int ready = key.readyOps();
        // Write first: draining the outbox may let this read's answer go straight out. Test
        // both bits: an "else if" would lose the write readiness of a readable socket.
        if ((ready & SelectionKey.OP_WRITE) != 0) onWritable(c);
        if ((ready & SelectionKey.OP_READ) != 0 && !c.closed && c.lingering) drainInput(c);
        else if ((ready & SelectionKey.OP_READ) != 0 && !c.closed && !c.finishing && !c.readPaused) onReadable(c);
    }

    private void accept() {
        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {   // more queued? reported again (LT)
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (IOException e) {
                // Usually EMFILE ("Too many open files"). The connection stays queued, so the
                // level-triggered listener is reported again at once: a 100% CPU loop failing
                // the same accept. nginx's answer: stop watching the listener, retry on a
                // timer; newcomers wait in the backlog. (Day 4 shows the spare-fd trick.)
                if (!acceptFailing) LOG.log(System.Logger.Level.WARNING, "accept failed, pausing accepts for 500 ms: " + e.getMessage());
                acceptFailing = true;
                listenerKey.interestOps(0);
                acceptResumeAt = System.nanoTime() + ACCEPT_RETRY_NANOS;
                return;
            }
            if (channel == null) return;   // the backlog is empty (EAGAIN)
            acceptFailing = false;
            try {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);   // as every server of the book and Netty
                Connection c = new Connection(channel);
                c.key = channel.register(selector, SelectionKey.OP_READ, c);
                connections++;
                idle.restart(c.timer, now);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot register a new connection: " + e.getMessage());
                closeQuietly(channel);
            }
        }
    }

    /**
     * One read per readiness event, however much is waiting: level-triggered readiness
     * reports the rest on the next round, so a flooding client gets one turn like the others.
     */
    private void onReadable(Connection c) {
        int n;
        boolean ok = true;
        replies.clear();
        try {
            n = c.channel.read(readBuffer.clear());   // non-blocking: takes what has arrived
            if (n > 0) ok = c.framer.feed(readBuffer.flip(), collect);   // lines go to replies
            // Only a complete line is activity: a peer dripping half a line still times out.
            if (replies.position() > 0 && c.timer.list() == idle) idle.restart(c.timer, now);
        } catch (IOException e) {
            fail(c, "read", e);   // typically ECONNRESET: this connection only
            return;
        }
        if (n == 0) return;       // spurious readiness: nothing after all
        if (n < 0) {
            // End of stream: drop the unterminated tail, send what is queued, then close.
            c.framer.discardPartial();
            c.finishing = true;
            c.peerClosed = true;
            afterIo(c);
            return;
        }
        if (!ok) {
            replies.put(Protocol.ERR_LINE_TOO_LONG);   // after the good lines before it
            c.finishing = true;
        }
        send(c, replies.flip());
    }

    /** Send first: write now, keep in the outbox only what the kernel did not take. */
    private void send(Connection c, ByteBuffer data) {
        // While bytes wait in the outbox, new answers queue behind them: writing them now
        // would overtake the older ones and the peer would get answers out of order.
        if (c.outbox.isEmpty() && data.hasRemaining()) {
            try {
                c.channel.write(data);   // takes what fits in the socket's send buffer
            } catch (IOException e) {
                fail(c, "write", e);     // EPIPE or ECONNRESET: the peer is gone
                return;
            }
        }
        if (data.hasRemaining()) {
            c.outbox.append(data, data.position(), data.limit());
            if (c.outbox.size() > largestOutbox) largestOutbox = c.outbox.size();
        }
        afterIo(c);
    }

    private void onWritable(Connection c) {
        Outbox out = c.outbox;
        if (out.isEmpty()) return;
        if (c.outView == null || c.outView.array() != out.array()) c.outView = ByteBuffer.wrap(out.array());
        int n;
        try {
            n = c.channel.write(c.outView.clear().position(out.start()).limit(out.start() + out.size()));
        } catch (IOException e) {
            fail(c, "write", e);
            return;
        }
        out.consumed(n);
        if (n > 0 && c.timer.list() == sendClock) sendClock.restart(c.timer, now);   // progress
        if (out.isEmpty()) c.outView = null;   // never pin an array the outbox has let go
        afterIo(c);
    }

    /** After every read or write: close if done, apply backpressure, set the interest ops. */
    private void afterIo(Connection c) {
        if (c.finishing && c.outbox.isEmpty() && !c.lingering) {
            if (c.peerClosed) {
                closeConnection(c);           // it sent FIN and has every answer: nothing is unread
                return;
            }
            // Closing with unread input (after an error line) makes the kernel send RST, not
            // FIN (RFC 1122 4.2.2.13), and a client may then drop answers it had not read yet.
            // So the lingering close, as day 4's engine does: FIN now, then read and drop
            // until the peer closes or the drain clock runs out.
            try {
                c.channel.shutdownOutput();
            } catch (IOException ignored) {
                closeConnection(c);           // the peer is gone already
                return;
            }
            c.lingering = true;
            drain.restart(c.timer, now);
        }
        if (c.lingering) {
            c.key.interestOps(SelectionKey.OP_READ);
            return;
        }
        // Which clock runs: send while output waits, else idle (restarted only by a complete line).
        if (!c.outbox.isEmpty() && c.timer.list() != sendClock) sendClock.restart(c.timer, now);
        else if (c.outbox.isEmpty() && c.timer.list() != idle) idle.restart(c.timer, now);
        // Backpressure: the kernel's buffers fill and push back on a peer we stop reading.
        if (!c.finishing && !c.readPaused && c.outbox.isFull()) {
            c.readPaused = true;      // the peer is not reading: neither do we
            readPaused++;
        } else if (c.readPaused && c.outbox.hasRoom()) {
            c.readPaused = false;     // it caught up; the gap between the marks avoids flapping
            readPaused--;
        }
        int ops = !c.finishing && !c.readPaused ? SelectionKey.OP_READ : 0;
        // A socket is writable whenever its send buffer has room, i.e. almost always: OP_WRITE
        // armed for good would make select return at once, forever (a busy loop). So it is
        // armed only while bytes wait (select(2): "ready for writing"; epoll(7) alike).
        if (!c.outbox.isEmpty()) ops |= SelectionKey.OP_WRITE;
        // Only recorded here (and only if changed): the loop's next select applies it with
        // epoll_ctl(EPOLL_CTL_MOD) before it waits.
        c.key.interestOps(ops);
    }

    /** A lingering connection: read and drop until the peer closes. */
    private void drainInput(Connection c) {
        try {
            if (c.channel.read(readBuffer.clear()) < 0) closeConnection(c);
        } catch (IOException e) {
            closeConnection(c);
        }
    }

    /** Idle: stop reading and close gently (FIN, drain). Send or drain: the peer is not reading; close. */
    private void expire() {
        Object due;
        while ((due = idle.pollExpired(now)) != null) {
            Connection c = (Connection) due;
            c.framer.discardPartial();
            c.finishing = true;
            afterIo(c);
        }
        while ((due = sendClock.pollExpired(now)) != null) closeConnection((Connection) due);
        while ((due = drain.pollExpired(now)) != null) closeConnection((Connection) due);
    }

    /** Shutdown, on the loop thread: the listener first, then every connection heads for a gentle close. */
    private void beginStop() {
        stopBegun = true;
        hardStop = now + stopDrainNanos;
        listenerKey.cancel();
        closeQuietly(listener);
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof Connection c && !c.closed && !c.finishing) {
                c.framer.discardPartial();    // complete lines were answered as they came
                c.finishing = true;
                afterIo(c);
            }
        }
    }

    @Override
    public void shutdownGracefully(Duration drainFor) {
        if (thread == null) return;
        stopDrainNanos = drainFor.toNanos();
        stoppingGracefully = true;
        selector.wakeup();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    private void fail(Connection c, String op, IOException e) {
        LOG.log(System.Logger.Level.DEBUG, () -> op + " failed, closing that connection: " + e.getMessage());
        closeConnection(c);
    }

    private void closeConnection(Connection c) {
        if (c.closed) return;
        c.closed = true;
        c.timer.cancel();
        if (c.readPaused) readPaused--;
        connections--;
        c.outbox.clear();
        c.outView = null;
        // This cancels the key. The JDK takes the fd out of the epoll set and only then really
        // closes it, at the next select: a closed fd number could otherwise be reused meanwhile.
        closeQuietly(c.channel);
    }

    private void closeEverything() {
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof Connection c) closeConnection(c);
        }
        closeQuietly(listener);
        closeQuietly(selector);   // deregisters every key: the deferred fd closes happen here
    }

    @Override
    public synchronized void close() {
        if (thread == null) return;   // never started: start() cleaned up after itself
        if (!stopping) {
            stopping = true;
            if (selector.isOpen()) selector.wakeup();   // out of select() to see the flag; the loop closes all
        }
        try {
            if (Thread.currentThread() != thread) thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(java.io.Closeable resource) {
        try {
            resource.close();
        } catch (IOException ignored) {
            // closing: nothing useful to do
        }
    }

    @Override
    public String toString() {
        return "day03 selector";
    }
}
