package c10k.day02;

import c10k.day01.AcceptBackoff;
import c10k.day01.BlockingEchoServer;
import c10k.day01.EchoServer;
import c10k.day01.harness.Log;
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
 * Day 2, first answer: give every client its own thread, so a client that sits idle blocks
 * only its own thread.
 *
 * <p>The per-client code is day 1's {@link BlockingEchoServer#serve} unchanged: blocking I/O
 * is easy to write and to read, and a thread is the unit the operating system already knows
 * how to put to sleep while it waits. The cost is the thread itself. A platform thread is a
 * kernel thread with a reserved stack (1 MiB of address space by default, touched pages
 * only in RSS) that the kernel schedules; ten thousand of them mostly cost memory and
 * context switches. A virtual thread is a Java object whose stack lives on the heap; when it
 * blocks on a socket, the JDK parks it and hands the fd to its own epoll poller, and the
 * carrier thread goes on with another virtual thread.
 */
public final class ThreadPerClientServer implements EchoServer, Stats.Source {

    public enum Kind { PLATFORM, VIRTUAL }

    static final System.Logger LOG = Log.logger("day02");

    private final InetSocketAddress address;
    private final Timeouts timeouts;
    private final LongSupplier nanoTime;
    private final Stats stats = new Stats();
    private final Thread.Builder threads;
    private final String name;
    /** Every live connection, so close() can pull each one out of its blocking read. */
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    /** Every thread started, so close() can wait for all of them to end. */
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();
    private ServerSocket listener;
    private Thread acceptor;
    private volatile boolean closed;

    public ThreadPerClientServer(InetSocketAddress address, Kind kind) {
        this(address, kind, Timeouts.NONE);
    }

    /**
     * @param timeouts {@code idle}: a client that sends no complete line for this long is
     *     closed (a read timeout, see {@link BlockingEchoServer#serve}); {@code drain}: the
     *     lingering close after an error line. A blocking write has no timeout in
     *     {@code java.net.Socket}, so {@code send} does not apply to day 2.
     */
    public ThreadPerClientServer(InetSocketAddress address, Kind kind, Timeouts timeouts) {
        this(address, kind, timeouts, System::nanoTime);
    }

    /** With the clock the idle deadlines are measured on (tests advance a fake one). */
    ThreadPerClientServer(InetSocketAddress address, Kind kind, Timeouts timeouts, LongSupplier nanoTime) {
        this.address = address;
        this.timeouts = timeouts;
        this.nanoTime = nanoTime;
        this.name = kind == Kind.VIRTUAL ? "day02 virtual" : "day02 platform";
        this.threads = kind == Kind.VIRTUAL
                ? Thread.ofVirtual().name("day02-virtual-", 0)
                : Thread.ofPlatform().name("day02-client-", 0);
    }

    @Override
    public void start() throws IOException {
        listener = new ServerSocket();
        listener.setReuseAddress(true);
        // A deep backlog: thousands of clients may connect in a burst before the acceptor
        // gets to them. The kernel caps it at net.core.somaxconn (4096 on current kernels).
        listener.bind(address, 4096);
        acceptor = Thread.ofPlatform().name("day02-acceptor").start(this::acceptLoop);
    }

    @Override
    public int port() {
        return listener.getLocalPort();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    /** Connections being served right now. */
    public int connectionCount() {
        return clients.size();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (!closed) AcceptBackoff.pause(LOG, e);
                continue;
            }
            clients.add(client);
            if (closed) {                      // close() may have run before the add above
                closeQuietly(client);
                clients.remove(client);
                return;
            }
            Thread t = threads.unstarted(() -> {
                // Counters of its own: this thread is their only writer (see Stats), and it
                // folds them into the totals when its client leaves.
                Stats.Counters mine = stats.newCounters();
                mine.accepted();
                LOG.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " accepted");
                try (client) {
                    var how = BlockingEchoServer.serve(client, timeouts, nanoTime, mine);
                    LOG.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " closed: " + how);
                } catch (IOException e) {
                    if (!closed) LOG.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + ": " + e.getMessage());
                } finally {
                    mine.closed();
                    stats.retire(mine);
                    clients.remove(client);
                    running.remove(Thread.currentThread());
                }
            });
            running.add(t);
            t.start();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        closeQuietly(listener);
        join(acceptor);
        for (Socket s : clients) closeQuietly(s);
        for (Thread t : running) join(t);
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    static void join(Thread t) {
        if (t == null) return;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
