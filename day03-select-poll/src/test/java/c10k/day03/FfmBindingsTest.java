package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.NoFdLeak;
import c10k.day03.sys.Errno;
import c10k.day03.sys.EventFd;
import c10k.day03.sys.Poll;
import c10k.day03.sys.SockaddrIn;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

@EnabledOnOs(value = OS.LINUX, disabledReason = "the bindings are for Linux")
@org.junit.jupiter.api.Timeout(30)
@ExtendWith(NoFdLeak.class)
class FfmBindingsTest {

    @Test
    void structLayoutsMatchTheKernelsHeaders() {
        assertThat(SockaddrIn.LAYOUT.byteSize()).isEqualTo(16);
        assertThat(SockaddrIn.LAYOUT.byteOffset(PathElement.groupElement("sin_port"))).isEqualTo(2);
        assertThat(SockaddrIn.LAYOUT.byteOffset(PathElement.groupElement("sin_addr"))).isEqualTo(4);
        assertThat(Poll.POLLFD.byteSize()).isEqualTo(8);
        assertThat(Poll.POLLFD.byteOffset(PathElement.groupElement("events"))).isEqualTo(4);
        assertThat(Poll.POLLFD.byteOffset(PathElement.groupElement("revents"))).isEqualTo(6);
    }

    @Test
    void sockaddrInPutsThePortInNetworkByteOrder() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(SockaddrIn.LAYOUT);
            SockaddrIn.set(s, "127.0.0.1", 0x1F90);   // 8080
            byte[] raw = s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            assertThat(raw[2]).isEqualTo((byte) 0x1F);
            assertThat(raw[3]).isEqualTo((byte) 0x90);
            assertThat(new byte[] {raw[4], raw[5], raw[6], raw[7]}).containsExactly(127, 0, 0, 1);
            assertThat(SockaddrIn.port(s)).isEqualTo(8080);
        }
    }

    @Test
    void bindingAPortInUseNamesTheCallAndTheErrno() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(() -> Sockets.listen("127.0.0.1", taken.getLocalPort(), 16))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.call()).isEqualTo("bind 127.0.0.1:" + taken.getLocalPort());
                        assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE);
                        assertThat(e).hasMessage("bind 127.0.0.1:" + taken.getLocalPort() + ": EADDRINUSE (address already in use)");
                    });
        }
        // ...and the socket made before the failed bind was closed, not leaked (checked after).
    }

    @Test
    void wouldBlockIsAResultNotAnError() throws Exception {
        int listener = Sockets.listen("127.0.0.1", 0, 16);
        try {
            assertThat(Sockets.accept(listener)).as("nobody is connecting").isEqualTo(Sockets.WOULD_BLOCK);
            try (Socket client = new Socket("127.0.0.1", Sockets.localPort(listener))) {
                int fd;
                do fd = Sockets.accept(listener); while (fd == Sockets.WOULD_BLOCK);   // the handshake is done; bounded by the test timeout
                try {
                    byte[] buf = new byte[16];
                    assertThat(Sockets.recv(fd, buf, 0, buf.length)).as("nothing sent yet").isEqualTo(Sockets.WOULD_BLOCK);
                    client.getOutputStream().write("hi\n".getBytes(StandardCharsets.US_ASCII));
                    int n;
                    do n = Sockets.recv(fd, buf, 3, 10); while (n == Sockets.WOULD_BLOCK);
                    assertThat(new String(buf, 3, n, StandardCharsets.US_ASCII)).isEqualTo("hi\n");
                    assertThat(Sockets.send(fd, buf, 3, n)).isEqualTo(3);
                    assertThat(client.getInputStream().readNBytes(3)).isEqualTo("hi\n".getBytes(StandardCharsets.US_ASCII));
                } finally {
                    Sockets.close(fd);
                }
            }
        } finally {
            Sockets.close(listener);
        }
    }

    @Test
    void sendingToAResetPeerIsEpipeOrEconnresetNeverASignal() throws Exception {
        int listener = Sockets.listen("127.0.0.1", 0, 16);
        try {
            int fd;
            try (Socket client = new Socket("127.0.0.1", Sockets.localPort(listener))) {
                do fd = Sockets.accept(listener); while (fd == Sockets.WOULD_BLOCK);
                client.setSoLinger(true, 0);
            }   // RST
            try {
                byte[] data = new byte[1024];
                int serverFd = fd;
                assertThatThrownBy(() -> {
                    for (int i = 0; i < 1000; i++) Sockets.send(serverFd, data, 0, data.length);
                }).isInstanceOfSatisfying(SyscallException.class,
                        e -> assertThat(e.errno()).isIn(Errno.EPIPE, Errno.ECONNRESET));
            } finally {
                Sockets.close(fd);
            }
        } finally {
            Sockets.close(listener);
        }
    }

    @Test
    void pollReportsAReadableEventFd() throws Exception {
        try (EventFd wake = new EventFd(); Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(Poll.POLLFD, 1);
            Poll.set(fds, 0, wake.fd(), Poll.POLLIN);
            assertThat(Poll.poll(fds, 1, 0)).as("nothing signalled yet").isZero();
            wake.signal();
            assertThat(Poll.poll(fds, 1, 0)).isEqualTo(1);
            assertThat(Poll.revents(fds, 0) & Poll.POLLIN).isEqualTo(Poll.POLLIN);
            wake.drain();
            assertThat(Poll.poll(fds, 1, 0)).as("drained").isZero();
        }
    }

    /**
     * A wake-up that comes after the owner closed its eventfd (a second SIGTERM closing the loops
     * while the graceful shutdown still wakes them) does nothing: no use of the freed memory (an
     * IllegalStateException), and no write to the eventfd that took the number next.
     */
    @Test
    void aSignalAfterCloseDoesNothing() throws Exception {
        EventFd closed = new EventFd();
        closed.close();
        try (EventFd next = new EventFd(); Arena arena = Arena.ofConfined()) {
            closed.signal();
            closed.close();                                      // twice: still nothing
            MemorySegment fds = arena.allocate(Poll.POLLFD, 1);
            Poll.set(fds, 0, next.fd(), Poll.POLLIN);
            assertThat(Poll.poll(fds, 1, 0)).as("the next eventfd" + (next.fd() == closed.fd() ? ", on the same number," : "")
                    + " was not signalled").isZero();
        }
    }
}
