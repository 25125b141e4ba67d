package c10k.exercises.day06;

/**
 * Day 6, exercise 2: idle timers for an event loop that knows its connections by fd number, as
 * a loop written in C does ({@code epoll_event.data.fd}, an array indexed by number). Each
 * connection has an idle deadline; activity moves it later; a connection whose deadline passes
 * is closed by the loop, which this class asks to do it.
 *
 * <p><b>Build</b> the constructor's state, {@link #opened}, {@link #active}, {@link #closed}
 * and {@link #expire}. What a ticket holds, and how the deadlines are kept, is yours to choose.
 *
 * <p><b>The contract</b> the loop relies on. {@code opened(fd, now)} starts a new connection's
 * clock and returns its ticket, which the loop keeps with that connection and hands back with
 * every report about it. A ticket names the one connection it was given for: never the clients
 * that hold its number later. A connection is closed by {@code expire(now)}, through
 * {@link Closer#closeIdle} and exactly once, at the first pass where it has been idle (no
 * {@code opened} or {@code active} for it) for {@code idleNanos} or more, and at no pass before;
 * one pass closes every connection that is due. A connection is over once it is closed, by the
 * timers or by the loop ({@code closed(ticket)}: the timers then never close it). A report with
 * the ticket of a connection that is over changes nothing, whenever it comes and whatever holds
 * its number by then. {@code active} is called for every read of every connection: it costs the
 * same with ten connections or fifty thousand, and allocates nothing. What the timers hold is
 * bounded by the number of fds, however many reads there were and however many clients came
 * and went.
 *
 * <p><b>The loop around you</b>, which you cannot see from here: it reports ({@code active},
 * {@code closed}) when its workers' messages reach it, so any report may come after its
 * connection is over. The kernel hands out the lowest free number, so a number just closed is
 * often the very next one a client gets; and the loop reads its clock once per pass, so the
 * calls of one pass share one {@code now}.
 * {@code closeIdle} is the loop's own close: before it returns it may report on the connection
 * it is closing, accept a new client onto the number it has just freed, and report on that one.
 *
 * <p><b>What the tests try</b>: one connection and fifty thousand, on a clock moved by hand;
 * many due in one pass; late reports and numbers that change hands, in orders the loop above can
 * produce; a million reads, counting what they allocate; and real sockets, where a number that
 * changes hands names the next client's socket, or a file.
 *
 * <p><b>Why</b>: a timer keyed by a number is a late actor that nobody sees coming. The
 * connection it was armed for is gone, the number names someone else, and when it fires it
 * closes a stranger, or keeps an idle one alive: a timeout that frees nothing, and fds that run
 * out.
 *
 * <p><b>Builds on</b>: <a href="../../../../../../../day06-fd-reuse/README.md#the-race">"The
 * race"</a> and <a href="../../../../../../../day06-fd-reuse/README.md#why-it-is-catastrophic">"Why
 * it is catastrophic"</a> (what, besides a write, can come late?), in day 6's chapter; <a
 * href="../../../../../../../day04-epoll-et/README.md#why-every-networked-program-needs-them">"Why
 * every networked program needs them"</a>, in day 4's "Timers". How day 4 keeps its deadlines
 * comes with {@code ./jbang check day06 --hint 2}.
 *
 * <p><b>Check</b>: {@code ./jbang check day06}. Tests: {@code IdleTimersTest}.
 *
 * <p>Every method runs on the event-loop thread; {@code now} never goes backwards.
 */
public final class IdleTimers {

    /** What the loop does with a connection whose idle time is up (given by the loop). */
    public interface Closer {
        /** Closes the connection on {@code fd} now. May call this class's methods before it returns. */
        void closeIdle(int fd);
    }

    /** The fds the loop uses are {@code 0 .. maxFds - 1}. */
    private final int maxFds;
    /** How long a connection may stay idle; more than 0. */
    private final long idleNanos;
    private final Closer closer;

    public IdleTimers(int maxFds, long idleNanos, Closer closer) {
        if (maxFds <= 0 || idleNanos <= 0) throw new IllegalArgumentException("maxFds and idleNanos must be more than 0");
        this.maxFds = maxFds;
        this.idleNanos = idleNanos;
        this.closer = closer;
        // TODO: what must the timers keep?
    }

    /** A new client's connection on {@code fd}, at {@code now}: its clock starts. Returns its ticket. */
    public long opened(int fd, long now) {
        // TODO
        throw new UnsupportedOperationException("TODO: IdleTimers.opened (day 6, exercise 2)");
    }

    /** The connection {@code ticket} was given for read something at {@code now}. */
    public void active(long ticket, long now) {
        // TODO
        throw new UnsupportedOperationException("TODO: IdleTimers.active (day 6, exercise 2)");
    }

    /** The loop closed the connection {@code ticket} was given for. */
    public void closed(long ticket) {
        // TODO
        throw new UnsupportedOperationException("TODO: IdleTimers.closed (day 6, exercise 2)");
    }

    /** Closes every connection idle for {@code idleNanos} or more at {@code now}; returns how many it closed. */
    public int expire(long now) {
        // TODO
        throw new UnsupportedOperationException("TODO: IdleTimers.expire (day 6, exercise 2)");
    }
}
