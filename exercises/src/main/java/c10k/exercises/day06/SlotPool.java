package c10k.exercises.day06;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Day 6, exercise 1: the pool of pinned connection slots. Each slot owns one fd number, for
 * good, in the range {@code base .. base + size - 1}; successive clients occupy it in turn
 * (day 6's server {@code dup3}s each accepted socket onto a free slot's number). While no
 * client occupies a number, a placeholder does: the server put it on every number of the range
 * before making the pool.
 *
 * <p><b>Build</b> {@link #freeCount}, {@link #acquire} and {@link #release}, and whatever the
 * pool must keep for them: how is yours to choose.
 *
 * <p><b>The contract</b> the server relies on. {@code acquire} gives a new client a slot no
 * client occupies (null when every slot is occupied), and the slot says it is open; a new pool
 * hands its numbers out lowest first. Each client of a slot, the first one included, gets a
 * {@link Slot#generation} the slot has never had before. A worker
 * that remembers which client of a slot it serves can always tell, from the slot alone, that
 * this client has gone, however many clients the slot has had since. A number its client has
 * just left is handed out again as late as the pool can manage, however the clients come and go.
 * {@code release}: the slot's client has gone; its number holds the placeholder again
 * ({@link Numbers#putPlaceholder}). No number of the range is ever free in the process while
 * the server runs, not even for an instant ({@link Numbers#close} is for {@link #close},
 * given). Releasing a slot that no client occupies is refused ({@link IllegalStateException})
 * and changes nothing. A worker that holds a slot's lock while it checks and writes sees
 * nothing of that slot change until it lets go.
 *
 * <p><b>What the tests try</b>: a pool handed out, exhausted, freed in another order than it
 * was taken, then handed out again; a slot reused many times; a double release; a worker in
 * mid-write while the loop releases its slot, or gives it to the next client. What the numbers
 * hold at each step is watched through {@link Numbers}.
 *
 * <p><b>Why</b>: {@code accept} hands out the lowest free number, so the number just closed is
 * the very next one given to a new client, and a worker still busy with the old client's
 * request writes its answer to the new one. And a number that is free, even for an instant,
 * can be taken by any {@code open}, {@code socket} or {@code accept} in the process; the slot's
 * next client's {@code dup3} would then silently close whatever got it.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day06-fd-reuse/README.md">day 6's
 * chapter</a>: <a href="../../../../../../../day06-fd-reuse/README.md#the-race">"The race"</a>
 * and <a href="../../../../../../../day06-fd-reuse/README.md#why-it-is-catastrophic">"Why it is
 * catastrophic"</a>; dup3(2). The fix the chapter builds, step by step, comes with
 * {@code ./jbang check day06 --hint 2}: design the pool from the contract first.
 *
 * <p><b>Check</b>: {@code ./jbang check day06}. Tests: {@code SlotPoolTest}.
 *
 * <p>{@code acquire} and {@code release} run on the event-loop thread only; workers only take
 * a slot's lock, to check its generation and write under it.
 */
public final class SlotPool implements AutoCloseable {

    /** One fixed fd number, and the client that occupies it now. */
    public static final class Slot {
        private final int fd;
        /** Held while the slot changes hands, and by a worker while it writes. */
        final WatchedLock lock = new WatchedLock();
        /** Which client of this slot occupies it (a late worker compares it); guarded by lock. */
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
    // TODO: what else must the pool keep?

    /**
     * Every slot starts free.
     *
     * @param numbers the range's numbers, each already holding the placeholder; called under the slot's lock
     */
    public SlotPool(int base, int size, Numbers numbers) {
        this.numbers = numbers;
        this.slots = new Slot[size];
        for (int i = 0; i < size; i++) slots[i] = new Slot(base + i);
        // TODO
    }

    /** Slots free now. */
    public int freeCount() {
        // TODO
        throw new UnsupportedOperationException("TODO: SlotPool.freeCount (day 6, exercise 1)");
    }

    /** A slot for a new client; null when every slot is occupied. */
    public Slot acquire() {
        // TODO
        throw new UnsupportedOperationException("TODO: SlotPool.acquire (day 6, exercise 1)");
    }

    /** The slot's client has gone. */
    public void release(Slot slot) {
        // TODO
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
