package c10k.day03;

import c10k.day01.EchoServer;

/**
 * A server built on readiness events. Besides serving, it reports what the
 * tests need in order to see inside it, without sleeping or guessing: how many connections
 * it holds, and whether backpressure is holding the line.
 */
public interface EventLoopServer extends EchoServer {

    /** Connections currently open. */
    int connectionCount();

    /** Connections the server has stopped reading because their peer is not reading. */
    int readPausedCount();

    /** The most bytes any one connection has had waiting to be sent, since start. */
    int largestOutbox();
}
