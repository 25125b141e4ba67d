package c10k.exercises.day04;

import c10k.day03.Sockets;
import c10k.day03.SyscallException;

/**
 * Day 4, exercise 1: one read turn for a socket that edge-triggered epoll reported readable.
 *
 * <p><b>Build</b> {@link #drain}: call {@code recv} again and again, handing each chunk (the
 * bytes read, no more) to {@code onChunk}, until the kernel says there is nothing left
 * ({@link Sockets#WOULD_BLOCK}, i.e. {@code EAGAIN}): {@link Result#DRAINED}. Stop at end of
 * stream ({@code recv} returned 0): {@link Result#END_OF_STREAM}. Stop after
 * {@code maxReads} reads even if more may wait: {@link Result#OWED}, and the loop puts the
 * connection on a list of those owed another turn (day 4's event loop does: its
 * {@code owed} list). Errors ({@code ECONNRESET}) propagate.
 *
 * <p><b>Why</b>: edge-triggered epoll reports an fd when data <em>arrives</em>, once per
 * arrival, not while data waits. Whatever a turn leaves unread is never reported again until
 * the peer sends more: one read per event stalls the connection (the classic ET bug; day 4's
 * {@code ET_STOPS_EARLY} mode shows it). Draining without a bound has the opposite problem:
 * one client that always has data starves all the others (epoll(7), "Possible pitfalls").
 * {@code recv} is a parameter so the tests can script exactly what the kernel answers; the
 * real one is {@code (buf, off, len) -> Sockets.recv(fd, buf, off, len)}.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day04-epoll-et/README.md">day 4's
 * chapter</a>:
 * <a href="../../../../../../../day04-epoll-et/README.md#level-triggered-and-edge-triggered">"Level-triggered
 * and edge-triggered"</a>,
 * <a href="../../../../../../../day04-epoll-et/README.md#what-edge-triggered-mode-demands">"What
 * edge-triggered mode demands"</a> and
 * <a href="../../../../../../../day04-epoll-et/README.md#a-budget-per-turn-and-the-owed-list">"A
 * budget per turn, and the owed list"</a>; epoll(7).
 *
 * <p><b>Check</b>: {@code ./jbang check day04}. Tests: {@code EdgeTriggeredReadTest}.
 */
public final class EdgeTriggeredRead {

    /** How a read turn ended. */
    public enum Result {
        /** recv said EAGAIN: the socket is empty; the next edge will come with new data. */
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

    /** One turn: read into {@code buf} until EAGAIN, end of stream, or {@code maxReads} reads. */
    public static Result drain(Recv recv, byte[] buf, int maxReads, Chunk onChunk) throws SyscallException {
        for (int reads = 0; reads < maxReads; reads++) {
            int n = recv.recv(buf, 0, buf.length);
            if (n == Sockets.WOULD_BLOCK) return Result.DRAINED;
            if (n == 0) return Result.END_OF_STREAM;
            onChunk.accept(buf, n);
        }
        return Result.OWED;   // we stopped, not the kernel: more may be waiting
    }
}
