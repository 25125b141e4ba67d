package c10k.day03;

import c10k.day01.harness.Timeouts;

/**
 * The three clocks of the protocol, for the connections of one loop: idle (no complete line
 * for {@code --idle-timeout}), send (pending output with no progress for
 * {@code --send-timeout}) and drain (a lingering close that the peer does not finish within
 * {@code --drain-timeout}). A connection runs one clock at a time, so it owns one
 * {@link Deadlines.Timer} and moves it between three lists; each list holds a single fixed
 * duration and so stays in deadline order by appending (see {@link Deadlines}): every
 * operation is O(1), and the loop's {@code epoll_wait} timeout is the nearest of three heads.
 *
 * <p>Not thread-safe: the loop that owns the connections owns their timers (several threads
 * sharing one set of connections would have to put a lock around it).
 */
public final class Timers {

    /** Closes a connection whose clock ran out: gently (idle) or hard (send, drain). */
    @FunctionalInterface
    public interface Expired {
        void timedOut(NativeConnection c, boolean hard);
    }

    private final Deadlines idle, send, drain;

    public Timers(Timeouts t) {
        idle = new Deadlines("idle", t.idle().toNanos());
        send = new Deadlines("send", t.send().toNanos());
        drain = new Deadlines("drain", t.drain().toNanos());
    }

    /** A new connection: its idle clock starts now. */
    public void started(NativeConnection c, long now) {
        idle.restart(c.timer, now);
    }

    /**
     * After anything happened to {@code c}: which clock runs. Drain while lingering, send while
     * output waits, else idle. Only a complete line restarts the idle clock, so a peer dripping
     * half a line a byte at a time still times out (and bytes handed elsewhere to be answered
     * restart nothing until a line comes of them); only bytes the kernel took restart the send clock.
     */
    public void retime(NativeConnection c, long now) {
        Deadlines want = clockFor(c);
        boolean activity = c.takeActivity();
        boolean progress = c.takeProgress();
        if (c.timer.list() != want || (want == idle && activity) || (want == send && progress)) want.restart(c.timer, now);
    }

    /**
     * For loops where {@code c}'s clock can run out on one thread while another one is acting
     * on {@code c} (several threads on one set of connections): whether what that owner did since voids the timeout. Only what
     * {@link #retime} counts as a reason to restart the clock that ran out: a complete line for
     * the idle clock, output the kernel took for the send clock (the drain clock never
     * restarts). Bytes with no newline, or a writable edge with nothing sent, do not: else a
     * peer dripping a byte just as its deadline passes would buy itself a whole new idle period,
     * again and again. Takes the flag it looks at, as {@code retime} would.
     */
    public boolean voidsTimeout(NativeConnection c, boolean hard) {
        return hard ? c.takeProgress() : c.takeActivity();
    }

    /**
     * False when {@link #retime} would change nothing: no clock runs for {@code c}, and the one
     * that would is switched off (say {@code --idle-timeout 0}, with nothing left to send).
     * Safe to ask without a lock that several threads may put around the timers: only the
     * thread that owns {@code c} ever puts its timer into a list, so "in no list" cannot change
     * under its feet, and any other answer sends the caller to the lock.
     */
    public boolean mayRetime(NativeConnection c) {
        return c.timer.list() != null || clockFor(c).enabled();
    }

    private Deadlines clockFor(NativeConnection c) {
        return c.isLingering() ? drain : c.hasPendingOutput() ? send : idle;
    }

    /** Hands every connection whose clock ran out by {@code now} to {@code then}. */
    public void expire(long now, Expired then) {
        Object due;
        while ((due = idle.pollExpired(now)) != null) then.timedOut((NativeConnection) due, false);
        while ((due = send.pollExpired(now)) != null) then.timedOut((NativeConnection) due, true);
        while ((due = drain.pollExpired(now)) != null) then.timedOut((NativeConnection) due, true);
    }

    /** Nanoseconds to the nearest deadline, or {@code Long.MAX_VALUE} if no clock runs. */
    public long nanosUntilNext(long now) {
        return Math.min(idle.nanosUntilNext(now), Math.min(send.nanosUntilNext(now), drain.nanosUntilNext(now)));
    }
}
