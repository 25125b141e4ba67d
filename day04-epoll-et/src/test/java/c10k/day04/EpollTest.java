package c10k.day04;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.NoFdLeak;
import c10k.day03.sys.Libc;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/** The binding on its own, and the level/edge difference shown with no server around it. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(30)
@ExtendWith(NoFdLeak.class)
class EpollTest {

    // int socketpair(int domain, int type, int protocol, int sv[2]);  -- test-only binding
    private static final MethodHandle SOCKETPAIR = Libc.downcall("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));

    /** Two connected non-blocking Unix stream sockets. */
    private static int[] socketPair() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(JAVA_INT, 2);
            MemorySegment state = Libc.callState();
            Libc.check("socketpair", (int) SOCKETPAIR.invokeExact(state, 1 /* AF_UNIX */,
                    Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC, 0, sv), state);
            return new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        }
    }

    @Test
    void theEventLayoutIsPackedOnX86AndPaddedOnArm() {
        var x86 = Epoll.eventLayout("amd64");
        assertThat(x86.byteSize()).isEqualTo(12);
        assertThat(x86.byteOffset(PathElement.groupElement("data"))).isEqualTo(4);
        var arm = Epoll.eventLayout("aarch64");
        assertThat(arm.byteSize()).isEqualTo(16);
        assertThat(arm.byteOffset(PathElement.groupElement("data"))).isEqualTo(8);
        assertThat(Epoll.EVENT.byteSize()).isEqualTo(Set.of("amd64", "x86_64").contains(System.getProperty("os.arch")) ? 12 : 16);
    }

    @Test
    void levelTriggeredReportsUndrainedDataAgainEdgeTriggeredDoesNot() throws Throwable {
        assertThat(reportsAfterPartialRead(0)).as("LT: still readable, so reported again").isTrue();
        assertThat(reportsAfterPartialRead(Epoll.EPOLLET)).as("ET: no new data, no new edge").isFalse();
    }

    /** Writes 10 bytes, reads 4 of them, then asks epoll once more without waiting. */
    private static boolean reportsAfterPartialRead(int trigger) throws Throwable {
        int[] pair = socketPair();
        try (Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            epoll.add(pair[1], Epoll.EPOLLIN | trigger, 42);
            byte[] ten = "0123456789".getBytes();
            assertThat(Sockets.send(pair[0], ten, 0, 10)).isEqualTo(10);

            assertThat(events.waitFor(epoll, 1000)).isEqualTo(1);
            assertThat(events.data(0)).as("the data we registered comes back").isEqualTo(42);
            assertThat(events.events(0) & Epoll.EPOLLIN).isNotZero();

            byte[] some = new byte[4];
            assertThat(Sockets.recv(pair[1], some, 0, 4)).isEqualTo(4);   // 6 bytes stay unread
            boolean reportedAgain = events.waitFor(epoll, 0) == 1;

            if (trigger == Epoll.EPOLLET) {
                // A new arrival is a new edge: the fd is reported again, with all 7 bytes waiting.
                Sockets.send(pair[0], ten, 0, 1);
                assertThat(events.waitFor(epoll, 1000)).isEqualTo(1);
                byte[] rest = new byte[16];
                assertThat(Sockets.recv(pair[1], rest, 0, 16)).isEqualTo(7);
            }
            epoll.delete(pair[1]);
            return reportedAgain;
        } finally {
            Sockets.close(pair[0]);
            Sockets.close(pair[1]);
        }
    }

    @Test
    void aRegistrationOutlivesTheClosedFdWhileADupIsOpen() throws Throwable {
        // The interest list holds the open file description, not the number: close() of one
        // fd of a dup'ed pair does not remove it, and events keep coming for a "closed" fd.
        MethodHandle dup = Libc.downcall("dup", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        int[] pair = socketPair();
        int copy;
        try (Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            MemorySegment state = Libc.callState();
            copy = Libc.check("dup", (int) dup.invokeExact(state, pair[1]), state);
            epoll.add(pair[1], Epoll.EPOLLIN, 7);
            int registered = pair[1];
            Sockets.close(registered);
            Sockets.send(pair[0], new byte[] {1}, 0, 1);
            assertThat(events.waitFor(epoll, 1000)).as("reported although its fd is closed").isEqualTo(1);
            assertThat(events.data(0)).isEqualTo(7);
            try {
                epoll.delete(registered);
                throw new AssertionError("EPOLL_CTL_DEL on the closed number should fail");
            } catch (SyscallException expected) {
                assertThat(expected.call()).isEqualTo("epoll_ctl(DEL)");   // EBADF: the number is gone
            }
            Sockets.close(copy);   // the last reference: now the registration goes
            assertThat(events.waitFor(epoll, 0)).isZero();
        } finally {
            Sockets.close(pair[0]);
        }
    }
}
