package c10k.day01;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class LineFramerTest {

    /** Feeds {@code input} cut at the given points and collects the lines. */
    private static List<String> frame(byte[] input, int[] cuts, boolean direct) throws IOException {
        List<String> lines = new ArrayList<>();
        LineFramer framer = new LineFramer();
        int from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int to = i < cuts.length ? cuts[i] : input.length;
            ByteBuffer chunk = direct ? ByteBuffer.allocateDirect(to - from + 7) : ByteBuffer.allocate(to - from + 7);
            // Put the chunk in the middle of a bigger buffer: the framer must honour
            // position and limit, not assume the chunk starts at 0.
            chunk.position(3);
            chunk.put(input, from, to - from);
            chunk.flip().position(3);
            assertThat(framer.feed(chunk, (buf, start, end) -> {
                byte[] line = new byte[end - start];
                buf.get(start, line);
                lines.add(new String(line, StandardCharsets.ISO_8859_1));
            })).isTrue();
            assertThat(chunk.hasRemaining()).as("the framer consumes the whole chunk").isFalse();
            from = to;
        }
        return lines;
    }

    @RepeatedTest(200)
    void anySplitOfTheStreamYieldsTheSameLines(RepetitionInfo repetition) throws IOException {
        Random random = new Random(repetition.getCurrentRepetition());
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        List<String> expected = new ArrayList<>();
        int lineCount = random.nextInt(30);
        for (int i = 0; i < lineCount; i++) {
            // Mostly short lines, sometimes long ones, sometimes empty; any byte but LF.
            int length = random.nextInt(10) == 0 ? random.nextInt(20_000) : random.nextInt(20);
            byte[] line = new byte[length + 1];
            for (int j = 0; j < length; j++) {
                byte b;
                do b = (byte) random.nextInt(256); while (b == '\n');
                line[j] = b;
            }
            line[length] = '\n';
            stream.writeBytes(line);
            expected.add(new String(line, StandardCharsets.ISO_8859_1));
        }
        stream.writeBytes("an unfinished tail".getBytes(StandardCharsets.ISO_8859_1));
        byte[] input = stream.toByteArray();

        int[] cuts = random.ints(random.nextInt(Math.max(1, input.length / 4) + 1), 0, input.length + 1).sorted().toArray();
        assertThat(frame(input, cuts, random.nextBoolean())).isEqualTo(expected);
    }

    @Test
    void everyByteAsItsOwnChunk() throws IOException {
        byte[] input = "ab\n\ncd\ne".getBytes(StandardCharsets.US_ASCII);
        int[] cuts = new int[input.length - 1];
        for (int i = 0; i < cuts.length; i++) cuts[i] = i + 1;
        assertThat(frame(input, cuts, false)).containsExactly("ab\n", "\n", "cd\n");
    }

    @Test
    void holdsAnUnfinishedLineUntilItsNewlineArrives() throws IOException {
        LineFramer framer = new LineFramer();
        List<String> lines = new ArrayList<>();
        LineFramer.LineSink sink = (buf, start, end) -> {
            byte[] b = new byte[end - start];
            buf.get(start, b);
            lines.add(new String(b, StandardCharsets.US_ASCII));
        };
        framer.feed(ByteBuffer.wrap("hel".getBytes(StandardCharsets.US_ASCII)), sink);
        assertThat(lines).isEmpty();
        assertThat(framer.pendingBytes()).isEqualTo(3);
        framer.feed(ByteBuffer.wrap("lo\nwor".getBytes(StandardCharsets.US_ASCII)), sink);
        assertThat(lines).containsExactly("hello\n");
        assertThat(framer.pendingBytes()).isEqualTo(3);
        framer.discardPartial();
        framer.feed(ByteBuffer.wrap("ld\n".getBytes(StandardCharsets.US_ASCII)), sink);
        assertThat(lines).containsExactly("hello\n", "ld\n");
    }

    @Test
    void theLimitCountsTheNewline() throws IOException {
        LineFramer framer = new LineFramer(8);
        List<Integer> lengths = new ArrayList<>();
        LineFramer.LineSink sink = (buf, start, end) -> lengths.add(end - start);
        assertThat(framer.feed(ByteBuffer.wrap("1234567\n".getBytes(StandardCharsets.US_ASCII)), sink)).isTrue();
        assertThat(framer.feed(ByteBuffer.wrap("1234".getBytes(StandardCharsets.US_ASCII)), sink)).isTrue();
        assertThat(framer.feed(ByteBuffer.wrap("567\nok\n12345678\n".getBytes(StandardCharsets.US_ASCII)), sink)).isFalse();
        assertThat(lengths).as("lines before the long one are delivered").containsExactly(8, 8, 3);
    }

    @Test
    void refusesAnEndlessLineAsSoonAsItCannotFit() throws IOException {
        LineFramer framer = new LineFramer(8);
        assertThat(framer.feed(ByteBuffer.wrap("1234567".getBytes(StandardCharsets.US_ASCII)), (b, s, e) -> { })).isTrue();
        assertThat(framer.feed(ByteBuffer.wrap("8".getBytes(StandardCharsets.US_ASCII)), (b, s, e) -> { }))
                .as("8 bytes and no newline: the newline can no longer fit in 8").isFalse();
        assertThatThrownBy(() -> framer.feed(ByteBuffer.wrap(new byte[1]), (b, s, e) -> { }))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aStraddlingLineAtTheLimitIsAccepted() throws IOException {
        LineFramer framer = new LineFramer(Protocol.MAX_LINE);
        byte[] line = new byte[Protocol.MAX_LINE];
        java.util.Arrays.fill(line, (byte) 'z');
        line[line.length - 1] = '\n';
        int[] got = new int[1];
        for (int off = 0; off < line.length; off += 1000) {
            assertThat(framer.feed(ByteBuffer.wrap(line, off, Math.min(1000, line.length - off)),
                    (b, s, e) -> got[0] = e - s)).isTrue();
        }
        assertThat(got[0]).isEqualTo(Protocol.MAX_LINE);
        assertThat(framer.pendingBytes()).isZero();
    }
}
