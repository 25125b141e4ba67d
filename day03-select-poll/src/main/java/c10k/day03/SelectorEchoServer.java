package c10k.day03;

import c10k.day01.harness.Log;
import c10k.day01.harness.Stats;
import c10k.day03.shell.LoopServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Day 3, the Java way: one thread serves every client because it never waits on any one of
 * them. Every socket is non-blocking and registered with one {@link Selector}; the thread
 * sleeps in {@code select} until the kernel says some sockets are ready, does a little work
 * for each ({@link SelectorConnection}), and goes back to sleep.
 *
 * <p>On Linux the JDK's selector is epoll inside ({@code sun.nio.ch.EPollSelectorImpl}), used
 * level-triggered: a socket with unread bytes is reported again on the next {@code select},
 * as select(2) and poll(2) would. It takes at most 1,024 events per {@code epoll_wait}, and
 * {@link Selector#wakeup()} writes to an eventfd in the same epoll set.
 * {@link Selector#select(java.util.function.Consumer)} hands each ready key to a callback
 * instead of filling the selected-key set, so the loop makes no garbage there.
 *
 * <p>Connection state belongs to the loop thread; other threads only read the volatile
 * figures and call {@link #close()} (the life cycle is {@link LoopServer}'s).
 */
public final class SelectorEchoServer extends LoopServer<SelectorEchoServer> implements Stats.Source {

    /** Accepts per wakeup: a burst of connections must not starve the clients already here. */
    private static final int ACCEPTS_PER_WAKEUP = 64;

    private final InetSocketAddress address;
    private final Stats stats = new Stats();
    private final AcceptPause acceptPause = new AcceptPause("day03 selector");
    private Selector selector;
    private ServerSocketChannel listener;
    private SelectionKey listenerKey;
    private int port;
    private SelectorConnection.Loop shared;   // loop thread only, after start
    private boolean nowIsFresh;               // now was read in this turn, at its first event

    public SelectorEchoServer(InetSocketAddress address) {
        super("day03-selector", Log.logger("day03.selector"));
        this.address = address;
    }

    @Override
    protected void open() throws IOException {
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
        shared = new SelectorConnection.Loop(timeoutSettings(), stats.newCounters());
    }

    @Override
    public Stats stats() {
        return stats;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    protected void turn(long maxWaitNanos) throws IOException {
        shared.now = now;
        // Wake for the nearest deadline, and in time to resume accepts after a pause.
        int millis = waitMillis(Math.min(maxWaitNanos, shared.nanosUntilNext()), acceptPause.timeoutMillis());
        nowIsFresh = false;
        // select's timeout 0 means forever: "no deadline" is 0, and a deadline is at least 1 ms.
        selector.select(this::dispatch, millis < 0 ? 0 : Math.max(1, millis));
        shared.counters.wakeup();
        if (!nowIsFresh) tick();
        shared.expire();
        if (listenerKey.isValid() && acceptPause.endIfDue()) listenerKey.interestOps(SelectionKey.OP_ACCEPT);
        publishFigures();
    }

    private void tick() {
        now = clockNow();
        shared.now = now;
    }

    private void dispatch(SelectionKey key) {
        // select(Consumer) calls us from inside select: read the clock at the first event of the
        // pass, or a line would restart its idle clock at the time of the PREVIOUS pass (and a
        // clock that jumped while we slept, in a test, would close an active client).
        if (!nowIsFresh) {
            tick();
            nowIsFresh = true;
        }
        if (key == listenerKey) accept();
        else ((SelectorConnection) key.attachment()).onReady(key.readyOps());
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
                // timer; newcomers wait in the backlog.
                if (acceptPause.begin(e)) listenerKey.interestOps(0);
                return;
            }
            if (channel == null) return;   // the backlog is empty (EAGAIN)
            try {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);   // as every server of the book and Netty
                new SelectorConnection(channel, shared).register(selector);
            } catch (IOException e) {
                log.log(System.Logger.Level.WARNING, "cannot register a new connection: " + e.getMessage());
                closeQuietly(channel);
            }
        }
    }

    /** The loop's own counts, where other threads may read them. */
    private void publishFigures() {
        connections = shared.connections;
        readPaused = shared.readPaused;
        largestOutbox = shared.largestOutbox;
    }

    /** Shutdown, on the loop thread: the listener first, then every connection heads for a gentle close. */
    @Override
    protected void beginStop() {
        listenerKey.cancel();
        closeQuietly(listener);
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof SelectorConnection c) c.finish();
        }
        publishFigures();
    }

    @Override
    protected void wake() {
        if (selector.isOpen()) selector.wakeup();   // out of select() to see the flag
    }

    @Override
    protected void loopEnded() {
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof SelectorConnection c) c.close();
        }
        publishFigures();
        closeQuietly(listener);
        closeQuietly(selector);   // deregisters every key: the deferred fd closes happen here
    }

    static void closeQuietly(java.io.Closeable resource) {
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
