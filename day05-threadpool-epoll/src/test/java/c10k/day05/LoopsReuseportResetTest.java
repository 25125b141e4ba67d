package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import c10k.day01.Fds;
import c10k.day03.sys.Sockets;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The price of SO_REUSEPORT: the kernel puts each new connection in the queue of ONE of the
 * listeners before any thread of ours has seen it. Close that listener (a loop stops, a worker
 * process dies or restarts) and the connections still in its queue are reset: the kernel
 * does not hand them to the other listeners on the port (unless {@code net.ipv4.tcp_migrate_req}
 * is set, Linux 5.14). With one shared listener, they would simply wait for the next accept.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "SO_REUSEPORT's spreading is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoopsReuseportResetTest {

    static final int CLIENTS = 64;

    @Test
    void connectionsQueuedOnAListenerThatClosesAreReset() throws Exception {
        assumeThat(Files.readString(Path.of("/proc/sys/net/ipv4/tcp_migrate_req")).trim())
                .as("net.ipv4.tcp_migrate_req=1 moves them to another listener instead").isEqualTo("0");
        int fdsBefore = Fds.baseline();
        int closing = Sockets.listen("127.0.0.1", 0, 128, true);
        int port = Sockets.localPort(closing);
        int staying = Sockets.listen("127.0.0.1", port, 128, true);
        List<Socket> clients = new ArrayList<>();
        List<Integer> accepted = new ArrayList<>();
        try {
            // The handshake completes in the kernel: every client is connected, queued on one listener or the other.
            for (int i = 0; i < CLIENTS; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", port));
                s.setSoTimeout(10_000);
                clients.add(s);
            }
            Sockets.close(closing);
            closing = -1;
            // The survivor takes what was queued on it, and says so.
            byte[] hello = "still here\n".getBytes(StandardCharsets.US_ASCII);
            int fd;
            while ((fd = Sockets.accept(staying)) != Sockets.WOULD_BLOCK) {
                accepted.add(fd);
                Sockets.send(fd, hello, 0, hello.length);
            }
            int answered = 0, reset = 0;
            for (Socket s : clients) {
                try {
                    byte[] got = s.getInputStream().readNBytes(hello.length);
                    if (new String(got, StandardCharsets.US_ASCII).equals("still here\n")) answered++;
                } catch (SocketException e) {
                    assertThat(e.getMessage()).containsIgnoringCase("reset");
                    reset++;
                }
            }
            System.out.println(CLIENTS + " clients on two SO_REUSEPORT listeners; one closed: " + reset + " reset, " + answered + " served by the other");
            assertThat(answered).isEqualTo(accepted.size());
            assertThat(reset + answered).isEqualTo(CLIENTS);
            assertThat(reset).isPositive();        // the hash put some on each: 2^-63 that it did not
            assertThat(answered).isPositive();
        } finally {
            for (Socket s : clients) s.close();
            for (int a : accepted) Sockets.close(a);
            if (closing >= 0) Sockets.close(closing);
            Sockets.close(staying);
        }
        Fds.awaitNoLeak(fdsBefore);
    }
}
