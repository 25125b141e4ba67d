package c10k.day01;

/**
 * The one small interface every server in this book implements, so that the same tests, the
 * same command line and the same benchmark can drive any of them.
 *
 * <p>The life cycle is deliberately strict, because the tests check it: after {@link #start()}
 * returns, the listening socket is bound and a client may connect; after {@link #close()}
 * returns, every thread the server started has ended and every file descriptor it opened
 * (listening socket, connections, epoll or event fds) has been closed.
 */
public interface EchoServer extends AutoCloseable {

    /**
     * Binds the listening socket and starts serving on background threads. Returns as soon as
     * the socket listens: connections made after this call are queued by the kernel even if
     * the server has not called {@code accept} yet.
     */
    void start() throws java.io.IOException;

    /** The port actually bound: the one asked for, or the one the kernel picked for port 0. */
    int port();

    /** Stops serving and releases every descriptor and thread. Safe to call more than once. */
    @Override
    void close();

    /**
     * The graceful end (SIGTERM, Ctrl-C): stop accepting, answer every complete line already
     * read, shut down each connection's sending side, read and discard until the peer closes
     * or {@code drain} passes, then {@link #close()}. Clients see whole lines and FIN, not a
     * reset. Returns when everything is released. May be interrupted by a {@link #close()}
     * from another thread (a second signal), which then closes at once.
     *
     * <p>The default is the abortive {@link #close()}; the event-loop servers do better.
     */
    default void shutdownGracefully(java.time.Duration drain) {
        close();
    }
}
