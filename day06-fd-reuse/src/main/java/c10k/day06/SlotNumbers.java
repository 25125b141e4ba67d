package c10k.day06;

import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.System.Logger.Level;

/**
 * The pinned range of fd numbers, {@code base .. base + count - 1}, held by this process from
 * start to close, so that no {@code open}, {@code socket} or {@code accept4} anywhere in the
 * process can ever be handed one of them.
 *
 * <p>What holds a number while no client does is a <em>placeholder</em>: the JDK's
 * {@code preClose} technique. One end of a Unix socketpair whose other end is closed, so a
 * late reader of the number sees end of stream and a late writer gets {@code EPIPE}, never a
 * stranger's socket. The one placeholder socket is duplicated onto every free number (one
 * open file description, {@code count} table entries): {@code ls -l /proc/PID/fd} shows the
 * whole range, free slots and busy ones alike.
 *
 * <pre>
 *   start:        F_DUPFD_CLOEXEC(placeholder, n)   for every n: the number is ours, or start fails
 *   a client:     dup3(accepted, n)    atomically replaces the placeholder; close(accepted)
 *   it leaves:    dup3(placeholder, n) atomically replaces the client's socket (no close(n) ever)
 *   close:        close(n) for every n, then the placeholder
 * </pre>
 *
 * <p>Every change of a number is one {@code dup3}: the kernel swaps the file behind the number
 * in one step, so there is no instant at which the number is free. A {@code close(n)} followed
 * by anything would leave one.
 */
final class SlotNumbers implements AutoCloseable {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day06");

    final int base;
    final int count;
    private final FdCalls.Limit limit;
    private int placeholder = -1;   // our own end of the dead socketpair (a low number)
    private int held;               // numbers base .. base + held - 1 are ours

    private SlotNumbers(int base, int count, FdCalls.Limit limit) {
        this.base = base;
        this.count = count;
        this.limit = limit;
    }

    /**
     * Raises the soft open-files limit to the hard one, checks that the range fits under it,
     * and takes every number of the range. Fails, saying what to change, rather than at the
     * ten-thousandth client.
     */
    static SlotNumbers reserve(int base, int count) throws SyscallException {
        if (base < 3 || count < 1) {
            throw new IllegalArgumentException("--fd-base must be at least 3 (0, 1 and 2 are stdin, stdout and stderr)"
                    + " and --pool at least 1, got " + base + " and " + count);
        }
        FdCalls.Limit limit = FdCalls.raiseSoftLimitToHard();
        long highest = (long) base + count - 1;
        // RLIMIT_NOFILE is one more than the highest number the process may use.
        if (highest >= limit.soft()) {
            throw new IllegalArgumentException(String.format(
                    "a pool of %d connections at fds %d..%d needs an open-files limit above %d, but the soft limit is %d "
                            + "(hard %d): use a smaller --pool or --fd-base, or raise the hard limit (ulimit -Hn, "
                            + "/etc/security/limits.conf, systemd's LimitNOFILE=)",
                    count, base, highest, highest, limit.soft(), limit.hard()));
        }
        SlotNumbers s = new SlotNumbers(base, count, limit);
        try {
            int[] pair = FdCalls.socketpair(Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC);
            Sockets.close(pair[1]);             // the other end is gone: EOF for readers, EPIPE for writers
            s.placeholder = pair[0];
            for (int n = base; n <= highest; n++) s.take(n);
        } catch (SyscallException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Puts the placeholder on {@code n} without clobbering anything: {@code F_DUPFD} gives the
     * lowest free number at or above {@code n}, so a higher answer means {@code n} was taken
     * (a jar the JVM reads, a log file). dup3 would have closed that file silently.
     */
    private void take(int n) throws SyscallException {
        int got = FdCalls.dupAtLeast(placeholder, n);
        if (got != n) {
            Sockets.close(got);
            throw new IllegalArgumentException("fd " + n + " in the pinned range " + base + ".." + (base + count - 1)
                    + " is already open in this process: choose another --fd-base");
        }
        held++;
    }

    /** A client's socket onto slot number {@code n}: the placeholder goes, the accepted number is closed. */
    void pin(int acceptedFd, int n) throws SyscallException {
        FdCalls.dup3(acceptedFd, n);
        Sockets.close(acceptedFd);   // one reference less; the socket lives on under n
    }

    /**
     * The client left: the placeholder back on {@code n}, replacing the client's socket in one
     * step (its last reference, so the kernel closes the socket). The caller holds the slot's
     * lock and has removed {@code n} from epoll first: the registration belongs to the socket's
     * open file description, not to the number.
     */
    void unpin(int n) {
        try {
            FdCalls.dup3(placeholder, n);
        } catch (SyscallException e) {
            // Cannot happen with two valid numbers; if it did, the number must still not stay a
            // dead client's socket. Closing it opens the very gap this class exists to shut.
            LOG.log(Level.ERROR, "day06: " + e.getMessage() + "; closing fd " + n + ", which is now free for anyone");
            Sockets.close(n);
        }
    }

    /** The placeholder's own number, for tests that compare {@code /proc/self/fd} links. */
    int placeholderFd() {
        return placeholder;
    }

    FdCalls.Limit limit() {
        return limit;
    }

    /** Gives the whole range back; only once no thread can write to a slot any more. */
    @Override
    public void close() {
        for (int i = 0; i < held; i++) Sockets.close(base + i);
        held = 0;
        if (placeholder >= 0) Sockets.close(placeholder);
        placeholder = -1;
    }
}
