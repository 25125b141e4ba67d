package c10k.day06;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import c10k.day03.AcceptPause;
import c10k.day03.EventFd;
import c10k.day03.EventLoopServer;
import c10k.day03.Outbox;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import c10k.day04.Epoll;
import c10k.day04.EpollEchoServer;
import c10k.day05.Handler;
import c10k.day05.Handlers;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Day 6: the design of the source notes' EServer, where worker threads write their responses
 * straight to the client's socket, and the bug that design invites.
 *
 * <p>One event-loop thread accepts, reads, frames and closes; a fixed pool of workers runs the
 * {@link Handler} and writes the answer itself. Per connection one request is handled at a
 * time, so answers keep their order. The loop closes a connection as soon as the peer resets,
 * even while a worker is still busy with one of its requests: that worker will write late.
 *
 * <p>Two ways to name the connection the late worker writes to:
 * <ul>
 * <li>{@link Identity#FD_NUMBER}: the worker holds the fd number, as C code holds an
 *     {@code int}. {@code accept} hands out the lowest free number, so the number the loop
 *     just closed is the very next one given to a new client, and the late worker's bytes go
 *     to that stranger. Rare, silent, and a data leak.</li>
 * <li>{@link Identity#PINNED_SLOT}: a pool of connection slots, each owning a fixed number in a
 *     reserved range ({@code fdBase ..}); each accepted fd is {@code dup3}-ed onto a free slot's
 *     number and closed. Freed slots go to the back of a FIFO, so a number is not reused at
 *     once: that only <em>delays</em> reuse (with a small pool, or a busy one, the same slot comes
 *     round again while a worker is still late). What makes it safe is the slot's generation,
 *     bumped on every new connection and checked, under the slot's lock, before every write by
 *     a worker that may be late. A stale generation means: not your client any more, drop it.</li>
 * </ul>
 */
public final class FdReuseServer implements EventLoopServer {

    public enum Identity { FD_NUMBER, PINNED_SLOT }

    private static final long WAKE = -1;
    private static final long LISTENER = -2;
    /** Queued in place of the line that was too long; compared by identity. */
    private static final byte[] TOO_LONG = new byte[0];
    /** The most requests of one client handed to a worker in one task. */
    private static final int MAX_BATCH = 64;
    /** Stop reading from a client with this many requests waiting for a worker. */
    private static final int MAX_QUEUED_REQUESTS = 256;

    /** One client, or (pinned) one slot that successive clients occupy in turn. */
    private static final class Conn {
        final int slot;                                 // index in the pool (pinned), -1 otherwise
        int fd;                                         // the number epoll and send() see
        int generation;                                 // bumped for each new client of this slot
        boolean open;                                   // guarded by lock
        final ReentrantLock lock = new ReentrantLock(); // one writer at a time; close waits for it
        final Outbox outbox = new Outbox();             // guarded by lock
        LineFramer framer;                              // loop thread only, from here on
        final ArrayDeque<byte[]> requests = new ArrayDeque<>();
        boolean busy;                                   // a worker has one of its requests
        boolean inputDone;
        boolean readPaused;                             // peerStalled or backlogged
        boolean peerStalled;                            // the peer is not reading its answers
        boolean backlogged;                             // the workers are behind on its requests
        int interest;

        Conn(int slot, int fd) {
            this.slot = slot;
            this.fd = fd;
        }
    }

    /** What a worker tells the loop when it is done with a request. */
    private record Done(Conn conn, int generation, boolean armWrite) {
    }

    private final String host;
    private final int requestedPort;
    private final int workers;
    private final Handler handler;
    private final Identity identity;
    private final int poolSize;
    private final int fdBase;
    private final boolean checkGeneration;

    private int port;
    private int listenFd = -1;
    private Epoll epoll;
    private EventFd wake;
    private ExecutorService pool;
    private Thread loop;
    private volatile boolean closed;
    private Fds.Limit limit;

    // Loop thread.
    private Conn[] byData = new Conn[1024];   // FD_NUMBER: indexed by fd; PINNED_SLOT: by slot
    private final ArrayDeque<Conn> freeSlots = new ArrayDeque<>();
    private final AcceptPause acceptPause = new AcceptPause("day06");
    private volatile boolean keepWakeOpen;
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private final byte[] in = new byte[64 * 1024];
    private final ByteBuffer inView = ByteBuffer.wrap(in);

    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicLong refusedLateWrites = new AtomicLong();
    private final AtomicLong refusedPoolFull = new AtomicLong();
    private volatile int newestFd = -1;
    private volatile int largestOutbox;
    private volatile int readPaused;

    /**
     * @param poolSize, fdBase only for {@link Identity#PINNED_SLOT}: slot i owns fd number
     *     {@code fdBase + i}
     * @param checkGeneration turn off only to watch the FIFO fail on its own
     */
    public FdReuseServer(String host, int port, int workers, Handler handler, Identity identity,
                         int poolSize, int fdBase, boolean checkGeneration) {
        this.host = host;
        this.requestedPort = port;
        this.workers = workers;
        this.handler = handler;
        this.identity = identity;
        this.poolSize = poolSize;
        this.fdBase = fdBase;
        this.checkGeneration = checkGeneration;
    }

    /** The safe server with the defaults of {@code ./jbang day06}. */
    public static FdReuseServer pinned(String host, int port, int workers, Handler handler, int poolSize, int fdBase) {
        return new FdReuseServer(host, port, workers, handler, Identity.PINNED_SLOT, poolSize, fdBase, true);
    }

    public static FdReuseServer unpinned(String host, int port, int workers, Handler handler) {
        return new FdReuseServer(host, port, workers, handler, Identity.FD_NUMBER, 0, 0, false);
    }

    @Override
    public void start() throws java.io.IOException {
        if (identity == Identity.PINNED_SLOT) reserveRange();
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            epoll = new Epoll();
            wake = new EventFd();
            epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
            epoll.add(listenFd, Epoll.EPOLLIN, LISTENER);
        } catch (SyscallException e) {
            releaseFds();
            throw e;
        }
        if (identity == Identity.PINNED_SLOT) {
            byData = new Conn[poolSize];
            for (int i = 0; i < poolSize; i++) {
                byData[i] = new Conn(i, fdBase + i);
                freeSlots.add(byData[i]);
            }
        }
        AtomicInteger n = new AtomicInteger();
        pool = Executors.newFixedThreadPool(workers, r -> Thread.ofPlatform().name("day06-worker-" + n.getAndIncrement()).unstarted(r));
        loop = Thread.ofPlatform().name("day06-loop").start(this::run);
    }

    /**
     * The pinned range must lie below the open-files limit (descriptor numbers go up to
     * soft limit - 1), and nothing may live there already: dup3 onto a number in use would
     * silently close someone else's file. Checked at start, with a clear message, rather than
     * failing at the ten-thousandth client.
     */
    private void reserveRange() throws SyscallException {
        limit = Fds.raiseSoftLimitToHard();
        long highest = (long) fdBase + poolSize - 1;
        if (fdBase < 3 || poolSize < 1) {
            throw new IllegalArgumentException("--fd-base must be at least 3 (0, 1 and 2 are stdin, stdout and stderr)"
                    + " and --pool at least 1, got " + fdBase + " and " + poolSize);
        }
        if (highest >= limit.soft()) {
            throw new IllegalArgumentException(String.format(
                    "a pool of %d connections at fds %d..%d needs an open-files limit above %d, but the soft limit is %d "
                            + "(hard %d): use a smaller --pool or --fd-base, or raise the hard limit (ulimit -Hn, LimitNOFILE=)",
                    poolSize, fdBase, highest, highest, limit.soft(), limit.hard()));
        }
        for (int fd = fdBase; fd <= highest; fd++) {
            if (Fds.isOpen(fd)) {
                throw new IllegalArgumentException("fd " + fd + " in the pinned range " + fdBase + ".." + highest
                        + " is already open in this process: choose another --fd-base");
            }
        }
    }

    /** The open-files limit found at start (pinned mode), after raising the soft limit to the hard one. */
    public Fds.Limit openFilesLimit() {
        return limit;
    }

    @Override
    public int port() {
        return port;
    }

    private void run() {
        try (Epoll.Events events = new Epoll.Events(256)) {
            while (!closed) {
                int n = events.waitFor(epoll, acceptPause.timeoutMillis());
                resumeAcceptingIfDue();
                for (int i = 0; i < n && !closed; i++) {
                    long data = events.data(i);
                    if (data == WAKE) wake.drain();
                    else if (data == LISTENER) acceptAll();
                    else onEvent(byData[(int) data], events.events(i));
                }
                events.growIfFull(n);
                Done d;
                while ((d = done.poll()) != null) onDone(d);
            }
        } catch (SyscallException e) {
            System.err.println("day06: " + e.getMessage());
        }
    }

    private void acceptAll() throws SyscallException {
        for (int k = 0; k < 256; k++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                // EMFILE/ENFILE: the client stays queued and the level-triggered listener would
                // be reported again at once. Stop watching it for a while (day 4 tells the rest).
                if (acceptPause.begin(e)) epoll.modify(listenFd, 0, LISTENER);
                return;
            }
            if (fd == Sockets.WOULD_BLOCK) return;
            Conn c;
            if (identity == Identity.FD_NUMBER) {
                if (fd >= byData.length) byData = Arrays.copyOf(byData, Math.max(fd + 1, byData.length * 2));
                c = new Conn(-1, fd);
                byData[fd] = c;
            } else {
                c = freeSlots.poll();
                if (c == null) {
                    refuse(fd);
                    continue;
                }
                // Atomically: the slot's number now refers to this client's socket. Then the
                // number accept gave us goes back, so low numbers stay free for the next accept.
                try {
                    Fds.dup3(fd, c.fd);
                } catch (SyscallException e) {
                    // EINVAL if accept returned the slot's own number (every lower one taken),
                    // EBUSY if dup3 raced an open(): this client cannot be pinned; the server goes on.
                    System.err.println("day06: " + e.getMessage() + "; refusing one client");
                    freeSlots.addFirst(c);
                    refuse(fd);
                    continue;
                }
                Sockets.close(fd);
            }
            c.lock.lock();
            try {
                c.generation++;
                c.open = true;
            } finally {
                c.lock.unlock();
            }
            c.framer = new LineFramer();
            c.inputDone = c.busy = c.readPaused = c.peerStalled = c.backlogged = false;
            c.requests.clear();
            c.interest = Epoll.EPOLLIN | Epoll.EPOLLRDHUP;
            epoll.add(c.fd, c.interest, identity == Identity.FD_NUMBER ? c.fd : c.slot);
            connections.incrementAndGet();
            newestFd = c.fd;
        }
    }

    private void resumeAcceptingIfDue() throws SyscallException {
        if (acceptPause.endIfDue()) {
            epoll.modify(listenFd, Epoll.EPOLLIN, LISTENER);
        }
    }

    /** Every slot is taken: say so and close, rather than keep a client we cannot serve. */
    private void refuse(int fd) {
        refusedPoolFull.incrementAndGet();
        try {
            Sockets.send(fd, EpollEchoServer.ERR_SERVER_FULL, 0, EpollEchoServer.ERR_SERVER_FULL.length);
        } catch (SyscallException ignored) {
            // gone already
        }
        Sockets.shutdownWrite(fd);
        Sockets.close(fd);
    }

    private void onEvent(Conn c, int events) throws SyscallException {
        if (c == null || !c.open) return;
        if ((events & Epoll.EPOLLERR) != 0) {
            close(c);   // reset: close at once, whatever a worker is still doing for this client
            return;
        }
        if ((events & Epoll.EPOLLOUT) != 0) flushFromLoop(c);
        if ((events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0 && !c.inputDone && !c.readPaused) read(c);
        if (c.open) afterChange(c);
    }

    private void read(Conn c) throws SyscallException {
        int n;
        try {
            n = Sockets.recv(c.fd, in, 0, in.length);
        } catch (SyscallException e) {
            close(c);   // ECONNRESET: the peer is gone; a worker may still be busy for it
            return;
        }
        if (n == Sockets.WOULD_BLOCK) return;
        if (n == 0) {
            c.inputDone = true;     // half-close: answer what is queued, then close
            c.framer.discardPartial();
            return;
        }
        inView.clear().limit(n);
        boolean ok;
        try {
            ok = c.framer.feed(inView, (buf, start, end) -> {
                byte[] line = new byte[end - start];
                buf.get(start, line);
                c.requests.add(line);
            });
        } catch (java.io.IOException impossible) {
            throw new AssertionError(impossible);
        }
        if (!ok) {
            c.requests.add(TOO_LONG);   // "answer ERR here, then close", after the earlier lines
            c.inputDone = true;
        }
        dispatch(c);
    }

    /** Hands the connection's next request to a worker, unless one is already busy with it. */
    private void dispatch(Conn c) {
        if (c.busy || c.requests.isEmpty()) return;
        // A client that does not read its answers gets no more work done for it until it does:
        // its outbox stays within one answer of the high-water mark.
        c.lock.lock();
        try {
            if (c.outbox.isFull()) return;
        } finally {
            c.lock.unlock();
        }
        // Everything this client has queued goes to one worker in one task: one hand-off and
        // one write for a pipelined burst instead of one per line. Order is kept because a
        // client has at most one task at a time.
        int n = Math.min(c.requests.size(), MAX_BATCH);
        byte[][] batch = new byte[n][];
        for (int i = 0; i < n; i++) batch[i] = c.requests.poll();
        c.busy = true;
        int fd = c.fd;
        int generation = c.generation;
        pool.execute(() -> work(c, fd, generation, batch));
    }

    /** On a worker: run the handler, then write the answers, possibly long after the client left. */
    private void work(Conn c, int fd, int generation, byte[][] requests) {
        java.io.ByteArrayOutputStream answers = new java.io.ByteArrayOutputStream();
        for (byte[] request : requests) {
            byte[] response;
            if (request == TOO_LONG) {
                response = Protocol.ERR_LINE_TOO_LONG;
            } else {
                try {
                    response = handler.handle(request);
                } catch (InterruptedException e) {
                    return;   // shutting down
                } catch (Exception e) {
                    response = Handlers.ERR_HANDLER_FAILED;
                }
            }
            if (response != null) answers.writeBytes(response);
        }
        boolean armWrite = false;
        if (answers.size() > 0) {
            byte[] bytes = answers.toByteArray();
            armWrite = identity == Identity.FD_NUMBER ? writeByNumber(fd, bytes) : writeToSlot(c, generation, bytes);
        }
        done.add(new Done(c, generation, armWrite));
        wake.signal();
    }

    /**
     * The bug: write to the number we were given. If the loop closed it meanwhile and accept
     * handed it to someone else, this is their socket now. Returns true if bytes are left over.
     */
    private boolean writeByNumber(int fd, byte[] response) {
        try {
            int sent = 0;
            while (sent < response.length) {
                int n = Sockets.send(fd, response, sent, response.length - sent);
                if (n == Sockets.WOULD_BLOCK) {
                    // "a writer retrying after EAGAIN": hand the rest to whoever owns the number now.
                    Conn now = fd < byData.length ? byData[fd] : null;
                    if (now == null) return false;
                    now.lock.lock();
                    try {
                        now.outbox.append(response, sent, response.length);
                    } finally {
                        now.lock.unlock();
                    }
                    return true;
                }
                sent += n;
            }
        } catch (SyscallException e) {
            // EBADF (nobody has the number) or EPIPE: nothing delivered, nothing noticed either
        }
        return false;
    }

    /**
     * The fix: under the slot's lock (so the loop cannot close or reuse it while we write),
     * check that the slot still holds the client this response is for.
     */
    private boolean writeToSlot(Conn c, int generation, byte[] response) {
        c.lock.lock();
        try {
            if (!c.open || (checkGeneration && c.generation != generation)) {
                refusedLateWrites.incrementAndGet();   // not our client any more: drop it
                return false;
            }
            int sent = 0;
            if (c.outbox.isEmpty()) {
                try {
                    while (sent < response.length) {
                        int n = Sockets.send(c.fd, response, sent, response.length - sent);
                        if (n == Sockets.WOULD_BLOCK) break;
                        sent += n;
                    }
                } catch (SyscallException e) {
                    return false;   // reset: the loop will see it and close
                }
            }
            if (sent < response.length) c.outbox.append(response, sent, response.length);
            if (c.outbox.size() > largestOutbox) largestOutbox = c.outbox.size();
            return !c.outbox.isEmpty();
        } finally {
            c.lock.unlock();
        }
    }

    private void onDone(Done d) throws SyscallException {
        Conn c = d.conn();
        if (!c.open || c.generation != d.generation()) return;   // that client is gone
        c.busy = false;
        dispatch(c);
        afterChange(c);
    }

    private void flushFromLoop(Conn c) {
        c.lock.lock();
        try {
            while (!c.outbox.isEmpty()) {
                int n = Sockets.send(c.fd, c.outbox.array(), c.outbox.start(), c.outbox.size());
                if (n == Sockets.WOULD_BLOCK) break;
                c.outbox.consumed(n);
            }
        } catch (SyscallException e) {
            c.inputDone = true;
            c.requests.clear();
            c.outbox.clear();
        } finally {
            c.lock.unlock();
        }
    }

    /** Close when finished; otherwise keep the kernel's interest in line with the state. */
    private void afterChange(Conn c) throws SyscallException {
        boolean pending;
        int outboxSize;
        c.lock.lock();
        try {
            pending = !c.outbox.isEmpty();
            outboxSize = c.outbox.size();
        } finally {
            c.lock.unlock();
        }
        if (c.inputDone && !c.busy && c.requests.isEmpty() && !pending) {
            close(c);
            return;
        }
        if (!c.busy && outboxSize <= Outbox.HIGH_WATER) dispatch(c);   // the outbox drained enough
        // Two reasons to stop reading, each with its own hysteresis: the peer does not read
        // its answers (the outbox passed the high-water mark), or the workers are behind (too
        // many of its requests queued). Only the first is the peer's doing, and only the first
        // is what readPausedCount() reports.
        boolean stalled = c.peerStalled ? outboxSize >= Outbox.LOW_WATER : outboxSize > Outbox.HIGH_WATER;
        if (stalled != c.peerStalled) {
            c.peerStalled = stalled;
            readPaused += stalled ? 1 : -1;
        }
        c.backlogged = c.backlogged ? c.requests.size() >= MAX_QUEUED_REQUESTS / 2 : c.requests.size() >= MAX_QUEUED_REQUESTS;
        c.readPaused = c.peerStalled || c.backlogged;
        int want = (c.inputDone || c.readPaused ? 0 : Epoll.EPOLLIN | Epoll.EPOLLRDHUP) | (pending ? Epoll.EPOLLOUT : 0);
        if (want != c.interest) {
            epoll.modify(c.fd, want, identity == Identity.FD_NUMBER ? c.fd : c.slot);
            c.interest = want;
        }
    }

    /** Loop thread: the client is gone or done. Workers may still hold its number. */
    private void close(Conn c) throws SyscallException {
        c.lock.lock();
        try {
            if (!c.open) return;
            c.open = false;
            epoll.delete(c.fd);
            // FIN ahead of a possible RST (unread input), so a last answer such as the error
            // line is not overtaken.
            Sockets.shutdownWrite(c.fd);
            Sockets.close(c.fd);   // FD_NUMBER: the number is free for the very next accept
            c.outbox.clear();
        } finally {
            c.lock.unlock();
        }
        if (c.peerStalled) readPaused--;
        c.readPaused = c.peerStalled = c.backlogged = false;
        c.requests.clear();
        c.framer = null;
        connections.decrementAndGet();
        if (identity == Identity.FD_NUMBER) byData[c.fd] = null;
        else freeSlots.addLast(c);   // to the back: its number comes round again last
    }

    @Override
    public int connectionCount() {
        return connections.get();
    }

    @Override
    public int readPausedCount() {
        return readPaused;
    }

    @Override
    public int largestOutbox() {
        return largestOutbox;
    }

    /** Late answers dropped because their slot had moved on to another client. */
    public long refusedLateWrites() {
        return refusedLateWrites.get();
    }

    /** Clients turned away because every slot was taken. */
    public long refusedPoolFull() {
        return refusedPoolFull.get();
    }

    /** The fd number of the most recently accepted client (for the tests and the demo). */
    public int newestFd() {
        return newestFd;
    }

    public int workerThreads() {
        return workers;
    }

    @Override
    public void close() {
        if (closed || loop == null) return;
        closed = true;
        wake.signal();
        boolean workersDone = false;
        try {
            loop.join();
            pool.shutdownNow();   // interrupts handlers that block
            workersDone = pool.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!workersDone) {
            // A worker still running may yet signal the eventfd: closing it would let that
            // write land on whatever fd takes the number next (the very bug of this day).
            System.err.println("day06: a handler ignores interrupts; leaving the eventfd open");
            keepWakeOpen = true;
        }
        for (Conn c : byData) {
            if (c != null && c.open) {
                c.open = false;
                Sockets.close(c.fd);
            }
        }
        releaseFds();
    }

    private void releaseFds() {
        if (listenFd >= 0) Sockets.close(listenFd);
        if (epoll != null) epoll.close();
        if (wake != null && !keepWakeOpen) wake.close();
        listenFd = -1;
    }

    @Override
    public String toString() {
        return identity == Identity.FD_NUMBER ? "day06 unpinned" : "day06 pinned";
    }
}
