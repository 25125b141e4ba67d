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
        "One event can carry EPOLLIN and EPOLLOUT together: the peer read (room appeared) and sent a new line in the same instant. Follow that event through handle()."})
@DisplayName("4. EventDispatch: find why a pipelining client stalls for good")
class EventDispatchTest {

    /**
     * A connection played by the test: a peer whose unread answers fill the server's socket,
     * so that some of them wait in the outbox, as under a pipelining client.
     */
    static final class Scripted implements EventDispatch.Conn {
        final List<String> calls = new ArrayList<>();
        int waiting;                 // bytes in the outbox: the kernel refused them
        boolean reading = true;
        boolean hungUp;
        boolean broken;

        @Override
        public void flush() {
            calls.add("flush");
            waiting = 0;             // the room epoll reported takes all of it
        }

        @Override
        public void read() {
            calls.add(hungUp ? "read to the FIN" : "read");
            waiting += 100;          // answers to what it read; the socket is still full: they wait
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
            return reading;
        }
    }

    private final Scripted c = new Scripted();

    @Test
    void aClientThatReadsAndSendsAtOnceGetsItsAnswers() throws Exception {
        c.waiting = 64 * 1024;       // answers the peer had not read yet, and the kernel had no room for
        // The peer now reads (room appears: EPOLLOUT) and, in the same instant, sends another
        // line (EPOLLIN). One epoll_wait reports both, in one event.
        EventDispatch.handle(c, Epoll.EPOLLIN | Epoll.EPOLLOUT);
        assertThat(c.calls).as("the new line must be read").contains("read");
        assertThat(c.waiting)
                .as("the stall: a pipelining client's connection was handled, and " + c.waiting + " bytes of answers"
                        + " are still unsent with nothing scheduled to send them. The lesson it breaks: an edge-triggered"
                        + " report comes once; a report the handler does not act on is never repeated, and the connection"
                        + " waits for a change that only it could make")
                .isLessThan(64 * 1024);
    }

    @Test
    void readsWhatArrives() throws Exception {
        EventDispatch.handle(c, Epoll.EPOLLIN);
        assertThat(c.calls).as("EPOLLIN: a read turn").containsExactly("read");
    }

    @Test
    void sendsWhatWaitsWhenThereIsRoom() throws Exception {
        c.waiting = 500;
        EventDispatch.handle(c, Epoll.EPOLLOUT);
        assertThat(c.calls).as("EPOLLOUT with bytes waiting: send them").containsExactly("flush");
        assertThat(c.waiting).isZero();
    }

    @Test
    void aHangUpWithTheLastLinesIsReadToTheFin() throws Exception {
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
