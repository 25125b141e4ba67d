package c10k.day07;

/**
 * What a completion is about. Every request carries a 64-bit user_data that the kernel
 * copies into its completion; ours says the kind of request in the high 32 bits and, for a
 * connection's requests, the connection's slot in the low 32. The loop routes each
 * completion by it.
 */
final class UserData {

    private UserData() {
    }

    // The accept path (RingAcceptor).
    static final int ACCEPT = 1;
    /** The 100 ms timeout after running out of fds. */
    static final int ACCEPT_PAUSE = 2;
    /** A cancel of the accept, or the close of a socket accepted while shutting down. */
    static final int ACCEPT_AUX = 3;
    // A connection's requests: the receiver's (RECV, PAUSE), the sender's (SEND), and those
    // of Connections, which ends connections (CANCEL, SHUTDOWN, CLOSE).
    static final int RECV = 4;
    /** The cancel of a multishot recv, to stop reading from a peer that does not read (backpressure). */
    static final int PAUSE = 11;
    static final int SEND = 5;
    static final int CANCEL = 6;
    static final int SHUTDOWN = 7;
    static final int CLOSE = 8;
    // The loop's own (RingLoop).
    static final int WAKE = 9;
    static final int LOOP_CANCEL = 10;

    static long ud(int kind, int slot) {
        return ((long) kind << 32) | (slot & 0xFFFF_FFFFL);
    }

    static int kind(long userData) {
        return (int) (userData >>> 32);
    }

    static int slot(long userData) {
        return (int) userData;
    }
}
