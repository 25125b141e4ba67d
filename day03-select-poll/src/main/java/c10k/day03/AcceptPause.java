package c10k.day03;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * nginx's answer to running out of descriptors: when {@code accept} fails with {@code EMFILE}
 * or {@code ENFILE}, stop watching the listener for a while and try again later.
 *
 * <p>Why not just retry: the connection stays in the kernel's queue, so the listener stays
 * readable; a level-triggered loop would be told so on every call and spin at 100% CPU, and
 * an edge-triggered one would never be told again. While paused, the loop's wait gets a
 * timeout ({@link #timeoutMillis()}) instead of waiting forever, and when the pause is over
 * the loop watches the listener again; clients already connected are served all along.
 * (nginx waits 500 ms; the book's servers wait 100 ms, one extra wake-up per pause.)
 *
 * <p>The policy lives here once; what "stop watching" means is each server's own (a pollfd's
 * events, a selection key's interest, an epoll registration). Safe to share between several
 * loop threads.
 */
public final class AcceptPause {

    public static final int DEFAULT_MILLIS = 100;

    private final System.Logger log;
    private final long pauseNanos;
    private final AtomicLong until = new AtomicLong();
    private volatile long lastLog = System.nanoTime() - 2_000_000_000L;

    public AcceptPause(String who) {
        this(who, DEFAULT_MILLIS);
    }

    public AcceptPause(String who, int millis) {
        this.log = c10k.day01.harness.Log.logger(who.replace(' ', '.'));   // "day03 poll": the logger c10k.day03.poll
        this.pauseNanos = millis * 1_000_000L;
    }

    /**
     * Starts a pause after {@code why}, unless one is already on. Returns true if this call
     * started it: the caller must then stop watching the listener.
     */
    public boolean begin(IOException why) {
        long now = System.nanoTime();
        if (!until.compareAndSet(0, now + pauseNanos)) return false;
        if (now - lastLog > 1_000_000_000L) {   // at most a line a second, however long it lasts
            lastLog = now;
            log.log(System.Logger.Level.WARNING, why.getMessage() + "; not accepting for " + pauseNanos / 1_000_000 + " ms at a time");
        }
        return true;
    }

    /** The wait's timeout: -1 (forever) when not paused, else the milliseconds left, at least 1. */
    public int timeoutMillis() {
        long u = until.get();
        if (u == 0) return -1;
        return (int) Math.max(1, (u - System.nanoTime()) / 1_000_000L);
    }

    /** True once, to one caller, when a pause is over: that caller watches the listener again. */
    public boolean endIfDue() {
        long u = until.get();
        return u != 0 && System.nanoTime() >= u && until.compareAndSet(u, 0);
    }

    public boolean isPaused() {
        return until.get() != 0;
    }
}
