package c10k.day05;

import c10k.day03.NativeConnection;
import c10k.day03.Timers;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Day 4's connection as shared mode needs it: any of N threads may hear about it, so it carries
 * who is on it now ({@link Ownership}), the number that names it in epoll, and the handler's
 * {@link Handler.Session}. Everything else (framing, outbox, lingering close) is day 4's.
 */
final class SharedConnection extends NativeConnection {

    /**
     * The epoll {@code data}: a sequence number that never repeats (high 32 bits) and the fd
     * (low 32 bits). The fd finds the connection in {@link SharedConnections}' table without a map or a boxed
     * key; the sequence number tells a late event for a closed connection from one for the
     * next client that got the same fd number (day 6's problem), so the late one is dropped.
     */
    final long id;
    final Handler.Session session = new Handler.Session();
    /** Born owned: the accepting thread holds it until it is registered. */
    final Ownership ownership = new Ownership(true);
    /**
     * Which clock ran out on another thread and is not dealt with yet ({@code TIMED_OUT} or
     * {@code TIMED_OUT_HARD}), else 0. Under the timers' lock: written by the thread that fired
     * the clock, read and cleared by the owner, who alone decides whether it stands.
     */
    volatile int fired;

    SharedConnection(int fd, long id) {
        super(fd);
        this.id = id;
    }

    /**
     * The owner, on a timeout news: whether it stands. Void if what happened since it fired
     * restarts that clock (a line came in as it ran out); asked here too, since an update that
     * took no lock (no clock ran) has not looked.
     */
    boolean timeoutStands(Timers timers) {
        synchronized (timers) {
            if (fired == 0) return false;
            boolean stands = !timers.voidsTimeout(this, fired == SharedConnections.TIMED_OUT_HARD);
            fired = 0;                            // dealt with: the next update restarts whichever clock runs
            return stands;
        }
    }

    /** The owner, once it acted: restarts whichever clock runs, under the timers' lock (only if a clock runs or would). */
    void retime(Timers timers, LongSupplier clock) {
        if (fired == 0 && !timers.mayRetime(this)) return;   // no lock to take
        synchronized (timers) {
            // A clock that ran out while we held the connection restarts only for what restarts
            // it anyway (a line, not a dripped byte); else the timeout posted to us stands.
            if (fired != 0 && timers.voidsTimeout(this, fired == SharedConnections.TIMED_OUT_HARD)) fired = 0;
            if (fired == 0) timers.retime(this, clock.getAsLong());   // the clock read under the lock keeps each list in order
        }
    }

    /**
     * One thread at a time on a connection (or on the listener), and nothing told to it is lost.
     *
     * <p>{@code EPOLLONESHOT} keeps epoll from reporting a connection to a second thread while
     * the first handles it. But epoll is not the only one with news: a timer runs out, the
     * server begins to shut down, or an event comes in the short moment after the owner has
     * re-armed and before it lets go. Whoever has news and finds the connection owned
     * <em>posts</em> it here and leaves; the owner, letting go, looks for posted news and takes
     * the connection back to act on it. The two sides do their steps in opposite orders (post,
     * then try to own; let go, then look), so with volatile accesses at least one of them sees
     * the other (the Dekker pattern): the news is never lost, and never acted on twice.
     *
     * <p>The flag is also what makes the old owner's writes (framer, outbox, flags) visible to
     * the next: the Java memory model knows nothing of the order that {@code epoll_ctl} and
     * {@code epoll_wait} keep in the kernel, but a release and an acquire of one variable it does.
     */
    static final class Ownership {
        private final AtomicBoolean owned;
        private final AtomicInteger pending = new AtomicInteger();

        Ownership(boolean owned) {
            this.owned = new AtomicBoolean(owned);
        }

        /** Returns what to act on if the caller now owns it; 0 if another thread does, which will act on {@code news}. */
        int take(int news) {
            if (!owned.compareAndSet(false, true)) {
                post(news);
                if (!owned.compareAndSet(false, true)) return 0;
                news = 0;
            }
            if (pending.get() != 0) news |= pending.getAndSet(0);
            return news != 0 ? news : letGo();
        }

        /** Adds news for the owner (the caller must then {@link #take} or already own it). */
        void post(int news) {
            int p;
            do {
                p = pending.get();
            } while (!pending.compareAndSet(p, p | news));   // a write even if the bits are set: the owner's look must follow it
        }

        /** News posted and not yet taken: for tests that wait until another thread has spoken. */
        int posted() {
            return pending.get();
        }

        /** Lets go; if news came meanwhile and the caller got it back, returns the news (owned again), else 0. */
        int letGo() {
            while (true) {
                owned.set(false);
                if (pending.get() == 0) return 0;
                if (!owned.compareAndSet(false, true)) return 0;   // the new owner takes the news
                int news = pending.getAndSet(0);
                if (news != 0) return news;
            }
        }
    }
}
