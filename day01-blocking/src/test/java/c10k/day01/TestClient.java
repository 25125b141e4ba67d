package c10k.day01;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A blocking test client that talks raw bytes. Every read has a timeout, so a server that
 * fails to answer fails the test instead of hanging the build.
 */
public final class TestClient implements AutoCloseable {

    public static final int READ_TIMEOUT_MS = 20_000;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public TestClient(int port) throws IOException {
        this(port, READ_TIMEOUT_MS);
    }

    public TestClient(int port, int readTimeoutMs) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        socket.setSoTimeout(readTimeoutMs);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    public Socket socket() {
        return socket;
    }

    public TestClient send(String s) throws IOException {
        return send(s.getBytes(StandardCharsets.UTF_8));
    }

    public TestClient send(byte[] b) throws IOException {
        out.write(b);
        out.flush();
        return this;
    }

    /** Reads exactly {@code n} bytes, or fails if the stream ends first. */
    public byte[] readExactly(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new IOException("stream ended after " + b.length + " of " + n + " bytes: "
                    + new String(b, StandardCharsets.UTF_8));
        }
        return b;
    }

    public String readString(int n) throws IOException {
        return new String(readExactly(n), StandardCharsets.UTF_8);
    }

    /** Reads one line, newline included; fails on end of stream before the newline. */
    public String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') return line.toString(StandardCharsets.UTF_8);
        }
        throw new IOException("stream ended inside a line: " + line.toString(StandardCharsets.UTF_8));
    }

    /** Sends a line and returns the answer. */
    public String roundTrip(String line) throws IOException {
        send(line);
        return readLine();
    }

    /** Reads until end of stream and returns everything. */
    public byte[] readToEnd() throws IOException {
        return in.readAllBytes();
    }

    /**
     * True if the server ended the stream: a clean end (FIN) or a reset. A server that closes
     * while our earlier bytes are still unread in its buffer makes the kernel send RST rather
     * than FIN (RFC 1122, 4.2.2.13); either way the connection is over.
     */
    public boolean endsStream() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketException e) {
            return true;   // connection reset
        }
    }

    /**
     * True if nothing arrives within {@code ms}: how a test shows that a server does NOT
     * answer. It never waits for a server to become ready (that is what hooks are for); it
     * bounds how long we give a broken server to prove the lesson false.
     */
    public boolean silentFor(int ms) throws IOException {
        int old = socket.getSoTimeout();
        socket.setSoTimeout(ms);
        try {
            int b = in.read();
            if (b >= 0) throw new AssertionError("expected silence, but the server sent byte " + b);
            return false;   // end of stream is not silence
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(old);
        }
    }

    public void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    /** Closes with SO_LINGER 0: the kernel sends RST instead of FIN, as a crashed peer's would. */
    public void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
