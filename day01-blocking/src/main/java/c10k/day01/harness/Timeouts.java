package c10k.day01.harness;

import c10k.day01.harness.Timeouts;

import java.time.Duration;

/**
 * The three clocks of a connection on the event-loop days (the protocol's "Timeouts" and
 * "Shutdown"): how long a connection may deliver no complete line, how long its pending output
 * may make no progress, and how long a closing connection is drained before it is closed hard.
 *
 * <p>{@link Duration#ZERO} means "never" for {@code idle} and {@code send}.
 *
 * @param idle  {@code --idle-timeout}: no complete line for this long closes the connection
 * @param send  {@code --send-timeout}: output waiting with no progress for this long closes it
 * @param drain {@code --drain-timeout}: after shutting down the sending side (on SIGTERM, or
 *              after an error line), read and discard for at most this long, then close
 */
public record Timeouts(Duration idle, Duration send, Duration drain) {

    public static final Timeouts DEFAULTS = new Timeouts(Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(5));
    /** For tests that do not care about timers: nothing times out except the drain. */
    public static final Timeouts NONE = new Timeouts(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(5));

    public Timeouts {
        if (idle.isNegative() || send.isNegative() || drain.isNegative()) {
            throw new IllegalArgumentException("timeouts cannot be negative");
        }
    }

    public static Timeouts ofSeconds(long idle, long send, long drain) {
        return new Timeouts(Duration.ofSeconds(idle), Duration.ofSeconds(send), Duration.ofSeconds(drain));
    }
}
