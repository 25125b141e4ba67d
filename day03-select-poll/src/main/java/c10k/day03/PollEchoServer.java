package c10k.day03;

import c10k.day01.Log;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Day 3, the same loop as {@link SelectorEchoServer} with the JDK taken away: sockets made
 * with socket/bind/listen/accept4, data moved with recv/send, readiness asked of the kernel
 * with poll(2), all through the FFM API.
 *
 * <p>The {@code pollfd} array is the server's whole view of the world. Entry 0 is an eventfd
 * that {@link #close()} signals to wake the loop, entry 1 the listening socket, the rest one
 * per connection; {@code connections[i]} belongs to {@code pollfd[i]}. Every call hands the
 * whole array to the kernel and gets it back: with 10,000 mostly idle clients, each call
 * copies and checks 10,000 entries to find the few that are ready.
 */
public final class PollEchoServer implements EventLoopServer {

    private static final System.Logger LOG = Log.logger("day03.poll");

    private static final int WAKE = 0;
    private static final int LISTENER = 1;
    /** How many connections one wake-up may accept before the loop serves the others. */
    private static final int ACCEPT_BATCH = 64;

    private final String host;
    private final int requestedPort;
    private int port;
    private int listenFd = -1;
    private EventFd wake;
    private Thread loop;
    private volatile boolean closed;

    // Owned by the loop thread.
    private Arena arena;
    private MemorySegment pollfds;
    private NativeConnection[] connections;
    private int count;
    private final AcceptPause acceptPause = new AcceptPause("day03 poll");
    private final NativeConnection.LoopBuffers buffers = new NativeConnection.LoopBuffers(64 * 1024);

    // Read by tests from other threads.
    private volatile int connectionCount;
    private volatile int readPaused;
    private volatile int largestOutbox;

    public PollEchoServer(String host, int port) {
        this.host = host;
        this.requestedPort = port;
    }

    @Override
    public void start() throws java.io.IOException {
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            wake = new EventFd();
        } catch (SyscallException e) {
            Sockets.close(listenFd);
            throw e;
        }
        loop = Thread.ofPlatform().name("day03-poll").start(this::run);
    }

    @Override
    public int port() {
        return port;
    }

    private void run() {
        arena = Arena.ofConfined();           // the loop thread allocates, uses and frees the array
        pollfds = arena.allocate(Poll.POLLFD, 1024);
        connections = new NativeConnection[1024];
        Poll.set(pollfds, WAKE, wake.fd(), Poll.POLLIN);
        Poll.set(pollfds, LISTENER, listenFd, Poll.POLLIN);
        count = 2;
        try {
            while (!closed) {
                int ready = Poll.poll(pollfds, count, acceptPause.timeoutMillis());
                if (ready == 0) {
                    resumeAcceptingIfDue();
                    continue;
                }
                // Walk down from the end: removing entry i moves the last entry into its place,
                // and that entry has been handled already. New connections are appended past
                // the end and wait for the next call.
                for (int i = count - 1; i >= 0 && !closed; i--) {
                    short revents = Poll.revents(pollfds, i);
                    if (revents == 0) continue;
                    if (i == WAKE) wake.drain();
                    else if (i == LISTENER) acceptBatch();
                    else handle(i, revents);
                }
                resumeAcceptingIfDue();
            }
        } catch (SyscallException e) {
            LOG.log(System.Logger.Level.ERROR, "the poll loop failed, so the server stops: " + e.getMessage());
        } finally {
            for (int i = 2; i < count; i++) connections[i].close();
            count = 0;
            connectionCount = 0;
            arena.close();
        }
    }

    private void acceptBatch() throws SyscallException {
        for (int accepted = 0; accepted < ACCEPT_BATCH; accepted++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                switch (AcceptErrors.classify(e.errno())) {
                    case GONE_ALREADY -> {
                        continue;              // that connection is gone; the ones queued behind it are not
                    }
                    case SHORT_OF_RESOURCES -> {
                        // The connection stays queued, so the listener stays readable and a
                        // level-triggered loop would spin at 100% CPU. Stop watching it for a while.
                        if (acceptPause.begin(e)) Poll.setEvents(pollfds, LISTENER, (short) 0);
                        return;
                    }
                    case BROKEN -> throw e;    // the listener itself: the loop cannot go on
                }
                continue;
            }
            if (fd == Sockets.WOULD_BLOCK) return;
            try {
                Sockets.setNoDelay(fd);        // as every server of the book (and Netty) does
            } catch (SyscallException gone) {
                // the first read will say so
            }
            add(fd);
        }
    }

    private void resumeAcceptingIfDue() {
        if (acceptPause.endIfDue()) Poll.setEvents(pollfds, LISTENER, Poll.POLLIN);
    }

    private void add(int fd) {
        if (count == connections.length) grow();
        connections[count] = new NativeConnection(fd);
        Poll.set(pollfds, count, fd, Poll.POLLIN);
        count++;
        connectionCount = count - 2;
    }

    private void grow() {
        int capacity = connections.length * 2;
        MemorySegment bigger = arena.allocate(Poll.POLLFD, capacity);
        bigger.copyFrom(pollfds);
        // A confined arena frees everything at once when closed; the old array stays until
        // then. Doubling bounds the waste to the size of the final array.
        pollfds = bigger;
        connections = Arrays.copyOf(connections, capacity);
    }

    private void handle(int i, short revents) {
        NativeConnection c = connections[i];
        boolean wasPaused = c.isReadPaused();
        if ((revents & (Poll.POLLERR | Poll.POLLNVAL)) != 0) {
            remove(i, wasPaused);                                   // reset: nothing can be delivered any more
            return;
        }
        // POLLHUP comes with POLLIN when the peer is gone: reading finds the end of stream.
        if ((revents & Poll.POLLOUT) != 0) c.flush(buffers.counters);
        if ((revents & (Poll.POLLIN | Poll.POLLHUP)) != 0 && c.wantsRead()) c.readAndAnswer(buffers, 1);
        if ((revents & Poll.POLLHUP) != 0 && !c.wantsRead()) {
            remove(i, wasPaused);                                   // hung up while we were not reading
            return;
        }
        if (c.settle()) {
            remove(i, wasPaused);
            return;
        }
        Poll.setEvents(pollfds, i, (short) ((c.wantsRead() ? Poll.POLLIN : 0) | (c.wantsWrite() ? Poll.POLLOUT : 0)));
        if (wasPaused != c.isReadPaused()) readPaused += c.isReadPaused() ? 1 : -1;
        if (buffers.largestOutbox > largestOutbox) largestOutbox = buffers.largestOutbox;
    }

    /** @param counted whether this connection is counted in {@link #readPausedCount()} */
    private void remove(int i, boolean counted) {
        NativeConnection c = connections[i];
        if (counted) readPaused--;
        c.close();
        int last = count - 1;
        if (i != last) {
            MemorySegment.copy(pollfds, Poll.POLLFD.byteSize() * last, pollfds, Poll.POLLFD.byteSize() * i, Poll.POLLFD.byteSize());
            connections[i] = connections[last];
        }
        connections[last] = null;
        count--;
        connectionCount = count - 2;
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
        Sockets.close(listenFd);
        wake.close();
    }

    @Override
    public String toString() {
        return "day03 poll";
    }
}
