package c10k.exercises.day06;

import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Day 6, exercise 1: the pool of pinned connection slots. Each slot owns one fd number, for
 * good, in the range {@code base .. base + size - 1}; successive clients occupy it in turn
 * (day 6's server {@code dup3}s each accepted socket onto a free slot's number).
 *
 * <p><b>Build</b> {@link #acquire} and {@link #release}, to this contract. {@code acquire}:
 * a free slot for a new client (null when none is free), marked open and with a generation no
 * earlier client of that slot had; of the free slots, the one that has been free the
 * <em>longest</em>. {@code release}: the slot's client is gone: its number is closed
 * ({@code close.accept(fd)}), it is no longer open, and it becomes free again, to be handed
 * out after every slot already free; releasing a slot that is not open is refused
 * ({@link IllegalStateException}). A worker holds the slot's lock while it writes
 * (exercise 2): nothing a worker can see may change while it does.
 *
 * <p><b>Why</b>: {@code accept} hands out the lowest free number, so the number just closed is
 * the very next one given to a new client, and a worker still busy with the old client's
 * request writes its answer to the new one. Pinned numbers handed out FIFO make reuse come
 * last instead of first: a late worker gets the whole pool's turn to finish. That only
 * <em>delays</em> reuse; the generation, bumped for every client, is what tells the late
 * worker "not yours any more" (exercise 2). Release must hold the slot's lock: a worker
 * writing under that lock must never see the number closed, or reused, in mid-write.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day06-fd-reuse/README.md">day 6's
 * chapter</a>:
 * <a href="../../../../../../../day06-fd-reuse/README.md#step-1-a-fixed-number-per-slot-with-dup3">"Step
 * 1: a fixed number per slot, with dup3"</a> and
 * <a href="../../../../../../../day06-fd-reuse/README.md#step-2-the-fifo">"Step 2: the FIFO"</a>;
 * day 6's {@code FdReuseServer}.
 *
 * <p><b>Check</b>: {@code ./jbang check day06}. Tests: {@code SlotPoolTest}.
 *
 * <p>{@code acquire} and {@code release} run on the event-loop thread only; workers only take
 * a slot's lock (exercise 2).
 */
public final class SlotPool {

    /** One fixed fd number, and the client that occupies it now. */
    public static final class Slot {
        private final int fd;
        /** Held while the slot changes hands, and by a worker while it writes. */
        final ReentrantLock lock = new ReentrantLock();
        /** Bumped for each new client of this slot; guarded by lock. */
        int generation;
        /** A client occupies the slot; guarded by lock. */
        boolean open;

        Slot(int fd) {
            this.fd = fd;
        }

        /** The number this slot owns, for good. */
        public int fd() {
            return fd;
        }

        public int generation() {
            lock.lock();
            try {
                return generation;
            } finally {
                lock.unlock();
            }
        }

        public boolean isOpen() {
            lock.lock();
            try {
                return open;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public String toString() {
            return "slot fd " + fd;
        }
    }

    private final ArrayDeque<Slot> free = new ArrayDeque<>();
    private final IntConsumer close;

    /**
     * @param close closes a number (the server: {@code Sockets::close}); called under the slot's lock
     */
    public SlotPool(int base, int size, IntConsumer close) {
        this.close = close;
        for (int i = 0; i < size; i++) free.addLast(new Slot(base + i));
    }

    /** Slots free now. */
    public int freeCount() {
        return free.size();
    }

    /** A free slot for a new client, its generation bumped and marked open; null when every slot is taken. */
    public Slot acquire() {
        // TODO: which free slot, and what makes it a new client's?
        throw new UnsupportedOperationException("TODO: SlotPool.acquire (day 6, exercise 1)");
    }

    /** The slot's client is gone: close its number, under its lock, and queue it last. */
    public void release(Slot slot) {
        // TODO: what must a worker in mid-write never see, and where does the slot go now?
        throw new UnsupportedOperationException("TODO: SlotPool.release (day 6, exercise 1)");
    }
}
