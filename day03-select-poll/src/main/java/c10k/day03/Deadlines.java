package c10k.day03;

/**
 * Timers for one fixed timeout: an intrusive list kept in deadline order for free.
 *
 * <p>The choice of structure comes from the need (Build Your Own Redis, "Timers"). Every timer
 * in one list has the same duration, so a timer (re)started now always has the latest deadline
 * of all: appending it at the tail keeps the list sorted, and the head is always the next to
 * expire. Restarting, cancelling and expiring are O(1), with no allocation (each connection
 * owns its {@link Timer}), which a heap (O(log n)) or a hashed wheel (Netty's
 * {@code HashedWheelTimer}: O(1), but a tick and buckets to scan) cannot beat when the
 * durations are fixed. Arbitrary per-timer deadlines would need one of those.
 *
 * <p>A timer belongs to at most one list at a time: moving a connection from the idle list to
 * the send list is one {@link #restart} on the other list. Not thread-safe: one loop thread
 * owns its lists.
 */
public final class Deadlines {

    /**
     * A connection's one timer: in one list at a time, or in none. A connection either holds
     * one ({@code new Timer(this)}) or, where every byte per connection counts, is one:
     * it extends this class and so carries the links itself, the way a Linux {@code struct}
     * embeds its {@code list_head}, saving an object header and a reference.
     */
    public static class Timer {
        final Object owner;
        Deadlines list;
        Timer prev, next;
        long deadline;

        public Timer(Object owner) {
            this.owner = owner;
        }

        /** For a subclass: the timer is its own owner. */
        protected Timer() {
            this.owner = this;
        }

        /** The list this timer is in, or null: which clock is running for its connection. */
        public final Deadlines list() {
            return list;
        }

        public final long deadline() {
            return deadline;
        }

        /** Leaves whatever list it is in. */
        public final void cancel() {
            if (list != null) list.unlink(this);
        }
    }

    private final String name;
    private final long durationNanos;
    private Timer head, tail;
    private int size;

    /** @param durationNanos 0 = this clock never fires: {@link #restart} only leaves the old list */
    public Deadlines(String name, long durationNanos) {
        this.name = name;
        this.durationNanos = durationNanos;
    }

    public String name() {
        return name;
    }

    public boolean enabled() {
        return durationNanos > 0;
    }

    /** Starts (or starts again) {@code t}'s clock in this list: it fires {@code duration} after {@code now}. */
    public void restart(Timer t, long now) {
        t.cancel();
        if (!enabled()) return;
        t.deadline = now + durationNanos;
        t.list = this;
        t.prev = tail;
        t.next = null;
        if (tail == null) head = t;
        else tail.next = t;
        tail = t;
        size++;
    }

    /** The owner of the first timer due at {@code now}, removed from the list; null if none is due. */
    public Object pollExpired(long now) {
        Timer t = head;
        if (t == null || t.deadline - now > 0) return null;
        unlink(t);
        return t.owner;
    }

    /** Nanoseconds until the first deadline (0 if already due), or {@code Long.MAX_VALUE} if empty. */
    public long nanosUntilNext(long now) {
        return head == null ? Long.MAX_VALUE : Math.max(0, head.deadline - now);
    }

    public int size() {
        return size;
    }

    private void unlink(Timer t) {
        if (t.prev == null) head = t.next;
        else t.prev.next = t.next;
        if (t.next == null) tail = t.prev;
        else t.next.prev = t.prev;
        t.prev = t.next = null;
        t.list = null;
        size--;
    }

    @Override
    public String toString() {
        return name + " (" + size + ")";
    }
}
