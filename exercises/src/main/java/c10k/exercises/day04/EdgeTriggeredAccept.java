package c10k.exercises.day04;

import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.util.function.IntConsumer;

/**
 * Day 4, exercise 2: the edge-triggered listener, when many clients connect on one edge.
 *
 * <p><b>Build</b> {@link #acceptAll}: one accept turn for a listening socket that
 * edge-triggered epoll has just reported readable. The contract the loop relies on: every
 * connection taken from the kernel's accept queue goes to {@code onAccepted}, in order; no
 * client the kernel has completed is left waiting for an edge that may never come;
 * {@link Result#DRAINED} means the loop may wait for the next edge, {@link Result#OWED} that
 * it must come back to the listener without one; at most {@code maxAccepts} calls of
 * {@code accept} per turn, a failed call counted like any other, so that neither a burst of
 * clients nor a burst of clients who give up before they are taken holds the loop. And
 * {@code accept} fails now and then, for reasons of three sorts, each with its own answer: a client that is gone (or refused) before we took it costs the clients queued behind it nothing;
 * when the process or the kernel is short of what a new connection needs, the turn ends
 * {@link Result#PAUSED} without asking again (asking again fails again), and the next turn,
 * once the loop comes back, takes the queue as it finds it; only a listener that is itself
 * broken ends the turn with its error.
 *
 * <p><b>What the tests try</b>: a scripted listener with connections queued, one with a
 * thousand (a burst), queues in which accept fails, for reasons of each sort, one of them
 * with a failure inside a small budget; then real clients connecting together on one real
 * edge.
 *
 * <p><b>Why</b>: the listening socket is an fd like any other. With {@code EPOLLET}, ten
 * clients that connect together may make a single edge; a loop that accepts one per event
 * leaves nine in the kernel's accept queue, completed by the kernel, never served, until an
 * eleventh client connects (the 30dayMakeCppServer readers' bug). The bound keeps a burst of
 * connections from starving the clients already here. {@code accept} is a parameter so the
 * tests can script the kernel; the real one is {@code () -> Sockets.accept(listenFd)}.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day04-epoll-et/README.md">day 4's
 * chapter</a>:
 * <a href="../../../../../../../day04-epoll-et/README.md#level-triggered-and-edge-triggered">"Level-triggered
 * and edge-triggered"</a> (what an edge is, and what it is not); accept(2), its list of errors
 * and its notes on error handling; epoll(7). The sections on the engine's own accept turn come
 * with {@code ./jbang check day04 --hint 2}: sort the errors yourself first.
 *
 * <p><b>Check</b>: {@code ./jbang check day04}. Tests: {@code EdgeTriggeredAcceptTest}.
 */
public final class EdgeTriggeredAccept {

    /** How an accept turn ended. */
    public enum Result {
        /** accept said EAGAIN: the queue is empty. */
        DRAINED,
        /** maxAccepts taken; more may be queued, and no edge will say so. */
        OWED,
        /** Short of descriptors or memory: the loop stops watching the listener for a while, then comes back. */
        PAUSED
    }

    /** accept4(2) on the listener: a new non-blocking fd, or {@link Sockets#WOULD_BLOCK}. */
    @FunctionalInterface
    public interface Accept {
        int accept() throws SyscallException;
    }

    private EdgeTriggeredAccept() {
    }

    /** One turn: accept until EAGAIN or {@code maxAccepts}. */
    public static Result acceptAll(Accept accept, int maxAccepts, IntConsumer onAccepted) throws SyscallException {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EdgeTriggeredAccept.acceptAll (day 4, exercise 2)");
    }
}
