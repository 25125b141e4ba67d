package c10k.exercises.day04;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import c10k.exercises.day04.EdgeTriggeredRead.Result;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "Edge-triggered epoll reports arrivals, not waiting data: what does a turn that leaves bytes unread cost, and what, exactly, proves a socket empty?",
        "Re-read day 4's \"What edge-triggered mode demands\" (what proves a socket empty, and why stopping before that proof stalls it) and \"A budget per turn, and the owed list\" (what a turn that stops at its budget leaves the loop to do);"
        + " then, in \"handle: both directions, every time\", the paragraph \"A short read is a drained socket, until the FIN is reported\": when a short read proves as much as EAGAIN, and when it does not.",
        "List every answer recv can give (bytes, fewer bytes than asked, 0, EAGAIN, an error) and, for each, whether the turn goes on, and what the loop must do next. EAGAIN (Sockets.WOULD_BLOCK) always proves the socket empty; a short read does too, except once a hang-up was reported."})
@DisplayName("1. EdgeTriggeredRead: read until the socket is shown empty, within a budget")
class EdgeTriggeredReadTest {

    /** The real-socket test opens a connection and an epoll instance: every fd is closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("drain reads through the recv it is given, and the test closes the"
            + " socket and the epoll instance: did your code open a descriptor of its own, and leave it open?");

    static final int EOF = 0;
    static final int EAGAIN = Sockets.WOULD_BLOCK;

    /** A kernel that answers recv from a script: chunk sizes, EOF (0), EAGAIN. After the script: EAGAIN. */
    static final class ScriptedRecv implements EdgeTriggeredRead.Recv {
        final int[] script;
        int calls;

        ScriptedRecv(int... script) {
            this.script = script;
        }

        @Override
        public int recv(byte[] buf, int offset, int length) {
            int answer = calls < script.length ? script[calls] : EAGAIN;
            calls++;
            if (answer > 0) {
                answer = Math.min(answer, length);
                Arrays.fill(buf, offset, buf.length, (byte) '#');             // what was there before: stale
                Arrays.fill(buf, offset, offset + answer, (byte) ('a' + calls % 26));
            }
            return answer;
        }
    }

    private final List<Integer> chunks = new ArrayList<>();

    private Result drain(ScriptedRecv recv, int bufSize, int maxReads) throws SyscallException {
        return drain(recv, bufSize, maxReads, false);
    }

    private Result drain(ScriptedRecv recv, int bufSize, int maxReads, boolean hangUp) throws SyscallException {
        return EdgeTriggeredRead.drain(recv, new byte[bufSize], maxReads, hangUp, (buf, n) -> {
            for (int i = 0; i < n; i++) {
                if (buf[i] == '#') throw new AssertionError("onChunk got stale bytes, from past the n bytes recv returned");
            }
            chunks.add(n);
        });
    }

    @Test
    void readsUntilEagain() throws Exception {
        ScriptedRecv recv = new ScriptedRecv(100, 100, 100, EAGAIN);   // each read fills the 100-byte buffer
        Result result = drain(recv, 100, 16);
        assertThat(chunks)
                .as("3 buffers' worth was waiting, and each read came back full: more may wait. In edge-triggered"
                        + " mode what one turn leaves unread is never reported again (day 4, \"What edge-triggered"
                        + " mode demands\")")
                .containsExactly(100, 100, 100);
        assertThat(result).as("recv said EAGAIN: the socket is drained").isEqualTo(Result.DRAINED);
        assertThat(recv.calls).as("recv calls: 3 full chunks, then the EAGAIN that proves the socket empty").isEqualTo(4);
    }

    @Test
    void handsOverTheBytesReadNotTheBuffer() throws Exception {
        drain(new ScriptedRecv(3, EAGAIN), 64, 16);
        assertThat(chunks).as("recv returned 3 into a 64-byte buffer: the chunk is 3 bytes long").containsExactly(3);
    }

    /** The plain rule (on to EAGAIN) and the refinement (stop at a short read) are both right here. */
    @Test
    void aShortReadWithNoHangUpMayEndTheTurnOrNot() throws Exception {
        ScriptedRecv recv = new ScriptedRecv(100, EAGAIN);
        Result result = drain(recv, 4096, 16);
        assertThat(chunks).as("100 bytes were waiting").containsExactly(100);
        assertThat(result).as("a short read, or the EAGAIN after it, both show the socket empty").isEqualTo(Result.DRAINED);
        assertThat(recv.calls).as("recv calls: one short read, and maybe the EAGAIN").isBetween(1, 2);
    }

    @Test
    @Hints({"", "", "What did the event that started this turn say about the peer, and can a later edge say it again?"})
    void aFinThatCameWithTheLastBytesIsSeen() throws Exception {
        ScriptedRecv recv = new ScriptedRecv(100, EOF);
        Result result = drain(recv, 4096, 16, true);
        assertThat(chunks).as("100 bytes came before the FIN").containsExactly(100);
        assertThat(result)
                .as("the event reported a hang-up (EPOLLRDHUP) and the turn ended at a short read: the FIN was"
                        + " already queued behind those bytes, no edge will ever announce it again, and the"
                        + " connection waits for an end it was told about. A short read proves a socket empty only"
                        + " until a hang-up is reported (day 4, \"handle: both directions, every time\")")
                .isEqualTo(Result.END_OF_STREAM);
        assertThat(recv.calls).as("no recv after end of stream").isEqualTo(2);
    }

    @Test
    void stopsAtTheBudgetAndSaysItIsOwedATurn() throws Exception {
        int[] endless = new int[100];
        Arrays.fill(endless, 10);
        ScriptedRecv recv = new ScriptedRecv(endless);
        Result result = drain(recv, 10, 16);   // every read fills the buffer: the peer never stops
        assertThat(recv.calls)
                .as(recv.calls < 16
                        ? "every read came back full and the turn stopped after " + recv.calls + " read(s), with no"
                                + " proof that the socket was empty: those bytes get no second edge"
                        : "a client that always has data kept the loop for more than maxReads (16) reads: one"
                                + " busy client starves all the others (epoll(7), \"Possible pitfalls\")")
                .isEqualTo(16);
        assertThat(result)
                .as("the budget ended the turn with data maybe left: no new edge will come for it, and only the"
                        + " result tells the loop to come back")
                .isEqualTo(Result.OWED);
    }

    @Test
    void stopsAtEndOfStream() throws Exception {
        ScriptedRecv recv = new ScriptedRecv(5, EOF, 7);
        Result result = drain(recv, 5, 16);
        assertThat(result).as("recv returned 0: the peer sent FIN").isEqualTo(Result.END_OF_STREAM);
        assertThat(chunks).as("the 5 bytes before the FIN are handed over, nothing after").containsExactly(5);
        assertThat(recv.calls).as("no recv after end of stream").isEqualTo(2);
    }

    @Test
    void letsErrorsThrough() {
        EdgeTriggeredRead.Recv reset = (buf, off, len) -> {
            throw new SyscallException("recv", Errno.ECONNRESET);
        };
        assertThatThrownBy(() -> EdgeTriggeredRead.drain(reset, new byte[64], 16, false, (buf, n) -> { }))
                .as("ECONNRESET is the caller's to handle (it closes the connection): let it through")
                .isInstanceOf(SyscallException.class);
    }

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
    void drainsARealSocketOnOneEdge() throws Exception {
        byte[] sent = new byte[40_000];
        for (int i = 0; i < sent.length; i++) sent[i] = (byte) (i % 100 == 99 ? '\n' : 'a' + i % 26);
        try (NativePair pair = new NativePair(); Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            epoll.add(pair.fd, Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET, pair.fd);
            pair.client.send(sent);   // one write: all of it is in the server's socket when it returns (loopback)
            assertThat(events.waitFor(epoll, 2000)).as("one EPOLLIN edge").isEqualTo(1);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            Result result = EdgeTriggeredRead.drain((buf, off, len) -> Sockets.recv(pair.fd, buf, off, len),
                    new byte[4096], 64, hangUp(events.events(0)), (buf, n) -> got.write(buf, 0, n));
            assertThat(got.size())
                    .as("40,000 bytes arrived, one edge, reads of 4 KiB: one turn must read them all (10 reads),"
                            + " or the rest sits in the socket with no edge to come")
                    .isEqualTo(sent.length);
            assertThat(got.toByteArray()).isEqualTo(sent);
            assertThat(result).isEqualTo(Result.DRAINED);
        }
    }

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
    void seesARealFinThatCameWithTheLastLine() throws Exception {
        try (NativePair pair = new NativePair(); Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            epoll.add(pair.fd, Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET, pair.fd);
            pair.client.send("bye\n");
            pair.client.shutdownOutput();   // on loopback both are queued at the server when this returns
            assertThat(events.waitFor(epoll, 2000)).as("one edge for the line and the FIN").isEqualTo(1);
            assertThat(hangUp(events.events(0))).as("the kernel reported the hang-up with the line").isTrue();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            Result result = EdgeTriggeredRead.drain((buf, off, len) -> Sockets.recv(pair.fd, buf, off, len),
                    new byte[4096], 64, true, (buf, n) -> got.write(buf, 0, n));
            assertThat(got.toString(java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("bye\n");
            assertThat(result)
                    .as("a line and its FIN came in one event (EPOLLIN|EPOLLRDHUP), and the turn did not report the"
                            + " end of the stream: this connection is never closed, as no later edge will come")
                    .isEqualTo(Result.END_OF_STREAM);
        }
    }

    private static boolean hangUp(int events) {
        return (events & (Epoll.EPOLLRDHUP | Epoll.EPOLLHUP)) != 0;
    }
}
