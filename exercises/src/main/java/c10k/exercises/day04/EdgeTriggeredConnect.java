package c10k.exercises.day04;

import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;

/**
 * Day 4, exercise 4: the other end. One outgoing connection, from a non-blocking
 * connect(2) to the first bytes its peer sends, driven by edge-triggered epoll.
 *
 * <p>Day 4's chapter and code only ever accept. A client's socket starts life differently:
 * connect(2) on a non-blocking socket returns at once, usually before the handshake is over,
 * and epoll tells you how it ended. The same rules hold, in a shape the chapter does not print.
 *
 * <p><b>Build</b> the TODO methods, to this contract; how you keep the connection's state is
 * yours:
 * <ul>
 *   <li>{@link #start} calls {@code connect} once. After it, and after each {@link #onEvent},
 *       {@link #state} says where the connection stands, and {@link #error} why it failed: the
 *       errno the kernel gave for it (0 unless {@link State#FAILED}). Neither method throws:
 *       every failure ends in {@code FAILED}, with its own errno.
 *   <li>{@link #events} is the registration the socket needs now, for an edge-triggered loop:
 *       the loop adds it after {@code start} and modifies it whenever it changes.
 *       {@code EPOLLOUT} is in it only while the connection has a use for it (this class sends
 *       nothing once connected). Not asked once the connection is {@code FAILED} or
 *       {@code ENDED}: the loop then closes the socket.
 *   <li>{@link #onEvent} gets the events {@code epoll_wait} reported for the socket. Before it
 *       returns it has acted on all the socket holds for it (an outcome, bytes, an end of
 *       stream, an error): the loop calls it again only for a new event, and edge-triggered
 *       epoll reports only what is new.
 *   <li>The peer may speak first (a greeting): every byte it sends reaches {@code received},
 *       once, in order, by the end of the first {@code onEvent} after it arrived; its end of
 *       stream makes the connection {@code ENDED}.
 * </ul>
 *
 * <p><b>What the tests try</b>, with a scripted kernel: connects that succeed at once, fail at
 * once, or are under way; handshakes that succeed, and that fail in more than one way, some of
 * them just after they seemed to succeed; peers that stay silent, that greet at once, in pieces,
 * or greet and hang up; then, through real edge-triggered epoll, a real server that greets as
 * soon as it accepts, and a real port where nobody listens.
 *
 * <p><b>Why</b>: what a non-blocking connect's end looks like, and what it does not prove, is
 * in connect(2), under {@code EINPROGRESS}, and in socket(7), {@code SO_ERROR}: read both
 * before you write a line. And epoll is edge-triggered here as on the server: it reports a
 * change once, however many things that one event tells you.
 * The system calls are a parameter so the tests can script the kernel; the real ones are
 * day 3's {@code Sockets.recv} and, as the book's servers never connect anywhere, two small
 * bindings beside the tests: {@code ClientSockets.connect} and {@code ClientSockets.soError}.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day04-epoll-et/README.md">day 4's
 * chapter</a>:
 * <a href="../../../../../../../day04-epoll-et/README.md#level-triggered-and-edge-triggered">"Level-triggered
 * and edge-triggered"</a> and
 * <a href="../../../../../../../day04-epoll-et/README.md#what-edge-triggered-mode-demands">"What
 * edge-triggered mode demands"</a>; connect(2), socket(7), epoll(7). The sections on how the
 * engine reads and when it watches {@code EPOLLOUT} come with {@code ./jbang check day04 --hint 2}.
 *
 * <p><b>Check</b>: {@code ./jbang check day04}. Tests: {@code EdgeTriggeredConnectTest}.
 */
public final class EdgeTriggeredConnect {

    /** What {@link Kernel#connect} returns for {@code EINPROGRESS}: the handshake goes on without you. */
    public static final int IN_PROGRESS = -1;

    /** Where the connection stands. */
    public enum State {
        /** connect(2) is under way: the handshake has not ended yet. */
        CONNECTING,
        /** The connection is made, and reads what its peer sends. */
        CONNECTED,
        /** The attempt, or the connection it made, failed: {@link #error} says why. */
        FAILED,
        /** The connection was made, and its peer has finished sending (end of stream). */
        ENDED
    }

    /** The system calls on the one socket this connection owns (non-blocking). */
    public interface Kernel {
        /** connect(2) to the peer: 0 if connected at once, {@link EdgeTriggeredConnect#IN_PROGRESS}; any other errno is thrown. */
        int connect() throws SyscallException;

        /** getsockopt(2), {@code SOL_SOCKET}, {@code SO_ERROR}: the socket's pending error, or 0. */
        int soError() throws SyscallException;

        /** recv(2): bytes read, 0 at end of stream, or {@link Sockets#WOULD_BLOCK}; throws on an error. */
        int recv(byte[] buf, int offset, int length) throws SyscallException;
    }

    /** Receives the peer's bytes: {@code buf[0, length)} is valid during the call only. */
    @FunctionalInterface
    public interface Received {
        void accept(byte[] buf, int length);
    }

    private final Kernel kernel;
    private final Received received;
    private final byte[] buffer = new byte[4096];   // lent to recv; made once, not per event

    public EdgeTriggeredConnect(Kernel kernel, Received received) {
        this.kernel = kernel;
        this.received = received;
    }

    /** Starts the connection: connect(2), once. */
    public void start() {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EdgeTriggeredConnect.start (day 4, exercise 4)");
    }

    /** The registration the socket needs now, edge-triggered ({@link Epoll#EPOLLET}). */
    public int events() {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EdgeTriggeredConnect.events (day 4, exercise 4)");
    }

    /** What {@code epoll_wait} reported for the socket: all of it handled before this returns. */
    public void onEvent(int events) {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EdgeTriggeredConnect.onEvent (day 4, exercise 4)");
    }

    public State state() {
        // TODO
        throw new UnsupportedOperationException("TODO: EdgeTriggeredConnect.state (day 4, exercise 4)");
    }

    /** The errno the connection failed with; 0 unless {@link State#FAILED}. */
    public int error() {
        // TODO
        throw new UnsupportedOperationException("TODO: EdgeTriggeredConnect.error (day 4, exercise 4)");
    }
}
