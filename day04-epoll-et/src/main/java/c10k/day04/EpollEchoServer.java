package c10k.day04;

import c10k.day03.AcceptPause;
import c10k.day03.Errno;
import c10k.day03.EventFd;
import c10k.day03.EventLoopServer;
import c10k.day03.NativeConnection;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Day 4: one thread, epoll, and every fd non-blocking. The same protocol code as day 3's
 * poll server ({@link NativeConnection}); what changes is how the loop learns what is ready.
 *
 * <p>The interest list lives in the kernel: a connection is registered once with
 * {@code epoll_ctl(ADD)} and {@code epoll_wait} returns only the fds that are ready, so a
 * call costs O(ready), not O(watched). Each event carries the 64-bit {@code data} we gave
 * at registration: here the fd number, which indexes {@link #byFd} (fds are small dense
 * integers, the lowest free one is always handed out next).
 *
 * <p>Two modes, side by side:
 * <ul>
 * <li>{@link Mode#LT} (level-triggered): an fd is reported on every call while it is ready.
 *     We read once per event; if data is left, the next call reports it again.</li>
 * <li>{@link Mode#ET} (edge-triggered, {@code EPOLLET}): an fd is reported when it
 *     <em>becomes</em> ready, once per change. Whatever we leave unread will not be
 *     reported again until more arrives, so we read until {@code EAGAIN}, which only works
 *     on non-blocking fds (a blocking read after the last byte would hang the loop).</li>
 * </ul>
 * Draining to {@code EAGAIN} at once lets one busy client starve the rest (epoll(7),
 * "Possible pitfalls"), so a connection gets at most {@link #READS_PER_TURN} reads per turn
 * and, if it still has data, goes on the {@link #owed} list: it gets its next turn after
 * every other ready connection had one, at the end of the same pass, and the next
 * {@code epoll_wait} only peeks (timeout 0) while anyone is still owed, since no new edge
 * will come for them.
 *
 * <p>{@link Mode#ET_STOPS_EARLY} is the classic mistake, kept so a test can show it: edge-
 * triggered, but reading once per event and accepting once per event. It works in a quick
 * try with {@code nc} and stalls under load.
 */
public final class EpollEchoServer implements EventLoopServer {

    public enum Mode { ET, LT, ET_STOPS_EARLY }

    /** Sent to a client the server cannot take, before closing it. */
    public static final byte[] ERR_SERVER_FULL = "ERR server full\n".getBytes(StandardCharsets.US_ASCII);

    static final int READS_PER_TURN = 16;
    static final int ACCEPTS_PER_TURN = 256;
    private static final long WAKE = -1;
    private static final long LISTENER = -2;

    private final String host;
    private final int requestedPort;
    private final Mode mode;
    private final boolean edge;
    private int port;
    private int listenFd = -1;
    /** The reserve fd: closed to make room for accepting (and refusing) a client when out of fds. */
    private int spareFd = -1;
    private Epoll epoll;
    private EventFd wake;
    private Thread loop;
    private volatile boolean closed;
    private volatile Runnable beforeWait = () -> { };

    // Owned by the loop thread.
    private NativeConnection[] byFd = new NativeConnection[1024];
    private int[] interest = new int[1024];
    private final ArrayDeque<NativeConnection> owed = new ArrayDeque<>();
    private boolean listenerOwed;
    private final AcceptPause acceptPause = new AcceptPause("day04");
    private final NativeConnection.LoopBuffers buffers;

    // Read from other threads.
    private volatile int connectionCount;
    private volatile int readPaused;
    private volatile int largestOutbox;
    private volatile long wakeups;
    private volatile long refusedForLackOfFds;

    public EpollEchoServer(String host, int port, Mode mode) {
        this(host, port, mode, 64 * 1024);
    }

    /** @param readSize bytes per recv; tests make it small to make a stall easy to see */
    public EpollEchoServer(String host, int port, Mode mode, int readSize) {
        this.buffers = new NativeConnection.LoopBuffers(readSize);
        this.host = host;
        this.requestedPort = port;
        this.mode = mode;
        this.edge = mode != Mode.LT;
    }

    /** Test hook: runs on the loop thread before every epoll_wait. */
    public void beforeEachWait(Runnable hook) {
        this.beforeWait = hook;
    }

    @Override
    public void start() throws java.io.IOException {
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            spareFd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
            epoll = new Epoll();
            wake = new EventFd();
            epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
            // The listener is non-blocking too: in ET mode we accept until EAGAIN.
            epoll.add(listenFd, Epoll.EPOLLIN | (edge ? Epoll.EPOLLET : 0), LISTENER);
        } catch (SyscallException e) {
            releaseFds();
            throw e;
        }
        loop = Thread.ofPlatform().name("day04-" + mode.name().toLowerCase()).start(this::run);
    }

    @Override
    public int port() {
        return port;
    }

    private void run() {
        try (Epoll.Events events = new Epoll.Events(256)) {
            while (!closed) {
                beforeWait.run();
                int timeout = !owed.isEmpty() || listenerOwed ? 0 : acceptPause.timeoutMillis();
                int n = events.waitFor(epoll, timeout);
                wakeups++;
                for (int i = 0; i < n; i++) {
                    long data = events.data(i);
                    if (data == WAKE) wake.drain();
                    else if (data == LISTENER) acceptAll();
                    else handle(byFd[(int) data], events.events(i));
                }
                events.growIfFull(n);
                serveOwed();
                resumeAcceptingIfDue();
            }
        } catch (SyscallException e) {
            System.err.println("day04: " + e.getMessage());
        } finally {
            for (NativeConnection c : byFd) if (c != null) c.close();
            Arrays.fill(byFd, null);
            connectionCount = 0;
        }
    }

    private void handle(NativeConnection c, int events) throws SyscallException {
        if (c == null) return;   // closed earlier in this same batch
        boolean wasPaused = c.isReadPaused();
        if ((events & Epoll.EPOLLERR) != 0) {
            drop(c, wasPaused);                  // reset: nothing can be delivered any more
            return;
        }
        // Both directions, independently: an "else" here would lose the write edge for good.
        if ((events & Epoll.EPOLLOUT) != 0) c.flush();
        if ((events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) read(c);
        if ((events & Epoll.EPOLLHUP) != 0 && !c.wantsRead()) {
            drop(c, wasPaused);                  // hung up while we were not reading
            return;
        }
        update(c, wasPaused);
    }

    private void read(NativeConnection c) {
        int budget = mode == Mode.ET ? READS_PER_TURN : 1;
        boolean more = c.readAndAnswer(buffers, budget);
        // Budget spent with data left: level-triggered epoll will report it again; edge-
        // triggered will not, so we owe it a turn. (ET_STOPS_EARLY forgets exactly this.)
        if (more && mode == Mode.ET) owed.add(c);
    }

    private void serveOwed() throws SyscallException {
        for (int k = owed.size(); k > 0; k--) {
            NativeConnection c = owed.poll();
            if (byFd[c.fd] != c) continue;        // closed since
            boolean wasPaused = c.isReadPaused();
            read(c);
            update(c, wasPaused);
        }
        if (listenerOwed) acceptAll();
    }

    /** After handling: close if done, else make the kernel's interest match what we want. */
    private void update(NativeConnection c, boolean wasPaused) throws SyscallException {
        if (c.isFinished()) {
            drop(c, wasPaused);
            return;
        }
        boolean paused = c.isReadPaused();
        if (paused != wasPaused) readPaused += paused ? 1 : -1;
        if (wasPaused && !paused && edge) owed.add(c);   // data may be waiting with no edge to come
        if (buffers.largestOutbox > largestOutbox) largestOutbox = buffers.largestOutbox;
        // EPOLLOUT only while output waits: it was added after send() said EAGAIN and goes
        // away when the outbox drains. A socket is nearly always writable; watching it for
        // nothing would wake a level-triggered loop on every call.
        int want = (c.wantsRead() ? Epoll.EPOLLIN | Epoll.EPOLLRDHUP : 0)
                | (c.wantsWrite() ? Epoll.EPOLLOUT : 0)
                | (edge ? Epoll.EPOLLET : 0);
        if (want != interest[c.fd]) {
            epoll.modify(c.fd, want, c.fd);
            interest[c.fd] = want;
        }
    }

    private void acceptAll() throws SyscallException {
        listenerOwed = false;
        int limit = mode == Mode.ET_STOPS_EARLY ? 1 : ACCEPTS_PER_TURN;
        for (int accepted = 0; accepted < limit; accepted++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                if (e.errno() != Errno.EMFILE && e.errno() != Errno.ENFILE) throw e;
                if (!refuseOneWithSpareFd(e)) return;
                continue;
            }
            if (fd == Sockets.WOULD_BLOCK) return;
            add(fd);
        }
        // In ET mode, the listener will not be reported again for connections already queued.
        if (mode == Mode.ET) listenerOwed = true;
    }

    /**
     * Out of fds: the connection stays in the kernel's queue and the listener stays ready, so a
     * level-triggered loop would spin at 100% CPU and an edge-triggered one would never hear of
     * the queue again. The reserve-fd trick (libev's docs, libuv's uv__emfile_trick): free the
     * spare fd, accept the client into it, tell it and close it, take the spare back.
     * Existing clients are untouched, and the queue keeps moving.
     */
    private boolean refuseOneWithSpareFd(SyscallException emfile) throws SyscallException {
        if (spareFd < 0) {
            pauseAccepting(emfile);
            return false;
        }
        Sockets.close(spareFd);
        spareFd = -1;
        int fd;
        try {
            fd = Sockets.accept(listenFd);
        } catch (SyscallException e) {
            // Another thread of this process (the JVM's own, say) took the freed number first.
            pauseAccepting(e);
            return false;
        }
        if (fd >= 0) {
            try {
                Sockets.send(fd, ERR_SERVER_FULL, 0, ERR_SERVER_FULL.length);
            } catch (SyscallException ignored) {
                // the client is gone already
            }
            Sockets.close(fd);
            refusedForLackOfFds++;
        }
        try {
            spareFd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
        } catch (SyscallException e) {
            // Something else took the number meanwhile: fall back to nginx's way.
            pauseAccepting(e);
            return false;
        }
        return fd >= 0;
    }

    /** nginx's answer (day 3's {@link AcceptPause}): stop watching the listener for a while. */
    private void pauseAccepting(SyscallException why) throws SyscallException {
        if (acceptPause.begin(why)) epoll.modify(listenFd, 0, LISTENER);
    }

    private void resumeAcceptingIfDue() throws SyscallException {
        if (!acceptPause.endIfDue()) return;
        epoll.modify(listenFd, Epoll.EPOLLIN | (edge ? Epoll.EPOLLET : 0), LISTENER);
        if (spareFd < 0) {
            try {
                spareFd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
            } catch (SyscallException stillOut) {
                // try again on the next pause
            }
        }
    }

    private void add(int fd) throws SyscallException {
        if (fd >= byFd.length) {
            int size = Math.max(fd + 1, byFd.length * 2);
            byFd = Arrays.copyOf(byFd, size);
            interest = Arrays.copyOf(interest, size);
        }
        NativeConnection c = new NativeConnection(fd);
        byFd[fd] = c;
        int events = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | (edge ? Epoll.EPOLLET : 0);
        epoll.add(fd, events, fd);
        interest[fd] = events;
        connectionCount++;
        // Data that arrived before the registration is reported at once (epoll checks the fd
        // on EPOLL_CTL_ADD), so no read is lost between accept and add.
    }

    private void drop(NativeConnection c, boolean countedAsPaused) throws SyscallException {
        if (countedAsPaused) readPaused--;
        // Deregister before close: the registration belongs to the open file description,
        // and only the last close of that description removes it by itself.
        epoll.delete(c.fd);
        byFd[c.fd] = null;
        interest[c.fd] = 0;
        c.close();
        connectionCount--;
    }

    @Override
    public int connectionCount() {
        return connectionCount;
    }

    @Override
    public int readPausedCount() {
        return readPaused;
    }

    @Override
    public int largestOutbox() {
        return largestOutbox;
    }

    /** How many times epoll_wait returned: a spinning loop shows here. */
    public long wakeups() {
        return wakeups;
    }

    public long refusedForLackOfFds() {
        return refusedForLackOfFds;
    }

    @Override
    public void close() {
        if (closed || loop == null) return;
        closed = true;
        wake.signal();
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        releaseFds();
        System.err.println(this + ": " + wakeups + " epoll_wait wake-ups, " + refusedForLackOfFds
                + " clients refused for lack of fds");
    }

    private void releaseFds() {
        if (listenFd >= 0) Sockets.close(listenFd);
        if (spareFd >= 0) Sockets.close(spareFd);
        if (epoll != null) epoll.close();
        if (wake != null) wake.close();
        listenFd = spareFd = -1;
    }

    @Override
    public String toString() {
        return "day04 " + mode.name().toLowerCase().replace('_', '-');
    }
}
