package c10k.exercises.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import c10k.exercises.day04.EdgeTriggeredConnect.State;
import java.io.ByteArrayOutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "When epoll reports a connecting socket writable, what has it told you, and what has it not? And when one event reports several things at once, which of them will epoll tell you again?",
        "Read connect(2) on EINPROGRESS and socket(7) on SO_ERROR; then re-read day 4's \"Level-triggered and edge-triggered\" (an event reports a change once), \"handle: both directions, every time\" (a FIN that came with the last bytes)"
        + " and \"update: EPOLLOUT only while something waits\" (what watching EPOLLOUT costs when it has no use).",
        "The outcome of a handshake is not a bit of the event: the kernel keeps it for you, and hands it over once. For each story the tests tell, list what may be in the socket when its one event comes (an outcome, an error, the peer's first bytes, its FIN), and what your onEvent does with each before it returns."})
@DisplayName("4. EdgeTriggeredConnect: a client's non-blocking connect, told by edge-triggered epoll how it ended")
class EdgeTriggeredConnectTest {

    /** The real-socket tests open a socket, a server or a bound port, and an epoll instance: all closed when they end. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("EdgeTriggeredConnect works through the calls it is given, and the test"
            + " closes the socket and the epoll instance: did your code open a descriptor of its own, and leave it open?");

    static final int IN_PROGRESS = EdgeTriggeredConnect.IN_PROGRESS;

    /**
     * One non-blocking TCP socket as Linux keeps it, played by the test: connect's answer, the
     * pending error that SO_ERROR reads and clears (socket(7)), and that recv reports (and
     * clears) before anything else, the peer's bytes and its FIN.
     */
    static final class ScriptedKernel implements EdgeTriggeredConnect.Kernel {
        final int connectAnswer;     // 0, IN_PROGRESS, or the errno connect fails with at once
        int connects;
        int pending;                 // the socket's pending error
        boolean closed;              // the kernel ended the connection: once its error is taken, recv says end of stream
        byte[] inbound = new byte[0];
        int taken;
        boolean fin;

        ScriptedKernel(int connectAnswer) {
            this.connectAnswer = connectAnswer;
        }

        @Override
        public int connect() throws SyscallException {
            if (++connects > 1) {
                throw new AssertionError("connect was called " + connects + " times on one socket: start calls it once,"
                        + " and the attempt it starts goes on in the kernel (a second connect(2) would only answer"
                        + " EALREADY, or EISCONN)");
            }
            if (connectAnswer > 0) {
                closed = true;
                throw new SyscallException("connect", connectAnswer);
            }
            return connectAnswer;
        }

        @Override
        public int soError() {
            int e = pending;
            pending = 0;
            return e;
        }

        @Override
        public int recv(byte[] buf, int offset, int length) throws SyscallException {
            if (pending != 0) {
                int e = pending;
                pending = 0;
                throw new SyscallException("recv", e);
            }
            int left = inbound.length - taken;
            if (left > 0) {
                int n = Math.min(length, left);
                System.arraycopy(inbound, taken, buf, offset, n);
                taken += n;
                return n;
            }
            return fin || closed ? 0 : Sockets.WOULD_BLOCK;
        }

        void peerSends(byte[] bytes) {
            byte[] more = Arrays.copyOf(inbound, inbound.length + bytes.length);
            System.arraycopy(bytes, 0, more, inbound.length, bytes.length);
            inbound = more;
        }

        void peerHangsUp() {
            fin = true;
        }

        void fails(int errno) {
            pending = errno;
            closed = true;
        }
    }

    private final ByteArrayOutputStream got = new ByteArrayOutputStream();
    private final List<String> reported = new ArrayList<>();

    private EdgeTriggeredConnect started(ScriptedKernel kernel) {
        EdgeTriggeredConnect c = new EdgeTriggeredConnect(kernel, (buf, n) -> got.write(buf, 0, n));
        c.start();
        return c;
    }

    /**
     * What epoll reports when {@code happened} happens to the socket: what the registration asks
     * for, and EPOLLERR and EPOLLHUP always (epoll_ctl(2)); nothing at all if that is none.
     */
    private void deliver(EdgeTriggeredConnect c, int happened) {
        int registered = c.events();
        int events = happened & (registered | Epoll.EPOLLERR | Epoll.EPOLLHUP);
        reported.add(names(events) + " (registered for " + names(registered) + ")");
        if (events != 0) c.onEvent(events);
    }

    private String gotText() {
        return got.toString(StandardCharsets.US_ASCII);
    }

    static String names(int events) {
        if (events == 0) return "no event at all";
        StringBuilder s = new StringBuilder();
        String[] names = {"EPOLLIN", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLRDHUP", "EPOLLET"};
        int[] bits = {Epoll.EPOLLIN, Epoll.EPOLLOUT, Epoll.EPOLLERR, Epoll.EPOLLHUP, Epoll.EPOLLRDHUP, Epoll.EPOLLET};
        for (int i = 0; i < bits.length; i++) {
            if ((events & bits[i]) != 0) s.append(s.isEmpty() ? "" : "|").append(names[i]);
        }
        int rest = events & ~(Epoll.EPOLLIN | Epoll.EPOLLOUT | Epoll.EPOLLERR | Epoll.EPOLLHUP | Epoll.EPOLLRDHUP | Epoll.EPOLLET);
        if (rest != 0) s.append(s.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(rest));
        return s.toString();
    }

    /** An errno's name, and 0 as what it is: no error at all. */
    static String errno(int e) {
        return e == 0 ? "0 (no error)" : Errno.name(e);
    }

    private static byte[] banner(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i % 64 == 63 ? '\n' : 'a' + i % 26);
        return b;
    }

    /** What Linux reports for a connect the handshake failed: the socket is closed, with an error pending. */
    static final int FAILED_EVENT = Epoll.EPOLLIN | Epoll.EPOLLOUT | Epoll.EPOLLERR | Epoll.EPOLLHUP | Epoll.EPOLLRDHUP;

    @Test
    void anAttemptUnderWayAsksToHearHowItEnds() {
        EdgeTriggeredConnect c = started(new ScriptedKernel(IN_PROGRESS));
        assertThat(c.state()).as("connect said EINPROGRESS: the handshake is under way").isEqualTo(State.CONNECTING);
        assertThat(c.error()).as("nothing has failed yet").isZero();
        int e = c.events();
        assertThat(e & Epoll.EPOLLET).as("registration " + names(e) + ": the loop is edge-triggered (EPOLLET), as day 4's")
                .isNotZero();
        assertThat(e & Epoll.EPOLLOUT)
                .as("registration " + names(e) + " while connecting: a handshake that succeeds, with a peer that says"
                        + " nothing, makes the socket writable and nothing else (connect(2), EINPROGRESS); a"
                        + " registration without EPOLLOUT never hears that it ended")
                .isNotZero();
    }

    @Test
    void aWritableSocketWithNoPendingErrorIsConnected() {
        ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
        EdgeTriggeredConnect c = started(kernel);
        deliver(c, Epoll.EPOLLOUT);   // the handshake succeeded; the peer says nothing yet
        assertThat(c.state())
                .as("the handshake succeeded: epoll reported " + reported + ", and the socket holds no error")
                .isEqualTo(State.CONNECTED);
        assertThat(c.error()).isZero();
        int e = c.events();
        assertThat(e & Epoll.EPOLLOUT)
                .as("connected, with nothing to send, and the registration is " + names(e) + ": an EPOLLOUT kept for"
                        + " nothing rides along on every later event of this socket (day 4, \"update: EPOLLOUT only"
                        + " while something waits\")")
                .isZero();
        assertThat(e & (Epoll.EPOLLIN | Epoll.EPOLLET))
                .as("connected: registration " + names(e) + " must still hear the peer's bytes, edge-triggered")
                .isEqualTo(Epoll.EPOLLIN | Epoll.EPOLLET);
        kernel.peerSends("HELLO\n".getBytes(StandardCharsets.US_ASCII));
        deliver(c, Epoll.EPOLLIN);
        assertThat(gotText()).as("the peer spoke after the connection was made: " + reported).isEqualTo("HELLO\n");
    }

    @Test
    @Hints({
            "When the event for the end of the handshake came, what else was in the socket, and who will tell you about it again?",
            "Re-read day 4's \"Level-triggered and edge-triggered\": an arrival is reported once, whatever came with it; and look at what your registration asks to hear while connecting.",
            "Play the test: the handshake is over and a greeting waits in the socket when the one event comes. Your onEvent decides that the connection is made. Where is the greeting when it returns?"})
    void theGreetingThatCameWithTheHandshakeIsReadInThatEvent() {
        ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
        EdgeTriggeredConnect c = started(kernel);
        byte[] greeting = "220 ready when you are, client\n".getBytes(StandardCharsets.US_ASCII);
        kernel.peerSends(greeting);   // the server greets as it accepts: before the client's loop wakes
        deliver(c, Epoll.EPOLLOUT | Epoll.EPOLLIN);
        assertThat(c.state()).as("the handshake succeeded and the server spoke: " + reported).isEqualTo(State.CONNECTED);
        assertThat(gotText())
                .as("the server greeted at once: when the one event for the end of the handshake came, "
                        + reported.getFirst() + ", the greeting was in the socket too, and onEvent returned with "
                        + got.size() + " of its " + greeting.length + " bytes read. Edge-triggered epoll reports that"
                        + " arrival once: the loop waits for a new event, the server for an answer to its greeting."
                        + " (A real loop would hear of those bytes again only if it happened to change the"
                        + " registration, as epoll_ctl makes the kernel look at the socket afresh; with nothing to"
                        + " change, it waits for good)")
                .isEqualTo(new String(greeting, StandardCharsets.US_ASCII));
    }

    @Test
    void aLongGreetingIsReadWhole() {
        ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
        EdgeTriggeredConnect c = started(kernel);
        byte[] banner = banner(20_000);   // more than one read's worth
        kernel.peerSends(banner);
        deliver(c, Epoll.EPOLLOUT | Epoll.EPOLLIN);
        assertThat(got.size())
                .as("a 20,000-byte greeting was in the socket when the end of the handshake was reported, "
                        + reported.getFirst() + ", and " + got.size() + " bytes were read in that event: what one event"
                        + " leaves in the socket is never reported again"
                        + " (day 4, \"What edge-triggered mode demands\")")
                .isEqualTo(banner.length);
        assertThat(got.toByteArray()).as("every byte once, in order").isEqualTo(banner);
    }

    @Test
    void aGreetingAndItsHangUpInOneEventEndTheConnection() {
        ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
        EdgeTriggeredConnect c = started(kernel);
        kernel.peerSends("421 too busy, bye\n".getBytes(StandardCharsets.US_ASCII));
        kernel.peerHangsUp();
        deliver(c, Epoll.EPOLLOUT | Epoll.EPOLLIN | Epoll.EPOLLRDHUP);
        assertThat(gotText()).as("the server accepted, greeted and hung up, all before the event for the end of the handshake came: "
                        + reported.getFirst() + "; and the greeting was not read in that event").isEqualTo("421 too busy, bye\n");
        assertThat(c.state())
                .as("the handshake, the greeting and the server's FIN all came in one event, " + reported.getFirst()
                        + ": no later edge will announce that end of stream, and the connection would wait for ever"
                        + " for a peer that has finished (day 4, \"handle: both directions, every time\")")
                .isEqualTo(State.ENDED);
    }

    @Test
    void aRefusedHandshakeFailsWithTheKernelsErrno() {
        ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
        EdgeTriggeredConnect c = started(kernel);
        kernel.fails(Errno.ECONNREFUSED);   // the server's kernel answered the SYN with RST: nobody listens
        deliver(c, FAILED_EVENT);
        assertThat(c.state())
                .as("nobody listens at that port: epoll reported " + reported + ", as Linux does for a refused"
                        + " connect, and the socket held ECONNREFUSED")
                .isEqualTo(State.FAILED);
        assertThat(errno(c.error()))
                .as("the connection failed, and error() must say why, as the kernel said it")
                .isEqualTo("ECONNREFUSED");
        assertThat(got.size()).as("no bytes came").isZero();
    }

    @Test
    @Hints({
            "Where did the errno your error() returns come from: from the event, or from the kernel?",
            "Read socket(7) on SO_ERROR (\"get and clear the pending socket error\"), and connect(2)'s list of the errors it can end with.",
            "EPOLLERR says that there is an error, not which one; and the kernel hands the errno over once: ask twice, and the second answer is 0."})
    void eachFailureGivesItsOwnErrno() {
        for (int errno : new int[] {Errno.ETIMEDOUT, Errno.EHOSTUNREACH}) {
            ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
            EdgeTriggeredConnect c = started(kernel);
            kernel.fails(errno);
            deliver(c, FAILED_EVENT);
            assertThat(c.state()).as("the handshake failed with " + Errno.name(errno) + ": " + reported).isEqualTo(State.FAILED);
            assertThat(errno(c.error()))
                    .as("the handshake failed with " + Errno.name(errno) + " (" + Errno.description(errno) + "), and"
                            + " error() says " + errno(c.error()) + ": a refused port, a silent host and no route"
                            + " call for different answers, and only the kernel's errno tells them apart")
                    .isEqualTo(Errno.name(errno));
        }
    }

    @Test
    @Hints({
            "What does EPOLLOUT on a connecting socket prove: that the connection is made, or that the attempt has ended?",
            "Read connect(2) on EINPROGRESS: what it says to do once select or poll reports the socket writable; and socket(7) on SO_ERROR.",
            "EPOLLERR is not the only way to learn of a failure: the kernel keeps the outcome of the attempt for you, and it can change between epoll_wait and your look. Ask the socket, and keep what it answers."})
    void writableIsNotConnected() {
        ScriptedKernel kernel = new ScriptedKernel(IN_PROGRESS);
        EdgeTriggeredConnect c = started(kernel);
        kernel.fails(Errno.ECONNRESET);   // the handshake ended, then a reset came before the client looked
        deliver(c, Epoll.EPOLLOUT);
        assertThat(c.state())
                .as("epoll reported " + reported + ", and by the time onEvent looked, the peer had reset the"
                        + " connection: the socket held ECONNRESET. Writable says the attempt is over, not that it"
                        + " succeeded (connect(2), EINPROGRESS)")
                .isEqualTo(State.FAILED);
        assertThat(errno(c.error()))
                .as("the connection was reset as it was made, and error() must say so, as the kernel said it")
                .isEqualTo("ECONNRESET");
    }

    @Test
    void aConnectThatSucceedsAtOnceIsConnected() {
        ScriptedKernel kernel = new ScriptedKernel(0);
        EdgeTriggeredConnect c = started(kernel);
        assertThat(c.state()).as("connect returned 0: connected at once (it happens on loopback)").isEqualTo(State.CONNECTED);
        int e = c.events();
        assertThat(e & Epoll.EPOLLOUT)
                .as("connected at once, nothing to send, registration " + names(e) + ": EPOLLOUT has nothing to tell"
                        + " this connection (day 4, \"update: EPOLLOUT only while something waits\")")
                .isZero();
        kernel.peerSends("HELLO\n".getBytes(StandardCharsets.US_ASCII));
        deliver(c, Epoll.EPOLLIN);
        assertThat(gotText()).as("the peer spoke: " + reported).isEqualTo("HELLO\n");
    }

    @Test
    void aConnectRefusedAtOnceFails() {
        EdgeTriggeredConnect c;
        try {
            c = started(new ScriptedKernel(Errno.ECONNREFUSED));
        } catch (RuntimeException e) {
            throw new AssertionError("connect failed at once with ECONNREFUSED and start threw " + e
                    + ": the contract says every failure ends in FAILED, with its errno, and nothing is thrown", e);
        }
        assertThat(c.state()).as("connect failed at once with ECONNREFUSED").isEqualTo(State.FAILED);
        assertThat(errno(c.error())).as("connect failed at once with ECONNREFUSED, and error() must say so")
                .isEqualTo("ECONNREFUSED");
    }

    /** The real system calls on {@code fd}, connecting to 127.0.0.1:{@code port}. */
    private static EdgeTriggeredConnect.Kernel real(int fd, int port) {
        return new EdgeTriggeredConnect.Kernel() {
            @Override
            public int connect() throws SyscallException {
                try {
                    return ClientSockets.connect(fd, "127.0.0.1", port);
                } catch (UnknownHostException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public int soError() throws SyscallException {
                return ClientSockets.soError(fd);
            }

            @Override
            public int recv(byte[] buf, int offset, int length) throws SyscallException {
                return Sockets.recv(fd, buf, offset, length);
            }
        };
    }

    private static int clientSocket() throws SyscallException {
        return Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC);
    }

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
    void aRealServerThatGreetsAtOnce() throws Exception {
        byte[] greeting = "220 a real server, greeting at once\n".getBytes(StandardCharsets.US_ASCII);
        try (ServerSocket server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
             Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            server.setSoTimeout(5000);
            int fd = clientSocket();
            try {
                EdgeTriggeredConnect c = new EdgeTriggeredConnect(real(fd, server.getLocalPort()), (buf, n) -> got.write(buf, 0, n));
                c.start();
                assertThat(c.state()).as("connecting to a real server that listens: error " + errno(c.error()))
                        .isIn(State.CONNECTING, State.CONNECTED);
                try (Socket peer = server.accept()) {
                    // On loopback the bytes are in the client's socket when write returns: the first
                    // event the client gets may report the end of the handshake and the greeting at once.
                    peer.getOutputStream().write(greeting);
                    int registered = c.events();
                    epoll.add(fd, registered, fd);
                    for (int turn = 0; turn < 8 && (c.state() == State.CONNECTING
                            || c.state() == State.CONNECTED && got.size() < greeting.length); turn++) {
                        assertThat(events.waitFor(epoll, 2000))
                                .as("the server accepted and greeted, the client is " + c.state() + " with " + got.size()
                                        + " bytes read, registered for " + names(registered) + ", after "
                                        + reported + ": and no event came for 2 s")
                                .isPositive();
                        int ev = events.events(0);
                        reported.add(names(ev));
                        c.onEvent(ev);
                        if ((ev & Epoll.EPOLLIN) != 0) {
                            assertThat(got.size())
                                    .as("epoll reported " + names(ev) + " with the greeting in the socket, and onEvent"
                                            + " returned with " + got.size() + " of its " + greeting.length + " bytes"
                                            + " read: edge-triggered epoll will not report that arrival again")
                                    .isEqualTo(greeting.length);
                        }
                        if (c.state() == State.CONNECTED && c.events() != registered) {
                            registered = c.events();
                            epoll.modify(fd, registered, fd);
                        }
                    }
                    assertThat(c.state()).as("a real server accepted and greeted: " + reported).isEqualTo(State.CONNECTED);
                    assertThat(c.error()).isZero();
                    assertThat(gotText()).isEqualTo(new String(greeting, StandardCharsets.US_ASCII));
                    assertThat(c.events() & Epoll.EPOLLOUT).as("connected: registration " + names(c.events())).isZero();
                }
            } finally {
                Sockets.close(fd);
            }
        }
    }

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
    void aRealPortWhereNobodyListensRefuses() throws Exception {
        // A port bound and not listening: it cannot be taken by anyone else meanwhile, and the
        // kernel answers a SYN to it with RST.
        try (Socket holder = new Socket(); Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int fd = clientSocket();
            try {
                EdgeTriggeredConnect c = new EdgeTriggeredConnect(real(fd, holder.getLocalPort()), (buf, n) -> got.write(buf, 0, n));
                c.start();
                if (c.state() == State.CONNECTING) {
                    epoll.add(fd, c.events(), fd);
                    for (int turn = 0; turn < 4 && c.state() == State.CONNECTING; turn++) {
                        assertThat(events.waitFor(epoll, 2000))
                                .as("connecting to a port where nobody listens, registered for " + names(c.events())
                                        + ": and no event came for 2 s")
                                .isPositive();
                        reported.add(names(events.events(0)));
                        c.onEvent(events.events(0));
                    }
                }
                assertThat(c.state()).as("nobody listens at that port; epoll reported " + reported).isEqualTo(State.FAILED);
                assertThat(errno(c.error()))
                        .as("the kernel refused the connection; epoll reported " + reported + ", and error() must say"
                                + " what the kernel said")
                        .isEqualTo("ECONNREFUSED");
            } finally {
                Sockets.close(fd);
            }
        }
    }
}
