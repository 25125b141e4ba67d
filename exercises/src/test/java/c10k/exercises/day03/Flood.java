package c10k.exercises.day03;

import java.io.IOException;
import java.io.InputStream;

/** A stream of 1 KiB lines whose every byte can be computed from its offset: nothing stored. */
final class Flood {

    static final int LINE = 1024;

    private Flood() {
    }

    static byte at(long offset) {
        long line = offset / LINE;
        int col = (int) (offset % LINE);
        if (col == LINE - 1) return '\n';
        return (byte) ('a' + (line * 7 + col) % 26);
    }

    static byte[] bytes(long offset, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = at(offset + i);
        return b;
    }

    /** Reads to the end, failing at the first byte that differs; returns how many were read. */
    static long readAndCheck(InputStream in, long expected) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long offset = 0;
        int n;
        while (offset < expected && (n = in.read(buf)) >= 0) {
            for (int i = 0; i < n; i++, offset++) {
                if (buf[i] != at(offset)) {
                    throw new AssertionError("byte " + offset + " of the echo is '" + (char) buf[i] + "', expected '"
                            + (char) at(offset) + "': the answers came back out of order (or twice, or some were lost)");
                }
            }
        }
        return offset;
    }
}
