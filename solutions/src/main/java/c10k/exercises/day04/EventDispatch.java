package c10k.exercises.day04;

import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;

/**
 * Day 4, exercise 4: find the bug. What one epoll event makes a connection do, as a tutorial
 * wrote it.
 *
 * <p><b>The symptom</b>: an edge-triggered echo server built on {@link #handle} passes every
 * test with a client that sends a line and waits for its answer. With a client that pipelines
 * (it keeps sending while it reads, as every benchmark does), now and then a connection stops
 * getting answers for good: its client has read everything, and sends more lines, and gets
 * nothing back. The server is not busy, nothing is logged, other clients are served. It
 * happens both to clients that read fast and to clients that read slowly enough to be paused
 * by backpressure now and then. The tests reproduce it with a scripted connection.
 *
 * <p><b>Fix</b> {@link #handle}, to its contract: given the events epoll reported for one
 * connection, in one event, do everything each of them asks, so that no edge is wasted: an
 * edge-triggered event is not reported twice, and a connection must never be left waiting for
 * one that already came. {@link Conn} is the connection's side (given): {@code flush} sends
 * what waits until it is gone or the kernel says EAGAIN, {@code read} is one read turn (it
 * answers the lines it reads, sending first; a connection paused by backpressure reads
 * nothing), {@code wantsRead} is false while the connection is paused (its unsent answers are
 * above day 3's high-water mark) or finished, {@code hasPendingOutput} says whether answers
 * still wait, {@code hangUpReported} tells the read turn that a
 * FIN may be queued ("A short read is a drained socket, until the FIN is reported"). Before
 * you change a line, find which report was dropped, and in which situations, and say it
 * in a comment.
 *
 * <p><b>Why</b>: edge-triggered epoll reports a change once. An event whose request the
 * handler ignores is gone, and the connection then waits for a change that its own state
 * prevents.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day04-epoll-et/README.md">day 4's
 * chapter</a>:
 * <a href="../../../../../../../day04-epoll-et/README.md#level-triggered-and-edge-triggered">"Level-triggered
 * and edge-triggered"</a> and
 * <a href="../../../../../../../day04-epoll-et/README.md#update-epollout-only-while-something-waits">"{@code
 * update}: {@code EPOLLOUT} only while something waits"</a>. The section that teaches the lesson
 * this bug breaks is named by {@code ./jbang check day04 --hint 2}: find the instant first.
 *
 * <p><b>Check</b>: {@code ./jbang check day04}. Tests: {@code EventDispatchTest}.
 */
public final class EventDispatch {

    /** One connection, as the event loop sees it (given). */
    public interface Conn {
        /** Sends what waits, until it is gone or the kernel says EAGAIN. */
        void flush() throws SyscallException;

        /**
         * One read turn: reads, answers what it read (sending first, queueing what the kernel refused); paused,
         * nothing. With nothing in the socket the kernel answers EAGAIN at once, and the turn does nothing.
         */
        void read() throws SyscallException;

        /** The peer hung up: from now on only EAGAIN or end of stream ends a read turn. */
        void hangUpReported();

        /** Nothing can be delivered any more: the loop closes it. */
        void markBroken();

        /** Whether the connection reads: not paused by backpressure (that changes as its answers leave), not finished. */
        boolean wantsRead();

        /** Whether answers still wait in the outbox, refused by the kernel so far. */
        boolean hasPendingOutput();
    }

    private EventDispatch() {
    }

    /** Everything the events of one epoll event ask of connection {@code c}. */
    public static void handle(Conn c, int events) throws SyscallException {
        if ((events & Epoll.EPOLLERR) != 0) {
            c.markBroken();                         // reset: nothing can be delivered any more
            return;
        }
        if ((events & (Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) c.hangUpReported();
        // The tutorial let the connection's phase choose which report to act on. Reading, it
        // ignored EPOLLOUT: answers that waited below the pause mark were never sent, since the
        // socket does not become writable "again" while nothing is sent (and an event carrying
        // EPOLLIN and EPOLLOUT together lost its output edge). Paused, it flushed and did not
        // read: the lines that came during the pause had their edge then, while the read turn
        // read nothing, and no other edge comes for them. Both directions, every time; and a
        // flush that empties the outbox reads, edge or not, as day 4's ConnectionStep does
        // (reading only when the flush ended a pause is right too: a read with nothing there
        // costs one EAGAIN).
        boolean drained = false;
        if ((events & Epoll.EPOLLOUT) != 0) {
            c.flush();
            drained = !c.hasPendingOutput();
        }
        if (drained || (events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0) c.read();
        // Hung up both ways while not reading (paused, or done): nothing can be delivered any more.
        if ((events & Epoll.EPOLLHUP) != 0 && !c.wantsRead()) c.markBroken();
    }
}
