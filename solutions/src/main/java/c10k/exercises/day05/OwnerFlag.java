package c10k.exercises.day05;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Day 5, exercise 2: one thread per connection when several threads share one epoll fd,
 * without {@code EPOLLONESHOT}: EServer's per-connection flag.
 *
 * <p><b>Build</b> {@link #offer} and {@link #tryRelease}. A thread that gets an event for the
 * connection calls {@code offer()}: it first raises {@link #more} ("there is work"), then
 * tries to take {@link #owned} with a compare-and-set. Whoever wins owns the connection: it
 * lowers {@code more} (it is about to look at all the work) and returns true. The others
 * return false and go back to {@code epoll_wait}, trusting the owner to see their work.
 * The owner serves, then calls {@code tryRelease()}: it lets go of {@code owned}, and only
 * <em>then</em> looks at {@code more}. Raised? Work came in while it served: take
 * {@code owned} back (compare-and-set: another thread may have taken it in between, and then
 * that one serves), lower {@code more}, and return false: "serve again". Otherwise return true.
 *
 * <p><b>Why</b>: edge-triggered epoll shared by N threads reports a connection to thread B
 * while thread A is still reading it; two readers would split one byte stream between two
 * framers. The flag keeps one owner. The hard part is letting go: an event that arrives
 * after the owner's last read, but while it still holds the flag, finds the connection owned
 * and is dropped by its thread. If the owner then just lets go, that data sits in the socket
 * and edge-triggered epoll never reports it again: the lost wake-up. Checking {@code more}
 * <em>before</em> letting go leaves the same hole, one instruction wide. Day 5's
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
        more.set(true);                         // first say there is work, THEN try to own:
        if (!owned.compareAndSet(false, true)) {
            return false;                       // the owner's tryRelease will see "more"
        }
        more.set(false);                        // ours now; serving looks at all the work there is
        return true;
    }

    /** The owner served. True: released. False: more work came meanwhile, you still own it, serve again. */
    public boolean tryRelease() {
        owned.set(false);                       // let go first, THEN look: no window for a lost event
        if (more.get() && owned.compareAndSet(false, true)) {
            more.set(false);
            return false;
        }
        return true;                            // nothing new, or another thread took over and serves it
    }
}
