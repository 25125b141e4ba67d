package c10k.day05;

import c10k.day01.harness.Stats;
import c10k.day03.NativeConnection;
import c10k.day04.EpollServer;
import c10k.day04.EventLoop;
import c10k.day04.LoopExtension;
import c10k.day04.Tuning;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Day 5, {@code --mode loops}: N threads, each running its own day 4 {@link EventLoop} with its
 * own epoll instance, and a connection lives on one of them for good. Nothing is shared on the
 * connection path: no queue, no lock, no cache line that two threads write. It is Doug Lea's
 * "multiple reactors", Netty's event-loop group, and, one process per loop, nginx's workers.
 *
 * <p>The one new idea is how connections are spread over the loops; there are two, and
 * {@link Spread} picks one:
 * <pre>
 *   ACCEPTOR                                   REUSEPORT
 *   listener ─► acceptor loop ─┬─► adopt ─► loop 1     listener 1 ─► loop 1  ┐ one port; the kernel
 *             (round robin)    ├─► adopt ─► loop 2     listener 2 ─► loop 2  │ picks a listener by a
 *                              └─► adopt ─► loop N     listener N ─► loop N  ┘ hash of the 4-tuple
 * </pre>
 *
 * <p><b>Acceptor, round robin.</b> One thread accepts (a day 4 loop whose only fd is the
 * listener, so it keeps {@code Acceptor}'s whole error policy) and hands each new fd to the next
 * loop through {@link EventLoop#adopt}: a queue and an eventfd write. Round robin and not
 * "fewest connections": the acceptor cannot know the loops' true counts (the fds it handed over
 * a moment ago are still in their queues, so a burst would all go to the same "emptiest"
 * loop), and a count is not a load anyway: one busy client outweighs a thousand idle ones.
 * Round robin reads no other thread's state and makes arrivals exactly even. Netty's chooser
 * does the same.
 *
 * <p><b>SO_REUSEPORT.</b> Each loop has a listener of its own, all bound to one port with
 * {@code SO_REUSEPORT} (socket(7)); the kernel chooses the listener for each new connection by
 * a hash of its addresses and ports, so no thread of ours hands anything over, and the accept
 * queue is per loop too. The price: a connection is queued on one listener before any thread
 * sees it, and if that listener closes, whatever is still queued on it is reset (a test shows
 * it); and a loop that is stuck still gets its share of new clients, which wait.
 *
 * <p>The weakness of the design, in either mode: a connection never moves. Two busy clients that
 * land on one loop share one core while another loop idles; a pool (the reactor) or a shared
 * epoll fd would spread their work. {@code LoopsHotConnectionTest} shows it.
 *
 * <p>The life cycle is day 4's {@link EpollServer}'s, which runs N loops as it runs one: the
 * acceptor ends first, then every loop stops accepting, the listeners close, and every loop
 * drains its own connections. This class says only which loops, on which listeners.
 */
public final class LoopsServer extends EpollServer {

    /** How new connections reach the loops. */
    public enum Spread { ACCEPTOR, REUSEPORT }

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");

    private final int threads;
    private final Spread spread;
    /** Connections each loop has taken since start: the spread, as the tests and the log see it. */
    private AtomicLongArray served = new AtomicLongArray(0);

    public LoopsServer(String host, int port, int threads, Spread spread) {
        super(host, port);
        if (threads < 1) throw new IllegalArgumentException("threads must be positive");
        this.threads = threads;
        this.spread = spread;
    }

    /** SO_REUSEPORT: a listener per loop, all on one port (a master's workers' too). An acceptor: one listener, its own. */
    @Override
    protected int reusePortListeners() {
        return spread == Spread.REUSEPORT ? threads : 0;
    }

    @Override
    protected List<EventLoop> newLoops(int[] listenFds) {
        served = new AtomicLongArray(threads);
        List<EventLoop> loops = new ArrayList<>(threads);
        for (int i = 0; i < threads; i++) loops.add(newLoop(i, spread == Spread.REUSEPORT ? listenFds[i] : -1));
        return loops;
    }

    /**
     * Loop {@code i}: day 4's loop unchanged, plus a count of the connections it took. Several
     * threads open fds in this process (every loop accepts, or adopts), so out of fds a loop
     * pauses accepting rather than play the spare-fd trick, which assumes it is alone.
     */
    private EventLoop newLoop(int i, int listenFd) {
        NativeConnection.LoopBuffers buffers = new NativeConnection.LoopBuffers(64 * 1024, NativeConnection.ECHO, stats.newCounters());
        return new EventLoop("day05-loop-" + i, listenFd, Tuning.EDGE.withoutSpareFd(), new LoopExtension() {
            @Override
            public NativeConnection accepted(EventLoop l, int fd) {
                served.lazySet(i, served.get(i) + 1);      // only this loop's thread writes slot i
                return new NativeConnection(fd);
            }
        }, buffers, timeouts, clock);
    }

    /** {@link Spread#ACCEPTOR}: a day 4 loop whose only fd is the listener, and whose layer hands each new fd on. */
    @Override
    protected Loop newAcceptor(int listenFd, List<? extends Loop> loops) {
        if (spread != Spread.ACCEPTOR) return null;
        @SuppressWarnings("unchecked") List<EventLoop> targets = (List<EventLoop>) loops;
        return new EventLoop("day05-loops-acceptor", listenFd, Tuning.EDGE, new HandOff(targets),
                new NativeConnection.LoopBuffers(1024, NativeConnection.ECHO, stats.newCounters()), timeouts, clock);
    }

    /** The acceptor loop's layer: a new fd is handed to the next loop, and so never becomes a connection here. */
    private static final class HandOff implements LoopExtension {
        private final List<EventLoop> targets;
        private int next;   // the acceptor thread's own

        HandOff(List<EventLoop> targets) {
            this.targets = targets;
        }

        @Override
        public NativeConnection accepted(EventLoop l, int fd) {
            EventLoop target = targets.get(next);
            next = (next + 1) % targets.size();
            target.adopt(fd);                             // the fd is the target's now
            return null;
        }
    }

    @Override
    protected void logClosed(Stats.Snapshot s) {
        LOG.log(System.Logger.Level.INFO, this + ": connections per loop " + Arrays.toString(spread()) + ", "
                + s.wakeups() + " epoll_wait wake-ups");
    }

    /** Connections each loop has taken since start, loop 0 first. */
    public long[] spread() {
        AtomicLongArray s = served;
        long[] out = new long[s.length()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i);
        return out;
    }

    /** The loops, loop 0 first, not the acceptor (tests read their wake-up counts and connection counts). */
    @Override
    @SuppressWarnings("unchecked")
    public List<EventLoop> loops() {
        return (List<EventLoop>) super.loops();
    }

    public int threads() {
        return threads;
    }

    @Override
    public String toString() {
        return "day05 loops (" + threads + (threads == 1 ? " loop, " : " loops, ") + spread.name().toLowerCase() + ")";
    }
}
