package c10k.day07;

import c10k.day01.harness.Timeouts;
import c10k.day03.Deadlines;
import java.util.function.LongSupplier;

/**
 * A ring's clocks: the idle, send and drain timeouts of every day (day 3's
 * {@link Deadlines}, one list per fixed duration), and the shutdown's drain. Each connection
 * is on at most one list at a time: it is its own timer. The loop reads the time once per turn
 * and waits no longer than the nearest deadline: no fixed tick.
 */
final class RingTimers {

    /** What happens to a connection whose deadline has passed. */
    interface Expiry {
        /** {@code timeout}: an idle or send timeout (counted as such), not the end of a drain. */
        void expired(UringConnection c, boolean timeout);
    }

    private final LongSupplier clock;
    final Deadlines idle, sending, draining;
    /** Set when a graceful shutdown begins: every connection lingers against it. */
    Deadlines shutdownDrain;
    private long now;

    RingTimers(Timeouts timeouts, LongSupplier clock) {
        this.clock = clock;
        this.idle = new Deadlines("idle", timeouts.idle().toNanos());
        this.sending = new Deadlines("send", timeouts.send().toNanos());
        this.draining = new Deadlines("drain", timeouts.drain().toNanos());
        tick();
    }

    /** Reads the clock: once per turn, every deadline of the turn measured from it. */
    long tick() {
        return now = clock.getAsLong();
    }

    long now() {
        return now;
    }

    /** (Re)starts {@code c}'s clock on {@code list}, taking it off any other list. */
    void restart(Deadlines list, UringConnection c) {
        list.restart(c, now);   // the connection is its own timer
    }

    /**
     * The drain runs from now, read afresh: the turn's reading was taken before its batch of
     * completions was handled, and a large batch on a slow machine takes seconds, which would
     * come off the drain and cut off answers still being sent.
     */
    void beginShutdownDrain(long drainNanos) {
        tick();
        shutdownDrain = new Deadlines("shutdown drain", Math.max(1, drainNanos));
    }

    /** The nearest deadline, as the wait's timeout. */
    long nanosUntilNext() {
        long wait = Math.min(Math.min(idle.nanosUntilNext(now), sending.nanosUntilNext(now)), draining.nanosUntilNext(now));
        if (shutdownDrain != null) wait = Math.min(wait, shutdownDrain.nanosUntilNext(now));
        return wait;
    }

    void expire(Expiry expiry) {
        tick();
        expire(idle, true, expiry);
        expire(sending, true, expiry);
        expire(draining, false, expiry);
        if (shutdownDrain != null) expire(shutdownDrain, false, expiry);
    }

    private void expire(Deadlines list, boolean timeout, Expiry expiry) {
        Object o;
        while ((o = list.pollExpired(now)) != null) expiry.expired((UringConnection) o, timeout);
    }
}
