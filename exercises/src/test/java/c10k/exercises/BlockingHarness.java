package c10k.exercises;

import c10k.day01.AcceptBackoff;
import c10k.day01.EchoServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The given part of the blocking exercises (days 1 and 2): a day-1 accept loop that serves
 * one client at a time (a "pool" of one worker) with the learner's per-client code, closes
 * the socket after it, and survives whatever that code throws.
 */
public final class BlockingHarness implements EchoServer {

    /** The learner's code: serve one client until it leaves. */
    @FunctionalInterface
    public interface Handler {
        void serve(Socket client) throws IOException;
    }

    private final Handler handler;
    private final LearnerFailure failure = new LearnerFailure();
    private ServerSocket listener;
    private Thread thread;
    private volatile Socket current;
    private volatile boolean closed;
    /** How the last {@code serve} that returned normally left its socket: was the output shut down? */
    private volatile Boolean lastOutputShutdown;
    private final java.util.concurrent.atomic.AtomicInteger returned = new java.util.concurrent.atomic.AtomicInteger();

    public BlockingHarness(Handler handler) {
        this.handler = handler;
    }

    public LearnerFailure failure() {
        return failure;
    }

    /** How many times the learner's {@code serve} returned normally (not by throwing). */
    public int returnedCount() {
        return returned.get();
    }

    /**
     * Whether the last {@code serve} that returned normally had shut down its socket's output
     * ({@code shutdownOutput()}: a FIN sent) before returning; null before any returned.
     */
    public Boolean lastOutputShutdown() {
        return lastOutputShutdown;
    }

    @Override
    public void start() throws IOException {
        listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress("127.0.0.1", 0), 128);
        thread = Thread.ofPlatform().name("exercise-server").start(this::acceptLoop);
    }

    @Override
    public int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                // Closed: the loop ends. Out of fds (EMFILE): back off rather than spin (day 1).
                if (!closed) AcceptBackoff.pause(e);
                continue;
            }
            current = client;
            // What the learner's code threw is recorded BEFORE the socket is closed: the client
            // sees the end of the stream only after that, so a test that reads "no answer"
            // always finds the cause (else it would say "not written yet" in one run and
            // "stream ended" in the next, depending on which thread ran first).
            try {
                if (closed) return;
                try {
                    handler.serve(client);
                    lastOutputShutdown = client.isOutputShutdown();
                    returned.incrementAndGet();
                } catch (IOException e) {
                    // a reset: this client only
                } catch (RuntimeException | Error e) {
                    failure.record(e);
                    if (!closed) System.err.println("exercise: your code threw on the server thread: " + e);
                }
            } finally {
                current = null;
                try {
                    client.close();
                } catch (IOException ignored) {
                    // already gone
                }
            }
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (listener != null) listener.close();
            Socket c = current;
            if (c != null) c.close();
        } catch (IOException ignored) {
            // closing
        }
        if (thread != null) {
            try {
                // The socket is closed: a serve that reads again gets an exception and returns.
                // One still running now never reads or never stops: say so rather than wait.
                if (!thread.join(java.time.Duration.ofSeconds(3))) {
                    throw new AssertionError("your serve() did not return within 3 s after its socket was closed:"
                            + " a loop that never ends? On read() == -1 (end of stream) return; a loop that reads on"
                            + " after -1 gets -1 for ever and spins");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
