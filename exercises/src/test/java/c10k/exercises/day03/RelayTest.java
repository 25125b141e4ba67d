package c10k.exercises.day03;

import static c10k.exercises.day03.RelayHarness.BOUND;
import static c10k.exercises.day03.RelayHarness.ops;
import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import c10k.exercises.day03.RelayHarness.Peer;
import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Each test holds all four ends of one relayed connection ({@link RelayHarness}) and runs the
 * selector a turn at a time on its own thread: the client and the upstream send and read
 * between two turns, exactly when the story says so. Nothing is timed: a flow that stops is
 * given 5 s before the test says where it stopped, and a loop that spins is caught by counting
 * the selector's wake-ups while nothing can move.
 */
@Hints({
        "Two sockets, two directions: for each direction, what decides whether the relay may read its source now, and whether it must wait to write its destination? And which key does each of those belong to?",
        "Re-read day 3's \"Send first; ask for writability only while bytes wait\" and \"Backpressure: the outbox's water marks\", then day 1's \"Ending a connection: FIN, half-close, RST\": each is about one socket here, and the relay has two.",
        "Write down, for one direction, its few states (how much waits, whether its source has ended, whether its end was passed on), and from the states of both directions what each key must watch; set both keys after every event, whichever key it came on."})
@DisplayName("3. Relay: two sockets, two directions, one selector")
class RelayTest {

    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("The test closes its own ends and the relay's sockets when it ends:"
            + " did your Relay open a channel or a selector of its own?");

    /** More than the relay and every kernel buffer on the way can hold together. */
    private static final long FAR_MORE = 4L * 1024 * 1024;
    /** Wake-ups in a row with nothing that could move, before the test calls it a spinning loop. */
    private static final int SPIN = 10_000;

    private static void started(RelayHarness h) {
        h.failure.failIfAny("your Relay threw");
    }

    /**
     * Runs turns of the loop, each after {@code peers} (what the client and the upstream do
     * between two turns, returning true when the story's step is over). After 5 s without the
     * step ending, fails with {@code stalled}.
     */
    private static void pump(RelayHarness h, Supplier<String> stalled, BooleanSupplier peers) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!peers.getAsBoolean()) {
            h.failure.failIfAny("your Relay threw on the loop's thread");
            if (System.nanoTime() > deadline) throw new AssertionError(stalled.get() + " (" + h.watching() + ")");
            h.step();
        }
        h.failure.failIfAny("your Relay threw on the loop's thread");
    }

    /**
     * Nothing is on its way now: the selector must have nothing to report, so a real loop would
     * sleep in select. Runs turns until it has nothing; after {@link #SPIN} wake-ups in a row,
     * fails: the loop would spin.
     */
    private static void settles(RelayHarness h, String situation) throws IOException {
        for (int i = 0; i < SPIN; i++) {
            if (h.turn() == 0) {
                h.failure.failIfAny("your Relay threw on the loop's thread");
                return;
            }
        }
        h.failure.failIfAny("your Relay threw on the loop's thread");
        throw new AssertionError(situation + ", and nothing more was sent; still the selector woke the relay " + SPIN
                + " times in a row (" + h.watching() + "). A socket is writable whenever its send buffer has room,"
                + " readable for ever once its peer's FIN came, and readable while bytes wait that the relay does not"
                + " take: a key that watches any of these makes a level-triggered select return at once, for ever (a busy loop: the"
                + " contract says the loop does not spin)");
    }

    private static void watchesOnlyForReading(RelayHarness h, String situation) {
        assertThat(ops(h.keyA) + " / " + ops(h.keyB))
                .as(situation + ": both sides may send next, and nothing waits to be written, so both keys watch for"
                        + " reading and nothing else (the client's key / the upstream's): a side the relay does not read"
                        + " is not heard, which is not transparent, and a key that watches more makes the loop spin")
                .isEqualTo("OP_READ / OP_READ");
    }

    @Test
    @Hints({"Before anything is sent, which side may speak first? And once a byte is passed on, which key should wake the relay next, and for what?", "", ""})
    void relaysARequestAndItsAnswerAndSleepsBetween() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            watchesOnlyForReading(h, "the relay was just made");
            pump(h, () -> "the client sent 100 bytes and the upstream got " + h.upstream.received + " of them in 5 s: not transparent,"
                    + " connected straight it would have had them all", () -> {
                h.client.send(100);
                h.upstream.receive();
                return h.upstream.received == 100;
            });
            settles(h, "the client's 100 bytes reached the upstream");
            watchesOnlyForReading(h, "the client's 100 bytes reached the upstream");
            pump(h, () -> "the upstream answered 5,000 bytes and the client got " + h.client.received + " of them in 5 s: not"
                    + " transparent, connected straight it would have had them all", () -> {
                h.upstream.send(5_000);
                h.client.receive();
                return h.client.received == 5_000;
            });
            settles(h, "the upstream's 5,000 bytes reached the client");
            watchesOnlyForReading(h, "the upstream's 5,000 bytes reached the client");
            assertThat(h.a.isOpen() && h.b.isOpen()).as("neither side has ended, and the relay closed a socket: not transparent, a side sees an end nobody sent").isTrue();
        }
    }

    @Test
    @Hints({"When the upstream stops reading, where do the client's bytes go, and what stops the client?", "",
            "A full direction cannot take more: stop reading its source, and ask yourself what must happen, and on which key, the moment writing frees room."})
    void anUpstreamThatDoesNotReadCannotMakeTheRelayHoldMore() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            flood(h, h.client, h.upstream, "upstream", true);
        }
    }

    @Test
    @Hints({"When the client stops reading, where do the upstream's bytes go, and what stops the upstream?", "",
            "A full direction cannot take more: stop reading its source, and ask yourself what must happen, and on which key, the moment writing frees room."})
    void aClientThatDoesNotReadCannotMakeTheRelayHoldMore() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            flood(h, h.upstream, h.client, "client", false);
        }
    }

    /**
     * {@code from} sends while {@code to} reads nothing, until nothing more can move: the relay
     * must hold at most BOUND, and the loop must sleep. Then {@code to} reads everything, and
     * 1 MiB more flows through.
     */
    private static void flood(RelayHarness h, Peer from, Peer to, String reader, boolean towardUpstream) throws IOException {
        int idle = 0;
        while (true) {
            int sent = from.send(from.sent + 64 * 1024);
            int ready = h.turn();
            h.failure.failIfAny("your Relay threw on the loop's thread");
            if (sent == 0 && ready == 0) break;   // everything on the way is full, and the loop sleeps
            if (from.error != null) throw new AssertionError("the " + from.name + " could not send: " + from.error);
            if (from.sent > FAR_MORE) break;      // the relay took far more than the path can hold
            idle = sent == 0 ? idle + 1 : 0;
            if (idle > SPIN) {
                throw new AssertionError("the " + reader + " reads nothing, so the " + from.name + " could send no more;"
                        + " still the selector woke the relay " + SPIN + " times in a row (" + h.watching() + "): a key"
                        + " that watches for bytes the relay cannot take now (its direction is full), or for room it"
                        + " has nothing to fill, is ready at every select: a busy loop (the contract says the loop does"
                        + " not spin)");
            }
        }
        assertThat(h.a.isOpen() && h.b.isOpen())
                .as("the " + reader + " read nothing while the " + from.name + " sent, and the relay closed a socket:"
                        + " neither side ended or failed, so the pair goes on (transparency: a side sees an end only if"
                        + " the other sent one)")
                .isTrue();
        long held = towardUpstream ? h.heldTowardUpstream() : h.heldTowardClient();
        assertThat(held)
                .as("the " + reader + " read nothing; the " + from.name + " sent " + from.sent + " bytes, the kernel's"
                        + " buffers on the way hold " + (from.sent - to.received - held) + ", and the relay holds the other "
                        + held + ": more than its bound, " + BOUND + " (bounded). A peer that never reads must not grow the relay's"
                        + " memory: when its direction is full, the relay stops reading the sender, and the kernel pushes"
                        + " back (TCP's window closes, the sender's write stops)")
                .isLessThanOrEqualTo(BOUND);
        long total = from.sent + 1024 * 1024;
        pump(h, () -> "the " + reader + " read again, and the flow stopped after " + to.received + " of " + total
                + " bytes: the relay is not reading the " + from.name + " though writing to the " + reader
                + " has made room (or is not writing what it holds): not transparent, connected straight the"
                + " bytes would flow again", () -> {
            from.send(total);
            to.receive();
            if (to.ended || to.error != null) {
                throw new AssertionError("the " + reader + " read again and its stream ended after " + to.received + " of "
                        + total + " bytes" + (to.error == null ? "" : " (" + to.error.getMessage() + ")")
                        + ": neither side ended or failed, so the relay must not end this direction (transparency:"
                        + " the same end of stream, and none was sent)");
            }
            return to.received == total;
        });
        settles(h, "every byte sent reached the " + reader);
        watchesOnlyForReading(h, "every byte sent reached the " + reader);
    }

    @Test
    void bothDirectionsAtOnce() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            long total = 2L * 1024 * 1024;
            // Each side sends 2 MiB and reads the other's 2 MiB at the same time: both keys have
            // bytes to write and bytes to read in the same turns.
            pump(h, () -> "both sides sent and read at once, and the flow stopped: the client got " + h.client.received
                    + " and the upstream " + h.upstream.received + " of " + total + " bytes. Does an event on one key"
                    + " set that key's interest from one direction only, dropping what the other direction needs?"
                    + " (Transparency: connected straight, both directions flow at once.)", () -> {
                h.client.send(total);
                h.upstream.send(total);
                h.client.receive();
                h.upstream.receive();
                return h.client.received == total && h.upstream.received == total;
            });
            settles(h, "2 MiB went each way");
            watchesOnlyForReading(h, "2 MiB went each way");
        }
    }

    @Test
    @Hints({"What does a FIN from the client say about what the client will still read? And when may the upstream see that FIN?",
            "Re-read day 1's \"Ending a connection: FIN, half-close, RST\" (half-close: \"I will send nothing more, but keep talking\") and shutdown(2), SHUT_WR.",
            "An end of stream read from one side is one more thing waiting in that direction, after the bytes already waiting; the other direction does not change at all."})
    void aClientThatHalfClosesStillGetsTheWholeAnswer() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            halfClose(h, h.client, h.upstream, h.a, h.b);
        }
    }

    @Test
    @Hints({"The upstream has said all it will say; may it still receive? When may the client see the upstream's FIN?", "", ""})
    void anUpstreamThatHalfClosesFirstStillGetsTheWholeRequest() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            halfClose(h, h.upstream, h.client, h.b, h.a);
        }
    }

    /**
     * {@code first} sends while {@code other} does not read, then shuts down its output, as
     * {@code nc -N} does after its request: {@code other} must get every byte, then the end;
     * then {@code other} sends a long answer, which {@code first} must get whole, and then ends
     * too: both sockets must then be closed.
     */
    private static void halfClose(RelayHarness h, Peer first, Peer other, SocketChannel firstSide, SocketChannel otherSide)
            throws IOException {
        // More than the kernel's buffers between the relay and the reader hold (a few tens of KiB
        // here), and no more than the bound: the relay reads the FIN while it still holds some
        // of the bytes sent before it.
        long request = BOUND;
        pump(h, () -> "the " + first.name + " could send only " + first.sent + " of " + request + " bytes while the "
                + other.name + " was not reading: the relay takes up to " + BOUND + " (bounded, not less: the sender must not"
                + " stall before the bound while nothing has ended)", () -> {
            first.send(request);
            return first.sent == request;
        });
        first.shutdownOutput();
        for (int i = 0; i < SPIN && h.turn() > 0; i++) h.failure.failIfAny("your Relay threw on the loop's thread");
        boolean otherClosedAtFin = !otherSide.isOpen();
        pump(h, () -> "the " + first.name + " sent " + request + " bytes and its FIN; the " + other.name + " read and"
                + " got " + other.received + " bytes and no end of stream: not transparent, connected straight it would"
                + " have seen the end", () -> {
            other.receive();
            return other.ended;
        });
        assertThat(other.received)
                .as("the " + other.name + " got " + other.received + " of the " + request + " bytes the " + first.name
                        + " sent before its FIN, then the end of its stream" + (otherClosedAtFin ? " (the relay had closed the "
                        + other.name + "'s socket)" : "") + ": the end went ahead of bytes still waiting in the relay, so the stream is cut short: not transparent. A FIN"
                        + " ends one direction, and comes after every byte sent before it (and after shutdownOutput, a write"
                        + " to that socket fails)")
                .isEqualTo(request);
        assertThat(other.error).as("the " + other.name + "'s stream ended with an error, not a FIN: not the same end of stream the " + first.name + " sent").isNull();
        settles(h, "the " + first.name + "'s bytes and its FIN reached the " + other.name);
        SelectionKey firstKey = firstSide == h.a ? h.keyA : h.keyB;
        SelectionKey otherKey = firstSide == h.a ? h.keyB : h.keyA;
        assertThat(ops(firstKey) + " / " + ops(otherKey))
                .as("the " + first.name + "'s bytes and FIN were passed on, and nothing waits: the " + first.name + " will send"
                        + " nothing more, the " + other.name + " may still send (what the " + first.name + "'s key / the "
                        + other.name + "'s key watch)")
                .isEqualTo("nothing / OP_READ");
        // The answer: 2 MiB read as it comes, then the rest sent while the first does not read,
        // and the other's FIN behind it.
        long flowing = 2L * 1024 * 1024;
        long answer = flowing + request;
        pump(h, () -> "the " + first.name + " had shut down its output only, and the " + other.name + " then sent "
                + flowing + " bytes: the " + first.name + " got " + first.received + " of them", () -> {
            other.send(flowing);
            first.receive();
            if (first.ended) {
                throw new AssertionError("the " + first.name + " had shut down its output only (as nc -N does after its"
                        + " request), and it got " + first.received + " of the " + flowing + " bytes the " + other.name
                        + " sent after that, then the end of its stream" + (first.error == null ? "" : " (" + first.error.getMessage() + ")")
                        + ". A FIN says \"I will send no more\", not \"I will read no more\": connected straight, the "
                        + first.name + " would get every byte (transparency) (" + h.watching() + ")");
            }
            return first.received == flowing;
        });
        pump(h, () -> "the " + other.name + " could send only " + (other.sent - flowing) + " of " + request + " bytes while the "
                + first.name + " was not reading: the relay takes up to " + BOUND + " (bounded, not less)", () -> {
            other.send(answer);
            return other.sent == answer;
        });
        other.shutdownOutput();
        for (int i = 0; i < SPIN && h.turn() > 0; i++) h.failure.failIfAny("your Relay threw on the loop's thread");
        pump(h, () -> "the " + other.name + " shut down its output after its " + answer + " bytes, and the " + first.name
                + " got " + first.received + " bytes and no end of stream: not transparent, connected straight it would"
                + " have seen the end", () -> {
            first.receive();
            return first.ended;
        });
        assertThat(first.received)
                .as("both sides have sent their FIN; the " + first.name + " got " + first.received + " of the " + answer
                        + " bytes the " + other.name + " sent before its FIN, then the end of its stream"
                        + (first.error == null ? "" : " (" + first.error.getMessage() + ")")
                        + ": the relay ended the pair, or passed the FIN on, with bytes still waiting. Both FINs in"
                        + " means nothing more will come, not that everything has been delivered (transparency: the same bytes,"
                        + " then the end)")
                .isEqualTo(answer);
        assertThat(first.error).as("the " + first.name + "'s stream ended with an error, not a FIN: not the same end of stream the " + other.name + " sent").isNull();
        // Every byte and both FINs went through the relay, so it has seen every event it will
        // ever see: once the selector has nothing more to report, the pair must be over.
        settles(h, "both sides sent their FIN and every byte was delivered");
        assertThat(firstSide.isOpen() || otherSide.isOpen())
                .as("both sides have sent their FIN and every byte was delivered, and the relay still holds "
                        + (firstSide.isOpen() && otherSide.isOpen() ? "both its sockets" : "the " + (firstSide.isOpen() ? first.name : other.name)
                        + "'s socket") + " open, with nothing left that could wake it: two fds per finished connection, never given back"
                        + " (the contract: a pair that is over gives its sockets back)")
                .isFalse();
    }

    @Test
    @Hints({"The client is gone for good. What is the upstream still waiting for, and who will tell it?", "",
            "A reset is an IOException from read or write on that side; the pair is over, both ways, whatever is still waiting."})
    void aResetByTheClientClosesBothSocketsAtOnce() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            reset(h, h.client, h.upstream);
        }
    }

    @Test
    @Hints({"The upstream is gone for good, with bytes of the client's still in the relay. Who can still use them?", "",
            "A reset is an IOException from read or write on that side; the pair is over, both ways, whatever is still waiting."})
    void aResetByTheUpstreamClosesBothSocketsAtOnce() throws IOException {
        try (RelayHarness h = new RelayHarness()) {
            started(h);
            reset(h, h.upstream, h.client);
        }
    }

    private static String open(RelayHarness h, Peer gone, Peer survivor, SocketChannel goneSide, SocketChannel survivorSide) {
        if (goneSide.isOpen() && survivorSide.isOpen()) return "both its sockets";
        return "the " + (goneSide.isOpen() ? gone.name : survivor.name) + "'s socket";
    }

    /** {@code survivor} floods {@code gone}, which does not read, then {@code gone} resets: the pair ends at once. */
    private static void reset(RelayHarness h, Peer gone, Peer survivor) throws IOException {
        pump(h, () -> "the " + survivor.name + " sent " + survivor.sent + " bytes, and no byte reached the " + gone.name, () -> {
            survivor.send(BOUND);
            gone.receive();
            return gone.received > 0;
        });
        // Now the survivor fills the path while the other side does not read: the relay holds bytes for it.
        for (int i = 0; i < SPIN && survivor.send(survivor.sent + 64 * 1024) + h.turn() > 0; i++) {
            h.failure.failIfAny("your Relay threw on the loop's thread");
        }
        gone.reset();
        SocketChannel goneSide = gone == h.client ? h.a : h.b;
        SocketChannel survivorSide = gone == h.client ? h.b : h.a;
        String stillOpen = "the " + gone.name + " reset the connection, and the relay still holds %s open: the "
                + survivor.name + " would wait for ever for a peer that is gone, and the fds are never given back (transparency:"
                + " connected straight, the " + survivor.name + " would have seen the reset; a reset is answered by the end of the pair)";
        pump(h, () -> String.format(stillOpen, open(h, gone, survivor, goneSide, survivorSide)), () -> {
            if (!goneSide.isOpen() && !survivorSide.isOpen()) return true;
            try {
                // The reset has reached the relay's socket, and the selector has nothing more to say: nothing will change.
                if (h.resetArrived(goneSide) && h.turn() == 0) {
                    h.failure.failIfAny("your Relay threw on the loop's thread");
                    if (goneSide.isOpen() || survivorSide.isOpen()) {
                        throw new AssertionError(String.format(stillOpen, open(h, gone, survivor, goneSide, survivorSide)) + " (" + h.watching() + ")");
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return false;
        });
        pump(h, () -> "the relay closed both sockets, and the " + survivor.name + " saw no end: not transparent", () -> {
            survivor.receive();
            return survivor.ended;
        });
    }
}
