package c10k.day06;

import c10k.day01.harness.Stats;
import c10k.day03.NativeConnection;
import c10k.day03.Replies;
import c10k.day04.EventLoop;
import c10k.day04.LoopExtension;
import c10k.day05.Handler;

/**
 * {@code --mode unpinned}: the worker writes to the fd number it was given, as C code holds an
 * {@code int}. The bug of this day, kept on purpose.
 *
 * <p>The loop closes a connection as soon as its peer resets, whatever a worker is still doing
 * for it, and the number is free at once. {@code accept4}, like {@code open} and
 * {@code socket}, hands out the lowest free number, so the next client very often gets exactly
 * that number, and the late worker's answer goes to that stranger: silently, since
 * {@code send} only checks that the number is open, not whose it is.
 */
public final class UnpinnedServer extends FdReuseServer {

    public UnpinnedServer(String host, int port, int workers, Handler handler) {
        super(host, port, workers, handler);
        plugIn(new LoopExtension() {
            /** The fd accept gave, used as it is; released by day 4's default, a close. */
            @Override
            public NativeConnection accepted(EventLoop loop, int fd) {
                newestFd = fd;
                return new Client(fd);
            }
        }, this::writeOnWorker);
    }

    /** The bug: {@code c.fd} is a number, and nothing says it is still this client's. */
    @Override
    protected int write(Client c, Replies answers, Stats.Counters counters) {
        return sendFirst(c.fd, answers, counters);
    }

    @Override
    public String toString() {
        return "day06 unpinned (" + workerThreads() + " workers)";
    }
}
