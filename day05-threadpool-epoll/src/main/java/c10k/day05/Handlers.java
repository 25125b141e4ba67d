package c10k.day05;

import c10k.day03.Replies;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;

/** Ready-made {@link Handler}s. */
public final class Handlers {

    /** The book's protocol: answer each line with the same bytes, copied once, into the batch of replies. */
    public static final Handler ECHO = new Handler() {
        @Override
        public byte[] handle(byte[] line) {
            return line;
        }

        @Override
        public void handle(Session session, byte[] buf, int start, int end, Replies out) {
            out.put(buf, start, end);
        }

        @Override
        public boolean mayBlock() {
            return false;
        }

        @Override
        public String toString() {
            return "echo";
        }
    };

    /** Sent in place of the response to a request whose handler threw. */
    public static final byte[] ERR_HANDLER_FAILED = "ERR handler failed\n".getBytes(StandardCharsets.US_ASCII);

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");

    private Handlers() {
    }

    /**
     * Runs {@code h} on one line, on the calling thread (a worker, or a shared-mode thread). A
     * failure is that request's: its answer says so and the connection goes on. False once the
     * handler has said its last word ({@code closeAfterReply}): nothing more is to be read.
     */
    static boolean answer(Handler h, Handler.Session s, byte[] buf, int start, int end, Replies out)
            throws InterruptedException {
        try {
            h.handle(s, buf, start, end, out);
        } catch (InterruptedException e) {
            throw e;                                       // the server is closing
        } catch (Exception | Error e) {
            LOG.log(Level.DEBUG, "handler failed", e);
            out.put(ERR_HANDLER_FAILED);
        }
        return !s.closeAfterReply;
    }
}
