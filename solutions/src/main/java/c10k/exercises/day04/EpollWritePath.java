package c10k.exercises.day04;

import c10k.day03.Outbox;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;

/**
 * Day 4, exercise 3: the write path of an edge-triggered connection: send first, and watch
 * {@code EPOLLOUT} only after {@code EAGAIN}.
 *
 * <p><b>Build</b> the three TODO methods. {@link #send}: if nothing waits, send now, again and
 * again while the kernel takes bytes (a short write is not {@code EAGAIN}); queue in the
 * {@link Outbox} only what is left when it says {@link Sockets#WOULD_BLOCK}; if bytes already
 * wait, queue behind them. {@link #onWritable}: epoll reported {@code EPOLLOUT}: send what
 * waits until it is all gone or the kernel says {@code EAGAIN}. {@link #events()}: the epoll
 * events this connection should be registered with: always
 * {@code EPOLLIN | EPOLLRDHUP | EPOLLET}, plus {@code EPOLLOUT} only while bytes wait.
 *
 * <p><b>What the tests try</b>: a kernel that takes everything, one that takes less than asked
 * without refusing, one whose buffer fills, new bytes while old ones wait, an {@code EPOLLOUT}
 * after which the kernel refuses again; then a real slow reader through real edge-triggered
 * {@code EPOLLOUT}.
 *
 * <p><b>Why</b>: a socket is writable almost always, so {@code EPOLLOUT} is armed only after
 * the kernel refused bytes, and disarmed when they are gone (one {@code epoll_ctl} each way).
 * In edge-triggered mode {@code EPOLLOUT} fires when room <em>appears</em>: stop writing
 * before {@code EAGAIN} with bytes still queued, and no new edge will ever come for them.
 * {@code send} is a parameter so the tests can play a kernel whose buffer fills; the real one
 * is {@code (buf, off, len) -> Sockets.send(fd, buf, off, len)}.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day04-epoll-et/README.md">day 4's
 * chapter</a>:
 * <a href="../../../../../../../day04-epoll-et/README.md#update-epollout-only-while-something-waits">"{@code
 * update}: {@code EPOLLOUT} only while something waits"</a> and
 * <a href="../../../../../../../day04-epoll-et/README.md#handle-both-directions-every-time">"{@code
 * handle}: both directions, every time"</a>.
 *
 * <p><b>Check</b>: {@code ./jbang check day04}. Tests: {@code EpollWritePathTest}.
 */
public final class EpollWritePath {

    /** send(2) on one socket: bytes taken (maybe fewer than asked), or {@link Sockets#WOULD_BLOCK}. */
    @FunctionalInterface
    public interface Send {
        int send(byte[] buf, int offset, int length) throws SyscallException;
    }

    private final Send socket;
    private final Outbox outbox = new Outbox();

    public EpollWritePath(Send socket) {
        this.socket = socket;
    }

    /** Bytes the kernel has not taken yet. */
    public int pendingBytes() {
        return outbox.size();
    }

    /** Sends {@code bytes[offset, offset + length)} now as far as the kernel takes them; queues the rest. */
    public void send(byte[] bytes, int offset, int length) throws SyscallException {
        int sent = 0;
        if (outbox.isEmpty()) sent = sendUntilEagain(bytes, offset, length);
        if (sent < length) outbox.append(bytes, offset + sent, offset + length);
    }

    /** {@code EPOLLOUT}: send what waits, until it is gone or the kernel says EAGAIN. */
    public void onWritable() throws SyscallException {
        if (outbox.isEmpty()) return;
        outbox.consumed(sendUntilEagain(outbox.array(), outbox.start(), outbox.size()));
    }

    /** The events to register: EPOLLIN | EPOLLRDHUP | EPOLLET, plus EPOLLOUT only while bytes wait. */
    public int events() {
        return Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET | (outbox.isEmpty() ? 0 : Epoll.EPOLLOUT);
    }

    private int sendUntilEagain(byte[] bytes, int offset, int length) throws SyscallException {
        int total = 0;
        while (total < length) {
            int n = socket.send(bytes, offset + total, length - total);
            if (n == Sockets.WOULD_BLOCK) break;   // the kernel is full: EPOLLOUT will say when it is not
            total += n;
        }
        return total;
    }
}
