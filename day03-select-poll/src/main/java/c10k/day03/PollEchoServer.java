package c10k.day03;

import c10k.day01.harness.Log;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.Errno;
import c10k.day03.sys.EventFd;
import c10k.day03.sys.Poll;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.LongSupplier;

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
 *
 * <p>The connections themselves ({@link NativeConnection}) and their clocks ({@link Timers})
 * are the ones day 4's epoll loop uses too: what changes from here to there is only how the
 * loop learns what is ready.
 */
public final class PollEchoServer implements EventLoopServer, Stats.Source {

    private static final System.Logger LOG = Log.logger("day03.poll");

    private static final int WAKE = 0;
    private static final int LISTENER = 1;
    /** How many connections one wake-up may accept before the loop serves the others. */
    private static final int ACCEPT_BATCH = 64;

    /** A connection and its place in the pollfd array, which moves when an entry below is removed. */
    private static final class Entry extends NativeConnection {
        int index;

        Entry(int fd) {
            super(fd);
        }
    }

    private final String host;
    private final int requestedPort;
    private final Stats stats = new Stats();
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private LongSupplier clock = System::nanoTime;
    private int port;
    private int listenFd = -1;
    private EventFd wake;
    private Thread loop;
    private volatile boolean closed, stopping;
    private volatile long stopDrainNanos;

    // Owned by the loop thread.
    private Arena arena;
    private MemorySegment pollfds;
    private Entry[] connections;
    private int count;
    private final AcceptPause acceptPause = new AcceptPause("day03 poll");
    private final NativeConnection.LoopBuffers buffers =
            new NativeConnection.LoopBuffers(64 * 1024, NativeConnection.ECHO, stats.newCounters());
    private Timers timers;
    private long now, hardStop;
    private boolean listening = true;

    // Read by tests from other threads.
    private volatile int connectionCount;
    private volatile int readPaused;
    private volatile int largestOutbox;

    public PollEchoServer(String host, int port) {
        this.host = host;
        this.requestedPort = port;
    }

    /** {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}; before {@link #start}. */
    public PollEchoServer timeouts(Timeouts t) {
        this.timeouts = t;
        return this;
    }

    /** Tests: a clock they move by hand; before {@link #start}. */
    public PollEchoServer clock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return this;
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
        timers = new Timers(timeouts);
        AcceptErrors.classify(Errno.EMFILE);   // loaded now: out of fds, its class file could not be opened
        loop = Thread.ofPlatform().name("day03-poll").start(this::run);
    }

    @Override
    public int port() {
        return port;
    }

    private void run() {
        arena = Arena.ofConfined();           // the loop thread allocates, uses and frees the array
        pollfds = arena.allocate(Poll.POLLFD, 1024);
        connections = new Entry[1024];
        Poll.set(pollfds, WAKE, wake.fd(), Poll.POLLIN);
        Poll.set(pollfds, LISTENER, listenFd, Poll.POLLIN);
        count = 2;
        now = clock.getAsLong();
        try {
            while (!closed) {
                if (stopping && listening) beginStop();
                if (stopping && (count == 2 || now - hardStop >= 0)) break;
                int ready = Poll.poll(pollfds, count, timeoutMillis());
                buffers.counters.wakeup();
                now = clock.getAsLong();
                // Walk down from the end: removing entry i moves the last entry into its place,
                // and that entry has been handled already. New connections are appended past
                // the end and wait for the next call.
                for (int i = count - 1; i >= 0 && ready > 0 && !closed; i--) {
                    short revents = Poll.revents(pollfds, i);
                    if (revents == 0) continue;
                    if (i == WAKE) wake.drain();
                    else if (i == LISTENER) acceptBatch();
                    else handle(connections[i], revents);
                }
                timers.expire(now, this::timedOut);
                if (listening && acceptPause.endIfDue()) Poll.setEvents(pollfds, LISTENER, Poll.POLLIN);
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

    /** poll's timeout: until the nearest deadline or the end of an accept pause, else forever. */
    private int timeoutMillis() {
        long nanos = timers.nanosUntilNext(now);
        if (stopping) nanos = Math.min(nanos, Math.max(0, hardStop - now));
        int pause = acceptPause.timeoutMillis();
        if (nanos == Long.MAX_VALUE) return pause;
        int millis = (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
        return pause < 0 ? millis : Math.min(pause, millis);
    }

    private void acceptBatch() throws SyscallException {
        for (int accepted = 0; accepted < ACCEPT_BATCH; accepted++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                AcceptErrors.Kind kind = AcceptErrors.classify(e.errno());
                if (kind == AcceptErrors.Kind.BROKEN) throw e;      // the listener itself: the loop cannot go on
                if (kind == AcceptErrors.Kind.GONE_ALREADY) continue; // that one is gone; those behind it are not
                // Short of fds or memory: the connection stays queued, so the listener stays
                // readable and a level-triggered loop would spin at 100% CPU. Stop watching it for a while.
                if (acceptPause.begin(e)) Poll.setEvents(pollfds, LISTENER, (short) 0);
                return;
            }
            if (fd == Sockets.WOULD_BLOCK) return;
            buffers.counters.accepted();
            try {
                Sockets.setNoDelay(fd);        // as every server of the book (and Netty) does
            } catch (SyscallException gone) {
                // the first read will say so
            }
            add(fd);
        }
    }

    private void add(int fd) {
        if (count == connections.length) grow();
        Entry c = new Entry(fd);
        c.index = count;
        connections[count] = c;
        Poll.set(pollfds, count, fd, Poll.POLLIN);
        count++;
        connectionCount = count - 2;
        timers.started(c, now);
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

    private void handle(Entry c, short revents) {
        if ((revents & (Poll.POLLERR | Poll.POLLNVAL)) != 0) {
            c.markBroken();                                          // reset: nothing can be delivered any more
        } else {
            // POLLHUP comes with POLLIN when the peer is gone: reading finds the end of stream.
            if ((revents & Poll.POLLOUT) != 0) c.flush(buffers.counters);
            if ((revents & (Poll.POLLIN | Poll.POLLHUP)) != 0 && c.wantsRead()) c.readAndAnswer(buffers, 1);
            if ((revents & Poll.POLLHUP) != 0 && !c.wantsRead()) c.markBroken();   // hung up while we were not reading
        }
        update(c);
    }

    /** After anything happened: close if done, else the clock and the events asked of poll. */
    private void update(Entry c) {
        if (c.settle()) {
            remove(c);
            return;
        }
        if (c.isReadPaused() != c.countedAsPaused) {
            c.countedAsPaused = c.isReadPaused();
            readPaused += c.countedAsPaused ? 1 : -1;
        }
        c.takeResumed();                       // level-triggered: poll reports what waits by itself
        timers.retime(c, now);
        Poll.setEvents(pollfds, c.index, (short) ((c.wantsRead() ? Poll.POLLIN : 0) | (c.wantsWrite() ? Poll.POLLOUT : 0)));
        if (buffers.largestOutbox > largestOutbox) largestOutbox = buffers.largestOutbox;
    }

    /** Idle: close gently (FIN, then drain). Send or drain: the peer is not reading; close hard. */
    private void timedOut(NativeConnection nc, boolean hard) {
        buffers.counters.timedOut();
        if (hard) nc.markBroken();
        else nc.stopReading();
        update((Entry) nc);
    }

    private void remove(Entry c) {
        if (c.countedAsPaused) readPaused--;
        c.close();
        buffers.counters.closed();
        int i = c.index;
        int last = count - 1;
        if (i != last) {
            MemorySegment.copy(pollfds, Poll.POLLFD.byteSize() * last, pollfds, Poll.POLLFD.byteSize() * i, Poll.POLLFD.byteSize());
            connections[i] = connections[last];
            connections[i].index = i;
        }
        connections[last] = null;
        count--;
        connectionCount = count - 2;
    }

    /** Shutdown, on the loop thread: the listener is closed first, then every connection heads for a gentle close. */
    private void beginStop() {
        listening = false;
        Poll.set(pollfds, LISTENER, -1, (short) 0);   // poll ignores a negative fd
        Sockets.close(listenFd);
        listenFd = -1;
        hardStop = now + stopDrainNanos;
        for (int i = count - 1; i >= 2; i--) {
            Entry c = connections[i];
            c.stopReading();          // complete lines were answered as they came; the partial tail is dropped
            update(c);
        }
    }

    @Override
    public void shutdownGracefully(Duration drain) {
        if (loop == null) return;
        stopDrainNanos = drain.toNanos();
        stopping = true;
        wake.signal();
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    /** Wakes the loop, e.g. after a test moved its clock. */
    public void wakeup() {
        if (wake != null) wake.signal();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    public long timeoutsFired() {
        return stats.snapshot().timeouts();
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
        if (listenFd >= 0) Sockets.close(listenFd);
        listenFd = -1;
        wake.close();
    }

    @Override
    public String toString() {
        return "day03 poll";
    }
}
