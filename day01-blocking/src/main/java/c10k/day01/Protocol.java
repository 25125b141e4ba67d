package c10k.day01;

import java.nio.charset.StandardCharsets;

/**
 * The line-echo protocol every day speaks (see the book's DESIGN.md): a request is a line of
 * bytes ending in LF, the answer is the same bytes. One protocol means one client, one test
 * suite and one benchmark for every server in the book.
 */
public final class Protocol {

    /** The longest line accepted, newline included. A bound is what keeps a peer that never
     *  sends a newline from making the server buffer without limit. */
    public static final int MAX_LINE = 65_536;

    /** Sent, then the connection is closed, when a line exceeds {@link #MAX_LINE}. */
    public static final byte[] ERR_LINE_TOO_LONG = "ERR line too long\n".getBytes(StandardCharsets.US_ASCII);

    private Protocol() {
    }
}
