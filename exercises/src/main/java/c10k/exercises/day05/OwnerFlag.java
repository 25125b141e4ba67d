package c10k.exercises.day05;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Day 5, exercise 2: one thread per connection when several threads share one epoll fd,
 * without {@code EPOLLONESHOT}: EServer's per-connection flag.
 *
 * <p><b>Build</b> {@link #offer} and {@link #tryRelease}, with the two flags {@link #owned} and
 * {@link #more}, through their {@code get}, {@code set} and {@code compareAndSet} only (the
 * tests play another thread's move inside {@code set}, so the owner lets go of {@code owned}
 * with {@code owned.set(false)}). Every thread that gets an event for the connection calls
 * {@code offer()}; the one it returns true to serves, then calls {@code tryRelease()} until
 * that returns true (the usage below). The contract, whatever the threads' timing:
 * <ul>
 *   <li><b>one owner</b>: at most one thread is between a true {@code offer()} and the
 *       {@code tryRelease()} that returns true;
 *   <li><b>no lost wake-up</b>: an event whose {@code offer()} returned false is served
 *       after it arrived: by the owner (whose {@code tryRelease()} then says "serve again"), or
 *       by a thread that owns the connection later;
 *   <li>an owner with nothing new is let go: {@code tryRelease()} returns true.
 * </ul>
 *
 * <p><b>Why</b>: edge-triggered epoll shared by N threads reports a connection to thread B
 * while thread A is still reading it; two readers would split one byte stream between two
 * framers. The flag keeps one owner. The hard part is letting go: an event that arrives
 * while the owner still holds the flag finds the connection owned, and its thread goes back
 * to {@code epoll_wait}, trusting the owner to see the data. If the owner lets go without
 * seeing it, that data sits in the socket and edge-triggered epoll never reports it again:
 * the lost wake-up. Think of every instant between two steps of yours as a place where
 * another thread's {@code offer()} may run (the tests play exactly that). Day 5's
 * shared mode ({@code SharedEpollServer}) uses both: {@code EPOLLONESHOT}, so that epoll
 * itself reports a connection to one thread at a time, and this flag protocol
 * ({@code SharedConnection.Ownership}, with "posted news" for {@code more}) for the news
 * one-shot does not carry: a timer that ran out, the shutdown, an event in the instant after
 * the owner re-armed.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day05-threadpool-epoll/README.md">day 5's
 * chapter</a>:
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#what-epollet-means-when-several-threads-wait">"What
 * {@code EPOLLET} means when several threads wait"</a>,
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#why-one-reader-and-one-writer-per-fd">"Why
 * one reader and one writer per fd"</a>,
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#ownership-flags-versus-epolloneshot">"Ownership
 * flags versus {@code EPOLLONESHOT}"</a> and
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#shared-one-owner-kept-by-the-kernel">"Shared:
 * one owner, kept by the kernel"</a>.
 *
 * <p><b>Check</b>: {@code ./jbang check day05}. Tests: {@code OwnerFlagTest}.
 *
 * <p>Usage, on every thread, for every event of the connection:
 * <pre>
 *   if (flag.offer()) {
 *       do { serve(connection); } while (!flag.tryRelease());
 *   }
 * </pre>
 */
public final class OwnerFlag {

    /** Held by the one thread serving the connection. */
    final Flag owned;
    /** Work arrived that the owner may not have seen yet. */
    final Flag more;

    public OwnerFlag() {
        this(new Flag(), new Flag());
    }

    /** For the tests: flags that can play another thread's move at the worst moment. */
    OwnerFlag(Flag owned, Flag more) {
        this.owned = owned;
        this.more = more;
    }

    /**
     * An atomic boolean (given, not part of the exercise). It only adds a hook that runs just
     * before each {@code set}, where a test plays what another thread could do in that instant.
     */
    static class Flag {
        private final AtomicBoolean value = new AtomicBoolean();

        boolean get() {
            return value.get();
        }

        void set(boolean v) {
            beforeSet(v);
            value.set(v);
        }

        boolean compareAndSet(boolean expected, boolean v) {
            return value.compareAndSet(expected, v);
        }

        /** Runs just before {@link #set}; does nothing unless a test says otherwise. */
        void beforeSet(boolean v) {
        }
    }

    /** An event for the connection reached this thread. True: you own it now, serve it. False: the owner will. */
    public boolean offer() {
        // TODO: become the owner, or make sure the owner will see this event.
        throw new UnsupportedOperationException("TODO: OwnerFlag.offer (day 5, exercise 2)");
    }

    /** The owner served. True: released. False: more work came meanwhile, you still own it, serve again. */
    public boolean tryRelease() {
        // TODO: let go, unless work may have come that the owner has not seen. Which instant is
        //  the dangerous one?
        throw new UnsupportedOperationException("TODO: OwnerFlag.tryRelease (day 5, exercise 2)");
    }
}
