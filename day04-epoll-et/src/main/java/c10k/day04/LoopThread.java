package c10k.day04;

import c10k.day03.sys.EventFd;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The thread an {@link EventLoop} runs on, and what other threads may ask of it: wake it up,
 * stop it gracefully or at once, wait for it. Apart from the loop because none of it is about
 * events: it is the one place where other threads touch the loop, and every field here is
 * volatile or thread-safe for that reason. It is also how {@link EpollServer} drives the loop
 * ({@link EpollServer.Loop}); the loop itself adds the fds and the figures.
 */
abstract class LoopThread implements EpollServer.Loop {

    public final String name;
    /** The loop's eventfd, in its epoll set: a write to it ends any {@code epoll_wait} at once. */
    protected volatile EventFd wake;
    protected volatile boolean closed, stopping;
    protected volatile long stopDrainNanos;
    protected volatile Runnable beforeWait = () -> { };
    protected final CountDownLatch stoppedAccepting = new CountDownLatch(1);
    private volatile Consumer<Throwable> onFatal = EpollServer::exitOnFatal;
    private volatile Thread thread;

    LoopThread(String name) {
        this.name = name;
    }

    /** Platform thread: an FFM downcall pins a virtual thread to its carrier, epoll_wait above all. */
    void startThread(Runnable body) {
        thread = Thread.ofPlatform().name(name).start(body);
    }

    void reportFatal(Throwable why) {
        onFatal.accept(why);
    }

    /**
     * Any thread: begins the graceful shutdown, which closes what is still open after
     * {@code drainNanos}; {@link #awaitEnd} waits for it.
     */
    @Override
    public void stopGracefully(long drainNanos) {
        stopDrainNanos = drainNanos;
        stopping = true;
        wakeup();
    }

    /** Any thread: waits until the loop no longer watches the listener (the server may close it then). */
    @Override
    public boolean awaitStoppedAccepting(long deadline) throws InterruptedException {
        return stoppedAccepting.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Any thread: waits for the loop thread to end, whatever ends it, at most until {@code deadline}. */
    @Override
    public boolean awaitEnd(long deadline) throws InterruptedException {
        Thread t = thread;
        if (t == null) return true;
        return t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
    }

    /**
     * Any thread: ends the loop at once (every connection closed, abortively if need be) and
     * waits for it: the loop thread never blocks but in epoll_wait, which the eventfd ends.
     * The loop's own fds stay open until the owner releases them, once no other thread can
     * signal the eventfd any more.
     */
    @Override
    public boolean close() {
        closed = true;
        Thread t = thread;
        if (t == null) return true;
        if (t.isAlive()) wakeup();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;   // the fds may not be released before the thread has ended
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        return true;
    }

    /** Any thread: wakes the loop (to take answers back, or to look at the clock again). */
    @Override
    public void wakeup() {
        EventFd w = wake;
        if (w != null) w.signal();
    }

    /** Test hook: runs on the loop thread before every epoll_wait. */
    @Override
    public void beforeEachWait(Runnable hook) {
        beforeWait = hook;
    }

    /** What to do when the loop cannot go on; by default the process exits with status 1 ({@link EpollServer#exitOnFatal}). */
    @Override
    public void onFatal(Consumer<Throwable> handler) {
        onFatal = handler;
    }

    public boolean isLoopThread() {
        return Thread.currentThread() == thread;
    }

    /**
     * First line of every method only the loop thread may call, as Netty asserts
     * {@code inEventLoop()}: a field read and a compare, cheap enough to stay on, and a
     * layer that calls from a worker fails at once instead of corrupting the loop's state.
     */
    final void checkLoopThread() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException(name + ": loop thread only, called from " + Thread.currentThread().getName());
        }
    }
}
