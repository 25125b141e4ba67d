package c10k.bench;

import c10k.day05.Handler;
import java.nio.charset.StandardCharsets;

/**
 * The last mile: a minimal HTTP/1.1 keep-alive responder as a day 5 {@link Handler}, so the
 * day 5 engine can be measured with {@code wrk} against nginx.
 *
 * <p>HTTP/1.1 requests are lines (RFC 9112): a request line, header lines, an empty line. The
 * engine already frames lines; this handler keeps a little state per connection (the shared
 * design hands each connection's lines to one thread at a time, in order) and answers every
 * request with the same small body. Pipelining is free: the answers leave in request order,
 * because the lines are handled in order.
 * <ul>
 * <li>a malformed request line, or a header line without a colon: {@code 400}, then close;</li>
 * <li>more than {@link #MAX_HEADER_BYTES} of request line and headers: {@code 431}, then close;</li>
 * <li>a request with a body ({@code Content-Length} other than 0, or {@code Transfer-Encoding}):
 *     {@code 400} and close, since this responder never reads bodies and would otherwise read
 *     the body as the next request;</li>
 * <li>{@code Connection: close}, or HTTP/1.0 without keep-alive: answer, then close.</li>
 * </ul>
 */
public final class HttpResponder implements Handler {

    public static final int MAX_HEADER_BYTES = 8 * 1024;
    static final byte[] BODY = "Hello, world!\n".getBytes(StandardCharsets.US_ASCII);

    private static final byte[] OK_KEEP_ALIVE = response("200 OK", false);
    private static final byte[] OK_CLOSE = response("200 OK", true);
    private static final byte[] BAD_REQUEST = status("400 Bad Request");
    private static final byte[] TOO_LARGE = status("431 Request Header Fields Too Large");

    /** Where a connection is in its current request. */
    private static final class State {
        boolean inRequest;
        int headerBytes;
        boolean keepAlive;
    }

    private static byte[] response(String status, boolean close) {
        return ("HTTP/1.1 " + status + "\r\nServer: c10k\r\nContent-Type: text/plain\r\nContent-Length: " + BODY.length
                + (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + new String(BODY, StandardCharsets.US_ASCII))
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] status(String status) {
        return ("HTTP/1.1 " + status + "\r\nServer: c10k\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public byte[] handle(byte[] line) {
        throw new UnsupportedOperationException("HTTP needs per-connection state: run it on the shared design");
    }

    @Override
    public byte[] handle(Session session, byte[] line) {
        State s = (State) session.attachment;
        if (s == null) session.attachment = s = new State();
        int length = contentLength(line);   // without CR LF
        if (!s.inRequest) {
            if (length == 0) return null;   // RFC 9112 2.2: ignore empty lines before a request
            if (!requestLine(line, length)) return close(session, BAD_REQUEST);
            s.inRequest = true;
            s.headerBytes = line.length;
            s.keepAlive = endsWith(line, length, "HTTP/1.1");
            return null;
        }
        if (length == 0) {                   // end of headers: answer
            s.inRequest = false;
            if (!s.keepAlive) return close(session, OK_CLOSE);
            return OK_KEEP_ALIVE;
        }
        s.headerBytes += line.length;
        if (s.headerBytes > MAX_HEADER_BYTES) return close(session, TOO_LARGE);
        int colon = indexOf(line, length, (byte) ':');
        if (colon <= 0) return close(session, BAD_REQUEST);
        String name = new String(line, 0, colon, StandardCharsets.US_ASCII).trim();
        if (name.equalsIgnoreCase("connection")) {
            String value = new String(line, colon + 1, length - colon - 1, StandardCharsets.US_ASCII).trim();
            if (value.equalsIgnoreCase("close")) s.keepAlive = false;
            else if (value.equalsIgnoreCase("keep-alive")) s.keepAlive = true;
        } else if (name.equalsIgnoreCase("transfer-encoding")) {
            return close(session, BAD_REQUEST);
        } else if (name.equalsIgnoreCase("content-length")) {
            String value = new String(line, colon + 1, length - colon - 1, StandardCharsets.US_ASCII).trim();
            if (!value.equals("0")) return close(session, BAD_REQUEST);
        }
        return null;
    }

    /** It never blocks: shared mode may take a batch of events per epoll_wait, not one at a time. */
    @Override
    public boolean mayBlock() {
        return false;
    }

    private static byte[] close(Session session, byte[] response) {
        session.closeAfterReply = true;
        return response;
    }

    /** The line's length without its LF and an optional CR before it. */
    private static int contentLength(byte[] line) {
        int n = line.length;
        if (n > 0 && line[n - 1] == '\n') n--;
        if (n > 0 && line[n - 1] == '\r') n--;
        return n;
    }

    /** {@code method SP request-target SP HTTP/1.x}, method a token of letters. */
    private static boolean requestLine(byte[] line, int length) {
        int firstSpace = indexOf(line, length, (byte) ' ');
        if (firstSpace <= 0) return false;
        for (int i = 0; i < firstSpace; i++) if (line[i] < 'A' || line[i] > 'Z') return false;
        int secondSpace = -1;
        for (int i = firstSpace + 1; i < length; i++) {
            if (line[i] == ' ') {
                secondSpace = i;
                break;
            }
        }
        if (secondSpace <= firstSpace + 1) return false;
        String version = new String(line, secondSpace + 1, length - secondSpace - 1, StandardCharsets.US_ASCII);
        return version.equals("HTTP/1.1") || version.equals("HTTP/1.0");
    }

    private static boolean endsWith(byte[] line, int length, String suffix) {
        return new String(line, 0, length, StandardCharsets.US_ASCII).endsWith(suffix);
    }

    private static int indexOf(byte[] line, int length, byte b) {
        for (int i = 0; i < length; i++) if (line[i] == b) return i;
        return -1;
    }
}
