package c10k.day05;

import java.nio.charset.StandardCharsets;

/** Ready-made {@link Handler}s. */
public final class Handlers {

    /** The book's protocol: answer each line with the same bytes. */
    public static final Handler ECHO = line -> line;

    /** Sent in place of the response to a request whose handler threw. */
    public static final byte[] ERR_HANDLER_FAILED = "ERR handler failed\n".getBytes(StandardCharsets.US_ASCII);

    private Handlers() {
    }
}
