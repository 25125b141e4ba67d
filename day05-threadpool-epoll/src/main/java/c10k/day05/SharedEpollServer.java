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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Day 5, {@code --mode shared}: N threads, one epoll fd, every thread calls {@code epoll_wait}
 * on it and handles what it gets, handler included (EServer's design).
 *
 * <p>No queue and no hand-off: the thread that reads a line runs the handler and writes the
 * answer, so N requests on N connections are served in parallel. The price is the rule the
 * reactor got for free: <b>never two threads reading, or two writing, one fd at once</b>.
 * Edge-triggered mode does not give it. "Edge" means one event per arrival of data, not one
 * event at a time: while thread A is still reading a connection, new bytes make a new edge,
 * and thread B, waiting in its own {@code epoll_wait}, gets {@code EPOLLIN} for the same fd
 * (epoll(7); EServer's notes: "not really edge-triggered" with threads). Two readers would
 * split one byte stream between two framers; two writers would interleave partial sends.
 *
 * <p>The rule is kept with {@code EPOLLONESHOT}: after reporting an event the kernel disarms
 * the fd, so no other thread hears of it, until its owner re-arms it with
 * {@code EPOLL_CTL_MOD} when done. The alternative is EServer's per-connection flag (CAS to
 * own; a "more arrived" flag re-checked before letting go, or an event that came meanwhile is
 * lost). ONESHOT was chosen because the kernel does the bookkeeping, and there is no window
 * in which an event can slip between "I'm done" and "I let go"; writes obey it too, since
 * {@code EPOLLIN} and {@code EPOLLOUT} come in one event to one owner. Its cost: one extra
 * {@code epoll_ctl} per event handled. It is also what the JDK's own poller behind virtual
 * threads does ({@code EPollPoller}). {@link Connection#owned} stays as an assertion.
 *
 * <p>ONESHOT also replaces day 4's owed list: when a connection spends its read budget with
 * data left, re-arming it is enough, because {@code EPOLL_CTL_MOD} checks readiness on the
 * spot and queues the fd again at the back of the ready list, for whichever thread is free.
 *
 * <p>The listener is registered the same way ({@code EPOLLIN | EPOLLET | EPOLLONESHOT}): one
 * new connection wakes one thread, which owns accepting until it re-arms. Why this and not
 * {@code EPOLLEXCLUSIVE}: that flag (Linux 4.5, {@code EPOLL_CTL_ADD} only, never with
 * ONESHOT) is for <em>several</em> epoll fds attached to one listener, the layout of nginx's
 * worker processes; it makes the listener wake one epoll instead of all. Here there is one
 * epoll instance, and threads waiting in {@code epoll_wait} on it already queue exclusively:
 * one new event wakes one of them (fs/eventpoll.c, {@code ep_poll}). The herd on a shared epoll
 * comes from level-triggered items instead: after handing one out, epoll puts it back on the
 * ready list and wakes the next waiter, which finds nothing to accept, and so on.
 * Edge-triggered stops the cascade; ONESHOT also keeps two threads from contending on
 * {@code accept4}'s queue lock.
 */
public final class SharedEpollServer implements PooledServer {

    static final int READ_SIZE = 64 * 1024;
    static final int READS_PER_TURN = 16;
    static final int ACCEPTS_PER_TURN = 256;
    /**
     * Events taken per {@code epoll_wait}, kept small on purpose: what one thread takes, it
     * handles alone (ONESHOT disarmed them for everyone else), so a big batch would leave the
     * other threads idle while this one works through it.
     */
    static final int EVENTS_PER_WAIT = 16;
    private static final long WAKE = -1;
    private static final long LISTENER = -2;
    private static final int CONNECTION_EVENTS = Epoll.EPOLLET | Epoll.EPOLLONESHOT;

    private final String host;
    private final int requestedPort;
    private final int threadCount;
    private final Handler handler;
    private int port;
    private int listenFd = -1;
    private Epoll epoll;
    private EventFd wake;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    /** Connections by id, the epoll {@code data}. Any thread may look one up. */
    private final ConcurrentHashMap<Long, Connection> connections = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong();
    /** Non-zero while accepting is paused for lack of fds: when to re-arm the listener. */
    private final AcceptPause acceptPause = new AcceptPause("day05");

    private final AtomicInteger readPaused = new AtomicInteger();
    private final AtomicInteger largestOutbox = new AtomicInteger();
    private final AtomicLong wakeups = new AtomicLong();

    public SharedEpollServer(String host, int port, int threads, Handler handler) {
        if (threads < 1) throw new IllegalArgumentException("threads must be positive");
        this.host = host;
        this.requestedPort = port;
        this.threadCount = threads;
        this.handler = handler;
    }

    @Override
    public void start() throws IOException {
        listenFd = Sockets.listen(host, requestedPort, 4096);
        try {
            port = Sockets.localPort(listenFd);
            epoll = new Epoll();
            wake = new EventFd();
            // Level-triggered and never drained: one signal at shutdown and every thread wakes
            // in turn (the cascade described above, wanted this time).
            epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE);
            epoll.add(listenFd, Epoll.EPOLLIN | Epoll.EPOLLET | Epoll.EPOLLONESHOT, LISTENER);
        } catch (SyscallException e) {
            releaseFds();
            throw e;
        }
        // Platform threads: every FFM downcall (epoll_wait above all) would pin a virtual
        // thread to its carrier anyway.
        for (int i = 0; i < threadCount; i++) {
            threads.add(Thread.ofPlatform().name("day05-shared-" + (i + 1)).start(new Loop()));
        }
    }

    @Override
    public int port() {
        return port;
    }

    /** One thread's loop and its own buffers: nothing here is shared with the other threads. */
    private final class Loop implements Runnable {
        private final byte[] in = new byte[READ_SIZE];
        private final ByteBuffer inView = ByteBuffer.wrap(in);
        private byte[] replies = new byte[READ_SIZE];
        private int replyLength;
        /** Runs the handler on each line as the framer finds it, on this thread. */
        private final c10k.day01.LineFramer.LineSink answer = this::answer;
        /** The connection whose lines {@link #answer} is handling. */
        private Connection current;

        @Override
        public void run() {
            try (Epoll.Events events = new Epoll.Events(EVENTS_PER_WAIT)) {
                while (!closed) {
                    int n = events.waitFor(epoll, acceptPause.timeoutMillis());
                    wakeups.incrementAndGet();
                    for (int i = 0; i < n && !closed; i++) {
                        long data = events.data(i);
                        if (data == WAKE) break;                 // shutdown
                        if (data == LISTENER) acceptBatch();
                        else handle(connections.get(data), events.events(i));
                    }
                    resumeAcceptingIfDue();
                }
            } catch (SyscallException e) {
                System.err.println("day05: " + Thread.currentThread().getName() + ": " + e.getMessage());
            }
        }

        private void handle(Connection c, int events) throws SyscallException {
            if (c == null) return;
            if (!c.owned.compareAndSet(false, true)) {
                throw new IllegalStateException("two threads on connection " + c.id + ": EPOLLONESHOT broken?");
            }
            if ((events & Epoll.EPOLLERR) != 0) {
                c.broken = true;
            } else {
                // Both directions, independently: an "else" would lose the write edge.
                if ((events & Epoll.EPOLLOUT) != 0) c.flush();
                if ((events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) read(c);
            }
            if (c.isFinished()) {
                drop(c);   // still ours: nobody else can get an event for it
                return;
            }
            if (!c.readPaused && c.outbox.isFull()) {
                c.readPaused = true;
                readPaused.incrementAndGet();
            } else if (c.readPaused && c.outbox.hasRoom()) {
                c.readPaused = false;
                readPaused.decrementAndGet();
            }
            largestOutbox.accumulateAndGet(c.outbox.size(), Math::max);
            // While paused, EPOLLIN stays out of the mask: MOD would report the unread data at
            // once, and we would spin re-arming a connection we refuse to read.
            int want = CONNECTION_EVENTS
                    | (c.wantsRead() ? Epoll.EPOLLIN | Epoll.EPOLLRDHUP : 0)
                    | (c.outbox.isEmpty() ? 0 : Epoll.EPOLLOUT);
            // Let go BEFORE re-arming: the moment MOD returns, another thread may own it.
            c.owned.set(false);
            epoll.modify(c.fd, want, c.id);
        }

        /** Reads up to the budget; each line is handled here and now, and answered send-first. */
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
                    c.framer.discardPartial();   // half-close: complete lines are answered already
                    c.inputDone = true;
                    return;
                }
                replyLength = 0;
                inView.clear().limit(n);
                boolean ok;
                current = c;
                try {
                    ok = c.framer.feed(inView, answer);
                } catch (IOException impossible) {
                    throw new AssertionError(impossible);
                }
                if (c.session.closeAfterReply) {
                    c.inputDone = true;                   // the handler's last word: close once sent
                } else if (!ok) {
                    append(Protocol.ERR_LINE_TOO_LONG);   // after the answers to the lines before it
                    c.inputDone = true;
                }
                sendFirst(c);
                if (c.inputDone || c.outbox.isFull()) return;
            }
            // Budget spent, data may remain: no owed list needed, re-arming reports it again.
        }

        private void answer(ByteBuffer buf, int start, int end) {
            if (current.session.closeAfterReply) return;   // the rest of this read is not read
            byte[] line = new byte[end - start];   // the handler may keep it; our buffer is reused
            buf.get(start, line, 0, line.length);
            byte[] response;
            try {
                response = handler.handle(current.session, line);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                response = null;
            } catch (Exception | Error e) {
                response = Handlers.ERR_HANDLER_FAILED;
            }
            if (response != null) append(response);
        }

        private void append(byte[] bytes) {
            if (replyLength + bytes.length > replies.length) {
                replies = java.util.Arrays.copyOf(replies, Math.max(replies.length * 2, replyLength + bytes.length));
            }
            System.arraycopy(bytes, 0, replies, replyLength, bytes.length);
            replyLength += bytes.length;
        }

        /** Send what this read produced; queue only what the kernel refused, behind older bytes. */
        private void sendFirst(Connection c) {
            int sent = 0;
            if (c.outbox.isEmpty()) {
                try {
                    while (sent < replyLength) {
                        int n = Sockets.send(c.fd, replies, sent, replyLength - sent);
                        if (n == Sockets.WOULD_BLOCK) break;
                        sent += n;
                    }
                } catch (SyscallException e) {
                    c.broken = true;
                    return;
                }
            }
            if (sent < replyLength) c.outbox.append(replies, sent, replyLength);
            if (replies.length > 4 * READ_SIZE) replies = new byte[READ_SIZE];   // one huge answer: don't keep it
        }
    }

    private void acceptBatch() throws SyscallException {
        for (int accepted = 0; accepted < ACCEPTS_PER_TURN; accepted++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                if (e.errno() != Errno.EMFILE && e.errno() != Errno.ENFILE) throw e;
                acceptPause.begin(e);
                return;                       // the listener stays disarmed until the pause ends
            }
            if (fd == Sockets.WOULD_BLOCK) break;
            add(fd);
        }
        // Re-arm. If connections are still queued (budget spent), MOD reports them at once.
        epoll.modify(listenFd, Epoll.EPOLLIN | Epoll.EPOLLET | Epoll.EPOLLONESHOT, LISTENER);
    }

    /**
     * Out of fds: nginx's way (day 3's {@link AcceptPause}). The listener is simply not
     * re-armed (ONESHOT already disarmed it), and the first thread to wake after the pause
     * re-arms it. Day 4's spare fd is not
     * used: its close-accept-reopen dance assumes nothing else opens an fd in between, and
     * with N threads accepting over time, that assumption is weaker than a timer.
     */
    private void resumeAcceptingIfDue() throws SyscallException {
        if (acceptPause.endIfDue()) {
            epoll.modify(listenFd, Epoll.EPOLLIN | Epoll.EPOLLET | Epoll.EPOLLONESHOT, LISTENER);
        }
    }

    private void add(int fd) throws SyscallException {
        Connection c = new Connection(fd, nextId.incrementAndGet());
        // In the table before it is registered: the first event may reach another thread
        // before epoll_ctl has even returned here.
        connections.put(c.id, c);
        epoll.add(fd, CONNECTION_EVENTS | Epoll.EPOLLIN | Epoll.EPOLLRDHUP, c.id);
    }

    /** By the owner only. */
    private void drop(Connection c) throws SyscallException {
        if (c.readPaused) readPaused.decrementAndGet();
        epoll.delete(c.fd);   // before close: the registration belongs to the open file description
        connections.remove(c.id);
        c.close();
    }

    @Override
    public int workerThreads() {
        int alive = 0;
        for (Thread t : threads) if (t.isAlive()) alive++;
        return alive;
    }

    @Override
    public int connectionCount() {
        return connections.size();
    }

    @Override
    public int readPausedCount() {
        return readPaused.get();
    }

    @Override
    public int largestOutbox() {
        return largestOutbox.get();
    }

    public long wakeups() {
        return wakeups.get();
    }

    /**
     * From any thread: raise the flag, signal the eventfd (every waiting thread wakes, see
     * {@link #start}), wait for all threads, then close what is left. Once every thread has
     * ended nobody owns a connection, so closing them here races with nothing.
     */
    @Override
    public void close() {
        if (closed || threads.isEmpty()) return;
        closed = true;
        wake.signal();
        // The eventfd wakes threads waiting in epoll_wait; a thread inside a handler that
        // blocks (a lock, a latch, a sleep) hears of shutdown only through an interrupt.
        for (Thread t : threads) t.interrupt();
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Connection c : connections.values()) c.close();
        connections.clear();
        releaseFds();
        System.err.println(this + ": " + wakeups + " epoll_wait wake-ups");
    }

    private void releaseFds() {
        if (listenFd >= 0) Sockets.close(listenFd);
        if (epoll != null) epoll.close();
        if (wake != null) wake.close();
        listenFd = -1;
        epoll = null;
        wake = null;
    }

    @Override
    public String toString() {
        return "day05 shared (" + threadCount + " threads on one epoll)";
    }
}
