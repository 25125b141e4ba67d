package c10k.day07;

import static c10k.day07.sys.IoUringAbi.*;
import static c10k.day07.UserData.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day03.AcceptErrors;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import c10k.day03.sys.Sockets;
import c10k.day07.sys.IoUring;
import c10k.day07.sys.SubmissionQueue;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A ring's accept path: the accept request (one at a time in basic mode, one multishot for
 * every connection in multishot mode), what to do when the process is out of fds, and the
 * registered file table that multishot mode's connections live in as direct descriptors.
 * Each accepted socket is returned to the loop ({@link #onCompletion}), which hands it to
 * {@link Connections#add}; the loop tells it how many connections are open.
 */
final class RingAcceptor {

    /** The largest registered file table we ask for; the kernel caps it at RLIMIT_NOFILE. */
    static final int FIXED_FILES = 65_536;
    /** The listen backlog (IoUringEchoServer listens with it; the kernel caps it at somaxconn). */
    static final int BACKLOG = 4096;
    /** nginx and day 1 wait a moment when out of fds rather than retry at once. */
    static final long ACCEPT_PAUSE_NANOS = 100_000_000L;

    private final String name;
    private final IoUring ring;
    private final SubmissionQueue sq;
    private final int listenFd;
    private final boolean multishot;
    private final MemorySegment pauseTimespec;
    /** Connections open, as the loop last said: whether the file table has room. */
    private int open;
    /**
     * Connections are direct descriptors, slots of the ring's registered file table, not fds
     * of the process. {@code UringConnection.fd} is then that slot's index.
     */
    private boolean direct;
    private int fixedFiles;
    /** UserData of ours not yet completed. */
    private int inflight;
    private boolean acceptArmed, pauseArmed;
    /** The armed accept is multishot: it takes every queued connection without asking. */
    private boolean acceptMultishot, acceptCancelled;
    /** Direct descriptors: the file table is (nearly) full, accepting waits for a close. */
    private boolean tableFull;
    /** Since the last EMFILE, no accept has succeeded (one log line per episode, not per retry). */
    private boolean outOfFds;
    /** The next accept waits for the 100 ms timeout request. */
    private boolean pauseWanted;
    /** Shutting down or stopping: nothing more is accepted. */
    private boolean closed;
    private long pauses;

    RingAcceptor(String name, IoUring ring, int listenFd, boolean multishot, Arena arena) {
        this.name = name;
        this.ring = ring;
        this.sq = ring.sq();
        this.listenFd = listenFd;
        this.multishot = multishot;
        this.pauseTimespec = arena.allocate(TIMESPEC);
        pauseTimespec.set(JAVA_LONG, TS_SEC, 0L);
        pauseTimespec.set(JAVA_LONG, TS_NSEC, ACCEPT_PAUSE_NANOS);
    }

    /**
     * A sparse table of direct descriptors (IORING_REGISTER_FILES2, 5.19). The kernel refuses
     * a table larger than RLIMIT_NOFILE (EMFILE), so we halve until it fits; if the kernel
     * cannot do it at all, connections are ordinary fds.
     */
    void registerFileTable() {
        for (int n = FIXED_FILES; n >= 64; n /= 2) {
            int r = ring.registerSparseFiles(n);
            if (r >= 0) {
                direct = true;
                fixedFiles = n;
                return;
            }
            if (r != -Errno.EMFILE) {
                RingLoop.log(Level.INFO, name + ": no registered file table (" + Errno.name(-r) + "): connections are fds");
                return;
            }
        }
    }

    boolean direct() {
        return direct;
    }

    int fixedFiles() {
        return fixedFiles;
    }

    int inflight() {
        return inflight;
    }

    long pauses() {
        return pauses;
    }

    /** Whether an accept or its pause is still pending (a shutdown waits for them to end). */
    boolean armed() {
        return acceptArmed || pauseArmed;
    }

    void start() {
        armAccept();
    }

    private void armAccept() {
        if (acceptArmed || pauseArmed || closed) return;
        if (direct && open >= fixedFiles) {
            // A full table would not refuse the next client: the kernel takes it off the
            // listen queue, finds no free slot, closes it (the client sees RST) and says
            // ENFILE. So we never ask for that accept, and accept again when a connection has closed.
            if (!tableFull) RingLoop.log(Level.WARNING, name + ": the file table is full (" + open
                    + " connections): not accepting until one closes");
            tableFull = true;
            return;
        }
        if (tableFull) RingLoop.log(Level.INFO, name + ": accepting again");
        tableFull = false;
        // A multishot accept takes the whole listen queue at once (up to the backlog), so with
        // direct descriptors it is used only while the table has room for a full queue.
        acceptMultishot = multishot && (!direct || open + BACKLOG <= fixedFiles);
        // A direct descriptor is no fd, so it cannot be close-on-exec (the kernel says EINVAL).
        sq.accept(listenFd, direct ? 0 : Sockets.SOCK_CLOEXEC, acceptMultishot, direct, ud(ACCEPT, 0));
        acceptArmed = true;
        inflight++;
    }

    /** Once per turn, from the loop: {@code open} connections. If the table was full and one has closed, accept again. */
    void connectionsOpen(int open) {
        this.open = open;
        if (tableFull) armAccept();
    }

    /**
     * A completion of ours, with {@code open} connections before it. Returns the socket
     * accepted, for the loop to serve, or -1.
     */
    int onCompletion(int kind, int res, int flags, int open) {
        this.open = open;
        switch (kind) {
            case ACCEPT -> {
                return onAccept(res, flags);
            }
            case ACCEPT_PAUSE -> {
                inflight--;
                pauseArmed = false;
                pauseWanted = false;
                armAccept();
            }
            case ACCEPT_AUX -> inflight--;
            default -> throw new IllegalStateException("not an accept completion: " + kind);
        }
        return -1;
    }

    private int onAccept(int res, int flags) {
        int accepted = -1;
        // A multishot accept stays armed while its completions say F_MORE; any other ends it.
        if (!acceptMultishot || (flags & IORING_CQE_F_MORE) == 0) {
            acceptArmed = false;
            acceptCancelled = false;
            inflight--;
        }
        if (res >= 0) {
            int injected = Faults.take("io_uring accept");   // tests: this accept failed instead
            if (injected != 0) {
                closeAccepted(res);   // the client sees a reset, as after a real failure
                res = -injected;
            }
        }
        if (res >= 0) {
            if (outOfFds) {
                outOfFds = false;
                RingLoop.log(Level.INFO, name + ": accepting again");
            }
            if (!closed) {
                accepted = res;
                open++;                      // the loop adds it as soon as we return
                if (acceptArmed && acceptMultishot && direct && !acceptCancelled && open + BACKLOG > fixedFiles) {
                    cancelAccept();   // one at a time from now on
                    acceptCancelled = true;
                }
            } else {
                closeAccepted(res);
            }
        } else if (res != -Errno.ECANCELED) {
            // An if, not a switch on the enum: that would be a class of its own, loaded the first
            // time it runs, which is when we are out of fds and cannot open its file.
            AcceptErrors.Kind kind = AcceptErrors.classify(-res);
            if (kind == AcceptErrors.Kind.GONE_ALREADY) {
                // accept(2): ECONNABORTED, EPROTO, EPERM and the network errors are about one
                // client, not the listener: accept the next one at once.
                RingLoop.LOG.log(Level.DEBUG, name + ": accept: " + Errno.name(-res) + ", going on");
            } else if (kind == AcceptErrors.Kind.SHORT_OF_RESOURCES) {
                // Out of fds (EMFILE), of the machine's files (ENFILE: direct descriptors too, as the
                // accept makes the file before it takes the client; a full table is never asked) or of
                // kernel memory (ENOBUFS, ENOMEM), as day 3 sorts them. The client stays in the listen
                // queue; accepting again at once would fail again at once (a busy loop). Wait 100 ms on
                // a timeout request instead: closes meanwhile, ours or (ENFILE) anyone's, free what was short.
                if (!outOfFds) {
                    RingLoop.log(Level.WARNING, name + ": accept: " + Errno.name(-res) + " (" + Errno.description(-res)
                            + "); accepting again in 100 ms, and every 100 ms until it works");
                }
                outOfFds = true;
                pauseWanted = true;
                if (acceptArmed) cancelAccept();   // still armed (not on today's kernels): stop it first
            } else {
                // The listener itself is broken (EBADF, EINVAL): the ring's loop ends, saying why.
                throw new IllegalStateException("accept on the listener failed: " + Errno.name(-res)
                        + " (" + Errno.description(-res) + ")");
            }
        }
        if (!acceptArmed) {
            if (pauseWanted) armPause();
            else armAccept();
        }
        return accepted;
    }

    /** A socket accepted that we will not serve (shutting down, or a test's fault). */
    private void closeAccepted(int res) {
        if (direct) {
            sq.closeFixed(res, ud(ACCEPT_AUX, 0));
            inflight++;
        } else {
            Sockets.close(res);
        }
    }

    private void cancelAccept() {
        sq.cancel(ud(ACCEPT, 0), ud(ACCEPT_AUX, 0));
        inflight++;
    }

    private void armPause() {
        if (pauseArmed || closed) return;
        sq.timeout(pauseTimespec, ud(ACCEPT_PAUSE, 0));
        pauseArmed = true;
        inflight++;
        pauses++;
    }

    /** A graceful shutdown: accept nothing more, and cancel what is armed. */
    void shutdown() {
        closed = true;
        if (acceptArmed) cancelAccept();
        if (pauseArmed) {
            sq.cancel(ud(ACCEPT_PAUSE, 0), ud(ACCEPT_AUX, 0));
            inflight++;
        }
    }

    /** Stopping: the loop's one cancel-everything request ends what is armed. */
    void stop() {
        closed = true;
    }
}
