package c10k.day02;

import c10k.day01.AcceptingServer;
import c10k.day01.BlockingEchoServer;
import c10k.day01.harness.Log;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.function.LongSupplier;

/**
 * Day 2, first answer: give every client its own thread, so a client that sits idle blocks
 * only its own thread.
 *
 * <p>The per-client code is day 1's {@link BlockingEchoServer#serve} unchanged, and so is the
 * accept loop ({@link AcceptingServer}): only what happens to an accepted client differs.
 * Blocking I/O is easy to write and to read, and a thread is the unit the operating system
 * already knows how to put to sleep while it waits. The cost is the thread itself. A platform
 * thread is a kernel thread with a reserved stack (1 MiB of address space by default, touched
 * pages only in RSS) that the kernel schedules; ten thousand of them mostly cost memory and
 * context switches. A virtual thread is a Java object whose stack lives on the heap; when it
 * blocks on a socket, the JDK parks it and hands the fd to its own epoll poller, and the
 * carrier thread goes on with another virtual thread.
 */
public final class ThreadPerClientServer extends AcceptingServer {

    public enum Kind { PLATFORM, VIRTUAL }

    static final System.Logger LOG = Log.logger("day02");

    private final Timeouts timeouts;
    private final LongSupplier nanoTime;
    private final Thread.Builder threads;
    private final Kind kind;
    private final String name;

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
        // A deep backlog: thousands of clients may connect in a burst before the acceptor
        // gets to them. The kernel caps it at net.core.somaxconn (4096 on current kernels).
        super(address, 4096, "day02-acceptor", LOG);
        this.timeouts = timeouts;
        this.nanoTime = nanoTime;
        this.kind = kind;
        this.name = kind == Kind.VIRTUAL ? "day02 virtual" : "day02 platform";
        this.threads = kind == Kind.VIRTUAL
                ? Thread.ofVirtual().name("day02-virtual-", 0)
                : Thread.ofPlatform().name("day02-client-", 0);
    }

    @Override
    public void start() throws IOException {
        if (kind == Kind.VIRTUAL) startJdkPoller();
        super.start();
    }

    /**
     * A virtual thread that waits for a socket is parked, and the JDK's poller (an epoll fd and
     * a thread of its own) unparks it. The JDK makes that poller the first time any virtual
     * thread waits for I/O, and only once: made out of fds (a burst took the fd table before
     * the first client's thread waited for its second line), it fails for good, and from then
     * on every virtual thread that waits on a socket dies of a NoClassDefFoundError. So one
     * virtual thread waits here, on a datagram socket of its own, while fds are to be had, and a
     * datagram wakes it once it is parked. Not a timed wait: the JDK gives up without parking
     * when the timeout has already passed at its first look, as a millisecond easily has on a
     * busy machine, and then no poller is made.
     */
    static void startJdkPoller() throws IOException {
        IOException[] failed = new IOException[1];
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (DatagramSocket s = new DatagramSocket(loopback); DatagramSocket poke = new DatagramSocket(loopback)) {
            Thread t = Thread.ofVirtual().name("day02-poller-start").start(() -> {
                try {
                    s.receive(new DatagramPacket(new byte[1], 1));
                } catch (IOException e) {
                    failed[0] = e;
                }
            });
            while (t.isAlive() && t.getState() != Thread.State.WAITING) Thread.yield();   // parked: the poller is made
            poke.send(new DatagramPacket(new byte[1], 1, s.getLocalSocketAddress()));
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failed[0] != null) throw failed[0];
    }

    /** Connections being served right now. */
    public int connectionCount() {
        return clientCount();
    }

    /** The whole design: a thread of its own for every client. */
    @Override
    protected void handle(Socket client) {
        startThread(threads, () -> {
            // Counters of its own: this thread is their only writer (see Stats), and it
            // folds them into the totals when its client leaves.
            Stats.Counters mine = stats.newCounters();
            mine.accepted();
            LOG.log(System.Logger.Level.DEBUG, () -> "client " + client.getRemoteSocketAddress() + " accepted");
            try {
                serveAndClose(client, timeouts, nanoTime, mine);
            } finally {
                stats.retire(mine);
            }
        });
    }

    @Override
    public String toString() {
        return name;
    }
}
