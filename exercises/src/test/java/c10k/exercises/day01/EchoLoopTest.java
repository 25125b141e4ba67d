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
        "Which bytes of the buffer did read() fill, and what does read() return when the client has gone? What does the client see when the server closes a socket that still holds unread bytes? Re-read day 1's \"BlockingEchoServer.serve: read, frame, answer\" and \"Ending a connection: FIN, half-close, RST\".",
        "Loop: read into the buffer; -1 ends the loop (drop the unfinished line); feed only the n bytes read to the framer; write every complete line of this read in one write. When the framer refuses a line, write the error line, shut down the output (the FIN), and return."})
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
                    + " do you stop reading after one line? Frame everything one read returned";
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
                    + " on read() == -1 (end of stream) return from serve, dropping the unfinished line";
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
    void theErrorLineIsFollowedByAFinNotAReset() throws Exception {
        // More than the server will read: when the socket closes, bytes are still unread in it,
        // and close() then sends RST, not FIN (RFC 1122, 4.2.2.13). Only a FIN sent before that,
        // by shutdownOutput(), says "that was all, on purpose". A reset throws away whatever of
        // the error line the server's kernel has not sent yet, and some systems drop what the
        // client has not read yet. Java's client socket hides which of the two it got (both
        // read as -1 here), so the harness tells whether serve shut the output down.
        byte[] tooLong = new byte[Protocol.MAX_LINE + 64 * 1024];
        Arrays.fill(tooLong, (byte) 'z');
        BlockingHarness harness = (BlockingHarness) server;
        try (TestClient c = Expect.client(server.port())) {
            c.send(tooLong);
            String lesson = "a line over the limit must get 'ERR line too long'";
            assertThat(Expect.line(c, failure(), lesson)).as(lesson).isEqualTo("ERR line too long\n");
            Expect.eventually(java.time.Duration.ofSeconds(2), failure(),
                    "after 'ERR line too long' serve must return (the connection ends)", () -> harness.returnedCount() == 1);
            assertThat(harness.lastOutputShutdown())
                    .as("serve returned after the error line without shutdownOutput(): the socket still held unread"
                            + " bytes of the long line, so the close that followed sent a reset (RST) instead of an"
                            + " end of stream (FIN), and a reset can destroy the error line before the client reads it."
                            + " Call client.shutdownOutput() after writing the error line: the FIN goes out first")
                    .isTrue();
        }
    }
}
