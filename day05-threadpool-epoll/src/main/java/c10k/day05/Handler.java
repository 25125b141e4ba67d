package c10k.day05;

/**
 * The application's part of a request: the one step the event loop does not do itself.
 *
 * <p>The boundary Build Your Own Redis draws between "event-loop code" and "application code":
 * the loop cuts the byte stream into lines and moves bytes in and out of sockets; a handler
 * turns one complete request into its response. Day 5 is about where this step runs. A handler
 * may be slow, or even block (a database call, a lock, a sleep): that is why a pool exists. On
 * a single event-loop thread (day 4) one slow request would stall every connection.
 *
 * <p>Called from several threads at once, for different requests: it must be thread-safe.
 */
@FunctionalInterface
public interface Handler {

    /**
     * @param line one complete request, newline included. The array is the handler's to keep:
     *     the server copied it out of its read buffer, which the next read overwrites.
     * @return the bytes to send back (echo: the same bytes). {@code null} means "send nothing".
     * @throws Exception anything: the server answers {@link Handlers#ERR_HANDLER_FAILED} in the
     *     request's place and keeps the connection. {@code InterruptedException} means the
     *     server is shutting down.
     */
    byte[] handle(byte[] line) throws Exception;

    /**
     * Per-connection state, for a protocol whose request spans several lines (HTTP: a request
     * line, headers, a blank line). Only the shared design passes one: there a connection is
     * owned by one thread at a time and its lines are handled in order, so a session needs no
     * lock. In the reactor, consecutive lines of one connection may run on different workers at
     * once, so it calls {@link #handle(byte[])} only.
     */
    final class Session {
        /** The handler's own state for this connection. */
        public Object attachment;
        /** Set by the handler: send this response, read nothing more, close once it is out. */
        public boolean closeAfterReply;
    }

    /** The shared design calls this; by default the session is ignored. */
    default byte[] handle(Session session, byte[] line) throws Exception {
        return handle(line);
    }
}
