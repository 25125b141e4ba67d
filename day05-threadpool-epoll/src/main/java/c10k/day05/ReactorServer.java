package c10k.day05;

import c10k.day01.Protocol;
import c10k.day03.AcceptPause;
import c10k.day03.Errno;
import c10k.day03.EventFd;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import c10k.day04.Epoll;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Day 5, {@code --mode reactor}: one thread does all the I/O, a fixed pool does the work.
 *
 * <pre>
 *             epoll_wait ──► accept / recv / frame ──► work queue ──► N workers: handler.handle(line)
 *                 ▲                                                         │
 *   eventfd ──────┘◄──── completion queue (connection, seq, response) ◄─────┘
 *                 │
 *                 └──► reorder by seq ──► send first, EPOLLOUT only after EAGAIN
 * </pre>
 *
 * <p>The loop thread alone reads, writes, registers and closes fds, and alone touches a
 * connection's state. Workers see only an immutable request (connection object, sequence
 * number, a copy of the line) and hand back an immutable completion. So no fd is ever read or
 * written by two threads, without a single lock: the ownership rule that shared mode has to
 * enforce with {@code EPOLLONESHOT} holds here by construction. It is also why workers never
 * {@code send()} themselves, as some tutorials have them do: two workers answering two
 * pipelined requests of one client would race each other's partial writes and interleave.
 *
 * <p>Order: requests of one connection run on different workers at once and finish in any
 * order. Each gets a per-connection sequence number when it is read; responses are released
 * to the socket strictly by sequence number ({@link Connection#releaseInOrder}). A response
 * that finishes early waits in a small ring until the ones before it are done.
 *
 * <p>Waking the loop: workers put completions on a lock-free queue and signal an eventfd that
 * sits in the same epoll set (as the JDK's selector is woken). One signal per batch, not per
 * completion: {@link #wakePending} says a signal is already on its way.
 */
public final class ReactorServer implements PooledServer {

    static final int READ_SIZE = 64 * 1024;
    static final int READS_PER_TURN = 16;
    static final int ACCEPTS_PER_TURN = 256;
    /** Requests queued for the pool across all connections; when full, the loop waits for room. */
    static final int QUEUE_CAPACITY = 64 * 1024;
    private static final long WAKE = -1;
    private static final long LISTENER = -2;

    private final String host;
    private final int requestedPort;
    private final int workers;
    private final Handler handler;
    private int port;
    private int listenFd = -1;
    private Epoll epoll;
    private EventFd wake;
    private Thread loop;
    private ThreadPoolExecutor pool;
    private volatile boolean closed;

    // Shared with the workers.
    private final ConcurrentLinkedQueue<Connection.Completion> completions = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger();

    // Owned by the loop thread.
    private Connection[] byFd = new Connection[1024];
    private final ArrayDeque<Connection> owed = new ArrayDeque<>();
    private final List<Connection> dirty = new ArrayList<>();
    private boolean listenerOwed;
    private final AcceptPause acceptPause = new AcceptPause("day05");
    private final byte[] in = new byte[READ_SIZE];
    private final ByteBuffer inView = ByteBuffer.wrap(in);
    private Connection reading;   // the connection whose lines the framer is handing us

    // Read from other threads.
    private volatile int connectionCount;
    private volatile int readPaused;
    private volatile int largestOutbox;
    private volatile long wakeups;
    private volatile long heldForOrder;

    public ReactorServer(String host, int port, int workers, Handler handler) {
        if (workers < 1) throw new IllegalArgumentException("workers must be positive");
        this.host = host;
        this.requestedPort = port;
        this.workers = workers;
        this.handler = handler;
    }

    @Override
    public void start() throws IOException {
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            epoll = new Epoll();
            wake = new EventFd();
            epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
            epoll.add(listenFd, Epoll.EPOLLIN | Epoll.EPOLLET, LISTENER);
        } catch (SyscallException e) {
            releaseFds(true);
            throw e;
        }
        // Fixed size (core == max), every thread started now and kept: the pool does not grow
        // with the load, which is the point. The queue is bounded; when it is full the loop
        // waits for room (blocking the loop is global backpressure, and cannot deadlock: a
        // worker never waits for the loop). The per-connection bound (Connection.MAX_IN_FLIGHT)
        // keeps that rare. Platform threads, though a blocking handler would suit virtual ones:
        // this keeps "N threads" literally N, and day 2 already showed virtual threads.
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(QUEUE_CAPACITY),
                r -> Thread.ofPlatform().name("day05-worker-" + n.incrementAndGet()).daemon(true).unstarted(r),
                (task, executor) -> waitForRoom(task, executor));
        pool.prestartAllCoreThreads();
        loop = Thread.ofPlatform().name("day05-reactor").start(this::run);
    }

    private void waitForRoom(Runnable task, ThreadPoolExecutor executor) {
        try {
            while (!closed && !executor.isShutdown()) {
                if (executor.getQueue().offer(task, 50, TimeUnit.MILLISECONDS)) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public int port() {
        return port;
    }

    private void run() {
        try (Epoll.Events events = new Epoll.Events(256)) {
            while (!closed) {
                int timeout = !owed.isEmpty() || listenerOwed ? 0 : acceptPause.timeoutMillis();
                int n = events.waitFor(epoll, timeout);
                wakeups++;
                for (int i = 0; i < n; i++) {
                    long data = events.data(i);
                    if (data == WAKE) {
                        // Order matters: clear the flag BEFORE draining the completion queue
                        // below. A worker that queues after our drain sees false and signals
                        // again; one that queued before we cleared it is drained below.
                        wake.drain();
                        wakePending.set(false);
                    } else if (data == LISTENER) {
                        acceptAll();
                    } else {
                        handle(byFd[(int) data], events.events(i));
                    }
                }
                events.growIfFull(n);
                drainCompletions();
                serveOwed();
                resumeAcceptingIfDue();
            }
        } catch (SyscallException e) {
            System.err.println("day05: " + e.getMessage());
        } finally {
            for (Connection c : byFd) if (c != null) c.close();
            Arrays.fill(byFd, null);
            connectionCount = 0;
        }
    }

    private void handle(Connection c, int events) throws SyscallException {
        if (c == null) return;                      // closed earlier in this batch
        if ((events & Epoll.EPOLLERR) != 0) {
            c.broken = true;                        // reset: in-flight answers are dropped when they come
        } else {
            // Both directions, independently: an "else" here would lose the write edge for good.
            if ((events & Epoll.EPOLLOUT) != 0) c.flush();
            // EPOLLHUP while paused or done: update() flushes what waits, and a gone peer
            // makes that send fail (EPIPE), which marks the connection broken.
            if ((events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) read(c);
        }
        update(c);
    }

    /**
     * Reads up to the budget (edge-triggered: until EAGAIN, or we owe the connection a turn)
     * and submits each complete line as a request.
     */
    private void read(Connection c) {
        for (int reads = 0; reads < READS_PER_TURN; reads++) {
            if (!c.wantsRead()) return;
            int n;
            try {
                n = Sockets.recv(c.fd, in, 0, in.length);
            } catch (SyscallException e) {
                c.broken = true;
                return;
            }
            if (n == Sockets.WOULD_BLOCK) return;
            if (n == 0) {
                // FIN (half-close): the requests already read are still answered, in order,
                // before we close; the unterminated tail is dropped (the protocol says so).
                c.framer.discardPartial();
                c.inputDone = true;
                return;
            }
            inView.clear().limit(n);
            reading = c;
            boolean ok;
            try {
                ok = c.framer.feed(inView, this::submit);
            } catch (IOException impossible) {
                throw new AssertionError(impossible);
            }
            if (!ok) {
                // The error must come after the answers to the lines before it, which may still
                // be with the workers: it takes the next sequence number, already "finished".
                long seq = c.reserve(0);
                c.complete(new Connection.Completion(c, seq, 0, Protocol.ERR_LINE_TOO_LONG));
                c.inputDone = true;
                return;
            }
            if (c.overHighWater()) return;   // update() pauses it
        }
        owed.add(c);   // budget spent, data may remain, and edge-triggered epoll will not say so again
    }

    /** The framer's sink: the line lives in our read buffer only during this call, so copy it. */
    private void submit(ByteBuffer buf, int start, int end) {
        Connection c = reading;
        byte[] line = new byte[end - start];
        buf.get(start, line, 0, line.length);
        long seq = c.reserve(line.length);
        inFlight.incrementAndGet();
        pool.execute(() -> work(c, seq, line));
    }

    /** On a worker thread. Touches nothing of the connection but its closed flag. */
    private void work(Connection c, long seq, byte[] line) {
        byte[] response;
        if (c.closed) {
            response = null;                                 // nobody left to answer: skip the work
        } else {
            try {
                response = handler.handle(line);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();          // shutting down
                response = null;
            } catch (Exception | Error e) {
                response = Handlers.ERR_HANDLER_FAILED;
            }
        }
        completions.add(new Connection.Completion(c, seq, line.length, response));
        if (!wakePending.getAndSet(true)) wake.signal();
    }

    /**
     * Takes finished requests back, files each under its connection, then per connection:
     * release what is next in order, send it, and decide reading and EPOLLOUT.
     */
    private void drainCompletions() throws SyscallException {
        Connection.Completion done;
        while ((done = completions.poll()) != null) {
            inFlight.decrementAndGet();
            Connection c = done.connection();
            // Reset while its requests were with the workers: the object is closed, and its fd
            // number may already belong to a new client. We never look it up by number, so
            // the late answer cannot reach that client; it is simply dropped.
            if (c.closed) continue;
            if (done.seq() != c.nextToSend) heldForOrder++;   // finished before an earlier request
            c.complete(done);
            if (!c.dirty) {
                c.dirty = true;
                dirty.add(c);
            }
        }
        for (Connection c : dirty) {
            c.dirty = false;
            if (!c.closed) update(c);
        }
        dirty.clear();
    }

    private void serveOwed() throws SyscallException {
        for (int k = owed.size(); k > 0; k--) {
            Connection c = owed.poll();
            if (c.closed) continue;
            read(c);
            update(c);
        }
        if (listenerOwed) acceptAll();
    }

    /**
     * After anything happened to a connection: release and send what is ready, close it if
     * done, apply backpressure, and make the kernel's interest match.
     */
    private void update(Connection c) throws SyscallException {
        if (c.releaseInOrder() || !c.outbox.isEmpty()) c.flush();
        if (c.isFinished()) {
            drop(c);
            return;
        }
        if (c.outbox.size() > largestOutbox) largestOutbox = c.outbox.size();
        if (!c.readPaused && !c.inputDone && c.overHighWater()) {
            c.readPaused = true;
        } else if (c.readPaused && c.underLowWater()) {
            c.readPaused = false;
            owed.add(c);   // bytes may have arrived while paused, and their edge is gone
        }
        // Two reasons stop reading here: the peer does not read its answers, or the pool is
        // behind on this connection's requests. Only the first is what readPausedCount()
        // reports ("held back because its peer is not reading"): output the kernel refused is
        // waiting. The second comes and goes with the workers' pace and says nothing about the peer.
        boolean peerBehind = c.readPaused && !c.outbox.isEmpty();
        if (peerBehind != c.countedAsPaused) {
            c.countedAsPaused = peerBehind;
            readPaused += peerBehind ? 1 : -1;
        }
        // Reading stays registered while paused: an edge-triggered event we ignore costs one
        // wake-up, less than an epoll_ctl each way. EPOLLOUT only while output waits.
        int want = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET | (c.outbox.isEmpty() ? 0 : Epoll.EPOLLOUT);
        if (want != c.interest) {
            epoll.modify(c.fd, want, c.fd);
            c.interest = want;
        }
    }

    private void acceptAll() throws SyscallException {
        listenerOwed = false;
        for (int accepted = 0; accepted < ACCEPTS_PER_TURN; accepted++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                if (e.errno() != Errno.EMFILE && e.errno() != Errno.ENFILE) throw e;
                if (acceptPause.begin(e)) epoll.modify(listenFd, 0, LISTENER);   // day 3's AcceptPause
                return;
            }
            if (fd == Sockets.WOULD_BLOCK) return;
            add(fd);
        }
        listenerOwed = true;   // edge-triggered: the connections still queued make no new edge
    }

    /**
     * Out of fds: nginx's answer (stop watching the listener, retry after a pause) rather than
     * day 4's spare fd, so both day-5 modes share one policy; in shared mode several threads
     * may accept, and the spare-fd trick is not reliable there.
     */
    private void resumeAcceptingIfDue() throws SyscallException {
        if (acceptPause.endIfDue()) {
            // EPOLL_CTL_MOD checks readiness at once: connections queued meanwhile are reported.
            epoll.modify(listenFd, Epoll.EPOLLIN | Epoll.EPOLLET, LISTENER);
        }
    }

    private void add(int fd) throws SyscallException {
        if (fd >= byFd.length) byFd = Arrays.copyOf(byFd, Math.max(fd + 1, byFd.length * 2));
        Connection c = new Connection(fd, fd);
        byFd[fd] = c;
        c.interest = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET;
        epoll.add(fd, c.interest, fd);   // data that came before this is reported at once
        connectionCount++;
    }

    private void drop(Connection c) throws SyscallException {
        if (c.countedAsPaused) readPaused--;
        // Deregister before close: the registration belongs to the open file description.
        epoll.delete(c.fd);
        byFd[c.fd] = null;
        c.close();   // sets closed: completions still with the workers will be dropped
        connectionCount--;
    }

    @Override
    public int workerThreads() {
        return workers;
    }

    /** The pool's actual thread count, and the most it ever had: both stay {@link #workerThreads()}. */
    public int poolSize() {
        return pool.getPoolSize();
    }

    public int largestPoolSize() {
        return pool.getLargestPoolSize();
    }

    @Override
    public long requestsInFlight() {
        return inFlight.get();
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

    /** Responses that finished before an earlier request of their connection and had to wait. */
    public long heldForOrder() {
        return heldForOrder;
    }

    public long wakeups() {
        return wakeups;
    }

    /**
     * Stops the loop (which closes every connection), then the pool, then the fds. The eventfd
     * is closed only once no worker can signal it any more: a worker writing to a closed
     * eventfd's number could write into whatever fd got that number next (Netty #9362).
     */
    @Override
    public void close() {
        if (closed || loop == null) return;
        closed = true;
        wake.signal();
        boolean workersDone = false;
        try {
            loop.join();
            pool.shutdownNow();   // interrupts handlers that block; queued requests are dropped
            workersDone = pool.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!workersDone) {
            System.err.println("day05: a handler ignores interrupts; leaving the eventfd open rather than risk a stray write");
        }
        releaseFds(workersDone);
        System.err.println(this + ": " + wakeups + " epoll_wait wake-ups");
    }

    private void releaseFds(boolean closeWake) {
        if (listenFd >= 0) Sockets.close(listenFd);
        if (epoll != null) epoll.close();
        if (wake != null && closeWake) wake.close();
        listenFd = -1;
        epoll = null;
    }

    @Override
    public String toString() {
        return "day05 reactor (" + workers + " workers)";
    }
}
