package c10k.day02;

import c10k.day01.AcceptingServer;
import c10k.day01.BlockingEchoServer;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Day 2, second answer: bound the threads. A fixed pool of N workers takes accepted
 * connections from a queue and serves each one, with day 1's blocking code, until it leaves
 * (the accept loop is day 1's too, {@link AcceptingServer}).
 *
 * <p>This caps memory and scheduling cost, and it is exactly what fails with long-lived
 * connections: a worker is tied to its client for the client's whole life, busy or idle. N
 * polite clients that connect and say nothing hold all N workers; client N+1 is accepted by
 * the kernel, queued here, and never answered until one of them leaves. A denial of service
 * that needs no attack, only keep-alive.
 */
public final class PooledServer extends AcceptingServer {

    /** Connections allowed to wait for a worker; past this a newcomer is told and closed. */
    public static final int QUEUE_LIMIT = 1024;
    static final byte[] ERR_BUSY = "ERR server busy\n".getBytes(StandardCharsets.US_ASCII);

    private final int workers;
    private final int queueLimit;
    private final Timeouts timeouts;
    private final LongSupplier nanoTime;
    /** Each worker's own counters (a fixed set of threads, so a fixed set of counters). */
    private final ThreadLocal<Stats.Counters> counters = ThreadLocal.withInitial(stats::newCounters);
    private final Stats.Counters acceptorCounters = stats.newCounters();
    private final AtomicInteger busy = new AtomicInteger();
    private ThreadPoolExecutor pool;

    public PooledServer(InetSocketAddress address, int workers) {
        this(address, workers, Timeouts.NONE);
    }

    /**
     * @param timeouts {@code idle}: a client that sends no complete line for this long is
     *     closed, which frees its worker (a read timeout, see {@link BlockingEchoServer#serve});
     *     {@code drain}: the lingering close after an error line. {@code send} does not apply.
     */
    public PooledServer(InetSocketAddress address, int workers, Timeouts timeouts) {
        this(address, workers, QUEUE_LIMIT, timeouts, System::nanoTime);
    }

    /** With a queue limit and a clock of the test's choosing. */
    PooledServer(InetSocketAddress address, int workers, int queueLimit, Timeouts timeouts, LongSupplier nanoTime) {
        super(address, 4096, "day02-acceptor", ThreadPerClientServer.LOG);
        if (workers < 1) throw new IllegalArgumentException("workers must be positive");
        this.workers = workers;
        this.queueLimit = queueLimit;
        this.timeouts = timeouts;
        this.nanoTime = nanoTime;
    }

    @Override
    public void start() throws IOException {
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queueLimit),
                r -> Thread.ofPlatform().name("day02-worker-" + n.getAndIncrement()).unstarted(r));
        // A refusal is closed on a virtual thread, whose lingering drain waits on the JDK's
        // poller: made out of fds, that poller would fail for good (ThreadPerClientServer).
        ThreadPerClientServer.startJdkPoller();
        super.start();
    }

    /** Workers tied to a client right now. */
    public int busyWorkers() {
        return busy.get();
    }

    /** Accepted connections waiting for a free worker. */
    public int waitingConnections() {
        return pool.getQueue().size();
    }

    /** The pool's threads: fixed, however many clients come. */
    public int workerThreads() {
        return pool.getPoolSize();
    }

    /** The whole design: the client waits in the pool's bounded queue for a free worker. */
    @Override
    protected void handle(Socket client) {
        acceptorCounters.accepted();
        try {
            pool.execute(() -> serve(client));
        } catch (RejectedExecutionException e) {
            acceptorCounters.refused();
            acceptorCounters.closed();
            refuse(client);
        }
    }

    /**
     * The queue is full: say so rather than hold the socket (and its fd) forever. The client
     * may already have sent lines we will never read, so this is a lingering close, and it
     * runs on a thread of its own: the acceptor must not wait out a drain.
     */
    private void refuse(Socket client) {
        log.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " refused: server busy");
        startThread(Thread.ofVirtual(), () -> {
            try (client) {
                client.getOutputStream().write(ERR_BUSY);
                BlockingEchoServer.lingeringClose(client, timeouts.drain());
            } catch (IOException ignored) {
                // the client is gone already
            } finally {
                forget(client);
            }
        });
    }

    private void serve(Socket client) {
        busy.incrementAndGet();
        log.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " taken by a worker");
        try {
            serveAndClose(client, timeouts, nanoTime, counters.get());   // this worker is now this client's
        } finally {
            busy.decrementAndGet();
        }
    }

    @Override
    protected void awaitWorkers() {
        if (pool == null) return;
        pool.shutdown();
        try {
            pool.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "day02 pool of " + workers;
    }
}
