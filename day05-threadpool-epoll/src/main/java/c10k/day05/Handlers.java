package c10k.day05;

import c10k.day03.Replies;
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

    private Handlers() {
    }
}
