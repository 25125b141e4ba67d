package c10k.exercises.day04;

import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;

/**
 * Day 4, exercise 1: one read turn for a socket that edge-triggered epoll reported readable.
 *
 * <p><b>Build</b> {@link #drain}: read what the kernel holds for this socket and hand it to
 * {@code onChunk}, then say how the turn ended, so the loop knows whether to wait for the next
 * edge, come back on its own, or close.
 *
 * <p><b>The contract</b> the loop relies on: every byte {@code recv} returns reaches
 * {@code onChunk}, once, in order, and nothing else does; at most {@code maxReads} calls to
 * {@code recv} per turn; errors ({@code ECONNRESET}) propagate. The result tells the loop what
 * to do next: {@link Result#DRAINED}, wait for the next edge (so nothing may be left that the
 * loop would then never read, a FIN included); {@link Result#END_OF_STREAM}, the peer has
 * finished sending, and nothing more is read; {@link Result#OWED}, come back without an edge.
 * {@code hangUpReported}: the event that started this turn carried {@code EPOLLRDHUP} or
 * {@code EPOLLHUP}: the peer has shut down its side, and no later edge will say so again.
 *
 * <p><b>What the tests try</b>, with a scripted kernel: chunks then {@code EAGAIN}; a chunk
 * smaller than the buffer; a peer that never stops sending; a FIN with and without a hang-up
 * reported; a reset; then a real socket and real edge-triggered epoll, with and without a FIN.
 *
 * <p><b>Why</b>: edge-triggered epoll reports an fd when data <em>arrives</em>, once per
 * arrival, not while data waits (epoll(7)). {@code recv} is a parameter so the tests can
 * script exactly what the kernel answers; the real one is
 * {@code (buf, off, len) -> Sockets.recv(fd, buf, off, len)}.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day04-epoll-et/README.md">day 4's
 * chapter</a>:
 * <a href="../../../../../../../day04-epoll-et/README.md#level-triggered-and-edge-triggered">"Level-triggered
 * and edge-triggered"</a> (what an edge is, and what it is not); epoll(7) and recv(2). The
 * sections that state the rules of a read turn come with {@code ./jbang check day04 --hint 2}:
 * work them out from the contract first.
 *
 * <p><b>Check</b>: {@code ./jbang check day04}. Tests: {@code EdgeTriggeredReadTest}.
 */
public final class EdgeTriggeredRead {

    /** How a read turn ended. */
    public enum Result {
        /** The kernel showed the socket empty: the next edge will come with new data. */
        DRAINED,
        /** maxReads reads done and data may remain: no edge will come for it, the loop owes it a turn. */
        OWED,
        /** recv returned 0: the peer sent FIN. */
        END_OF_STREAM
    }

    /** recv(2) on one socket: bytes read, 0 at end of stream, or {@link Sockets#WOULD_BLOCK}. */
    @FunctionalInterface
    public interface Recv {
        int recv(byte[] buf, int offset, int length) throws SyscallException;
    }

    /** Receives each chunk: {@code buf[0, length)} is valid during the call only. */
    @FunctionalInterface
    public interface Chunk {
        void accept(byte[] buf, int length);
    }

    private EdgeTriggeredRead() {
    }

    /** One read turn into {@code buf}, at most {@code maxReads} calls to {@code recv}. */
    public static Result drain(Recv recv, byte[] buf, int maxReads, boolean hangUpReported, Chunk onChunk)
            throws SyscallException {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EdgeTriggeredRead.drain (day 4, exercise 1)");
    }
}
