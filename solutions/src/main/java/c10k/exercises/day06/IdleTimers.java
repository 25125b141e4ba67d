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
 * clock and gives the loop a ticket, which the loop keeps with that connection and hands back
 * with every report about it. A connection is closed by {@code expire(now)}, through
 * {@link Closer#closeIdle} and exactly once, at the first pass where it has been idle (no
 * {@code opened} or {@code active} for it) for {@code idleNanos} or more, and at no pass before.
 * One pass closes every connection that is due. {@code closed(ticket)}: the loop closed that
 * connection for a reason of its own, and the timers never close it. A ticket may come back
 * late: a worker's report reaches the loop after its connection has closed, after the timers
 * closed it, after its number went to the next client. A report about a connection that is
 * over changes nothing, for anyone. The kernel hands out the lowest free number, so a number
 * that has just been closed is often the very next one a client gets: in the same pass, at the
 * same {@code now}, or from inside {@code closeIdle} itself, which may report the close of the
 * connection it is closing, accept a new client onto the number it has just freed, and report
 * on it, before it returns. {@code active} is called for every read of every connection: it
 * costs the same with ten connections or fifty thousand, and allocates nothing. What the
 * timers hold is bounded by the number of fds, however many reads there were and however many
 * clients came and went.
 *
 * <p><b>What the tests try</b>: one connection and fifty thousand, on a clock moved by hand;
 * many due in one pass; reports that come late, in every order the loop can give them; a
 * number reused at once, at the same instant, and from inside {@code closeIdle}; a million
 * reads, counting what they allocate; and real sockets, where a number that changes hands names
 * the next client's socket, or a file.
 *
 * <p><b>Why</b>: a timer keyed by a number is a late actor that nobody sees coming. The
 * connection it was armed for is gone, the number names someone else, and when it fires it
 * closes a stranger, or keeps an idle one alive: a timeout that frees nothing, and fds that run
 * out.
 *
 * <p><b>Builds on</b>: <a href="../../../../../../../day06-fd-reuse/README.md#the-race">"The
 * race"</a> and <a href="../../../../../../../day06-fd-reuse/README.md#why-it-is-catastrophic">"Why
 * it is catastrophic"</a> (what, besides a write, can come late?), in day 6's chapter; <a
 * href="../../../../../../../day04-epoll-et/README.md#timers-closing-what-nobody-else-will-close">"Timers:
 * closing what nobody else will close"</a>, in day 4's.
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

    private static final int NONE = -1;

    /** The fds the loop uses are {@code 0 .. maxFds - 1}. */
    private final int maxFds;
    /** How long a connection may stay idle; more than 0. */
    private final long idleNanos;
    private final Closer closer;

    // One entry per number, made once: what the timers hold is bounded by maxFds, not by the
    // clients that came and went. A number's generation counts the lives of connections on it:
    // odd while a connection holds it, even once that connection is over (closed by the loop,
    // or by the timers). A ticket is the generation its connection was opened with, and the
    // number; it names a live connection only while the number's generation is still that one.
    private final int[] generation;
    // Every clock has the same length, so a clock (re)started now has the latest deadline of
    // all: a list in deadline order is kept by appending at the tail, and the due connections
    // are always at the head (day 4's timers, on numbers instead of objects).
    private final long[] deadline;
    private final int[] prev;
    private final int[] next;
    private int head = NONE;
    private int tail = NONE;

    public IdleTimers(int maxFds, long idleNanos, Closer closer) {
        if (maxFds <= 0 || idleNanos <= 0) throw new IllegalArgumentException("maxFds and idleNanos must be more than 0");
        this.maxFds = maxFds;
        this.idleNanos = idleNanos;
        this.closer = closer;
        generation = new int[maxFds];
        deadline = new long[maxFds];
        prev = new int[maxFds];
        next = new int[maxFds];
    }

    /** A new client's connection on {@code fd}, at {@code now}: its clock starts. Returns its ticket. */
    public long opened(int fd, long now) {
        if (fd < 0 || fd >= maxFds) throw new IllegalArgumentException("fd " + fd + " is outside 0.." + (maxFds - 1));
        if (live(fd)) end(fd);                   // the loop missed a close: that connection is over
        generation[fd]++;                        // odd: a new life, which no earlier ticket names
        append(fd, now);
        return ((long) generation[fd] << 32) | fd;
    }

    /** The connection {@code ticket} was given for read something at {@code now}. */
    public void active(long ticket, long now) {
        int fd = current(ticket);
        if (fd == NONE) return;                  // over: the number is someone else's, or no one's
        unlink(fd);
        append(fd, now);
    }

    /** The loop closed the connection {@code ticket} was given for. */
    public void closed(long ticket) {
        int fd = current(ticket);
        if (fd != NONE) end(fd);
    }

    /** Closes every connection idle for {@code idleNanos} or more at {@code now}; returns how many it closed. */
    public int expire(long now) {
        int closed = 0;
        while (head != NONE && deadline[head] - now <= 0) {
            int fd = head;
            // Over before the loop hears of it: closeIdle frees the number, and the loop may
            // give it to the next client (and report on it) before closeIdle returns. Nothing
            // about the old connection may be done to the number after that.
            end(fd);
            closer.closeIdle(fd);
            closed++;
        }
        return closed;
    }

    /** The fd the ticket names if its connection is still live, else NONE. */
    private int current(long ticket) {
        int fd = (int) ticket;
        if (fd < 0 || fd >= maxFds) return NONE;
        return generation[fd] == (int) (ticket >>> 32) && live(fd) ? fd : NONE;
    }

    private boolean live(int fd) {
        return (generation[fd] & 1) == 1;
    }

    /** The connection on fd is over: its clock stops, and every ticket for it is stale from now on. */
    private void end(int fd) {
        unlink(fd);
        generation[fd]++;                        // even: no live connection on fd
    }

    private void append(int fd, long now) {
        deadline[fd] = now + idleNanos;
        prev[fd] = tail;
        next[fd] = NONE;
        if (tail == NONE) head = fd;
        else next[tail] = fd;
        tail = fd;
    }

    private void unlink(int fd) {
        if (prev[fd] == NONE) head = next[fd];
        else next[prev[fd]] = next[fd];
        if (next[fd] == NONE) tail = prev[fd];
        else prev[next[fd]] = prev[fd];
        prev[fd] = next[fd] = NONE;
    }
}
