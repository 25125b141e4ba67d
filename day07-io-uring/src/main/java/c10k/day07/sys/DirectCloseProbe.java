package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import c10k.day03.sys.Poll;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Does an IORING_OP_CLOSE of a direct descriptor close its socket at once?
 *
 * <p>Removing a file from the registered table does not put it there and then: the kernel
 * hands it to the table's current resource node, and puts it when every request that was
 * issued against that node has completed. Where those nodes are released in order, one
 * long-lived request on another slot (an idle connection's armed receive) keeps every later
 * close from reaching the socket: the peer gets no FIN, and the kernel keeps the socket, until
 * that request completes. Neither io_uring_register(2) nor io_uring_prep_close_direct(3)
 * says which requests a removal waits for, and kernels differ, so we ask this one.
 *
 * <p>The question, on the probe's ring: two socketpairs, one end of each in a table of two;
 * a receive armed on slot 1 that stays pending; slot 0 closed; does slot 0's peer then read
 * end of stream, or nothing yet?
 */
final class DirectCloseProbe {

    private static final long RECV_UD = 3, CLOSE_UD = 4;
    /**
     * How long the peer's end of stream may take after the close's completion. A close that
     * is not deferred reaches the socket before the close completes or, put from another
     * thread, moments after; a deferred one never does while the receive is armed.
     */
    private static final int EOF_WAIT_MILLIS = 200;

    private DirectCloseProbe() {}

    /** True if closing slot 0 ended the stream at once; false if deferred or if no table can be registered. */
    static boolean closesAtOnce(IoUring ring, Arena arena) throws SyscallException {
        int[] a = IoUringSyscalls.socketpair(), b;
        try {
            b = IoUringSyscalls.socketpair();
        } catch (SyscallException e) {
            Sockets.close(a[0]);
            Sockets.close(a[1]);
            throw e;
        }
        MemorySegment fds = arena.allocate(JAVA_INT, 2);
        fds.setAtIndex(JAVA_INT, 0, a[0]);
        fds.setAtIndex(JAVA_INT, 1, b[0]);
        int r = ring.register(IORING_REGISTER_FILES, fds, 2);
        // The table holds its own references now: our fds of those two ends can go.
        Sockets.close(a[0]);
        Sockets.close(b[0]);
        try {
            if (r < 0) return false;
            MemorySegment buf = arena.allocate(8);
            ring.sq().recv(1, true, buf.address(), (int) buf.byteSize(), RECV_UD);
            ring.submit();   // the receive is issued (and waits) before the close
            ring.sq().closeFixed(0, CLOSE_UD);
            int closed = KernelFeatures.answer(ring, CLOSE_UD)[0];
            boolean atOnce = closed == 0 && endOfStream(a[1]);
            KernelFeatures.cancel(ring, RECV_UD);
            ring.register(IORING_UNREGISTER_FILES, MemorySegment.NULL, 0);
            return atOnce;
        } finally {
            Sockets.close(a[1]);
            Sockets.close(b[1]);
        }
    }

    /** Does the peer read end of stream within {@link #EOF_WAIT_MILLIS}? */
    private static boolean endOfStream(int peer) throws SyscallException {
        long deadline = System.nanoTime() + EOF_WAIT_MILLIS * 1_000_000L;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(Poll.POLLFD);
            Poll.set(pfd, 0, peer, Poll.POLLIN);
            // poll also returns 0 when a signal interrupted it (the JVM signals its threads).
            for (long left; (left = deadline - System.nanoTime()) > 0; ) {
                if (Poll.poll(pfd, 1, (int) Math.max(1, left / 1_000_000)) > 0) return Sockets.recv(peer, new byte[1], 0, 1) == 0;
            }
        }
        return false;
    }
}
