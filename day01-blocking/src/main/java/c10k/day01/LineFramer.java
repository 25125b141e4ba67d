package c10k.day01;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Cuts a TCP byte stream into lines, whatever way the stream was split into reads.
 *
 * <p>TCP delivers bytes, not messages: one {@code read()} may return half a line, three lines,
 * or the end of one line and the start of the next. The framer is fed each chunk as it
 * arrives and calls the sink once per complete line, in order. A line that lies whole inside
 * the chunk is handed over in place (no copy); only a line that straddles two chunks is
 * assembled in a small buffer the framer owns.
 *
 * <p>It works for blocking servers (feed it what {@code InputStream.read} returned) and for
 * non-blocking ones (feed it whatever {@code recv} returned before {@code EAGAIN}); the input
 * may be a heap buffer or a direct one (a view of off-heap memory). One framer per
 * connection; not thread-safe, and it does not need to be: one reader per connection.
 */
public final class LineFramer {

    /** Receives each complete line: bytes {@code [start, end)} of {@code buf}, newline included. */
    @FunctionalInterface
    public interface LineSink {
        /**
         * Called once per complete line. The bytes are only valid during the call: copy them
         * if they are needed later. {@code buf}'s position and limit are not to be relied on.
         */
        void onLine(ByteBuffer buf, int start, int end) throws IOException;
    }

    /** Straddling lines are assembled here; kept small while lines are small. */
    private static final int INITIAL_PARTIAL = 256;
    /** Above this, the assembly buffer is dropped once its line is done, so a connection that
     *  once sent a long line does not keep up to 64 KiB for the rest of its life. */
    private static final int KEEP_PARTIAL = INITIAL_PARTIAL;

    private final int maxLine;
    private byte[] partial;      // the start of the current line, received in earlier chunks
    private int partialLength;   // how many bytes of it are valid
    private boolean failed;

    public LineFramer() {
        this(Protocol.MAX_LINE);
    }

    public LineFramer(int maxLine) {
        if (maxLine < 1) throw new IllegalArgumentException("maxLine must be positive");
        this.maxLine = maxLine;
    }

    /**
     * Frames {@code src} from its position to its limit and consumes all of it (the position
     * moves to the limit).
     *
     * @return {@code true} if all is well; {@code false} if a line is longer than the limit.
     *     Complete lines before the bad one have already been passed to the sink, so the
     *     caller can answer them, then send the error and close. After {@code false} the
     *     framer refuses further input.
     */
    public boolean feed(ByteBuffer src, LineSink sink) throws IOException {
        if (failed) throw new IllegalStateException("line limit already exceeded");
        int limit = src.limit();
        int lineStart = src.position();
        src.position(limit);
        while (true) {
            int newline = indexOfNewline(src, lineStart, limit);
            if (newline < 0) break;
            int end = newline + 1;
            if (partialLength == 0) {
                if (end - lineStart > maxLine) return fail();
                sink.onLine(src, lineStart, end);
            } else {
                if (partialLength + (end - lineStart) > maxLine) return fail();
                append(src, lineStart, end);
                sink.onLine(ByteBuffer.wrap(partial), 0, partialLength);
                partialLength = 0;
                if (partial.length > KEEP_PARTIAL) partial = null;
            }
            lineStart = end;
        }
        // What is left has no newline yet. If it already fills a whole line, the newline
        // cannot fit any more: fail now rather than buffer a stream that never ends.
        if (partialLength + (limit - lineStart) >= maxLine) return fail();
        append(src, lineStart, limit);
        return true;
    }

    /** Bytes of an incomplete line held back, waiting for their newline. */
    public int pendingBytes() {
        return partialLength;
    }

    /** Forgets the incomplete line, e.g. at end of stream, where the protocol discards it. */
    public void discardPartial() {
        partialLength = 0;
        partial = null;
    }

    private boolean fail() {
        failed = true;
        discardPartial();
        return false;
    }

    private void append(ByteBuffer src, int from, int to) {
        int n = to - from;
        if (n == 0) return;
        int needed = partialLength + n;
        if (partial == null || partial.length < needed) {
            int size = Math.max(needed, partial == null ? INITIAL_PARTIAL : partial.length * 2);
            byte[] bigger = new byte[Math.min(size, maxLine)];
            if (partialLength > 0) System.arraycopy(partial, 0, bigger, 0, partialLength);
            partial = bigger;
        }
        src.get(from, partial, partialLength, n);
        partialLength = needed;
    }

    private static int indexOfNewline(ByteBuffer buf, int from, int to) {
        if (buf.hasArray()) {
            byte[] a = buf.array();
            int base = buf.arrayOffset();
            for (int i = from; i < to; i++) {
                if (a[base + i] == '\n') return i;
            }
        } else {
            for (int i = from; i < to; i++) {
                if (buf.get(i) == '\n') return i;
            }
        }
        return -1;
    }
}
