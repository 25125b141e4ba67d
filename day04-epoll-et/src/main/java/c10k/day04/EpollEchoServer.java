package c10k.day04;

import c10k.day03.NativeConnection;
import java.util.List;

/**
 * Day 4: one thread, epoll, and every fd non-blocking. The same protocol code as day 3's
 * poll server ({@link NativeConnection}); what changes is how the loop learns what is ready.
 * The loop itself is {@link EventLoop}, which days 5 and 6 build on; this class only chooses
 * how it triggers.
 *
 * <p>The interest list lives in the kernel: a connection is registered once with
 * {@code epoll_ctl(ADD)} and {@code epoll_wait} returns only the fds that are ready, so a
 * call costs O(ready), not O(watched). Each event carries the 64-bit {@code data} we gave at
 * registration: here the fd number, which indexes the loop's table (fds are small dense
 * integers; the lowest free one is always handed out next).
 *
 * <p>Three modes, side by side:
 * <ul>
 * <li>{@link Mode#LT} (level-triggered): an fd is reported on every call while it is ready.
 *     We read once per event; if data is left, the next call reports it again.</li>
 * <li>{@link Mode#ET} (edge-triggered, {@code EPOLLET}): an fd is reported when it
 *     <em>becomes</em> ready, once per change. Whatever we leave unread will not be reported
 *     again until more arrives, so we read until {@code EAGAIN}, which only works on
 *     non-blocking fds. Draining to {@code EAGAIN} at once would let one busy client starve
 *     the rest (epoll(7), "Possible pitfalls"), so a connection gets at most 16 reads per turn
 *     and, if it still has data, a turn owed at the end of the pass.</li>
 * <li>{@link Mode#ET_STOPS_EARLY} is the classic mistake, kept so a test can show it: edge-
 *     triggered, but reading once per event and accepting once per event. It works in a quick
 *     try with {@code nc} and stalls under load.</li>
 * </ul>
 */
public final class EpollEchoServer extends EpollServer {

    public enum Mode { ET, LT, ET_STOPS_EARLY }

    /** Sent to a client the server cannot take, before closing it. */
    public static final byte[] ERR_SERVER_FULL = Acceptor.ERR_SERVER_FULL;

    private final Mode mode;
    private final int readSize;

    public EpollEchoServer(String host, int port, Mode mode) {
        this(host, port, mode, 64 * 1024);
    }

    /** @param readSize bytes per recv; tests make it small to make a stall easy to see */
    public EpollEchoServer(String host, int port, Mode mode, int readSize) {
        super(host, port);
        this.mode = mode;
        this.readSize = readSize;
    }

    /** One loop, on the one listener. */
    @Override
    protected List<EventLoop> newLoops(int[] listenFds) {
        Tuning tuning = switch (mode) {
            case ET -> Tuning.EDGE;
            case LT -> Tuning.LEVEL;
            case ET_STOPS_EARLY -> new Tuning(true, 1, 1, false, true);
        };
        NativeConnection.LoopBuffers buffers =
                new NativeConnection.LoopBuffers(readSize, NativeConnection.ECHO, stats.newCounters());
        return List.of(new EventLoop(toString(), listenFds[0], tuning, new LoopExtension() { }, buffers, timeouts, clock));
    }

    @Override
    public String toString() {
        return "day04-" + mode.name().toLowerCase().replace('_', '-');
    }
}
