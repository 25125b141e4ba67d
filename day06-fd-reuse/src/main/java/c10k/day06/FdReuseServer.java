package c10k.day06;

import c10k.day01.harness.Stats;
import c10k.day03.Replies;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day05.Handler;
import c10k.day05.ReactorServer;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Day 6: day 5's reactor in which the <em>workers write their own answers</em>, the design of
 * the source notes' EServer. Everything else (accepting, reading, framing on the worker, the
 * outbox, timers, shutdown) is day 5's {@link ReactorServer} on day 4's engine, unchanged.
 *
 * <pre>
 *   loop:    epoll_wait ─► recv one read ─► batch ─► worker: frame, handler per line,
 *                                                          send(fd, answers) itself  ◄── new today
 *   loop ◄── the batch comes back: send what the kernel did not take, read again
 * </pre>
 *
 * <p>A worker that writes itself saves the loop a {@code send} per batch, and it brings back
 * the question day 5 never had to ask: <em>which socket does the worker write to?</em> It holds
 * a number, and the loop may have closed that number while the worker was busy (the client
 * reset, timed out, sent a line too long), and {@code accept} may have handed it to the next
 * client already. Two answers, one class each:
 * <ul>
 * <li>{@link UnpinnedServer}: the worker writes to the number it was given. The bug, kept so
 *     that a test can show it.</li>
 * <li>{@link PinnedServer}: every connection lives on one of a fixed range of numbers (a slot),
 *     each held by a placeholder whenever no client is on it; slots are reused in FIFO order,
 *     and a generation, checked under the slot's lock, stops every late write.</li>
 * </ul>
 *
 * <p>Both plug into the reactor as the reactor plugs into day 4's loop: a {@code LoopExtension} says
 * who the clients are ({@code accepted}, {@code release}), and the reactor's one worker-side
 * point, {@link ReactorServer.WorkerWrite}, is {@link #writeOnWorker} here. What both share is
 * in this class: the worker writes only when nothing is queued before its answer (a
 * {@link Client} does not want to read while output waits, so no read goes to the workers
 * then), so a worker never overtakes bytes the loop still holds, and the loop sends what the
 * kernel refused. One batch's answers are the most the outbox ever holds: the reactor's
 * bound, now per answer.
 */
public abstract class FdReuseServer extends ReactorServer {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day06");

    /** Each worker's own counters (the engine's rule: one writer per {@link Stats.Counters}). */
    private final ThreadLocal<Stats.Counters> workerCounters = ThreadLocal.withInitial(stats::newCounters);
    private final AtomicLong writesDone = new AtomicLong();
    /** The fd number of the most recent client, for the race demo and the tests. */
    protected volatile int newestFd = -1;

    protected FdReuseServer(String host, int port, int workers, Handler handler) {
        super(host, port, workers, handler);
    }

    /** The bug: workers write to whatever the number they hold names now. */
    public static FdReuseServer unpinned(String host, int port, int workers, Handler handler) {
        return new UnpinnedServer(host, port, workers, handler);
    }

    /** The fix, with the defaults of {@code ./jbang day06}: {@code poolSize} slots at fds {@code fdBase ..}. */
    public static FdReuseServer pinned(String host, int port, int workers, Handler handler, int poolSize, int fdBase) {
        return new PinnedServer(host, port, workers, handler, poolSize, fdBase);
    }

    /**
     * A day 6 connection: day 5's, except that it does not want to read while output waits,
     * since the answers to what it read next would be written by a worker, ahead of the queued
     * bytes. For day 6 the high-water mark is zero: a peer that does not read is held back
     * after one batch, counted as read-paused, and not watched for input (so that a hang-up then
     * closes it, by the engine's rule for connections it is not reading). Once the outbox drains,
     * the engine reads it again.
     */
    protected static class Client extends Conn {
        protected Client(int fd) {
            super(fd);
        }

        @Override
        public boolean wantsRead() {
            return super.wantsRead() && !hasPendingOutput();
        }

        @Override
        public boolean isReadPaused() {
            return super.isReadPaused() || hasPendingOutput();
        }
    }

    /**
     * The reactor's {@link ReactorServer.WorkerWrite} for both modes: on the worker, once its
     * batch is answered, write the answers to the client's socket ({@link #write}).
     */
    protected final int writeOnWorker(Conn c, Replies answers) {
        try {
            return answers.length() > 0 ? write((Client) c, answers, workerCounters.get()) : 0;
        } catch (RuntimeException | Error e) {
            // A failure here must not cost the pool a thread or leave the batch out for good
            // (the connection would never be read or closed again): the loop sends it all.
            LOG.log(Level.WARNING, "day06: a worker's write failed: " + e + "; the loop takes over");
            return 0;
        } finally {
            writesDone.incrementAndGet();
        }
    }

    /**
     * On a worker: send {@code answers} to client {@code c}, first byte first, and return what
     * the kernel took. What it did not take, the loop queues and sends in order.
     */
    protected abstract int write(Client c, Replies answers, Stats.Counters counters);

    /** Sends {@code out} to {@code fd} until done or {@code EAGAIN}; an error (EPIPE, EBADF) ends it. Returns the bytes taken. */
    protected static int sendFirst(int fd, Replies out, Stats.Counters counters) {
        int sent = 0;
        try {
            while (sent < out.length()) {
                int n = Sockets.send(fd, out.array(), sent, out.length() - sent);
                if (n == Sockets.WOULD_BLOCK) break;
                sent += n;
            }
        } catch (SyscallException e) {
            // EPIPE or ECONNRESET: the peer is gone (or, pinned, this is the placeholder); the
            // loop meets the same error on its own send, or drops the batch.
        }
        if (sent > 0) counters.bytesOut(sent);
        return sent;
    }

    /** The fd number the newest client was given (unpinned: by accept; pinned: its slot's). */
    public int newestFd() {
        return newestFd;
    }

    /** Batches whose answers a worker has written (or refused to write): what a test waits for. */
    public long batchesWritten() {
        return writesDone.get();
    }

    /** Late answers dropped because their slot had moved on (pinned; always 0 unpinned). */
    public long lateWritesRefused() {
        return stats.snapshot().lateWritesRefused();
    }
}
