package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import c10k.day01.TestClient;
import c10k.day03.sys.Sockets;
import c10k.day05.Handlers;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A slot's number must never be free, not even between two clients. The kernel
 * hands out the lowest free number, and reaches the slot range once every lower number is in
 * use (a JVM with many jars open; a test holding thousands of client sockets). So the test
 * fills every free number below the range, lets a client leave, and opens a socket and a file:
 * pinned, neither lands on a slot number; unpinned, the number the client had is handed on.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll and dup3 are Linux's")
@Timeout(120)
@ExtendWith(NoFdLeak.class)
class NoStrangerOnASlotNumberTest {

    private static final int SLOTS = 8;
    private final List<Integer> filler = new ArrayList<>();
    private final List<AutoCloseable> opened = new ArrayList<>();
    private Path file;

    @BeforeEach
    void setUp() throws Exception {
        file = Files.createTempFile("day06-stranger", ".txt");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : opened.reversed()) c.close();
        for (int fd : filler) Sockets.close(fd);
        Files.deleteIfExists(file);
    }

    @Test
    void pinnedNeitherASocketNorAFileLandsOnTheNumberAClientLeft() throws Exception {
        int base = Probe.highestOpenFd() + 200;
        PinnedServer server = new PinnedServer("127.0.0.1", 0, 2, Handlers.ECHO, SLOTS, base);
        opened.add(server);
        server.start();
        TestClient alice = new TestClient(server.port());
        assertThat(alice.roundTrip("alice\n")).isEqualTo("alice\n");
        assertThat(server.newestFd()).isEqualTo(base);

        int next = fillEveryNumberBelow(base);
        assertThat(next).as("every number below the range is taken, and the range itself is skipped")
                .isGreaterThanOrEqualTo(base + SLOTS);

        alice.close();                                     // Alice leaves: her slot gets the placeholder back
        Probe.awaitAllFree(server);
        int socket = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
        filler.add(socket);
        RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw");
        opened.add(f);
        int fileFd = Probe.fdOf(file);

        assertThat(List.of(socket, fileFd)).as("a socket and a file opened after Alice left")
                .noneMatch(fd -> fd >= base && fd < base + SLOTS);
        assertThat(Math.max(socket, fileFd)).as("the lowest free number lies above the range").isGreaterThanOrEqualTo(base + SLOTS);
        String placeholder = Probe.link(server.placeholderFd());
        for (int n = base; n < base + SLOTS; n++) assertThat(Probe.link(n)).as("slot number %d", n).isEqualTo(placeholder);
    }

    @Test
    void unpinnedTheNumberAClientLeftGoesToTheNextSocketOrFile() throws Exception {
        FdReuseServer server = FdReuseServer.unpinned("127.0.0.1", 0, 2, Handlers.ECHO);
        opened.add(server);
        server.start();
        TestClient alice = new TestClient(server.port());
        assertThat(alice.roundTrip("alice\n")).isEqualTo("alice\n");
        int aliceFd = server.newestFd();

        fillEveryNumberBelow(aliceFd);
        alice.close();                                     // Alice leaves: the loop closes her number
        Fds.await("the server to close Alice's fd", Probe.PATIENCE, () -> !c10k.day06.FdCalls.isOpen(aliceFd));
        // Two numbers are free below the rest now: Alice's own end (the client socket) and hers
        // on the server. The next two opens in the process take them.
        int socket = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
        filler.add(socket);
        RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw");
        opened.add(f);
        int fileFd = Probe.fdOf(file);

        assertThat(List.of(socket, fileFd)).as("the number Alice had is handed to whoever opens next").contains(aliceFd);
    }

    /** Opens sockets until the kernel hands out a number of at least {@code bound - 1}; returns the last one. */
    private int fillEveryNumberBelow(int bound) throws Exception {
        int fd;
        do {
            fd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
            filler.add(fd);
        } while (fd < bound - 1);
        if (fd == bound - 1) {                             // the very last one below: the next shows where the kernel goes
            fd = Sockets.socket(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
            filler.add(fd);
        }
        return fd;
    }
}
