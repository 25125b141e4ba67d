package c10k.exercises.day06;

import c10k.exercises.day06.SlotPool.Slot;
import java.io.IOException;

/**
 * Day 6, exercise 2: the worker's write, made safe against fd-number reuse: write only if the
 * slot still holds the client the answer is for.
 *
 * <p><b>Build</b> {@link #writeIfStill}. Take the slot's lock; under it, check that the slot
 * is open and that its generation is still {@code generation} (the one the worker was handed
 * with the request). Either check fails: write nothing, return false. Both hold: send, still
 * under the lock, and return true.
 *
 * <p><b>Why</b>: the worker got the request while the slot's generation was {@code generation}.
 * Since then the client may have reset, the loop released the slot, and, with a small or busy
 * pool, a new client may occupy it again: same number, open again. "Is it open?" cannot tell
 * Alice from Bob; only the generation can. And the check counts only if nothing can change in
 * between: check, then lock, and the loop may release and re-acquire the slot between your
 * check and your send. Release takes the same lock (exercise 1), so while you hold it the
 * number stays this client's. {@code send} is a parameter so the tests can watch it; the real
 * one sends with {@code Sockets.send(fd, ...)}.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day06-fd-reuse/README.md">day 6's
 * chapter</a>: <a href="../../../../../../../day06-fd-reuse/README.md#the-race">"The race"</a> and
 * <a href="../../../../../../../day06-fd-reuse/README.md#step-3-the-generation-checked-under-the-slots-lock">"Step
 * 3: the generation, checked under the slot's lock"</a>.
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
        slot.lock.lock();                  // from here on the loop cannot release or reuse the slot
        try {
            if (!slot.open || slot.generation != generation) {
                return false;              // not our client any more: drop the answer
            }
            send.send(slot.fd(), bytes);
            return true;
        } finally {
            slot.lock.unlock();
        }
    }
}
