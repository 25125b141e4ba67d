package c10k.day03;

import java.nio.ByteBuffer;

/**
 * The bytes a non-blocking connection owes its peer but could not send yet.
 *
 * <p>Non-blocking servers send first: the answer to a read is written at once, and only what
 * the kernel refused (its send buffer was full: {@code EAGAIN}) is kept here, in order, to be
 * sent when the socket is writable again. So a connection that keeps up owns no buffer at
 * all, which is what lets one process hold ten thousand idle connections in little memory.
 *
 * <p>It is also where backpressure is decided. A peer that sends but never reads would make
 * this grow without end; instead the server stops reading from a connection whose outbox is
 * above {@link #HIGH_WATER} and resumes once it falls below {@link #LOW_WATER} (the same
 * marks as Netty's default write-buffer water marks). The outbox then holds at most
 * {@code HIGH_WATER} plus the answers to one read.
 *
 * <p>The bytes live in a heap array: the selector server wraps it in a {@code ByteBuffer},
 * the FFM servers hand it to {@code send(2)} directly (see {@code Sockets.send}).
 */
public final class Outbox {

    public static final int HIGH_WATER = 64 * 1024;
    public static final int LOW_WATER = 32 * 1024;
    private byte[] bytes;
    private int start;   // first unsent byte
    private int end;     // one past the last

    public boolean isEmpty() {
        return start == end;
    }

    public int size() {
        return end - start;
    }

    /** Above the high-water mark: stop reading from this peer until it drains. */
    public boolean isFull() {
        return size() > HIGH_WATER;
    }

    /** Below the low-water mark again: reading may resume. */
    public boolean hasRoom() {
        return size() < LOW_WATER;
    }

    /** Queues {@code src[from, to)} after what is already waiting. */
    public void append(ByteBuffer src, int from, int to) {
        int n = to - from;
        ensureRoom(n);
        src.get(from, bytes, end, n);
        end += n;
    }

    /** Queues {@code src[from, to)} after what is already waiting. */
    public void append(byte[] src, int from, int to) {
        int n = to - from;
        ensureRoom(n);
        System.arraycopy(src, from, bytes, end, n);
        end += n;
    }

    /** The waiting bytes are {@code array()[start(), start() + size())}. */
    public byte[] array() {
        return bytes;
    }

    public int start() {
        return start;
    }

    /** Forgets the first {@code n} waiting bytes: the kernel took them. */
    public void consumed(int n) {
        if (n < 0 || n > size()) throw new IllegalArgumentException("consumed " + n + " of " + size());
        if (n == 0) return;
        start += n;
        if (start == end) {
            start = end = 0;
            bytes = null;   // drained: an idle connection keeps no buffer at all
        }
    }

    public void clear() {
        start = end = 0;
        bytes = null;
    }

    private void ensureRoom(int n) {
        if (n == 0) return;
        if (bytes == null) {
            bytes = new byte[Math.max(n, 1024)];
            return;
        }
        if (bytes.length - end >= n) return;
        int size = size();
        if (bytes.length - size >= n) {
            System.arraycopy(bytes, start, bytes, 0, size);   // slide down: the room is at the front
        } else {
            byte[] bigger = new byte[Math.max(bytes.length * 2, size + n)];
            System.arraycopy(bytes, start, bigger, 0, size);
            bytes = bigger;
        }
        start = 0;
        end = size;
    }
}
