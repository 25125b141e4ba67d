package c10k.day03;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The answers one read produced, gathered so they go to the kernel in one {@code send}: one
 * system call for a pipelined burst instead of one per line (and no Nagle stall between them).
 * Owned by one thread and reused for every read; it grows for a large answer and shrinks back
 * afterwards, so one huge reply does not stay pinned for the thread's life.
 */
public final class Replies {

    private final int initial;
    private final int keep;
    private byte[] bytes;
    private int length;

    public Replies(int initialCapacity) {
        this(initialCapacity, 4 * initialCapacity);
    }

    /** @param keep the largest buffer {@link #clear} keeps; a larger one is given back */
    public Replies(int initialCapacity, int keep) {
        this.initial = initialCapacity;
        this.keep = keep;
        this.bytes = new byte[initialCapacity];
    }

    public void put(byte[] src, int from, int to) {
        int n = to - from;
        ensure(n);
        System.arraycopy(src, from, bytes, length, n);
        length += n;
    }

    public void put(byte[] src) {
        put(src, 0, src.length);
    }

    public void put(ByteBuffer src, int from, int to) {
        int n = to - from;
        ensure(n);
        src.get(from, bytes, length, n);
        length += n;
    }

    public byte[] array() {
        return bytes;
    }

    public int length() {
        return length;
    }

    /** Empties it for the next read; a buffer grown far past its usual size is given back. */
    public void clear() {
        length = 0;
        if (bytes.length > keep) bytes = new byte[initial];
    }

    private void ensure(int n) {
        if (length + n > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + n));
    }
}
