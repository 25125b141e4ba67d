package c10k.exercises.day01;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.Protocol;
import c10k.day01.TestClient;
import c10k.exercises.BlockingHarness;
import c10k.exercises.ExerciseRun;
import c10k.exercises.Expect;
import c10k.exercises.Hints;
import c10k.exercises.LearnerFailure;
import c10k.exercises.ServerExerciseBase;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Hints({
        "Which bytes of the buffer did this read fill, how many lines can they hold, and what does read() say when the client has gone?",
        "Re-read day 1's \"BlockingEchoServer.serve: read, frame, answer\" for the loop, and \"The line limit, and the ERR path\" for the end after an error line (the sequence diagram there is the contract).",
        "Name what you hold between two reads: a part of a line, and nothing else. Every decision in the loop is about what one read returned."})
@DisplayName("2. EchoLoop: read, frame, echo exactly the bytes read")
// ServerTestBase allows a server test 120 s; an exercise answer that spins is stopped sooner.
@Timeout(ExerciseRun.TEST_SECONDS)
class EchoLoopTest extends ServerExerciseBase {

    @Override
    protected EchoServer newServer() {
        return new BlockingHarness(EchoLoop::serve);
    }

    @Override
    protected String whatToClose() {
        return "The harness closes the client's socket when serve returns: did your code open a socket or a stream"
                + " of its own, and leave it open?";
    }

    private LearnerFailure failure() {
        return ((BlockingHarness) server).failure();
    }

    @Test
    void answersEveryLineOfOnePacket() throws Exception {
        try (TestClient c = Expect.client(server.port())) {
            c.send("one\ntwo\nthree\n");   // one write: the server's read gets all three at once
            assertThat(Expect.line(c, failure(), "3 lines sent in one packet: no answer at all"))
                    .as("the first of 3 lines sent in one packet").isEqualTo("one\n");
            String lesson = "the server answered only the first of 3 lines sent in one packet:"
                    + " one read is not one line (TCP is a byte stream)";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("two\n");
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("three\n");
        }
    }

    @Test
    void echoesExactlyTheBytesRead() throws Exception {
        try (TestClient c = Expect.client(server.port())) {
            String lesson = "a short line after a long one came back with other bytes around it:"
                    + " do you write the whole buffer instead of the n bytes read() returned?";
            c.send("first a rather long line, to leave bytes in the buffer\n");
            assertThat(Expect.line(c, failure(), "no echo for a plain line")).as(lesson)
                    .isEqualTo("first a rather long line, to leave bytes in the buffer\n");
            c.send("short\n");
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("short\n");
            assertThat(c.silentFor(100)).as(lesson).isTrue();
        }
    }

    @Test
    void answersALineSentOneByteAtATime() throws Exception {
        String line = "one byte per packet\n";
        try (TestClient c = Expect.client(server.port())) {
            for (byte b : line.getBytes(StandardCharsets.US_ASCII)) c.send(new byte[] {b});
            String lesson = "a line sent one byte per packet must come back once, whole:"
                    + " keep the start of a line until its newline arrives";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo(line);
            c.send("ab").send("c\nd").send("e\n");
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("abc\n");
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("de\n");
        }
    }

    @Test
    void survivesAClientThatLeavesMidLine() throws Exception {
        try (TestClient leaver = Expect.client(server.port())) {
            assertThat(Expect.line(leaver.send("hello\n"), failure(), "no answer to 'hello'")).isEqualTo("hello\n");
            leaver.send("half a li");   // ...and gone
        }
        try (TestClient crasher = Expect.client(server.port())) {
            crasher.send("half a line, then a reset");
            crasher.reset();
        }
        try (TestClient next = Expect.client(server.port())) {
            String lesson = "after a client left in the middle of a line, the next client got no answer:"
                    + " serve did not notice the end of the stream";
            assertThat(Expect.line(next.send("next\n"), failure(), lesson)).as(lesson).isEqualTo("next\n");
        }
    }

    @Test
    void afterHalfCloseAnswersCompleteLinesAndDropsTheTail() throws Exception {
        try (TestClient c = Expect.client(server.port())) {
            c.send("first\nsecond\nno newline, dropped");
            c.shutdownOutput();   // FIN: "no more from me", but it still reads
            String lesson = "the client sent 2 lines and a tail without newline, then shut down its output:"
                    + " the server must answer the 2 lines, drop the tail, and close (return from serve)";
            byte[] answer = Expect.toEnd(c, failure(), lesson);
            assertThat(new String(answer, StandardCharsets.UTF_8)).as(lesson).isEqualTo("first\nsecond\n");
        }
    }

    @Test
    void refusesALineOverTheLimit() throws Exception {
        byte[] tooLong = new byte[Protocol.MAX_LINE + 1];
        Arrays.fill(tooLong, (byte) 'z');
        tooLong[tooLong.length - 1] = '\n';
        try (TestClient c = Expect.client(server.port())) {
            c.send("fine\n").send(tooLong);
            assertThat(Expect.line(c, failure(), "the line before the long one was not answered")).isEqualTo("fine\n");
            String lesson = "a line of 65,537 bytes must get 'ERR line too long' (LineFramer.feed returned false),"
                    + " then the connection ends";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("ERR line too long\n");
            assertThat(c.endsStream()).as(lesson + ": return from serve after the error line").isTrue();
        }
        try (TestClient next = Expect.client(server.port())) {
            assertThat(Expect.line(next.send("after\n"), failure(), "the next client was not served")).isEqualTo("after\n");
        }
    }

    @Test
    @Hints({"", "", "The end of the stream and the reset are both told apart from a FIN by the client only if a FIN"
            + " came first: which call sends one while the socket stays open for reading?"})
    void theErrorLineIsFollowedByAFinNotAReset() throws Exception {
        // Java's client socket reads a FIN and (sometimes) a reset both as -1, so the harness
        // tells whether serve ended its side of the stream itself before returning.
        byte[] tooLong = new byte[Protocol.MAX_LINE + 64 * 1024];
        Arrays.fill(tooLong, (byte) 'z');
        BlockingHarness harness = (BlockingHarness) server;
        // Long enough for a server that sends no FIN and closes only at the end of LINGER: this
        // test is about how it ended, not when.
        try (TestClient c = new TestClient(server.port(), (int) EchoLoop.LINGER.toMillis() + Expect.READ_TIMEOUT_MS)) {
            c.send(tooLong);
            String lesson = "a line over the limit must get 'ERR line too long'";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("ERR line too long\n");
            assertThat(c.endsStream()).as("after the error line the client must read the end of the stream").isTrue();
        }
        Expect.eventually(java.time.Duration.ofSeconds(3), failure(),
                "after 'ERR line too long', and the client gone, serve must return", () -> harness.returnedCount() == 1);
        assertThat(harness.lastOutputShutdown())
                .as("serve returned after the error line with its own side of the stream still open: the client"
                        + " learnt the answer was over only when the socket closed, and a close with unread input"
                        + " is a reset, not an end of stream (day 1, \"Ending a connection: FIN, half-close, RST\")")
                .isTrue();
    }

    @Test
    @Hints({"When serve returns, the harness closes the socket: what is still unread in it at that moment, and"
            + " what does the kernel send instead of a FIN then?", "",
            "The FIN alone only moves the reset a little later. Until the client has finished sending, something"
            + " must keep taking its bytes."})
    void aClientStillSendingGetsTheErrorLineThenTheEndNotAReset() throws Exception {
        // What nc does: it keeps copying its input while the answer comes back. 16 MiB with no
        // newline is far more than the kernel's buffers hold, so the client is still sending
        // when the server has answered. A close with that input unread resets the connection
        // (RFC 1122 4.2.2.13), and the writer below fails (nc quits without printing the line).
        byte[] chunk = new byte[64 * 1024];
        Arrays.fill(chunk, (byte) 'x');
        try (TestClient c = Expect.client(server.port());
                java.util.concurrent.ExecutorService writer = java.util.concurrent.Executors.newSingleThreadExecutor()) {
            java.util.concurrent.Future<?> sent = writer.submit(() -> {
                java.io.OutputStream out = c.socket().getOutputStream();
                for (int i = 0; i < 256; i++) out.write(chunk);
                c.shutdownOutput();   // nc -N: "my input is over"
                return null;
            });
            String lesson = "a client still sending its 16 MiB line must read 'ERR line too long'";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("ERR line too long\n");
            assertThat(c.endsStream()).as("then the end of the stream").isTrue();
            try {
                sent.get(8, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new AssertionError("the client, still sending after its error line, was reset (" + e.getCause()
                        + "): the socket was closed with its bytes unread, and such a close is a reset, FIN or not."
                        + " Day 1's lesson of the lingering close: the client must be able to finish" + failure().explain(), e);
            }
        }
    }

    @Test
    @Hints({"A client that got its error line may also never send anything again, nor close: what then ends your"
            + " side of the conversation?", "",
            "Whatever you wait for after the error line, wait for it against one deadline, LINGER from the error"
            + " line, not per read."})
    void aClientThatNeverClosesHoldsTheServerOnlyForTheLinger() throws Exception {
        byte[] tooLong = new byte[Protocol.MAX_LINE + 1];
        Arrays.fill(tooLong, (byte) 'q');
        try (TestClient stays = Expect.client(server.port())) {
            stays.send(tooLong);
            assertThat(Expect.line(stays, failure(), "a line over the limit must get 'ERR line too long'"))
                    .isEqualTo("ERR line too long\n");
            // ...and now neither a byte nor a close, for as long as this test lasts.
            int wait = (int) EchoLoop.LINGER.toMillis() + Expect.READ_TIMEOUT_MS;
            try (TestClient next = new TestClient(server.port(), wait)) {
                String lesson = "a client that got its error line and then neither sent nor closed kept the only"
                        + " thread for more than LINGER (" + EchoLoop.LINGER.toMillis() + " ms) + " + Expect.READ_TIMEOUT_MS
                        + " ms: the next client was never served. Whatever serve waits for after the error line needs"
                        + " a deadline";
                assertThat(Expect.line(next.send("next\n"), failure(), lesson)).as(lesson).isEqualTo("next\n");
            }
        }
    }
}
