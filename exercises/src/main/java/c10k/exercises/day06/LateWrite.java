package c10k.exercises.day06;

import c10k.exercises.day06.SlotPool.Slot;
import java.io.IOException;

/**
 * Day 6, exercise 2: the worker's write, made safe against fd-number reuse: write only if the
 * slot still holds the client the answer is for.
 *
 * <p><b>Build</b> {@link #writeIfStill}: a worker, late or not, has an answer for the client
 * that occupied {@code slot} when the worker was handed the request (that client's
 * {@code generation}). The contract: the bytes reach the slot's fd only if that client still
 * occupies the slot, and it must still be true while they are sent; else nothing is sent.
 * Return whether they were sent.
 *
 * <p><b>Why</b>: the worker got the request while the slot's generation was {@code generation}.
 * Since then the client may have reset, the loop released the slot, and, with a small or busy
 * pool, a new client may occupy it again: same number, open again. "Is it open?" cannot tell
 * Alice from Bob. And an answer to "is it still hers?" is worth only as long as it stays true:
 * the event loop releases and re-acquires slots on its own thread, at any instant, with
 * exercise 1's {@code release} and {@code acquire}. {@code send} is a parameter so the tests
 * can watch it; the real one sends with {@code Sockets.send(fd, ...)}.
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
        // TODO: how do you know the slot still holds the same client, and that it keeps holding it
        //  until your send is done?
        throw new UnsupportedOperationException("TODO: LateWrite.writeIfStill (day 6, exercise 2)");
    }
}
