package c10k.exercises.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day04.Epoll;
import c10k.exercises.Hints;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@Hints({
        "The stalled client has answers waiting on the server, and the server is never told to send them. Which of epoll's reports would have said \"send now\", and in which situation could handle() have had it and not acted on it?",
        "Re-read day 4's \"handle: both directions, every time\": the lesson this bug breaks; then \"update: EPOLLOUT only while something waits\": when EPOLLOUT is reported again.",
        "Follow two connections through handle(): one with a few answers waiting (below the pause mark) that gets EPOLLIN and EPOLLOUT in one event, the peer having read and sent in the same instant; and one paused by backpressure whose client sent lines during the pause, that then gets EPOLLOUT. When did each one's lines and room get their edge?"})
@DisplayName("4. EventDispatch: find why a pipelining client stalls for good")
class EventDispatchTest {

    /**
     * A connection played by the test: a peer whose unread answers fill the server's socket,
     * so that some of them wait in the outbox, as under a pipelining client. Above
     * {@link #PAUSE_ABOVE} waiting bytes it is paused (day 3's backpressure) and its read turn
     * reads nothing.
     */
    static final class Scripted implements EventDispatch.Conn {
        static final int PAUSE_ABOVE = 64 * 1024;
        final List<String> calls = new ArrayList<>();
        int waiting;                 // bytes in the outbox: the kernel refused them
        int unread;                  // bytes of lines in the socket, not read yet
        boolean hungUp;
        boolean broken;

        @Override
        public void flush() {
            calls.add("flush");
            waiting = 0;             // the room epoll reported takes all of it
        }

        @Override
        public void read() {
            if (!wantsRead()) {
                calls.add("read (paused: nothing)");
                return;
            }
            calls.add(hungUp ? "read to the FIN" : "read");
            // As the kernel: with nothing unread, recv says EAGAIN and the turn answers nothing.
            waiting += unread;       // answers to what it read (an echo); the socket is still full: they wait
            unread = 0;
        }

        @Override
        public boolean hasPendingOutput() {
            return waiting > 0;
        }

        @Override
        public void hangUpReported() {
            hungUp = true;
        }

        @Override
        public void markBroken() {
            broken = true;
        }

        @Override
        public boolean wantsRead() {
            return waiting <= PAUSE_ABOVE;
        }
    }

    private final Scripted c = new Scripted();

    private static final String LESSON = " The lesson it breaks: an edge-triggered report comes once; a report the"
            + " handler does not act on is never repeated, and the connection waits for a change that only it could make";

    @Test
    void aClientThatReadsAndSendsAtOnceGetsItsAnswers() throws Exception {
        c.waiting = 64 * 1024;       // answers the peer had not read yet, and the kernel had no room for
        c.unread = 100;
        // The peer now reads (room appears: EPOLLOUT) and, in the same instant, sends another
        // line (EPOLLIN). One epoll_wait reports both, in one event.
        EventDispatch.handle(c, Epoll.EPOLLIN | Epoll.EPOLLOUT);
        assertThat(c.calls).as("the new line must be read").contains("read");
        assertThat(c.waiting)
                .as("the stall: a pipelining client's connection was handled, and " + c.waiting + " bytes of answers"
                        + " are still unsent with nothing scheduled to send them." + LESSON)
                .isLessThan(64 * 1024);
    }

    @Test
    void readsWhatArrives() throws Exception {
        c.unread = 100;
        EventDispatch.handle(c, Epoll.EPOLLIN);
        assertThat(c.calls).as("EPOLLIN: a read turn").containsExactly("read");
        assertThat(c.unread).as("EPOLLIN: the 100 bytes that came are read").isZero();
    }

    @Test
    void sendsWhatWaitsWhenThereIsRoom() throws Exception {
        c.waiting = 500;
        EventDispatch.handle(c, Epoll.EPOLLOUT);
        assertThat(c.calls)
                .as("EPOLLOUT with 500 bytes of answers waiting (too few to pause the connection): they were not"
                        + " sent, and the socket will not be reported writable again while nothing is sent." + LESSON)
                .contains("flush");
        assertThat(c.waiting)
                .as("EPOLLOUT with 500 bytes of answers waiting and nothing new from the client: every answer leaves,"
                        + " and nothing is left waiting for an edge that will not come." + LESSON)
                .isZero();
    }

    @Test
    @Hints({
            "A paused connection's client kept sending: when did epoll report those lines, and what did the read turn do with that report?",
            "Re-read day 4's \"handle: both directions, every time\" (what follows a flush that empties the outbox), and day 3's \"Backpressure: the outbox's water marks\".",
            "Play it with the test: EPOLLIN while paused, then EPOLLOUT. After the second event, who reads the lines?"})
    void aPausedConnectionReadsWhatCameWhileItWaited() throws Exception {
        c.waiting = 2 * Scripted.PAUSE_ABOVE;   // the client stopped reading for a while: paused
        c.unread = 300;                          // and sent three more lines meanwhile:
        EventDispatch.handle(c, Epoll.EPOLLIN);  // their edge, while paused (the read turn reads nothing)
        EventDispatch.handle(c, Epoll.EPOLLOUT); // the client read: room, every answer leaves, the pause ends
        assertThat(c.calls).as("EPOLLOUT while paused: the waiting answers are sent").contains("flush");
        assertThat(c.unread)
                .as("the pause ended (every answer sent), and the 300 bytes of lines the client sent during the pause"
                        + " were never read: their EPOLLIN came while the connection read nothing, and edge-triggered"
                        + " epoll will not report them again; the client waits for their answers for good." + LESSON)
                .isZero();
    }

    @Test
    void aHangUpWithTheLastLinesIsReadToTheFin() throws Exception {
        c.unread = 50;
        EventDispatch.handle(c, Epoll.EPOLLIN | Epoll.EPOLLRDHUP);
        assertThat(c.broken)
                .as("EPOLLRDHUP: the peer shut down its sending side, and its last lines may be in this very event:"
                        + " not a reason to close (day 4, \"handle: both directions, every time\")")
                .isFalse();
        assertThat(c.calls).as("the last lines are read, knowing the FIN is behind them").containsExactly("read to the FIN");
    }

    @Test
    void anErrorEndsTheConnection() throws Exception {
        EventDispatch.handle(c, Epoll.EPOLLERR | Epoll.EPOLLIN);
        assertThat(c.broken).as("EPOLLERR: the connection was reset").isTrue();
    }
}
