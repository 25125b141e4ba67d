package c10k.day01;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Day 1: the simplest correct echo server. One thread does everything, in order:
 * {@code accept} a client, then {@code read} and {@code write} until that client leaves, then
 * {@code accept} the next one.
 *
 * <p>It is correct, and it is useless for more than one client: while it sits in
 * {@code read()} waiting for the first client to say something, nobody else is accepted. The
 * second client's connection is completed by the kernel (it sits in the listen backlog) and
 * its bytes wait in the kernel's receive buffer, but no code looks at them until the first
 * client disconnects.
 */
public final class BlockingEchoServer implements EchoServer {

    private final InetSocketAddress address;
    private final AtomicInteger accepted = new AtomicInteger();
    private ServerSocket listener;
    private Thread thread;
    private volatile Socket current;   // the one client being served; closed by close()
    private volatile boolean closed;

    public BlockingEchoServer(InetSocketAddress address) {
        this.address = address;
    }

    @Override
    public void start() throws IOException {
        listener = new ServerSocket();
        // Lets a restarted server bind while old connections sit in TIME_WAIT.
        listener.setReuseAddress(true);
        listener.bind(address, 128);
        thread = Thread.ofPlatform().name("day01-server").start(this::acceptLoop);
    }

    @Override
    public int port() {
        return listener.getLocalPort();
    }

    /** How many clients have been accepted so far: the test's window into the server. */
    public int acceptedCount() {
        return accepted.get();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();          // blocks until a client is queued
            } catch (IOException e) {
                if (!closed) AcceptBackoff.pause(e);
                continue;
            }
            accepted.incrementAndGet();
            current = client;
            try (client) {
                if (closed) return;                  // close() ran between accept and here
                serve(client);                       // ...and everyone else waits meanwhile
            } catch (IOException e) {
                // A reset or a vanished peer ends this client only, never the server.
                if (!closed) System.err.println("day01: client " + client.getRemoteSocketAddress() + ": " + e.getMessage());
            } finally {
                current = null;
            }
        }
    }

    /**
     * Echoes one client's lines until it disconnects: the heart of days 1 and 2, shared by
     * every blocking server in the book.
     *
     * <p>Each {@code read} returns whatever bytes have arrived: part of a line, several lines,
     * or both. The framer turns them into lines; the complete lines of one read are written
     * back in one {@code write}, so a client that pipelines a thousand lines costs a handful
     * of system calls, not a thousand. An incomplete line waits for the rest.
     *
     * <p>Returns normally at end of stream (the client closed or shut down its sending side;
     * the unterminated tail is discarded, as the protocol says) and after answering an
     * oversized line with {@code ERR line too long}. Throws on a reset. The caller closes.
     */
    public static void serve(Socket client) throws IOException {
        InputStream in = client.getInputStream();
        OutputStream out = client.getOutputStream();
        byte[] readBuffer = new byte[16 * 1024];
        ByteBuffer chunk = ByteBuffer.wrap(readBuffer);
        ByteBuffer replies = ByteBuffer.allocate(16 * 1024);
        LineFramer framer = new LineFramer();
        LineFramer.LineSink collect = (buf, start, end) -> {
            int length = end - start;
            if (replies.remaining() < length) {
                flush(out, replies);
                if (replies.capacity() < length) {
                    // A line longer than the reply buffer: write it straight from where it is
                    // (both the read buffer and the framer's assembly buffer are heap arrays).
                    out.write(buf.array(), buf.arrayOffset() + start, length);
                    return;
                }
            }
            replies.put(replies.position(), buf, start, length).position(replies.position() + length);
        };
        while (true) {
            int n = in.read(readBuffer);              // blocks: this is the whole problem of day 1
            if (n < 0) {
                // End of stream: the peer sent FIN. Answer what is complete, drop the rest.
                flush(out, replies);
                framer.discardPartial();
                return;
            }
            chunk.clear().limit(n);
            boolean ok = framer.feed(chunk, collect);
            flush(out, replies);
            if (!ok) {
                out.write(Protocol.ERR_LINE_TOO_LONG);
                out.flush();
                // Closing with unread input makes the kernel send RST instead of FIN
                // (RFC 1122 4.2.2.13); shutting down our side first pushes the error line
                // out ahead of it with a FIN, so a client that reads gets it.
                shutdownOutputQuietly(client);
                return;
            }
        }
    }

    private static void flush(OutputStream out, ByteBuffer replies) throws IOException {
        if (replies.position() == 0) return;
        out.write(replies.array(), 0, replies.position());  // blocks while the peer's window is full
        replies.clear();
    }

    private static void shutdownOutputQuietly(Socket s) {
        try {
            s.shutdownOutput();
        } catch (IOException ignored) {
            // the peer is gone already; close() follows
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (listener != null) listener.close();  // wakes accept() with a SocketException
            Socket c = current;
            if (c != null) c.close();                // wakes read() with a SocketException
        } catch (IOException ignored) {
            // closing: nothing useful to do
        }
        if (thread != null) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "day01 blocking";
    }
}
