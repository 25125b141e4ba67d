package c10k.exercises.day04;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day03.Errno;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
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
        "Edge-triggered epoll reports arrivals, not waiting data: when may a read turn stop without losing bytes, and what tells you the socket is empty? What if it never is? Re-read day 4's \"What edge-triggered mode demands\" and \"A budget per turn, and the owed list\".",
        "Read in a loop, at most maxReads times. Each answer decides: bytes (hand over exactly those and read again), 0 (end of stream), WOULD_BLOCK (drained). Running out of reads is its own answer: owed."})
@DisplayName("1. EdgeTriggeredRead: read until EAGAIN, within a budget")
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
        return EdgeTriggeredRead.drain(recv, new byte[bufSize], maxReads, (buf, n) -> {
            for (int i = 0; i < n; i++) {
                if (buf[i] == '#') throw new AssertionError("onChunk got stale bytes: hand over buf[0, n), n from recv");
            }
            chunks.add(n);
        });
    }

    @Test
    void readsUntilEagain() throws Exception {
        ScriptedRecv recv = new ScriptedRecv(100, 200, 50, EAGAIN);
        Result result = drain(recv, 4096, 16);
        assertThat(chunks)
                .as("3 chunks were waiting. In edge-triggered mode epoll reports an fd once per arrival of data:"
                        + " what one turn leaves unread is never reported again. Read until recv returns"
                        + " Sockets.WOULD_BLOCK (EAGAIN)")
                .containsExactly(100, 200, 50);
        assertThat(result).as("recv said EAGAIN: the socket is drained").isEqualTo(Result.DRAINED);
        assertThat(recv.calls).as("recv calls: 3 chunks, then the EAGAIN that proves the socket empty").isEqualTo(4);
    }

    @Test
    void handsOverTheBytesReadNotTheBuffer() throws Exception {
        drain(new ScriptedRecv(3, EAGAIN), 64, 16);
        assertThat(chunks).as("recv returned 3 into a 64-byte buffer: the chunk is 3 bytes long").containsExactly(3);
    }

    @Test
    void stopsAtTheBudgetAndSaysItIsOwedATurn() throws Exception {
        int[] endless = new int[100];
        Arrays.fill(endless, 10);
        ScriptedRecv recv = new ScriptedRecv(endless);
        Result result = drain(recv, 4096, 16);
        assertThat(recv.calls)
                .as(recv.calls < 16
                        ? "data kept coming and drain stopped after " + recv.calls + " read(s): in edge-triggered mode"
                                + " read until EAGAIN (or until the budget of maxReads is spent)"
                        : "a client that always has data: with maxReads 16, stop after 16 reads, or this one client"
                                + " starves all the others (epoll(7), \"Possible pitfalls\")")
                .isEqualTo(16);
        assertThat(result)
                .as("stopped by the budget with data maybe left: no new edge will come for it, so return OWED"
                        + " and the loop serves it again after the others")
                .isEqualTo(Result.OWED);
    }

    @Test
    void stopsAtEndOfStream() throws Exception {
        ScriptedRecv recv = new ScriptedRecv(5, EOF, 7);
        Result result = drain(recv, 4096, 16);
        assertThat(result).as("recv returned 0: the peer sent FIN").isEqualTo(Result.END_OF_STREAM);
        assertThat(chunks).as("the 5 bytes before the FIN are handed over, nothing after").containsExactly(5);
        assertThat(recv.calls).as("no recv after end of stream").isEqualTo(2);
    }

    @Test
    void letsErrorsThrough() {
        EdgeTriggeredRead.Recv reset = (buf, off, len) -> {
            throw new SyscallException("recv", Errno.ECONNRESET);
        };
        assertThatThrownBy(() -> EdgeTriggeredRead.drain(reset, new byte[64], 16, (buf, n) -> { }))
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
                    new byte[4096], 64, (buf, n) -> got.write(buf, 0, n));
            assertThat(got.size())
                    .as("40,000 bytes arrived, one edge, reads of 4 KiB: one turn must read them all (10 reads),"
                            + " or the rest sits in the socket with no edge to come")
                    .isEqualTo(sent.length);
            assertThat(got.toByteArray()).isEqualTo(sent);
            assertThat(result).isEqualTo(Result.DRAINED);
        }
    }
}
