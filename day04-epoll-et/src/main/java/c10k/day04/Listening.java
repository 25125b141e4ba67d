package c10k.day04;

import c10k.day01.harness.Stats;
import c10k.day03.sys.SyscallException;

/**
 * The listening side of one {@link EventLoop}: its registration, a turn owed when a batch of
 * accepts spent its budget (edge-triggered: queued clients make no new edge), the pause when
 * {@link Acceptor} says the kernel is short of something, and the end of listening at shutdown.
 * The loop thread's own.
 */
final class Listening {

    /** The epoll {@code data} of the listener's events. */
    static final long DATA = -2;

    private final int fd;
    private final Tuning tuning;
    private final int extraFlags;
    private final Acceptor acceptor;
    private boolean active, owed;
    private boolean watched;   // in the epoll set now (an exclusive listener leaves it while paused)

    Listening(String who, int fd, Tuning tuning, int extraFlags) throws SyscallException {
        this.fd = fd;
        this.tuning = tuning;
        this.extraFlags = extraFlags;
        this.acceptor = new Acceptor(who, fd, tuning.acceptsPerTurn(), tuning.spareFd());
    }

    private int events() {
        return Epoll.EPOLLIN | (tuning.edge() ? Epoll.EPOLLET : 0) | extraFlags;
    }

    void register(Epoll epoll) throws SyscallException {
        epoll.add(fd, events(), DATA);
        active = watched = true;
    }

    /**
     * A pause stops watching the listener; the end of the pause watches it again. Usually a MOD
     * to no events and back, but epoll_ctl(2) refuses MOD with {@code EINVAL} on a registration
     * made with {@code EPOLLEXCLUSIVE}, and a refused MOD here would end the loop at the first
     * {@code EMFILE}. Such a listener leaves the set and is added again instead (ADD, like MOD,
     * reports clients that queued meanwhile at once).
     */
    private void watch(Epoll epoll, boolean on) throws SyscallException {
        if ((extraFlags & Epoll.EPOLLEXCLUSIVE) == 0) epoll.modify(fd, on ? events() : 0, DATA);
        else if (on) epoll.add(fd, events(), DATA);
        else epoll.delete(fd);
        watched = on;
    }

    /** Accepts a batch (an event, or the turn it was owed). Throws only if the listener is broken. */
    void accept(Epoll epoll, Acceptor.NewClient onNew, Stats.Counters counters) throws SyscallException {
        owed = false;
        if (!active) return;
        // if, not a switch: a switch on an enum is a hidden class, loaded on first use, and the
        // first PAUSED comes when we are out of fds and cannot open its class file.
        Acceptor.Outcome outcome = acceptor.acceptBatch(onNew, counters);
        if (outcome == Acceptor.Outcome.BUDGET_SPENT) owed = tuning.owesTurns();
        else if (outcome == Acceptor.Outcome.PAUSED) watch(epoll, false);   // resumeIfDue watches again
    }

    /** After a pause: watch the listener again (which reports clients queued meanwhile at once). */
    void resumeIfDue(Epoll epoll) throws SyscallException {
        if (active && acceptor.resumeIfDue()) watch(epoll, true);
    }

    boolean owed() {
        return owed;
    }

    /** The wait's timeout while accepting is paused, or -1. */
    int pauseTimeoutMillis() {
        return acceptor.pauseTimeoutMillis();
    }

    /** Shutdown: no more accepting. The server closes the fd itself once every loop has let go of it. */
    void stop(Epoll epoll) throws SyscallException {
        if (active && watched) epoll.delete(fd);
        active = owed = watched = false;
    }

    void close() {
        acceptor.close();
    }
}
