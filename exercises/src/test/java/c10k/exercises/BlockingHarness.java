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

    public BlockingHarness(Handler handler) {
        this.handler = handler;
    }

    public LearnerFailure failure() {
        return failure;
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
            try (client) {
                if (closed) return;
                handler.serve(client);
            } catch (IOException e) {
                // a reset: this client only
            } catch (RuntimeException | Error e) {
                failure.record(e);
                if (!closed) System.err.println("exercise: your code threw on the server thread: " + e);
            } finally {
                current = null;
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
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
