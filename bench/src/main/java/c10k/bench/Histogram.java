package c10k.bench;

/**
 * Latency histogram with about 1.5% resolution at any scale: 64 sub-buckets per power of two
 * (the same idea as HdrHistogram, small enough to write here). Not thread-safe: one per thread,
 * merged at the end.
 */
final class Histogram {
    private static final int SUB_BITS = 6;
    private final long[] counts = new long[64 << SUB_BITS];
    private long total;

    void record(long nanos) {
        counts[index(Math.max(1, nanos))]++;
        total++;
    }

    void add(Histogram other) {
        for (int i = 0; i < counts.length; i++) counts[i] += other.counts[i];
        total += other.total;
    }

    void reset() {
        java.util.Arrays.fill(counts, 0);
        total = 0;
    }

    long count() {
        return total;
    }

    /** The value at quantile q (0..1), as the lower edge of its bucket, in nanoseconds. */
    long quantile(double q) {
        if (total == 0) return 0;
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) return lowerBound(i);
        }
        return lowerBound(counts.length - 1);
    }

    private static int index(long v) {
        int exp = 63 - Long.numberOfLeadingZeros(v);            // floor(log2 v)
        if (exp < SUB_BITS) return (int) v;                      // small values are exact
        int sub = (int) (v >>> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1);
        return ((exp - SUB_BITS + 1) << SUB_BITS) + sub;
    }

    private static long lowerBound(int index) {
        int block = index >>> SUB_BITS;
        int sub = index & ((1 << SUB_BITS) - 1);
        if (block == 0) return sub;
        int exp = block + SUB_BITS - 1;
        return (1L << exp) | ((long) sub << (exp - SUB_BITS));
    }
}
