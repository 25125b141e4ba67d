package c10k.day02;

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
 * Day 2, second answer: bound the threads. A fixed pool of N workers takes accepted
 * connections from a queue and serves each one, with day 1's blocking code, until it leaves.
 *
 * <p>This caps memory and scheduling cost, and it is exactly what fails with long-lived
 * connections: a worker is tied to its client for the client's whole life, busy or idle. N
 * polite clients that connect and say nothing hold all N workers; client N+1 is accepted by
 * the kernel, queued here, and never answered until one of them leaves. A denial of service
 * that needs no attack, only keep-alive.
 */
public final class PooledServer implements EchoServer {

    /** Connections allowed to wait for a worker; past this a newcomer is told and closed. */
    public static final int QUEUE_LIMIT = 1024;
    static final byte[] ERR_BUSY = "ERR server busy\n".getBytes(StandardCharsets.US_ASCII);

    private final InetSocketAddress address;
    private final int workers;
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final AtomicInteger busy = new AtomicInteger();
    private ThreadPoolExecutor pool;
    private ServerSocket listener;
    private Thread acceptor;
    private volatile boolean closed;

    public PooledServer(InetSocketAddress address, int workers) {
        if (workers < 1) throw new IllegalArgumentException("workers must be positive");
        this.address = address;
        this.workers = workers;
    }

    @Override
    public void start() throws IOException {
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE_LIMIT),
                r -> Thread.ofPlatform().name("day02-worker-" + n.getAndIncrement()).unstarted(r));
        listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(address, 4096);
        acceptor = Thread.ofPlatform().name("day02-acceptor").start(this::acceptLoop);
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

    /** The pool's threads: fixed, however many clients come. */
    public int workerThreads() {
        return pool.getPoolSize();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (!closed) AcceptBackoff.pause(e);
                continue;
            }
            clients.add(client);
            if (closed) {
                ThreadPerClientServer.closeQuietly(client);
                clients.remove(client);
                return;
            }
            try {
                pool.execute(() -> serve(client));
            } catch (RejectedExecutionException e) {
                // The queue is full: say so rather than hold the socket (and its fd) forever.
                try (client) {
                    client.getOutputStream().write(ERR_BUSY);
                    client.shutdownOutput();   // FIN after the line, so a RST cannot overtake it
                } catch (IOException ignored) {
                    // the client is gone already
                } finally {
                    clients.remove(client);
                }
            }
        }
    }

    private void serve(Socket client) {
        busy.incrementAndGet();
        try (client) {
            if (!closed) BlockingEchoServer.serve(client);   // this worker is now this client's
        } catch (IOException e) {
            if (!closed) System.err.println("day02: client " + client.getRemoteSocketAddress() + ": " + e.getMessage());
        } finally {
            clients.remove(client);
            busy.decrementAndGet();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        ThreadPerClientServer.closeQuietly(listener);
        ThreadPerClientServer.join(acceptor);
        if (pool != null) {
            pool.shutdown();
            for (Socket s : clients) ThreadPerClientServer.closeQuietly(s);
            try {
                pool.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "day02 pool of " + workers;
    }
}
