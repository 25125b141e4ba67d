package c10k.day03;

import c10k.day01.harness.Log;
import c10k.day01.harness.Stats;
import c10k.day03.sys.Errno;
import c10k.day03.sys.EventFd;
import c10k.day03.sys.Poll;
import c10k.day03.sys.Sockets;
import c10k.day03.shell.LoopServer;
import c10k.day03.sys.SyscallException;
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
 * per connection; {@code entries[i]} belongs to {@code pollfd[i]}. Every call hands the
 * whole array to the kernel and gets it back: with 10,000 mostly idle clients, each call
 * copies and checks 10,000 entries to find the few that are ready.
 *
 * <p>The connections themselves ({@link NativeConnection}) and their clocks ({@link Timers})
 * know nothing of poll: where the story goes next (day 4, epoll), the same connections and
 * clocks are driven by a loop that only learns what is ready another way.
 */
public final class PollEchoServer extends LoopServer<PollEchoServer> implements Stats.Source {

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
    private int port;
    private int listenFd = -1;
    private EventFd wake;

    // Owned by the loop thread.
    private Arena arena;
    private MemorySegment pollfds;
    private Entry[] entries;
    private int count;
    private final AcceptPause acceptPause = new AcceptPause("day03 poll");
    private final NativeConnection.LoopBuffers buffers =
            new NativeConnection.LoopBuffers(64 * 1024, NativeConnection.ECHO, stats.newCounters());
    private Timers timers;
    // Made once, not per wake-up: linking a method reference loads its interface's class file,
    // and on a directory class path, out of fds at the first wake-up, that open fails and kills the loop.
    private final Timers.Expired onTimeout = this::timedOut;
    private boolean listening = true;

    public PollEchoServer(String host, int port) {
        super("day03-poll", Log.logger("day03.poll"));
        this.host = host;
        this.requestedPort = port;
    }

    @Override
    protected void open() throws java.io.IOException {
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            wake = new EventFd();
        } catch (SyscallException e) {
            Sockets.close(listenFd);
            throw e;
        }
        timers = new Timers(timeoutSettings());
        // Loaded now, with the error path's message: out of fds, a class file on a directory
        // class path could not be opened, and the first EMFILE would kill the loop instead.
        AcceptErrors.classify(new SyscallException("accept4", Errno.EMFILE).errno());
        arena = Arena.ofShared();              // made here, used and freed by the loop thread only
        pollfds = arena.allocate(Poll.POLLFD, 1024);
        entries = new Entry[1024];
        Poll.set(pollfds, WAKE, wake.fd(), Poll.POLLIN);
        Poll.set(pollfds, LISTENER, listenFd, Poll.POLLIN);
        count = 2;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    protected void turn(long maxWaitNanos) throws SyscallException {
        // Until the nearest deadline or the end of an accept pause, else forever (-1).
        long nanos = Math.min(maxWaitNanos, timers.nanosUntilNext(now));
        int ready = Poll.poll(pollfds, count, waitMillis(nanos, acceptPause.timeoutMillis()));
        buffers.counters.wakeup();
        now = clockNow();
        // Walk down from the end: removing entry i moves the last entry into its place,
        // and that entry has been handled already. New connections are appended past
        // the end and wait for the next call.
        for (int i = count - 1; i >= 0 && ready > 0; i--) {
            short revents = Poll.revents(pollfds, i);
            if (revents == 0) continue;
            if (i == WAKE) wake.drain();
            else if (i == LISTENER) acceptBatch();
            else handle(entries[i], revents);
        }
        timers.expire(now, onTimeout);
        if (listening && acceptPause.endIfDue()) Poll.setEvents(pollfds, LISTENER, Poll.POLLIN);
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
        if (count == entries.length) grow();
        Entry c = new Entry(fd);
        c.index = count;
        entries[count] = c;
        Poll.set(pollfds, count, fd, Poll.POLLIN);
        count++;
        connections = count - 2;
        timers.started(c, now);
    }

    private void grow() {
        int capacity = entries.length * 2;
        MemorySegment bigger = arena.allocate(Poll.POLLFD, capacity);
        bigger.copyFrom(pollfds);
        // An arena frees everything at once when closed; the old array stays until
        // then. Doubling bounds the waste to the size of the final array.
        pollfds = bigger;
        entries = Arrays.copyOf(entries, capacity);
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
            buffers.counters.paused(c.countedAsPaused ? 1 : -1);   // the --stats figure
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
        if (c.countedAsPaused) {
            readPaused--;
            buffers.counters.paused(-1);
        }
        c.close();
        buffers.counters.closed();
        int i = c.index;
        int last = count - 1;
        if (i != last) {
            MemorySegment.copy(pollfds, Poll.POLLFD.byteSize() * last, pollfds, Poll.POLLFD.byteSize() * i, Poll.POLLFD.byteSize());
            entries[i] = entries[last];
            entries[i].index = i;
        }
        entries[last] = null;
        count--;
        connections = count - 2;
    }

    /** Shutdown, on the loop thread: the listener is closed first, then every connection heads for a gentle close. */
    @Override
    protected void beginStop() {
        listening = false;
        Poll.set(pollfds, LISTENER, -1, (short) 0);   // poll ignores a negative fd
        Sockets.close(listenFd);
        listenFd = -1;
        for (int i = count - 1; i >= 2; i--) {
            Entry c = entries[i];
            c.stopReading();          // complete lines were answered as they came; the partial tail is dropped
            update(c);
        }
    }

    @Override
    protected void wake() {
        wake.signal();
    }

    @Override
    protected void loopEnded() {
        for (int i = 2; i < count; i++) entries[i].close();
        count = 0;
        connections = 0;
        arena.close();
    }

    @Override
    protected void released() {
        if (listenFd >= 0) Sockets.close(listenFd);
        listenFd = -1;
        wake.close();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    public long timeoutsFired() {
        return stats.snapshot().timeouts();
    }

    @Override
    public String toString() {
        return "day03 poll";
    }
}
