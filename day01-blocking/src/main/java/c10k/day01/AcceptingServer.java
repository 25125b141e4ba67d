package c10k.day01;

import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The life of a blocking server around its accept loop: bind a listening socket, accept on a
 * thread of its own until closed, and hand each client to {@link #handle}; on close, pull every
 * client out of its blocking read and wait for every thread it started. What a design does with
 * a client it has just accepted is the one method it writes: {@link BlockingEchoServer} serves it
 * right there on the accepting thread, so everyone else waits.
 */
public abstract class AcceptingServer implements EchoServer, Stats.Source {

    protected final System.Logger log;
    protected final Stats stats = new Stats();
    private final InetSocketAddress address;
    private final int backlog;
    private final String acceptorName;
    /** Every live connection, so close() can pull each one out of its blocking read. */
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    /** Every thread started for clients, so close() can wait for all of them to end. */
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();
    private ServerSocket listener;
    private Thread acceptor;
    private volatile boolean closed;

    protected AcceptingServer(InetSocketAddress address, int backlog, String acceptorName, System.Logger log) {
        this.address = address;
        this.backlog = backlog;
        this.acceptorName = acceptorName;
        this.log = log;
    }

    @Override
    public void start() throws IOException {
        loadWhatServingNeeds();
        listener = new ServerSocket();
        // Lets a restarted server bind while old connections sit in TIME_WAIT.
        listener.setReuseAddress(true);
        listener.bind(address, backlog);
        acceptor = Thread.ofPlatform().name(acceptorName).start(this::acceptLoop);
    }

    /**
     * The JVM loads a class the first time it is used, and from a class path of folders (an IDE,
     * {@code mvn exec}) that opens its class file. Out of fds, that open fails: at the first
     * {@code EMFILE} the accepting thread would die of a NoClassDefFoundError, and after a burst
     * that filled the fd table, so would every client's thread at its first line. So what the
     * accept loop and {@link #serveAndClose} use is loaded (and initialised) here, while fds are
     * to be had. The JDK's own classes come from one file opened at start-up.
     */
    private static void loadWhatServingNeeds() {
        for (Class<?> c : new Class<?>[] {AcceptBackoff.class, BlockingEchoServer.class, BlockingEchoServer.Ending.class,
                LineFramer.class, LineFramer.LineSink.class, Protocol.class, Stats.Counters.class}) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Override
    public int port() {
        return listener.getLocalPort();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    protected final boolean isClosed() {
        return closed;
    }

    /** Connections accepted and not closed yet. */
    protected final int clientCount() {
        return clients.size();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();          // blocks until a client is queued
            } catch (IOException e) {
                if (!closed) AcceptBackoff.pause(log, e);
                continue;
            }
            clients.add(client);
            if (closed) {                            // close() may have run before the add above
                closeQuietly(client);
                clients.remove(client);
                return;
            }
            handle(client);
        }
    }

    /**
     * What this design does with a client just accepted, on the accepting thread: serve it here
     * ({@link #serveAndClose}), give it a thread ({@link #startThread}), or queue it. Whoever
     * ends up with the client calls {@link #serveAndClose} or {@link #forget}.
     */
    protected abstract void handle(Socket client);

    /**
     * Serves {@code client} with day 1's blocking code until it leaves, closes it, and logs how
     * it ended; {@code counters} are the serving thread's own (see {@link Stats}).
     */
    protected final void serveAndClose(Socket client, Timeouts timeouts, LongSupplier nanoTime, Stats.Counters counters) {
        try (client) {
            if (!closed) {   // close() may have run while the client waited for this thread
                var how = BlockingEchoServer.serve(client, timeouts, nanoTime, counters);
                log.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " closed: " + how);
            }
        } catch (IOException e) {
            // A reset or a vanished peer ends this client only, never the server.
            if (!closed) log.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + ": " + e.getMessage());
        } finally {
            counters.closed();
            clients.remove(client);
        }
    }

    /** A client this server has closed without serving it (say, refused): close() need not look for it. */
    protected final void forget(Socket client) {
        clients.remove(client);
    }

    /** Starts {@code task} on a thread from {@code threads}; close() waits for it to end. */
    protected final void startThread(Thread.Builder threads, Runnable task) {
        Thread t = threads.unstarted(() -> {
            try {
                task.run();
            } finally {
                running.remove(Thread.currentThread());
            }
        });
        running.add(t);
        t.start();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        closeQuietly(listener);                       // wakes accept() with a SocketException
        for (Socket s : clients) closeQuietly(s);     // wakes each blocked read() the same way
        join(acceptor);                               // after this, nobody adds a client or a thread
        for (Thread t : running) join(t);
        awaitWorkers();
    }

    /** After close() has closed every client and joined its threads: wait for any other threads. */
    protected void awaitWorkers() {
    }

    protected static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    private static void join(Thread t) {
        if (t == null) return;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
