package c10k.day04;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.KernelView;
import c10k.day01.TestClient;
import c10k.day03.sys.Sockets;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Two rules of the engine that no answer on the wire shows, shown by what the kernel says
 * about the server instead: {@code EPOLLOUT} is watched only while output waits (else a
 * level-triggered loop never sleeps again), and a connection leaves the epoll set before its
 * fd is closed (else a registration outlives the close while any other reference to the
 * socket is open: a dup, a fork, a library that took it).
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InterestAndRegistrationTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private final int fdsBefore = Fds.baseline();
    private EpollEchoServer server;
    private volatile String loopTid;

    private EpollEchoServer start(EpollEchoServer.Mode mode) throws IOException {
        server = new EpollEchoServer("127.0.0.1", 0, mode);
        server.start();
        server.beforeEachWait(() -> {
            if (loopTid == null) loopTid = KernelView.threadSelf();
        });
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
        Fds.awaitNoLeak(fdsBefore);
    }

    /** A socket is nearly always writable: a level-triggered loop that kept EPOLLOUT would be told so on every call. */
    @Test
    void anIdleLevelTriggeredLoopSleepsOnceItsAnswersAreOut() throws Exception {
        EpollEchoServer s = start(EpollEchoServer.Mode.LT);
        try (TestClient c = new TestClient(s.port())) {
            for (int i = 0; i < 3; i++) assertThat(c.roundTrip("line " + i + "\n")).isEqualTo("line " + i + "\n");
            Fds.await("the loop asleep in epoll_wait", PATIENCE, () -> loopTid != null && KernelView.asleepInEpollWait(loopTid));
        }
    }

    @Test
    void aClosedConnectionLeavesNoRegistrationBehindWhileADupIsOpen() throws Throwable {
        EpollEchoServer s = start(EpollEchoServer.Mode.ET);
        int dup;
        String inode;
        try (TestClient c = new TestClient(s.port())) {
            assertThat(c.roundTrip("hello\n")).isEqualTo("hello\n");
            inode = serverSideInode(s.port(), c.socket().getLocalPort());
            dup = (int) DUP.invokeExact(fdOf(inode));   // another reference to the socket, as a fork would hold
            assertThat(dup).isPositive();
            assertThat(watchedByAnEpoll(inode)).as("registered while connected").isTrue();
        }
        try {
            Fds.await("the server closed its side", PATIENCE, () -> s.connectionCount() == 0);
            assertThat(watchedByAnEpoll(inode)).as("deregistered before the close, though the socket lives on in the dup").isFalse();
        } finally {
            Sockets.close(dup);
        }
    }

    private static final MethodHandle DUP = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("dup").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    /** The inode of the server side of this connection, from /proc/self/net/tcp (decimal). */
    private static String serverSideInode(int serverPort, int clientPort) throws IOException {
        String local = String.format(":%04X", serverPort), remote = String.format(":%04X", clientPort);
        for (String row : Files.readAllLines(Path.of("/proc/self/net/tcp"))) {
            String[] f = row.trim().split("\\s+");
            if (f.length > 9 && f[1].endsWith(local) && f[2].endsWith(remote)) return f[9];
        }
        throw new AssertionError("no server side for client port " + clientPort);
    }

    private static int fdOf(String inode) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals("socket:[" + inode + "]")) return Integer.parseInt(p.getFileName().toString());
                } catch (IOException gone) {
                    // the listing's own fd
                }
            }
        }
        throw new AssertionError("no fd is socket " + inode);
    }

    /** Whether any epoll instance of this process lists the socket: fdinfo's "tfd: … ino:HEX" lines. */
    private static boolean watchedByAnEpoll(String inode) throws IOException {
        String ino = "ino:" + Long.toHexString(Long.parseLong(inode));
        try (Stream<Path> infos = Files.list(Path.of("/proc/self/fdinfo"))) {
            for (Path p : (Iterable<Path>) infos::iterator) {
                try {
                    for (String line : Files.readAllLines(p)) {
                        if (line.startsWith("tfd:") && (line.endsWith(" " + ino) || line.contains(" " + ino + " "))) return true;
                    }
                } catch (IOException gone) {
                    // closed while we looked
                }
            }
        }
        return false;
    }
}
