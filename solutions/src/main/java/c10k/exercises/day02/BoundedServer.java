package c10k.exercises.day02;

import c10k.day01.AcceptBackoff;
import c10k.day01.BlockingEchoServer;
import c10k.day01.EchoServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Day 2, exercise 1: bound the thread-per-client server, and see what the bound costs.
 *
 * <p><b>Build</b> the two TODO methods. {@link #newPool()}: exactly {@code workers} threads
 * and a queue of at most {@code queueLimit} accepted connections waiting for one.
 * {@link #dispatch}: hand an accepted client to the pool, or, when the pool refuses it (every
 * worker busy and the queue full), answer {@code ERR server busy} and close it. The accept
 * loop, the per-client code (day 1's {@link BlockingEchoServer#serve}) and {@link #close()}
 * are given.
 *
 * <p><b>What the tests try</b>: clients served by the pool; as many idle clients as workers,
 * and the next client (it waits: the price of the bound); then every worker busy and the queue
 * full, and one client more.
 *
 * <p><b>Why</b>: a thread per client has no upper bound (memory, scheduling); a pool bounds
 * it. {@code Executors.newFixedThreadPool} looks right but its queue is unbounded, which only
 * moves the unbounded growth from threads to queued sockets (each holds an fd and kernel
 * buffers). And a bound has a price that the tests make visible: a worker is tied to its
 * client for the client's whole life, so N idle clients starve client N+1.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day02-multithread/README.md">day 2's
 * chapter</a>: <a href="../../../../../../../day02-multithread/README.md#the-idea">"The idea"</a>
 * and
 * <a href="../../../../../../../day02-multithread/README.md#pooledserver-bounded-threads-bounded-queue">"{@code
 * PooledServer}: bounded threads, bounded queue"</a>.
 *
 * <p><b>Check</b>: {@code ./jbang check day02}. Tests: {@code BoundedServerTest}.
 */
public final class BoundedServer implements EchoServer {

    /** What a client hears when the server cannot take it. */
    public static final byte[] ERR_BUSY = "ERR server busy\n".getBytes(StandardCharsets.US_ASCII);

    private final int workers;
    private final int queueLimit;
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final AtomicInteger busy = new AtomicInteger();
    private ThreadPoolExecutor pool;
    private ServerSocket listener;
    private Thread acceptor;
    private volatile boolean closed;

    public BoundedServer(int workers, int queueLimit) {
        if (workers < 1 || queueLimit < 1) throw new IllegalArgumentException("workers and queueLimit must be positive");
        this.workers = workers;
        this.queueLimit = queueLimit;
    }

    /**
     * A pool of exactly {@link #workers} threads that never grows, with a queue that holds at
     * most {@link #queueLimit} tasks and makes {@code execute} throw
     * {@link RejectedExecutionException} when full.
     */
    ThreadPoolExecutor newPool() {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queueLimit),
                r -> Thread.ofPlatform().name("exercise-worker-" + n.getAndIncrement()).unstarted(r));
    }

    /**
     * Runs {@link #serve}{@code (client)} on the pool; if the pool refuses, sends
     * {@link #ERR_BUSY}, shuts down the output (a FIN after the line, so that a RST cannot
     * overtake it) and closes the client, forgetting it in {@link #clients}.
     */
    void dispatch(Socket client) {
        try {
            pool.execute(() -> serve(client));
        } catch (RejectedExecutionException full) {
            try (client) {
                client.getOutputStream().write(ERR_BUSY);
                client.shutdownOutput();
            } catch (IOException ignored) {
                // the client is gone already
            } finally {
                clients.remove(client);
            }
        }
    }

    // ---- given: the rest of the server ---------------------------------------------------

    @Override
    public void start() throws IOException {
        pool = newPool();
        listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress("127.0.0.1", 0), 128);
        acceptor = Thread.ofPlatform().name("exercise-acceptor").start(this::acceptLoop);
    }

    @Override
    public int port() {
        return listener.getLocalPort();
    }

    /** Workers tied to a client right now. */
    public int busyWorkers() {
        return busy.get();
    }

    /** Accepted connections waiting for a free worker. */
    public int waitingConnections() {
        return pool.getQueue().size();
    }

    /** The pool's threads. */
    public int workerThreads() {
        return pool.getPoolSize();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                // Closed: the loop ends. Out of fds (EMFILE): back off rather than spin (day 1).
                if (!closed) AcceptBackoff.pause(e);
                continue;
            }
            clients.add(client);
            if (closed) {
                closeQuietly(client);
                return;
            }
            try {
                dispatch(client);
            } catch (RuntimeException e) {
                // An unfinished dispatch must not kill the acceptor: drop this client, go on.
                System.err.println("exercise: dispatch threw: " + e);
                closeQuietly(client);
                clients.remove(client);
            }
        }
    }

    /** A worker's task: day 1's loop, for as long as the client stays. */
    private void serve(Socket client) {
        busy.incrementAndGet();
        try (client) {
            if (!closed) BlockingEchoServer.serve(client);
        } catch (IOException e) {
            // a reset: this client only
        } finally {
            clients.remove(client);
            busy.decrementAndGet();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        closeQuietly(listener);
        if (acceptor != null) {
            try {
                acceptor.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (pool != null) {
            pool.shutdown();
            for (Socket s : clients) closeQuietly(s);
            try {
                pool.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }
}
