package c10k.day04;

import c10k.day01.harness.Stats;
import c10k.day03.AcceptErrors;
import c10k.day03.AcceptPause;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;

/**
 * The listener's side of an event loop: accept until the queue is empty, within a budget, and
 * give every error {@code accept4} can return its proper answer (day 3's {@link AcceptErrors}
 * sorts them): accept on past a connection that is gone already, pause when the kernel is
 * short of descriptors or memory (out of fds, a single loop first tries the spare-fd trick to
 * turn the client away politely), and give up only if the listener itself is broken. Written
 * once; every epoll server of days 4 to 6 accepts through it.
 */
public final class Acceptor {

    /** What one batch of accepts ended on. */
    public enum Outcome {
        /** The queue is empty ({@code EAGAIN}): an edge-triggered listener will get a new edge. */
        EMPTY,
        /** The budget ran out with clients perhaps still queued: edge-triggered, we owe it a turn. */
        BUDGET_SPENT,
        /** Accepting is paused: the caller stops watching the listener until {@link #resumeIfDue}. */
        PAUSED
    }

    /** Takes each accepted, non-blocking fd; it now belongs to the callee. */
    @FunctionalInterface
    public interface NewClient {
        void accepted(int fd);
    }

    /** Sent to a client the server cannot take, before closing it. */
    public static final byte[] ERR_SERVER_FULL = "ERR server full\n".getBytes(StandardCharsets.US_ASCII);

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day04");

    private final String who;
    private final int listenFd;
    private final int budget;
    private final AcceptPause pause;
    /** The reserve fd: closed to make room for accepting (and refusing) a client when out of fds. */
    private int spareFd = -1;
    private final boolean useSpare;
    private long lastTransientLog;

    /**
     * @param budget   accepts per call: the other connections get their turn in between
     * @param useSpare the spare-fd trick, for a single accepting thread only (see {@link #refuseWithSpare})
     */
    public Acceptor(String who, int listenFd, int budget, boolean useSpare) throws SyscallException {
        this.who = who;
        this.listenFd = listenFd;
        this.budget = budget;
        this.useSpare = useSpare;
        this.pause = new AcceptPause(who);
        if (useSpare) spareFd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
        loadWhatTheErrorPathNeeds();
    }

    /**
     * The JVM loads a class the first time it is used, and from a class path of directories
     * that means opening a file. Out of descriptors, exactly when the error path runs for the
     * first time, that open fails and the loop dies of a NoClassDefFoundError. So everything
     * the error path touches is used once here, while descriptors are to be had.
     */
    private static void loadWhatTheErrorPathNeeds() {
        AcceptErrors.classify(Errno.EMFILE);
        new SyscallException("accept4", Errno.EMFILE).getMessage();
        Outcome.values();
        DROP.get();
    }

    /** Accepts up to the budget, handing each new fd to {@code onNew}. Throws only if the listener is broken. */
    public Outcome acceptBatch(NewClient onNew, Stats.Counters counters) throws SyscallException {
        for (int accepted = 0; accepted < budget; accepted++) {
            int fd;
            try {
                fd = Sockets.accept(listenFd);
            } catch (SyscallException e) {
                AcceptErrors.Kind kind = AcceptErrors.classify(e.errno());
                if (kind == AcceptErrors.Kind.BROKEN) throw e;           // the listener itself is broken
                if (kind == AcceptErrors.Kind.GONE_ALREADY) {
                    logTransient(e);
                    continue;                    // that one connection failed; the queue moves on
                }
                boolean outOfFds = e.errno() == Errno.EMFILE || e.errno() == Errno.ENFILE;
                if (outOfFds && useSpare && refuseWithSpare(counters)) continue;
                return beginPause(e);
            }
            if (fd == Sockets.WOULD_BLOCK) return Outcome.EMPTY;
            counters.accepted();
            noDelay(fd);
            onNew.accepted(fd);
        }
        return Outcome.BUDGET_SPENT;
    }

    /**
     * TCP_NODELAY on every accepted socket, as Netty sets it: the loop already sends each read's
     * answers in one {@code send}, but an answer that the kernel takes in two parts would
     * otherwise wait for the peer's delayed ACK (Nagle's algorithm, tcp(7)). Failing is harmless.
     */
    private static void noDelay(int fd) {
        try {
            Sockets.setNoDelay(fd);
        } catch (SyscallException ignored) {
            // the client is already gone; the first read will say so
        }
    }

    private Outcome beginPause(SyscallException why) {
        pause.begin(why);
        return Outcome.PAUSED;
    }

    /** The wait's timeout while paused (-1 otherwise), in milliseconds. */
    public int pauseTimeoutMillis() {
        return pause.timeoutMillis();
    }

    public boolean isPaused() {
        return pause.isPaused();
    }

    /** True once when a pause is over: the caller watches the listener again (and a spare fd is retaken). */
    public boolean resumeIfDue() {
        if (!pause.endIfDue()) return false;
        if (useSpare && spareFd < 0) {
            try {
                spareFd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
            } catch (SyscallException stillOut) {
                // try again after the next pause
            }
        }
        return true;
    }

    /**
     * Out of fds: the connection stays in the kernel's queue and the listener stays ready, so a
     * level-triggered loop would spin at 100% CPU and an edge-triggered one would never hear of
     * the queue again. The reserve-fd trick (libev's docs, libuv's {@code uv__emfile_trick}):
     * free the spare fd, accept the client into it, tell it and close it, take the spare back.
     * Existing clients are untouched, and the queue keeps moving. It assumes nothing else opens
     * an fd between our close and our accept, which holds for one accepting thread; with
     * several (day 5), a pause is the honest answer. Returns false when it could not help.
     */
    private boolean refuseWithSpare(Stats.Counters counters) {
        if (spareFd < 0) return false;
        Sockets.close(spareFd);
        spareFd = -1;
        int fd;
        try {
            fd = Sockets.accept(listenFd);
        } catch (SyscallException e) {
            return false;                     // another thread (the JVM's own, say) took the number first
        }
        if (fd >= 0) refuse(fd, counters);
        try {
            spareFd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
        } catch (SyscallException e) {
            return false;                     // something else took the number meanwhile: pause instead
        }
        return fd >= 0;
    }

    /**
     * Turns a client away with {@link #ERR_SERVER_FULL}: the line, then FIN (shut down the
     * sending side), then whatever the client already sent is read and dropped before the
     * close. A close with unread bytes in the receive queue sends RST instead of FIN
     * (RFC 1122, 4.2.2.13), and a client such as {@code echo hi | nc} that sent its line with
     * the handshake would then lose the error line. Out of fds, or with no slot left, there is
     * no room to linger longer; a client that sends later may still see a reset.
     */
    public static void refuse(int fd, Stats.Counters counters) {
        counters.refused();                   // before the client can see the line: a test reads it next
        try {
            Sockets.send(fd, ERR_SERVER_FULL, 0, ERR_SERVER_FULL.length);
            Sockets.shutdownWrite(fd);
            byte[] drop = DROP.get();
            for (int reads = 0; reads < 4 && Sockets.recv(fd, drop, 0, drop.length) > 0; reads++) {
                // what arrived with the handshake is dropped, so the close below is a FIN
            }
        } catch (SyscallException ignored) {
            // gone already
        }
        Sockets.close(fd);
    }

    private static final ThreadLocal<byte[]> DROP = ThreadLocal.withInitial(() -> new byte[4096]);

    private void logTransient(SyscallException e) {
        long now = System.nanoTime();
        if (now - lastTransientLog < 1_000_000_000L) return;   // at most a line a second
        lastTransientLog = now;
        LOG.log(Level.WARNING, who + ": " + e.getMessage() + "; that client is lost, accepting goes on");
    }

    public void close() {
        if (spareFd >= 0) Sockets.close(spareFd);
        spareFd = -1;
    }
}
