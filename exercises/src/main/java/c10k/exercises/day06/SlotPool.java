package c10k.exercises.day06;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Day 6, exercise 1: the pool of pinned connection slots. Each slot owns one fd number, for
 * good, in the range {@code base .. base + size - 1}; successive clients occupy it in turn
 * (day 6's server {@code dup3}s each accepted socket onto a free slot's number). While no
 * client occupies a number, a placeholder does: the server put it on every number of the range
 * before making the pool, so the number is never free for anything else in the process.
 *
 * <p><b>Build</b> what the pool keeps (the structure is yours to choose), {@link #freeCount},
 * {@link #acquire} and {@link #release}, to this contract. Every slot starts free, lowest
 * number first. {@code acquire}:
 * a free slot for a new client (null when none is free), marked open and with a generation no
 * earlier client of that slot had; of the free slots, the one that has been free the
 * <em>longest</em>. {@code release}: the slot's client is gone: it is no longer open, its
 * number holds the placeholder again ({@link Numbers#putPlaceholder}), and the slot becomes
 * free again, to be handed out after every slot already free; releasing a slot that is not
 * open is refused ({@link IllegalStateException}). A slot's number is never closed while the
 * server runs ({@link Numbers#close} is for {@link #close}, given). A worker holds the slot's
 * lock while it writes (exercise 2): nothing a worker can see may change while it does.
 *
 * <p><b>What the tests try</b>: a pool handed out, exhausted, freed in another order than it
 * was taken, a slot reused many times, a double release, a worker in mid-write while the loop
 * releases its slot, or gives it to the next client; what the numbers hold at each step is
 * watched through {@link Numbers}.
 *
 * <p><b>Why</b>: {@code accept} hands out the lowest free number, so the number just closed is
 * the very next one given to a new client, and a worker still busy with the old client's
 * request writes its answer to the new one. Pinned numbers handed out FIFO make reuse come
 * last instead of first: a late worker gets the whole pool's turn to finish. That only
 * <em>delays</em> reuse; the generation, bumped for every client, is what tells the late
 * worker "not yours any more" (exercise 2). And a number that is closed, even for an instant,
 * is free for any {@code open}, {@code socket} or {@code accept} in the process; the slot's
 * next client's {@code dup3} would then silently close whatever got it. The placeholder
 * takes the client's place in one step, so there is no instant at which the number is free.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day06-fd-reuse/README.md">day 6's
 * chapter</a>:
 * <a href="../../../../../../../day06-fd-reuse/README.md#step-1-a-fixed-number-per-slot-with-dup3">"Step
 * 1: a fixed number per slot, with dup3"</a>,
 * <a href="../../../../../../../day06-fd-reuse/README.md#step-2-the-fifo">"Step 2: the FIFO"</a> and
 * <a href="../../../../../../../day06-fd-reuse/README.md#step-4-a-placeholder-on-every-free-number">"Step
 * 4: a placeholder on every free number"</a>; day 6's {@code PinnedServer} and {@code SlotNumbers}.
 *
 * <p><b>Check</b>: {@code ./jbang check day06}. Tests: {@code SlotPoolTest}.
 *
 * <p>{@code acquire} and {@code release} run on the event-loop thread only; workers only take
 * a slot's lock (exercise 2).
 */
public final class SlotPool implements AutoCloseable {

    /** One fixed fd number, and the client that occupies it now. */
    public static final class Slot {
        private final int fd;
        /** Held while the slot changes hands, and by a worker while it writes. */
        final WatchedLock lock = new WatchedLock();
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

    /**
     * A slot's lock (given, not part of the exercise): a {@code ReentrantLock} with a hook that
     * runs just before a thread that does not hold it takes it, where a test plays what the event
     * loop could do in that instant.
     */
    static final class WatchedLock extends ReentrantLock {
        /** Runs just before {@link #lock} by a thread that does not hold the lock yet; none unless a test sets one. */
        volatile Runnable beforeLock;

        @Override
        public void lock() {
            Runnable hook = beforeLock;
            if (hook != null && !isHeldByCurrentThread()) hook.run();
            super.lock();
        }
    }

    /**
     * What the pool does to the numbers themselves (day 6's server: {@code SlotNumbers}, given,
     * not part of the exercise).
     */
    public interface Numbers {
        /** Puts the placeholder on number {@code n}, replacing the socket there in one step: {@code dup3(placeholder, n)}. */
        void putPlaceholder(int n);

        /** Gives number {@code n} back to the process: only when the server stops ({@link #close}). */
        void close(int n);
    }

    /** Every slot of the pool, by number: {@code slots[i]} owns {@code base + i}. */
    private final Slot[] slots;
    private final Numbers numbers;
    // TODO: what else must the pool keep, to know which slots are free and in which order?

    /**
     * Every slot starts free.
     *
     * @param numbers the range's numbers, each already holding the placeholder; called under the slot's lock
     */
    public SlotPool(int base, int size, Numbers numbers) {
        this.numbers = numbers;
        this.slots = new Slot[size];
        for (int i = 0; i < size; i++) slots[i] = new Slot(base + i);
        // TODO: every slot is free now, lowest number first.
    }

    /** Slots free now. */
    public int freeCount() {
        // TODO
        throw new UnsupportedOperationException("TODO: SlotPool.freeCount (day 6, exercise 1)");
    }

    /** A free slot for a new client, its generation bumped and marked open; null when every slot is taken. */
    public Slot acquire() {
        // TODO: which free slot, and what makes it a new client's?
        throw new UnsupportedOperationException("TODO: SlotPool.acquire (day 6, exercise 1)");
    }

    /** The slot's client is gone: its number holds the placeholder again, and the slot is free, last in line. */
    public void release(Slot slot) {
        // TODO: what must a worker in mid-write never see, what must the number hold at every
        //  instant, and where does the slot go now?
        throw new UnsupportedOperationException("TODO: SlotPool.release (day 6, exercise 1)");
    }

    /**
     * The server stops (given, not part of the exercise): every number is given back, each
     * under its slot's lock, so no worker is writing to it. Only now is a slot number closed.
     */
    @Override
    public void close() {
        for (Slot slot : slots) {
            slot.lock.lock();
            try {
                slot.open = false;
                numbers.close(slot.fd);
            } finally {
                slot.lock.unlock();
            }
        }
    }
}
