package c10k.day04;

import c10k.day03.NativeConnection;

/**
 * The extension points of day 4's {@link EventLoop}: what a later day changes, each with day
 * 4's behaviour as its default. Every method runs on the loop thread. Where the story goes
 * next: day 5's reactor hands reads to a pool and takes answers back ({@link #readable},
 * {@link #afterEvents}); day 6 pins connections to slots ({@link #accepted},
 * {@link #release}). Everything else stays the loop's.
 */
public interface LoopExtension {
    /** A client was accepted: the connection that serves it, or null if the layer turned it away (and closed fd). */
    default NativeConnection accepted(EventLoop loop, int fd) {
        return new NativeConnection(fd);
    }

    /** The connection may be read (an event, or a turn it was owed): returns true if data may be left. */
    default boolean readable(EventLoop loop, NativeConnection c) {
        return c.readAndAnswer(loop.buffers, loop.tuning.readsPerTurn());
    }

    /**
     * Just before {@code epoll_wait}: true if work has come that the loop must take without
     * blocking (answers that other threads finished since {@link #afterEvents} looked).
     */
    default boolean beforeWait(EventLoop loop) {
        return false;
    }

    /** Once per pass, after events and owed turns: where work done on other threads comes back. */
    default void afterEvents(EventLoop loop) {
    }

    /** The connection is deregistered: close it (or, for a layer that keeps fd numbers, hand the number back). */
    default void release(EventLoop loop, NativeConnection c) {
        c.close();
    }
}
