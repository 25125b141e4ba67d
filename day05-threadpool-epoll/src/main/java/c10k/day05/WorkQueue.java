package c10k.day05;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The reactor's work queue: bounded, one producer (the loop thread), N consumers (the
 * workers), and a wake-up per pass of the loop instead of one per task.
 *
 * <p>A {@code BlockingQueue} wakes a parked worker on every {@code put}: one {@code futex}
 * call on the loop thread per batch, on the thread that already makes every other system call
 * of the reactor. Here the loop {@link #add}s what one pass of its loop produced without
 * waking anyone, and {@link #publish}es at the end of the pass: one lock, and at most one
 * signal per parked worker, however many batches the pass made. A worker that finishes a batch
 * takes the next without parking while there is one.
 *
 * <pre>
 *   loop thread:  add add add … (its own list, no lock)  ─► publish: lock, move, signal ≤ parked workers
 *   worker:       take: lock, wait while empty, take one
 * </pre>
 *
 * <p>The bound counts both: {@link #hasRoom} is false once {@code capacity} batches are
 * waiting, published or not, and the loop then leaves connections unread rather than block.
 * The workers that take from it are started and stopped here too, as a
 * {@code ThreadPoolExecutor} holds its queue and its threads.
 */
final class WorkQueue<T> {

    private final Object[] ring;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    // Under the lock.
    private int head, size, parked;
    // The loop thread's own: added in this pass, not yet visible to the workers.
    private final Object[] pending;
    private int pendingSize;
    /** Waiting in all, pending and published; written under the lock or by the loop thread alone. */
    private volatile int waiting;
    private final List<Thread> workers = new ArrayList<>();

    /** What a worker does with each task it takes. */
    @FunctionalInterface
    interface Work<T> {
        void on(T task) throws InterruptedException;
    }

    WorkQueue(int capacity) {
        ring = new Object[capacity];
        pending = new Object[capacity];
    }

    /** The loop thread: whether one more batch may wait for a worker. */
    boolean hasRoom() {
        return waiting + pendingSize < ring.length;
    }

    /** The loop thread: queues {@code task} for the next {@link #publish}; the caller checked {@link #hasRoom}. */
    void add(T task) {
        if (!hasRoom()) throw new IllegalStateException("the work queue is full");
        pending[pendingSize++] = task;
    }

    /** The loop thread, once per pass: hands this pass's tasks to the workers and wakes as many as needed. */
    void publish() {
        if (pendingSize == 0) return;
        lock.lock();
        try {
            for (int i = 0; i < pendingSize; i++) {
                ring[(head + size) % ring.length] = pending[i];
                pending[i] = null;
                size++;
            }
            waiting = size;
            for (int k = Math.min(pendingSize, parked); k > 0; k--) notEmpty.signal();
            pendingSize = 0;
        } finally {
            lock.unlock();
        }
    }

    /** A worker: the next task, waiting for one if need be. */
    @SuppressWarnings("unchecked")
    T take() throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (size == 0) {
                parked++;
                try {
                    notEmpty.await();
                } finally {
                    parked--;
                }
            }
            T task = (T) ring[head];
            ring[head] = null;
            head = (head + 1) % ring.length;
            size--;
            waiting = size;
            return task;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts {@code n} workers, each taking tasks and doing {@code work} until interrupted. The
     * pool does not grow with the load, which is the point. Platform threads, though a blocking
     * handler would suit virtual ones: "N threads" stays literally N.
     */
    void startWorkers(int n, String name, Work<T> work) {
        for (int i = 1; i <= n; i++) {
            workers.add(Thread.ofPlatform().name(name + i).daemon(true).start(() -> {
                try {
                    while (true) work.on(take());
                } catch (InterruptedException e) {
                    // the server is closing
                }
            }));
        }
    }

    /** Interrupts every worker (and a handler that blocks) and waits for them; true if all have ended. */
    boolean stopWorkers() {
        for (Thread t : workers) t.interrupt();
        boolean allDone = true;
        for (Thread t : workers) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            allDone &= !t.isAlive();
        }
        return allDone;
    }

    int workersAlive() {
        int alive = 0;
        for (Thread t : workers) if (t.isAlive()) alive++;
        return alive;
    }

    int workersStarted() {
        return workers.size();
    }
}
