package c10k.day07;

/**
 * What one {@link RingLoop} tells other threads (the server's figures, the tests): written
 * by the loop thread once per turn, read from anywhere. Volatile, so a reader sees a value
 * the loop really had, never a torn or stale one from before it started.
 */
final class LoopFigures {
    /** Connections open: accepted, not yet freed. */
    volatile int open;
    /** Receive buffers pinned by connections: one each in basic mode, none in multishot. */
    volatile int recvBuffersHeld;
    /** basic: free receive buffers kept for the next connections (at most {@code Receiver.KEEP}). */
    volatile int recvBuffersKept;
    /** The most output one connection ever had waiting: bounded by backpressure. */
    volatile int largestUnsent;
    /** io_uring_enter calls. */
    volatile long enters;
    volatile long completions;
    /** Accepts that waited 100 ms because the process was out of fds. */
    volatile long acceptPauses;
    /** Multishot receives that ended because the buffer ring was empty. */
    volatile long enobufs;
    /** The byte budget each multishot recv is armed with; 0 in basic mode or on a kernel without one. */
    volatile int recvBudget;
}
