package c10k.day05;

import c10k.day03.NativeConnection;
import c10k.day03.Replies;
import c10k.day04.EpollServer;
import c10k.day04.EventLoop;
import c10k.day04.LoopExtension;
import c10k.day04.Tuning;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Day 5, {@code --mode reactor}: day 4's loop does all the I/O, a fixed pool does the work.
 *
 * <pre>
 *   loop thread:  epoll_wait ─► recv one read ─► batch ──► work queue (bounded, published ──► N workers:
 *                     ▲                                       once per pass)              frame the read,
 *                     │                                                                   handler per line,
 *   eventfd ◄─── done stack (the same batch, now holding the answers) ◄──────────────────── answers into the batch
 *   (written only if the loop is about to block)
 *                     │
 *                     └─► send first, EPOLLOUT only after EAGAIN; read that connection again
 *                         only if the read filled the buffer or an edge came meanwhile
 * </pre>
 *
 * <p>What this class adds to day 4's {@link EventLoop} is one idea: a read becomes a task for
 * the pool, and its answers come back to the loop. Everything else (accepting, interest, the
 * outbox and backpressure, timers, shutdown) is the engine's, unchanged.
 *
 * <p>The unit of hand-off is a <em>read</em>, not a line: one {@link ReadBatch}, framed by the
 * worker (its page says why and what it bounds). A connection has at most one batch with the
 * workers at a time, and the loop does not read it again until the batch comes back: that is
 * the per-connection bound, enforced before a byte is framed, and it keeps the answers in
 * order with no reordering step. At most {@value #QUEUE_CAPACITY} batches wait for a worker,
 * across all connections; when the queue is full the loop does not block (that would stop I/O
 * for everyone) but leaves that connection unread, on a waiting list, until a worker frees a
 * place.
 *
 * <p>The loop thread alone reads, writes, registers and closes fds; workers see only their
 * batch and the connection's framer and session, which travel with it. So no fd is ever read
 * or written by two threads without a lock. (Letting workers {@code send()} themselves, through
 * {@link WorkerWrite}, is where day 6 starts, and meets the fd-reuse race.)
 *
 * <p>Waking the loop: workers put finished batches on a lock-free stack, and signal the loop's
 * eventfd only if the loop is about to block ({@link #loopAsleep}).
 */
public class ReactorServer extends EpollServer implements ThreadedServer {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");
    static final int READ_SIZE = 64 * 1024;
    /** Batches waiting for a worker, all connections together. */
    static final int QUEUE_CAPACITY = 64;
    /** Spare batches kept for reuse: enough for every batch that can be out at once in a busy server. */
    private static final int SPARES_KEPT = 256;

    /** A day 4 connection plus what the pool needs: the batch in flight, and the handler's session. */
    public static class Conn extends NativeConnection {
        final Handler.Session session = new Handler.Session();
        ReadBatch batch;            // with the workers, or null
        boolean waiting;        // on the waiting list for room in the queue
        boolean edgeWhileOut;   // an event came while the batch was with the workers: read again on its return
        boolean lineArrived;    // a read that went out held a complete line

        protected Conn(int fd) {
            super(fd);
        }

        /** On the loop thread: {@code b} goes out with what its worker needs, our framer and session. */
        void handTo(ReadBatch b) {
            b.conn = this;
            b.framer = framer();
            b.session = session;
            batch = b;
        }

        /** Its batch is with the workers: not finished until it is back, and its framer is theirs. */
        @Override
        protected final boolean answersOutstanding() {
            return batch != null;
        }

        /** A line is activity, for the idle clock, when it arrives: not when its answer is back. */
        @Override
        public final boolean takeActivity() {
            boolean a = super.takeActivity() | lineArrived;
            lineArrived = false;
            return a;
        }
    }

    /**
     * The one point of the reactor that day 4's {@link LoopExtension} has no word for, since it runs on a
     * worker and a layer runs on the loop: once a batch is answered, the worker may send the
     * answers itself. Returns how many bytes the kernel took; the loop sends the rest, in order.
     */
    @FunctionalInterface
    public interface WorkerWrite {
        int write(Conn c, Replies answers);
    }

    private final int workers;
    private final Handler handler;
    private final WorkQueue<ReadBatch> work = new WorkQueue<>(QUEUE_CAPACITY);
    private final AtomicReference<ReadBatch> done = new AtomicReference<>();
    /**
     * Set by the loop just before {@code epoll_wait}, cleared when it looks at its answers. The
     * loop writes it and then reads {@link #done}; a worker writes {@code done} and then reads
     * it. Both are volatile, so at least one of the two sees the other's write: either the loop
     * finds the answer and does not block, or the worker signals the eventfd. A busy loop takes
     * its answers with no system call on either side: Netty's {@code wakenUp} protocol.
     */
    private final AtomicBoolean loopAsleep = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile EventLoop loop;
    private final HandOff handOff = new HandOff();
    private LoopExtension clients;             // null: a Conn per client, closed on release
    private WorkerWrite workerWrite;   // null: the loop sends every answer

    // The loop thread's own.
    private final ArrayDeque<ReadBatch> spare = new ArrayDeque<>();
    private final ArrayDeque<Conn> waitingForRoom = new ArrayDeque<>();

    public ReactorServer(String host, int port, int workers, Handler handler) {
        super(host, port);
        if (workers < 1) throw new IllegalArgumentException("workers must be positive");
        this.workers = workers;
        this.handler = handler;
    }

    /** Before {@link #start}: who the clients are (a {@link LoopExtension} whose accepted gives a {@link Conn}), and a worker's own write. */
    protected final void plugIn(LoopExtension clients, WorkerWrite workerWrite) {
        if (loop != null) throw new IllegalStateException("already started");
        this.clients = clients;
        this.workerWrite = workerWrite;
    }

    /** Day 4's one loop, with the hand-off as its layer; the pool starts with it and stops in {@link #loopEnded}. */
    @Override
    protected List<EventLoop> newLoops(int[] listenFds) {
        NativeConnection.LoopBuffers buffers = new NativeConnection.LoopBuffers(READ_SIZE, NativeConnection.ECHO, stats.newCounters());
        work.startWorkers(workers, "day05-worker-", this::answer);
        spare.push(new ReadBatch(handler));   // loaded now: out of fds, a class file could not be opened at the first read
        loop = new EventLoop("day05-reactor", listenFds[0], Tuning.EDGE.withoutSpareFd(), handOff, buffers, timeouts, clock);
        return List.of(loop);
    }

    /** The hand-off, as day 4's extension points; accepting and releasing are the clients' layer's. */
    private final class HandOff implements LoopExtension {
        @Override
        public NativeConnection accepted(EventLoop loop, int fd) {
            return clients == null ? new Conn(fd) : clients.accepted(loop, fd);
        }

        @Override
        public void release(EventLoop loop, NativeConnection c) {
            if (clients == null) c.close();
            else clients.release(loop, c);
        }

        @Override
        public boolean readable(EventLoop loop, NativeConnection nc) {
            Conn c = (Conn) nc;
            if (c.batch != null) {                         // with the workers: read again when it comes back
                c.edgeWhileOut = true;
                return false;
            }
            if (c.isLingering()) return c.readAndAnswer(loop.buffers, 16);   // closing: input is dropped
            if (!c.wantsRead()) return false;
            if (!work.hasRoom()) {                         // the pool is behind: pause this one, never block
                if (!c.waiting) {
                    c.waiting = true;
                    waitingForRoom.add(c);
                }
                return false;
            }
            // Read into the loop's one 64 KiB buffer, then copy what came into a batch sized to fit:
            // a batch that left with 300 bytes does not pin 64 KiB while it waits for a worker.
            byte[] read = loop.buffers.in;
            c.edgeWhileOut = false;                        // this recv takes whatever the edge announced
            int n = c.receive(read, 0, read.length, loop.buffers.counters);
            if (n == 0) return false;                      // EAGAIN, end of stream or reset: recorded by receive
            // A newline completes a line: activity for the idle clock now, when the line arrived,
            // not when its answer is back. Bytes with no newline (a dripper's) restart nothing.
            for (int i = 0; i < n; i++) {
                if (read[i] == '\n') {
                    c.lineArrived = true;
                    break;
                }
            }
            ReadBatch b = spare.isEmpty() ? new ReadBatch(handler) : spare.poll();
            b.fill(read, n);
            c.handTo(b);
            inFlight.incrementAndGet();
            work.add(b);                                   // room was checked above; published at the end of the pass
            return false;
        }

        @Override
        public boolean beforeWait(EventLoop loop) {
            loopAsleep.set(true);                          // first the flag, then the look: see loopAsleep
            return done.get() != null;                     // answers came since afterEvents: do not block
        }

        @Override
        public void afterEvents(EventLoop loop) {
            // Awake: workers need not signal. One that finishes after the drain below is seen by
            // beforeWait, which then does not let the loop block.
            loopAsleep.set(false);
            ReadBatch b = done.getAndSet(null);                // every finished batch at once, newest first
            while (b != null) {
                ReadBatch next = b.nextDone;
                b.nextDone = null;
                answered(loop, b);
                b = next;
            }
            while (!waitingForRoom.isEmpty() && work.hasRoom()) {
                Conn c = waitingForRoom.poll();
                c.waiting = false;
                if (c.isClosed()) continue;
                readable(loop, c);
                loop.update(c);
            }
            work.publish();                                // this pass's batches, one wake-up per idle worker
        }
    }

    /** On the loop thread: a batch is back. Send its answers first, then read that connection again. */
    private void answered(EventLoop loop, ReadBatch b) {
        Conn c = b.conn;
        inFlight.decrementAndGet();
        c.batch = null;
        if (!c.isClosed()) {
            // Else closed while its batch was out (a reset), its number perhaps a new client's by
            // now: never looked up by number, the late answer cannot reach that client; dropped.
            if (b.lines > 0) loop.buffers.counters.lines(b.lines);
            c.sendFirst(b.out.array(), b.sent, b.out.length(), loop.buffers);
            if (b.refused) c.stopReading();
            // The socket may hold more: the read filled the buffer, or an edge came while the
            // batch was out (and was only noted). Otherwise the short read left it empty, and the
            // next byte brings an edge of its own: no recv just to hear EAGAIN.
            if (c.wantsRead() && (c.edgeWhileOut || !c.drained())) handOff.readable(loop, c);
            loop.update(c);
        }
        b.recycle();
        if (spare.size() < SPARES_KEPT) spare.push(b);
    }

    /** A worker: frame the batch's bytes with the connection's framer, answer each line into the batch, hand it back. */
    private void answer(ReadBatch b) throws InterruptedException {
        b.frameAndAnswer();
        b.sent = workerWrite == null ? 0 : workerWrite.write(b.conn, b.out);
        // A lock-free stack (Treiber's): one CAS, no node to allocate as a queue would.
        // The loop takes the whole stack at once; order between connections is free.
        ReadBatch top;
        do {
            top = done.get();
            b.nextDone = top;
        } while (!done.compareAndSet(top, b));
        EventLoop l = loop;
        // Signal only a loop that may be blocking, and only once: the first worker to
        // see the flag clears it, the others leave the loop to drain them all.
        if (loopAsleep.get() && loopAsleep.getAndSet(false) && l != null) l.wakeup();
    }

    /** The loop has ended: stop the workers; the engine closes the eventfd only once none can signal it. */
    @Override
    protected boolean loopEnded() {
        boolean allDone = work.stopWorkers();
        if (!allDone) LOG.log(Level.WARNING, "a handler ignores interrupts; leaving the eventfd open rather than risk a stray write");
        return allDone;
    }

    @Override
    public int workerThreads() { return workers; }

    /** Worker threads alive now; stays {@link #workerThreads()} whatever the load. */
    public int poolSize() {
        return work.workersAlive();
    }

    /** Worker threads ever started: also {@link #workerThreads()}. */
    public int largestPoolSize() {
        return work.workersStarted();
    }

    @Override
    public long requestsInFlight() {
        return inFlight.get();
    }

    @Override
    public String toString() {
        return "day05 reactor (" + workers + " workers)";
    }
}
