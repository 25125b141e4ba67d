package c10k.day01.harness;

import c10k.day01.harness.Stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A server's live numbers, kept so that counting costs the hot path nothing it would notice.
 *
 * <p>Each thread that serves connections gets its own {@link Counters} and is the only one to
 * write them, with plain arithmetic and an "opaque" store (no fence, no lock, no shared cache
 * line with another writer). A reader ({@code --stats}, a test, JFR) sums every thread's
 * counters whenever it likes; it may see one thread's figures a moment late, never torn.
 * A single shared {@code AtomicLong} per figure would make every line on every thread fight
 * for one cache line.
 */
public final class Stats {

    /** The figures of one serving thread. Written by that thread only. */
    public static final class Counters {
        private static final VarHandle ACCEPTED, CLOSED, LINES, BYTES_IN, BYTES_OUT, WAKEUPS, PAUSED, REFUSED, TIMEOUTS, LATE;

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.lookup();
                ACCEPTED = l.findVarHandle(Counters.class, "accepted", long.class);
                CLOSED = l.findVarHandle(Counters.class, "closed", long.class);
                LINES = l.findVarHandle(Counters.class, "lines", long.class);
                BYTES_IN = l.findVarHandle(Counters.class, "bytesIn", long.class);
                BYTES_OUT = l.findVarHandle(Counters.class, "bytesOut", long.class);
                WAKEUPS = l.findVarHandle(Counters.class, "wakeups", long.class);
                PAUSED = l.findVarHandle(Counters.class, "paused", long.class);
                REFUSED = l.findVarHandle(Counters.class, "refused", long.class);
                TIMEOUTS = l.findVarHandle(Counters.class, "timeouts", long.class);
                LATE = l.findVarHandle(Counters.class, "lateWritesRefused", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private long accepted, closed, lines, bytesIn, bytesOut, wakeups, paused, refused, timeouts, lateWritesRefused;

        public void accepted() { ACCEPTED.setOpaque(this, accepted + 1); }
        public void closed() { CLOSED.setOpaque(this, closed + 1); }
        public void lines(long n) { LINES.setOpaque(this, lines + n); }
        public void bytesIn(long n) { BYTES_IN.setOpaque(this, bytesIn + n); }
        public void bytesOut(long n) { BYTES_OUT.setOpaque(this, bytesOut + n); }
        public void wakeup() { WAKEUPS.setOpaque(this, wakeups + 1); }
        /** +1 when a reader is paused by backpressure, -1 when it resumes or closes. */
        public void paused(int delta) { PAUSED.setOpaque(this, paused + delta); }
        public void refused() { REFUSED.setOpaque(this, refused + 1); }
        public void timedOut() { TIMEOUTS.setOpaque(this, timeouts + 1); }
        public void lateWriteRefused() { LATE.setOpaque(this, lateWritesRefused + 1); }
    }

    /** The sum of every thread's counters at one moment (each since the server started). */
    public record Snapshot(long accepted, long closed, long lines, long bytesIn, long bytesOut, long wakeups,
                           long pausedReaders, long refused, long timeouts, long lateWritesRefused) {
        public long open() {
            return accepted - closed;
        }
    }

    private final Set<Counters> all = ConcurrentHashMap.newKeySet();
    /** What threads that have ended counted ({@link #retire}); guarded by {@code this}. */
    private long rAccepted, rClosed, rLines, rIn, rOut, rWakeups, rPaused, rRefused, rTimeouts, rLate;

    /** A new set of counters for one thread (call once per thread, not per event). */
    public Counters newCounters() {
        Counters c = new Counters();
        all.add(c);
        return c;
    }

    /**
     * Folds the counters of a thread that is about to end into the totals, and forgets them:
     * for a server with a thread per connection, whose set of counters would otherwise grow
     * with every connection it ever had. Called by the counters' own thread, last.
     */
    public synchronized void retire(Counters k) {
        rAccepted += k.accepted;
        rClosed += k.closed;
        rLines += k.lines;
        rIn += k.bytesIn;
        rOut += k.bytesOut;
        rWakeups += k.wakeups;
        rPaused += k.paused;
        rRefused += k.refused;
        rTimeouts += k.timeouts;
        rLate += k.lateWritesRefused;
        all.remove(k);
    }

    /** Synchronized only with {@link #retire}, so that no thread's figures count twice or not at all. */
    public synchronized Snapshot snapshot() {
        long a = rAccepted, c = rClosed, l = rLines, in = rIn, out = rOut, w = rWakeups, p = rPaused, r = rRefused, t = rTimeouts, late = rLate;
        for (Counters k : all) {
            a += (long) Counters.ACCEPTED.getOpaque(k);
            c += (long) Counters.CLOSED.getOpaque(k);
            l += (long) Counters.LINES.getOpaque(k);
            in += (long) Counters.BYTES_IN.getOpaque(k);
            out += (long) Counters.BYTES_OUT.getOpaque(k);
            w += (long) Counters.WAKEUPS.getOpaque(k);
            p += (long) Counters.PAUSED.getOpaque(k);
            r += (long) Counters.REFUSED.getOpaque(k);
            t += (long) Counters.TIMEOUTS.getOpaque(k);
            late += (long) Counters.LATE.getOpaque(k);
        }
        return new Snapshot(a, c, l, in, out, w, p, r, t, late);
    }

    /** Implemented by servers that keep {@link Stats}: {@code --stats} reports them. */
    public interface Source {
        Stats stats();
    }
}
