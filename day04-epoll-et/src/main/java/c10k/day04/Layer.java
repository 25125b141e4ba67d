package c10k.day04;

import c10k.day03.NativeConnection;

/**
 * The extension points of day 4's {@link EventLoop}: what a later day changes, each with day
 * 4's behaviour as its default. Day 5's reactor hands reads to a pool and takes answers back
 * ({@link #readable}, {@link #afterEvents}); day 6 pins connections to slots
 * ({@link #accepted}, {@link #release}). Everything else stays the loop's.
 */
public interface Layer {
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
     * blocking (day 5: answers its workers finished since {@link #afterEvents} looked).
     */
    default boolean beforeWait(EventLoop loop) {
        return false;
    }

    /** Once per pass, after events and owed turns: day 5 takes its workers' answers back here. */
    default void afterEvents(EventLoop loop) {
    }

    /** The connection is deregistered: close it (day 6 puts its slot back instead). */
    default void release(EventLoop loop, NativeConnection c) {
        c.close();
    }
}
