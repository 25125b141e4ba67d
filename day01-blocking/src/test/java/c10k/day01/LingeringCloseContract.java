package c10k.day01;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The error line must reach a client that is still sending: the server that
 * closes with unread input makes the kernel answer with RST, not FIN (RFC 1122 4.2.2.13),
 * and the client may lose the error line it had not read yet. {@code nc} does: it printed
 * nothing in a quarter of the tries before the lingering close. A server passes if it shuts
 * down its sending side, then reads and discards until the client closes.
 *
 * <p>Extend it, like {@link EchoContract}, for each server that sends an error line.
 */
public abstract class LingeringCloseContract extends ServerTestBase {

    @Test
    void aClientStillSendingGetsTheErrorLineThenEndOfStreamNotAReset() throws Exception {
        // What nc does: it keeps writing its input while the answer comes back. 16 MiB with
        // no newline is far more than the kernel's buffers hold, so the server cannot be done
        // with the client before the client is done sending. Closing with that input unread
        // would reset the connection, and the writer below would fail (nc: "Connection reset
        // by peer", and it quits without printing the line it had received).
        byte[] chunk = new byte[64 * 1024];
        Arrays.fill(chunk, (byte) 'x');
        try (TestClient c = new TestClient(server.port()); ExecutorService writer = Executors.newSingleThreadExecutor()) {
            Future<?> sent = writer.submit(() -> {
                OutputStream out = c.socket().getOutputStream();
                for (int i = 0; i < 256; i++) out.write(chunk);
                c.shutdownOutput();   // nc -N: "my input is over"
                return null;
            });
            assertThat(c.readLine()).isEqualTo("ERR line too long\n");
            InputStream in = c.socket().getInputStream();
            assertThat(in.read()).as("FIN after the error line (a reset would throw here)").isEqualTo(-1);
            sent.get(60, TimeUnit.SECONDS);   // every byte was taken (and dropped) by the server
        }
    }

    @Test
    void linesBeforeTheBadOneAreAnsweredAndTheErrorFollows() throws Exception {
        byte[] tooLong = new byte[Protocol.MAX_LINE + 1];
        Arrays.fill(tooLong, (byte) 'y');
        tooLong[tooLong.length - 1] = '\n';
        try (TestClient c = new TestClient(server.port())) {
            c.send("first\n").send(tooLong).send("never answered\n".repeat(1000));
            assertThat(c.readLine()).isEqualTo("first\n");
            assertThat(c.readLine()).isEqualTo("ERR line too long\n");
            assertThat(c.socket().getInputStream().read()).isEqualTo(-1);
        }
    }
}
