package c10k.exercises.day05;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Day 5, exercise 2: find the bug. One thread per connection when several threads share one
 * epoll fd, without {@code EPOLLONESHOT}: EServer's per-connection flag, as a tutorial wrote it.
 *
 * <p><b>The symptom</b>: a server built on this class (threads on one edge-triggered epoll fd,
 * each calling {@code offer()} for every event it gets, as in the usage below) passes every
 * test on one client. Under load, once in a while, a client's line gets no answer until that
 * client sends another one. Nothing is logged, nothing throws, no thread is busy. The tests
 * reproduce it, deterministically: they play another thread's move at the instants they
 * choose.
 *
 * <p><b>Find and fix the bug</b>: the class must keep this contract, whatever the threads'
 * timing:
 * <ul>
 *   <li><b>one owner</b>: at most one thread is between a true {@code offer()} and the
 *       {@code tryRelease()} that returns true;
 *   <li><b>no lost wake-up</b>: an event whose {@code offer()} returned false is served after
 *       it arrived: by the owner (whose {@code tryRelease()} then says "serve again"), or by a
 *       thread that owns the connection later;
 *   <li>an owner with nothing new is let go: {@code tryRelease()} returns true.
 * </ul>
 * The two flags stay, and stay the only state: the class reads and writes them through
 * {@code Flag}'s {@code get}, {@code set} and {@code compareAndSet}, as given. Before you change
 * a line, find the instant the event is lost, and say it in a comment: that sentence is the
 * lesson.
 *
 * <p><b>Why</b>: edge-triggered epoll shared by N threads reports a connection to thread B
 * while thread A is still reading it; two readers would split one byte stream between two
 * framers, so one thread owns a connection at a time. A thread that finds it owned goes back
 * to {@code epoll_wait}, trusting the owner to see the data: edge-triggered epoll will not
 * report it again.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day05-threadpool-epoll/README.md">day 5's
 * chapter</a>:
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#what-epollet-means-when-several-threads-wait">"What
 * {@code EPOLLET} means when several threads wait"</a> and
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#why-one-reader-and-one-writer-per-fd">"Why
 * one reader and one writer per fd"</a>. The sections that teach the lesson this bug breaks
 * are named by {@code ./jbang check day05 --hint 2}: find the instant first.
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
     * An atomic boolean (given, not part of the exercise). It only adds a hook, where a test
     * plays what another thread could do in that instant.
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
        if (owned.compareAndSet(false, true)) {
            more.set(false);
            return true;
        }
        more.set(true);
        return false;
    }

    /** The owner served. True: released. False: more work came meanwhile, you still own it, serve again. */
    public boolean tryRelease() {
        owned.set(false);
        if (more.get() && owned.compareAndSet(false, true)) {
            more.set(false);
            return false;
        }
        return true;
    }
}
