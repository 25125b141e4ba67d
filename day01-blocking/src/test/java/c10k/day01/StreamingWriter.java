package c10k.day01;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;

/**
 * A client that writes without pause: a thread of its own puts chunk after chunk on a socket
 * while the test reads the answers, shuts the server down, or waits for a backpressure pause.
 * Shared by the tests that need a stream in flight when something happens to the server.
 *
 * <p>It stops when {@link #close} is called, when the chunks run out (then it shuts down its
 * sending side: the peer sees FIN), or when a write fails: the server or the test closed the
 * socket, which is what such a test usually waits for, so that is not an error. A writer
 * blocked because the peer reads nothing ends only when the socket is closed: close the
 * socket first, then the writer.
 *
 * <p>A platform thread: a virtual thread that writes without ever blocking would keep its
 * carrier from the test's readers.
 */
public final class StreamingWriter implements AutoCloseable {

    /** The {@code i}-th chunk to write (from 0), or null when the stream is over. */
    @FunctionalInterface
    public interface Chunks {
        byte[] chunk(long i) throws Exception;
    }

    private final Thread thread;
    private volatile boolean stopped;
    private volatile Throwable failure;

    private StreamingWriter(Socket socket, Chunks chunks) {
        thread = Thread.ofPlatform().name("streaming-writer").start(() -> {
            try {
                OutputStream out = socket.getOutputStream();
                for (long i = 0; !stopped; i++) {
                    byte[] b = chunks.chunk(i);
                    if (b == null) {
                        socket.shutdownOutput();   // the stream is over: FIN
                        return;
                    }
                    out.write(b);
                }
            } catch (IOException closed) {
                // the server or the test closed the socket: the end such a test waits for
            } catch (Throwable t) {
                failure = t;
            }
        });
    }

    /** Writes {@code bytes} again and again until stopped. */
    public static StreamingWriter repeating(Socket socket, byte[] bytes) {
        return new StreamingWriter(socket, i -> bytes);
    }

    /** Writes what {@code chunks} gives, in order, until stopped or it gives null. */
    public static StreamingWriter start(Socket socket, Chunks chunks) {
        return new StreamingWriter(socket, chunks);
    }

    /** Stops writing and waits (bounded) for the thread; fails if the chunks threw. */
    @Override
    public void close() throws InterruptedException {
        stopped = true;
        if (!thread.join(Duration.ofSeconds(60))) throw new AssertionError("the streaming writer is still blocked in write: close its socket first");
        if (failure != null) throw new AssertionError("the streaming writer failed", failure);
    }
}
