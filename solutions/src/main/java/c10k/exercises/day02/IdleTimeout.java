package c10k.exercises.day02;

import c10k.day01.BlockingEchoServer;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * Day 2, exercise 2: the one thing that frees a blocking worker from an idle client.
 *
 * <p><b>Build</b> {@link #serve}: serve the client with day 1's
 * {@link BlockingEchoServer#serve}, but give up on it when it stays silent for
 * {@code idleMillis}: tell it {@link #ERR_IDLE} and return (the caller closes). A client that
 * keeps talking is never cut, however long it stays.
 *
 * <p><b>Why</b>: in a pool of N blocking workers, a worker sits in {@code read()} for as long
 * as its client is connected; N idle clients starve everyone else (exercise 1 showed it). A
 * blocked {@code read()} only returns for data, end of stream, or a timeout: so every pooled
 * blocking server has an idle timeout (Apache's {@code Timeout}, Tomcat's
 * {@code connectionTimeout}). It is a patch, not a cure: the bound is still N clients
 * <em>at once</em>, and a slow but legitimate client gets cut. Days 3 and 4 remove the cause.
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day02-multithread/README.md">day 2's
 * chapter</a>: <a href="../../../../../../../day02-multithread/README.md#the-idea">"The idea"</a>
 * and <a href="../../../../../../../day02-multithread/README.md#what-goes-wrong-next">"What goes
 * wrong next"</a>. The chapter shows the trap (a worker belongs to its client, busy or silent); the
 * way out is this exercise's, an option of {@link java.net.Socket}. From day 3 on a silent
 * connection holds no thread at all.
 *
 * <p><b>Check</b>: {@code ./jbang check day02}. Tests: {@code IdleTimeoutTest} (the harness
 * there serves one client at a time: a pool of one worker).
 */
public final class IdleTimeout {

    /** What an idle client hears before the server closes it. */
    public static final byte[] ERR_IDLE = "ERR idle timeout\n".getBytes(StandardCharsets.US_ASCII);

    private IdleTimeout() {
    }

    /** Echoes until the client leaves, or stays silent for {@code idleMillis}. The caller closes. */
    public static void serve(Socket client, int idleMillis) throws IOException {
        // SO_TIMEOUT bounds each read(), not the connection: only silence trips it.
        client.setSoTimeout(idleMillis);
        try {
            BlockingEchoServer.serve(client);
        } catch (SocketTimeoutException idle) {
            client.getOutputStream().write(ERR_IDLE);
            client.shutdownOutput();
        }
    }
}
