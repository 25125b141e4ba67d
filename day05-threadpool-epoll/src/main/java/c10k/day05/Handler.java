package c10k.day05;

import c10k.day03.Replies;

/**
 * The application's part of a request: the one step the event loop does not do itself.
 *
 * <p>The boundary Build Your Own Redis draws between "event-loop code" and "application code":
 * the loop cuts the byte stream into lines and moves bytes in and out of sockets; a handler
 * turns one complete request into its response. Day 5 is about where this step runs. A handler
 * may be slow, or even block (a database call, a lock, a sleep): that is why a pool exists. On
 * a single event-loop thread (day 4) one slow request would stall every connection.
 *
 * <p>Called from several threads at once, for different connections: it must be thread-safe.
 * The lines of one connection are handled one at a time, in order, in both designs.
 *
 * <p>Two ways to write one. The simple one, {@link #handle(byte[])}, gets its own copy of the
 * line and returns a new array: an allocation or two per request, fine for a handler that does
 * real work. The server calls {@link #handle(Session, byte[], int, int, Replies)}, which a
 * handler on the hot path overrides to answer straight from the read buffer into the batch of
 * replies, allocating nothing ({@link Handlers#ECHO} does).
 */
@FunctionalInterface
public interface Handler {

    /**
     * @param line one complete request, newline included, the handler's to keep.
     * @return the bytes to send back (echo: the same bytes). {@code null} means "send nothing".
     * @throws Exception anything: the server answers {@link Handlers#ERR_HANDLER_FAILED} in the
     *     request's place and keeps the connection. {@code InterruptedException} means the
     *     server is shutting down.
     */
    byte[] handle(byte[] line) throws Exception;

    /**
     * Per-connection state, for a protocol whose request spans several lines (HTTP: a request
     * line, headers, a blank line). A connection's lines are handled by one thread at a time,
     * in order, so a session needs no lock.
     */
    final class Session {
        /** The handler's own state for this connection. */
        public Object attachment;
        /** Set by the handler: send this response, read nothing more, close once it is out. */
        public boolean closeAfterReply;
    }

    /** With the connection's session; by default the session is ignored. */
    default byte[] handle(Session session, byte[] line) throws Exception {
        return handle(line);
    }

    /**
     * What the server calls: answer {@code buf[start, end)} (valid only during the call) into
     * {@code out}. The default copies the line and calls {@link #handle(Session, byte[])}.
     */
    default void handle(Session session, byte[] buf, int start, int end, Replies out) throws Exception {
        byte[] response = handle(session, java.util.Arrays.copyOfRange(buf, start, end));
        if (response != null) out.put(response);
    }

    /**
     * Whether a call may block (a lock, I/O, a sleep). Shared mode takes one event per
     * {@code epoll_wait} for such a handler, so no connection waits behind another's slow
     * request; a handler that never blocks lets it take a batch. The safe default is true.
     */
    default boolean mayBlock() {
        return true;
    }
}
