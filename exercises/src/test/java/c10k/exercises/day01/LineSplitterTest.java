package c10k.exercises.day01;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.Hints;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@Hints({
        "One read() is not one line: it may hold half a line, several, or the end of one and the start of the next. What must survive from one feed() to the next, and when can a line no longer become legal?",
        "Re-read day 1's \"TCP is a byte stream, not a message stream\" and \"LineFramer.feed: lines out of chunks\"; for the limit, \"The line limit, and the ERR path\".",
        "Try the tests' cases on paper first: \"ab\", then \"c\\nd\", then \"e\\n\". Write down what you hold after each feed. For the limit, count a line that has no newline yet."})
@DisplayName("1. LineSplitter: lines out of any chunks")
class LineSplitterTest {

    private final List<String> lines = new ArrayList<>();
    private final LineSplitter splitter = new LineSplitter(64);

    private boolean feed(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return splitter.feed(b, b.length, line -> lines.add(new String(line, StandardCharsets.UTF_8)));
    }

    @Test
    void handsOverEveryLineOfOneChunk() {
        feed("one\ntwo\nthree\n");
        assertThat(lines)
                .as("3 lines arrived in one chunk (one read): each must come out, in order, newline included."
                        + " Do you stop after the first newline?")
                .containsExactly("one\n", "two\n", "three\n");
    }

    @Test
    void assemblesALineSplitAcrossChunks() {
        feed("hel");
        assertThat(lines).as("no newline yet: no line yet").isEmpty();
        assertThat(splitter.pendingBytes()).as("pendingBytes(): the 3 bytes of 'hel' wait for their newline").isEqualTo(3);
        feed("lo\nwor");
        feed("ld\n");
        assertThat(lines)
                .as("a line that arrived in pieces did not come out once, whole: the start of a line did not survive until its end came (TCP is a byte stream)")
                .containsExactly("hello\n", "world\n");
        assertThat(splitter.pendingBytes()).as("nothing pending after a newline").isZero();
    }

    @Test
    void usesOnlyTheBytesRead() {
        byte[] readBuffer = new byte[64];
        byte[] stale = "stale line from an earlier read\n".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(stale, 0, readBuffer, 0, stale.length);
        byte[] fresh = "hi\n".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(fresh, 0, readBuffer, 0, fresh.length);   // read() returned 3
        splitter.feed(readBuffer, fresh.length, line -> lines.add(new String(line, StandardCharsets.US_ASCII)));
        assertThat(lines)
                .as("read() returned 3 bytes, 'hi\\n'; the rest of the buffer is left over from before."
                        + " Only chunk[0, length) is data: do you scan the whole array?")
                .containsExactly("hi\n");
    }

    @Test
    void anEmptyLineIsALine() {
        feed("\n\nx\n");
        assertThat(lines).as("'\\n' alone is a line (an empty one), and is echoed").containsExactly("\n", "\n", "x\n");
    }

    @Test
    void givesTheSameLinesHoweverTheStreamIsSplit() {
        // The property that matters: the lines depend on the bytes, never on the reads.
        Random random = new Random(7);
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String line = "line " + i + " " + "x".repeat(random.nextInt(50)) + "\n";
            expected.add(line);
            stream.writeBytes(line.getBytes(StandardCharsets.US_ASCII));
        }
        byte[] all = stream.toByteArray();
        for (int round = 0; round < 50; round++) {
            LineSplitter s = new LineSplitter(64);
            List<String> got = new ArrayList<>();
            byte[] readBuffer = new byte[128];
            for (int off = 0; off < all.length; ) {
                int n = Math.min(all.length - off, 1 + random.nextInt(round < 10 ? 3 : 128));
                Arrays.fill(readBuffer, (byte) '\n');              // stale bytes, full of newlines
                System.arraycopy(all, off, readBuffer, 0, n);
                s.feed(readBuffer, n, line -> got.add(new String(line, StandardCharsets.US_ASCII)));
                off += n;
            }
            assertThat(got)
                    .as("300 lines cut into random reads of 1 to " + (round < 10 ? 3 : 128) + " bytes (round " + round
                            + "): the same 300 lines must come out, whatever the cuts")
                    .isEqualTo(expected);
        }
    }

    @Test
    void acceptsALineOfExactlyTheLimit() {
        assertThat(feed("a".repeat(63) + "\n")).as("64 bytes with its newline, limit 64: accepted").isTrue();
        assertThat(lines).hasSize(1);
    }

    @Test
    void refusesALineOverTheLimit() {
        assertThat(feed("ok\n" + "b".repeat(64) + "\n"))
                .as("65 bytes with its newline, limit 64: feed must return false")
                .isFalse();
        assertThat(lines).as("lines before the bad one are still handed over").containsExactly("ok\n");
    }

    @Test
    void refusesALineThatFillsTheLimitBeforeItsNewline() {
        assertThat(feed("d".repeat(63))).as("63 bytes, no newline yet, limit 64: the newline still fits").isTrue();
        assertThat(feed("d"))
                .as("64 bytes and no newline, limit 64 (newline included): the line is 65 bytes at least, it can"
                        + " no longer fit, and it was not refused: an off-by-one at the limit lets every line be one byte longer than"
                        + " the protocol allows (day 1, \"The line limit, and the ERR path\")")
                .isFalse();
    }

    @Test
    void refusesAnEndlessLineWithoutWaitingForItsNewline() {
        assertThat(feed("c".repeat(40))).as("40 bytes, no newline, limit 64: fine so far").isTrue();
        assertThat(feed("c".repeat(40)))
                .as("80 bytes and still no newline, limit 64: the line can no longer fit, refuse now."
                        + " A peer that never sends a newline must not make the server buffer forever")
                .isFalse();
    }
}
