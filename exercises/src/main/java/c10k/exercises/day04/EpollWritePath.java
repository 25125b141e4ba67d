package c10k.exercises.day04;

import c10k.day03.Outbox;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;

/**
 * Day 4, exercise 3: the write path of an edge-triggered connection.
 *
 * <p><b>Build</b> the three TODO methods, to this contract:
 * <ul>
 *   <li>the peer receives every byte given to {@link #send}, once, in the order given;
 *   <li><em>send first</em>: bytes the kernel would take now are not left waiting for an
 *       event; only what it refused ({@link Sockets#WOULD_BLOCK}) waits, in the
 *       {@link Outbox};
 *   <li>{@link #onWritable} ({@code EPOLLOUT} was reported) leaves bytes waiting only if the
 *       kernel refused them again;
 *   <li>{@link #events()} is what the connection should be registered with:
 *       {@code EPOLLIN | EPOLLRDHUP | EPOLLET}, and {@code EPOLLOUT} exactly while bytes
 *       wait.
 * </ul>
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
 * <p><b>Builds on</b>: day 3's
 * <a href="../../../../../../../day03-select-poll/README.md#send-first-ask-for-writability-only-while-bytes-wait">"Send
 * first; ask for writability only while bytes wait"</a> (the idea, in a level-triggered
 * selector loop); day 4's
 * <a href="../../../../../../../day04-epoll-et/README.md#level-triggered-and-edge-triggered">"Level-triggered
 * and edge-triggered"</a>; send(2), epoll(7). The sections on the engine's own write path come
 * with {@code ./jbang check day04 --hint 2}.
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
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EpollWritePath.send (day 4, exercise 3)");
    }

    /** {@code EPOLLOUT}: send what waits, until it is gone or the kernel says EAGAIN. */
    public void onWritable() throws SyscallException {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EpollWritePath.onWritable (day 4, exercise 3)");
    }

    /** The events to register: EPOLLIN | EPOLLRDHUP | EPOLLET, plus EPOLLOUT only while bytes wait. */
    public int events() {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: EpollWritePath.events (day 4, exercise 3)");
    }
}
