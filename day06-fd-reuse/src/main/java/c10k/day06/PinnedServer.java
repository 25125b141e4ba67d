package c10k.day06;

import c10k.day01.harness.Stats;
import c10k.day03.NativeConnection;
import c10k.day03.Replies;
import c10k.day03.sys.SyscallException;
import c10k.day04.Acceptor;
import c10k.day04.EventLoop;
import c10k.day04.LoopExtension;
import c10k.day05.Handler;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code --mode pinned} (the default): workers that write, made safe. A pool of slots, slot
 * <i>i</i> on fd number {@code fdBase + i}, and three mechanisms, each guarding against a
 * different thing:
 * <ol>
 * <li><b>Placeholders</b> ({@link SlotNumbers}): every slot number is open from start to close,
 *     held by a dead socket whenever no client is on it. No other {@code open}, {@code socket}
 *     or {@code accept4} in the process can be given a slot number, and a write that comes too
 *     late meets {@code EPIPE}, not a stranger. Alone, it does not stop a late write that
 *     comes after the slot took its next client.</li>
 * <li><b>The FIFO</b> of free slots: a slot that was just freed is handed out last, so its
 *     number comes round again only after every other free slot. Alone, it only delays reuse:
 *     with one free slot left, the next client gets the number at once.</li>
 * <li><b>The generation</b>: bumped whenever a slot takes a client, and checked under the
 *     slot's lock before every write by a worker ({@link #write}). It is what tells a late
 *     writer that its client is gone, however soon the slot was reused; the lock makes
 *     check-and-send one step as far as the loop's replace-and-reuse is concerned.</li>
 * </ol>
 * The first two plug into day 4's {@link LoopExtension} ({@link Pinning}: accept onto a slot, release
 * back to it); the third is the reactor's worker-side write.
 */
public final class PinnedServer extends FdReuseServer {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day06");

    private final int poolSize;
    private final int fdBase;
    private boolean checkGeneration = true;
    private SlotNumbers numbers;
    private final ArrayDeque<Slot> free = new ArrayDeque<>();   // the loop thread's (and start's)
    private volatile int freeCount;

    /** One slot: a fixed fd number that successive clients occupy in turn. */
    static final class Slot {
        final int fd;
        /** Held by a worker while it checks and writes, by the loop while it swaps the socket behind the number. */
        final ReentrantLock lock = new ReentrantLock();
        int generation;   // under the lock: the slot's clients so far, bumped when it takes the next
        boolean open;     // under the lock: a client is on the number (else the placeholder is)

        Slot(int fd) {
            this.fd = fd;
        }
    }

    /** A client on a slot: the slot's number, and which of the slot's clients it is. */
    final class SlotClient extends Client {
        final Slot slot;
        final int generation;

        SlotClient(Slot slot, int generation) {
            super(slot.fd);
            this.slot = slot;
            this.generation = generation;
        }

        /** The last step of closing: the placeholder goes back on the number, never a close. */
        @Override
        protected void releaseFd() {
            numbers.unpin(fd);
        }
    }

    public PinnedServer(String host, int port, int workers, Handler handler, int poolSize, int fdBase) {
        super(host, port, workers, handler);
        this.poolSize = poolSize;
        this.fdBase = fdBase;
        plugIn(new Pinning(), this::writeOnWorker);
    }

    /**
     * For the lesson only, before {@link #start}: no generation check, to watch the placeholder
     * and the FIFO on their own ({@code FdReuseRaceTest}).
     */
    public PinnedServer withoutGenerationCheck() {
        checkGeneration = false;
        return this;
    }

    /** Takes the whole range (or fails saying why), then starts day 5's reactor, and says what limit it found. */
    @Override
    public void start() throws IOException {
        numbers = SlotNumbers.reserve(fdBase, poolSize);
        for (int i = 0; i < poolSize; i++) free.add(new Slot(fdBase + i));
        freeCount = poolSize;
        try {
            super.start();
        } catch (IOException | RuntimeException e) {
            numbers.close();
            throw e;
        }
        FdCalls.Limit l = numbers.limit();
        LOG.log(Level.INFO, "open-files limit: soft " + l.soft() + ", hard " + l.hard() + " (soft raised to hard)");
    }

    /** Day 4's extension points, on the loop thread: a client onto a slot's number, and back. */
    private final class Pinning implements LoopExtension {

        /** A client accepted on {@code fd} moves onto the first free slot's number: a new generation. */
        @Override
        public NativeConnection accepted(EventLoop loop, int fd) {
            Slot s = free.poll();
            if (s == null) {
                refuse(loop, fd);                             // the pool is the capacity: say so, keep serving
                return null;
            }
            int generation;
            s.lock.lock();
            try {
                numbers.pin(fd, s.fd);
                generation = ++s.generation;
                s.open = true;
            } catch (SyscallException e) {
                LOG.log(Level.WARNING, "day06: " + e.getMessage() + "; refusing one client");
                free.addFirst(s);
                refuse(loop, fd);
                return null;
            } finally {
                s.lock.unlock();
            }
            freeCount = free.size();
            newestFd = s.fd;
            return new SlotClient(s, generation);
        }

        /** The acceptor counted the client accepted: counted closed too, or --stats would show it open for ever. */
        private static void refuse(EventLoop loop, int fd) {
            Acceptor.refuse(fd, loop.buffers.counters);
            loop.buffers.counters.closed();
        }

        /**
         * After the engine removed the number from epoll: under the lock, so a worker that is
         * writing finishes first and a worker that comes later sees the slot closed (FIN first
         * unless the peer is gone; then the placeholder replaces the socket). To the back of the
         * queue: its number comes round again last.
         */
        @Override
        public void release(EventLoop loop, NativeConnection c) {
            Slot s = ((SlotClient) c).slot;
            s.lock.lock();
            try {
                s.open = false;
                c.close();
            } finally {
                s.lock.unlock();
            }
            free.addLast(s);
            freeCount = free.size();
        }
    }

    /** The fix: write only if the slot still holds the client this batch was read from. */
    @Override
    protected int write(Client c, Replies answers, Stats.Counters counters) {
        SlotClient client = (SlotClient) c;
        Slot s = client.slot;
        s.lock.lock();
        try {
            if (checkGeneration && (!s.open || s.generation != client.generation)) {
                counters.lateWriteRefused();   // not our client any more; the loop drops the batch too
                return 0;
            }
            return sendFirst(s.fd, answers, counters);
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * The loop has ended and released every slot: stop the workers, and give the range back
     * only if none can write any more. A worker still alive could otherwise write to a slot
     * number that the next {@code open} in the process was handed: the very bug of this day.
     */
    @Override
    protected boolean loopEnded() {
        boolean workersGone = super.loopEnded();
        if (workersGone) numbers.close();
        else LOG.log(Level.WARNING, "day06: a worker is still alive; the slot numbers stay held by the placeholder");
        return workersGone;
    }

    public int fdBase() {
        return fdBase;
    }

    /** How many slots (not to be confused with day 5's {@code poolSize()}, the worker threads alive). */
    public int slotCount() {
        return poolSize;
    }

    /** Slots with no client now. */
    public int freeSlots() {
        return freeCount;
    }

    /** The placeholder's own (low) number: every free slot's number names the same socket. */
    public int placeholderFd() {
        return numbers.placeholderFd();
    }

    @Override
    public String toString() {
        return "day06 pinned (" + workerThreads() + " workers, slots at fds " + fdBase + ".." + (fdBase + poolSize - 1) + ")";
    }
}
