package c10k.exercises.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day03.sys.Sockets;
import c10k.day04.Epoll;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "When may bytes go to the kernel at once, and when must they queue? In edge-triggered mode, what happens if you stop sending before the kernel says EAGAIN?",
        "Re-read day 4's \"update: EPOLLOUT only while something waits\" (what goes to send(2) at once, what waits, and when EPOLLOUT is armed and dropped), \"What edge-triggered mode demands\" (how far writing must go once EPOLLOUT came)"
        + " and \"handle: both directions, every time\" (why an EPOLLOUT edge missed is never reported again).",
        "send and onWritable share one question (how much will the kernel take now?): answer it in one place, and let the outbox hold only what the kernel refused. A short write (fewer bytes taken than asked) is not a refusal: only EAGAIN is."})
@DisplayName("3. EpollWritePath: send now what the kernel takes, and be told when it takes more")
class EpollWritePathTest {

    /** The real-socket test opens a connection and an epoll instance: every fd is closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("EpollWritePath sends through the send it is given, and the test closes"
            + " the socket and the epoll instance: did your code open a descriptor of its own, and leave it open?");

    static final int BASE = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET;

    /**
     * A kernel send buffer: takes at most {@code perCall} bytes per send, and {@code room} bytes in
     * all before it says EAGAIN; the peer reading makes room again.
     */
    static final class FakeSocket implements EpollWritePath.Send {
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final int perCall;
        long room;
        int calls;

        FakeSocket(int perCall, long room) {
            this.perCall = perCall;
            this.room = room;
        }

        @Override
        public int send(byte[] buf, int offset, int length) {
            calls++;
            if (room == 0) return Sockets.WOULD_BLOCK;
            int n = (int) Math.min(Math.min(length, perCall), room);
            received.write(buf, offset, n);
            room -= n;
            return n;
        }
    }

    private static byte[] data(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) ('a' + (i * 7 + seed) % 26);
        return b;
    }

    private static String events(int e) {
        return e == BASE ? "EPOLLIN|EPOLLRDHUP|EPOLLET"
                : e == (BASE | Epoll.EPOLLOUT) ? "EPOLLIN|EPOLLRDHUP|EPOLLET|EPOLLOUT"
                : "0x" + Integer.toHexString(e);
    }

    @Test
    void sendsAtOnceAndWatchesNoEpolloutWhenAllFits() throws Exception {
        FakeSocket socket = new FakeSocket(1 << 20, 1 << 20);
        EpollWritePath w = new EpollWritePath(socket);
        w.send(data(1000, 0), 0, 1000);
        assertThat(socket.received.size()).as("send first: the kernel has room, write now").isEqualTo(1000);
        assertThat(w.pendingBytes()).isZero();
        assertThat(events(w.events()))
                .as("nothing waits: no EPOLLOUT (a socket is writable almost always; watching it for nothing"
                        + " costs a wake-up per change of room)")
                .isEqualTo("EPOLLIN|EPOLLRDHUP|EPOLLET");
    }

    @Test
    void aShortWriteIsNotEagain() throws Exception {
        FakeSocket socket = new FakeSocket(1000, 1 << 20);
        EpollWritePath w = new EpollWritePath(socket);
        byte[] b = data(10_000, 1);
        w.send(b, 0, b.length);
        assertThat(socket.received.size())
                .as("the kernel took 1000 of 10,000 bytes and had room for more, and the rest was left waiting for an"
                        + " EPOLLOUT: a short write is not a refusal, and no edge is coming for room that is already there")
                .isEqualTo(10_000);
        assertThat(socket.received.toByteArray()).isEqualTo(b);
        assertThat(w.pendingBytes()).isZero();
        assertThat(events(w.events())).isEqualTo("EPOLLIN|EPOLLRDHUP|EPOLLET");
    }

    @Test
    void queuesAfterEagainAndWatchesEpollout() throws Exception {
        FakeSocket socket = new FakeSocket(1000, 2500);
        EpollWritePath w = new EpollWritePath(socket);
        byte[] b = data(10_000, 2);
        w.send(b, 0, b.length);
        assertThat(socket.received.size()).as("the kernel had room for 2500 bytes: send them now").isEqualTo(2500);
        assertThat(w.pendingBytes()).as("what the kernel refused (EAGAIN) waits in the outbox").isEqualTo(7500);
        assertThat(events(w.events()))
                .as("bytes wait after EAGAIN: now, and only now, watch EPOLLOUT")
                .isEqualTo("EPOLLIN|EPOLLRDHUP|EPOLLET|EPOLLOUT");
    }

    @Test
    void newBytesGoBehindTheQueuedOnes() throws Exception {
        FakeSocket socket = new FakeSocket(1000, 2500);
        EpollWritePath w = new EpollWritePath(socket);
        byte[] b = data(10_000, 3);
        w.send(b, 0, b.length);
        socket.room = 1 << 20;   // the peer read: room again, but no EPOLLOUT handled yet
        w.send("tail\n".getBytes(), 0, 5);
        assertThat(socket.received.size())
                .as("7500 bytes wait in the outbox, and a new answer overtook them: the peer gets answers out of"
                        + " order")
                .isEqualTo(2500);
        assertThat(w.pendingBytes()).isEqualTo(7505);
    }

    @Test
    void onWritableSendsUntilEagainThenStopsWatching() throws Exception {
        FakeSocket socket = new FakeSocket(1000, 2500);
        EpollWritePath w = new EpollWritePath(socket);
        byte[] b = data(10_000, 4);
        w.send(b, 0, b.length);
        socket.room = 5000;   // the peer read 5000 bytes: one EPOLLOUT edge
        w.onWritable();
        assertThat(socket.received.size())
                .as("EPOLLOUT (edge-triggered) fired once for 5000 bytes of room, and bytes were left unsent with"
                        + " room still there: no new edge comes for it, the rest waits forever")
                .isEqualTo(7500);
        assertThat(w.pendingBytes()).isEqualTo(2500);
        assertThat(events(w.events())).as("still bytes waiting: keep EPOLLOUT").isEqualTo("EPOLLIN|EPOLLRDHUP|EPOLLET|EPOLLOUT");
        socket.room = 1 << 20;
        w.onWritable();
        assertThat(w.pendingBytes()).as("room for everything: the outbox drains").isZero();
        assertThat(socket.received.toByteArray()).as("every byte, once, in order").isEqualTo(b);
        assertThat(events(w.events()))
                .as("drained: stop watching EPOLLOUT (epoll_ctl MOD without it)")
                .isEqualTo("EPOLLIN|EPOLLRDHUP|EPOLLET");
    }

    @Test
    @Hints({
            "The kernel took part of the answers and said EAGAIN. Where, in the array you were given, does the rest begin? Where did the answers begin?",
            "Re-read day 4's \"update: EPOLLOUT only while something waits\", and what send(2) returns: a count of bytes, not a place in your array.",
            "The loop does not always hand you answers that start at index 0. Follow answers that start at 100 through a send that takes part of them, then through onWritable."})
    void aLineCutByTheKernelIsNeitherLostNorDoubled() throws Exception {
        // The loop's answer buffer holds other bytes around this connection's answers: here
        // 100 bytes before them and 100 after. The kernel takes 700 bytes per call and has room
        // for 1700: the third call takes part of a line and the fourth says EAGAIN.
        byte[] answers = data(3000, 6);
        byte[] buffer = new byte[100 + answers.length + 100];
        java.util.Arrays.fill(buffer, (byte) '#');
        System.arraycopy(answers, 0, buffer, 100, answers.length);
        FakeSocket socket = new FakeSocket(700, 1700);
        EpollWritePath w = new EpollWritePath(socket);
        w.send(buffer, 100, answers.length);
        assertThat(new String(socket.received.toByteArray(), java.nio.charset.StandardCharsets.US_ASCII))
                .as("what the kernel took of answers that start 100 bytes into the buffer: they must be exactly the"
                        + " first 1700 bytes of the answers ('#' is the buffer's bytes around them)")
                .isEqualTo(new String(answers, 0, 1700, java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(w.pendingBytes()).as("3000 bytes asked, 1700 taken before EAGAIN: the rest waits").isEqualTo(1300);
        socket.room = 1 << 20;
        w.onWritable();
        byte[] got = socket.received.toByteArray();
        assertThat(new String(got, java.nio.charset.StandardCharsets.US_ASCII))
                .as("the kernel took part of a line, then said EAGAIN; after EPOLLOUT the peer must have every byte of"
                        + " the answers once, in order: the rest resumes where the kernel stopped, not where the"
                        + " answers (or the buffer) began")
                .isEqualTo(new String(answers, java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(w.pendingBytes()).isZero();
    }

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
    void aRealSlowReaderGetsEveryByteThroughEdgeTriggeredEpollout() throws Exception {
        int total = 16 * 1024 * 1024;   // more than the kernel's buffers hold
        byte[] b = data(total, 5);
        try (ExecutorService readerThread = Executors.newSingleThreadExecutor();
             NativePair pair = new NativePair(); Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            EpollWritePath w = new EpollWritePath((buf, off, len) -> Sockets.send(pair.fd, buf, off, len));
            w.send(b, 0, total);
            assertThat(w.pendingBytes()).as("16 MiB to a peer that is not reading yet: some must wait").isPositive();
            epoll.add(pair.fd, w.events(), pair.fd);
            InputStream in = pair.client.socket().getInputStream();
            Future<byte[]> got = readerThread.submit(() -> in.readNBytes(total));
            while (w.pendingBytes() > 0) {
                int n = events.waitFor(epoll, 2000);
                assertThat(n)
                        .as(w.pendingBytes() + " bytes wait, the peer reads, and no EPOLLOUT edge came for 2 s:"
                                + " is EPOLLOUT in events() while bytes wait, and does onWritable send until EAGAIN?")
                        .isPositive();
                w.onWritable();
                epoll.modify(pair.fd, w.events(), pair.fd);
            }
            assertThat(Arrays.equals(got.get(10, TimeUnit.SECONDS), b)).as("every byte, once, in order").isTrue();
            assertThat(events(w.events())).isEqualTo("EPOLLIN|EPOLLRDHUP|EPOLLET");
        }
    }
}
