package c10k.exercises.day01;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Day 1, exercise 1: cut a TCP byte stream into lines, whatever way it was split into reads.
 *
 * <p><b>Build</b> {@link #feed}: it gets what one {@code read()} returned (the first
 * {@code length} bytes of {@code chunk}) and hands every complete line, newline included, to
 * {@code onLine}, in order, whatever way the stream was cut into chunks. A line longer than
 * {@code maxLine} (newline included) is refused, as soon as it can no longer fit. The tests
 * feed three lines in one chunk, a line in pieces, chunks whose array holds stale bytes past
 * {@code length}, and lines at, under and over the limit.
 *
 * <p><b>Why</b>: TCP delivers bytes, not messages. One read may return half a line, three
 * lines, or the end of one line and the start of the next; "one read = one request" is the
 * bug behind "why does every other echo come back empty?". And the read buffer holds stale
 * bytes past {@code length}: only the bytes read are data.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day01-blocking/README.md">day 1's
 * chapter</a>:
 * <a href="../../../../../../../day01-blocking/README.md#tcp-is-a-byte-stream-not-a-message-stream">"TCP
 * is a byte stream, not a message stream"</a>,
 * <a href="../../../../../../../day01-blocking/README.md#lineframerfeed-lines-out-of-chunks">"{@code
 * LineFramer.feed}: lines out of chunks"</a> and
 * <a href="../../../../../../../day01-blocking/README.md#the-line-limit-and-the-err-path">"The line
 * limit, and the ERR path"</a> (day 1's framer does this without copying; here a copy per line is
 * fine).
 *
 * <p><b>Check</b>: {@code ./jbang check day01}. Tests: {@code LineSplitterTest}.
 */
public final class LineSplitter {

    private final int maxLine;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private boolean failed;

    /** @param maxLine the longest line accepted, newline included (the protocol's is 65,536) */
    public LineSplitter(int maxLine) {
        if (maxLine < 1) throw new IllegalArgumentException("maxLine must be positive");
        this.maxLine = maxLine;
    }

    /**
     * Feeds {@code chunk[0, length)}: calls {@code onLine} once per complete line, with a copy
     * of its bytes, newline included.
     *
     * @return {@code true} if all is well; {@code false} as soon as a line is longer than
     *     {@code maxLine}, without waiting for its newline (a peer may never send one). The
     *     lines before the bad one have been handed over already. After {@code false}, further
     *     calls throw {@link IllegalStateException}.
     */
    public boolean feed(byte[] chunk, int length, Consumer<byte[]> onLine) {
        if (failed) throw new IllegalStateException("line limit already exceeded");
        int start = 0;
        for (int i = 0; i < length; i++) {
            if (chunk[i] != '\n') continue;
            int n = i + 1 - start;
            if (partial.size() + n > maxLine) return fail();
            if (partial.size() == 0) {
                onLine.accept(Arrays.copyOfRange(chunk, start, i + 1));
            } else {
                partial.write(chunk, start, n);
                onLine.accept(partial.toByteArray());
                partial.reset();
            }
            start = i + 1;
        }
        // No newline in what is left: if it already fills a line, the newline cannot fit.
        int rest = length - start;
        if (partial.size() + rest >= maxLine) return fail();
        partial.write(chunk, start, rest);
        return true;
    }

    /** Bytes of an incomplete line held back, waiting for their newline. */
    public int pendingBytes() {
        return partial.size();
    }

    private boolean fail() {
        failed = true;
        partial.reset();
        return false;
    }
}
