package c10k.exercises.day06;

import c10k.exercises.day06.SlotPool.Slot;
import java.io.IOException;

/**
 * Day 6, exercise 2: find the bug. A late worker's write, meant to be safe against fd-number
 * reuse, that is not.
 *
 * <p><b>The symptom</b>: day 6's server pins each client on a slot's fd number and gives each
 * occupant a new generation, and a worker writes its answer with {@link #writeIfStill}, below,
 * which checks that generation, reading it under the slot's lock. Yet, rarely, under load,
 * with a small pool, a client receives
 * a line meant for the client who held its slot before. The tests reproduce it: they let the
 * event loop release and re-acquire the slot at the worst instant.
 *
 * <p><b>Fix</b> {@link #writeIfStill}, to its contract: a worker, late or not, has an answer
 * for the client that occupied {@code slot} when the worker was handed the request (that
 * client's {@code generation}). No answer is ever sent to a client that did not ask for it:
 * the bytes go to the slot's fd only to the client they are for, and when that client has
 * gone nothing is sent. It returns whether they were sent. The event loop releases the slot
 * and gives it to a new client on its own thread, at any instant, with exercise 1's
 * {@code release} and {@code acquire}.
 *
 * <p><b>What the tests try</b>: a write to a client still there; a write after its client left;
 * a write after the slot went to the next client; the loop releasing the slot and giving it
 * to the next client while an answer is being sent, and at the worst instant of a worker's
 * write; and, on real sockets, Alice's late answer with Bob on her number. Find the instant
 * first, and say it in a comment.
 *
 * <p><b>Why</b>: since the worker got the request, the client may have reset, the loop released
 * the slot, and a new client may occupy it again: same number, open again. "Is it open?"
 * cannot tell Alice from Bob; the generation can. {@code send} is a parameter so the tests can
 * watch it; the real one sends with {@code Sockets.send(fd, ...)}.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day06-fd-reuse/README.md">day 6's
 * chapter</a>: <a href="../../../../../../../day06-fd-reuse/README.md#the-race">"The race"</a>.
 * The step that fixes it is named by {@code ./jbang check day06 --hint 2}: find the instant first.
 *
 * <p><b>Check</b>: {@code ./jbang check day06}. Tests: {@code LateWriteTest}.
 */
public final class LateWrite {

    /** Sends all of {@code bytes} to {@code fd}. */
    @FunctionalInterface
    public interface Send {
        void send(int fd, byte[] bytes) throws IOException;
    }

    private LateWrite() {
    }

    /** Writes {@code bytes} to the slot's fd if the slot still holds generation {@code generation}; returns whether it did. */
    public static boolean writeIfStill(Slot slot, int generation, byte[] bytes, Send send) throws IOException {
        if (!slot.isOpen() || slot.generation() != generation) {
            return false;                  // not our client any more
        }
        slot.lock.lock();
        try {
            send.send(slot.fd(), bytes);
            return true;
        } finally {
            slot.lock.unlock();
        }
    }
}
