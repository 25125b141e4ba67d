package c10k.day05;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.NoFdLeak;
import c10k.day03.sys.Libc;
import c10k.day03.sys.Sockets;
import c10k.day04.Epoll;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Why the shared design needs one owner per fd, shown on the kernel itself. Two threads
 * waiting on one epoll are two callers of epoll_wait; each call below stands for "the next
 * thread to wake up". Nobody reads in between: the first thread is still busy with the fd.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(30)
@ExtendWith(NoFdLeak.class)
class OneEpollManyThreadsTest {

    // int socketpair(int domain, int type, int protocol, int sv[2]);
    private static final MethodHandle SOCKETPAIR = Libc.downcall("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));

    private int[] pair;

    @BeforeEach
    void pair() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(JAVA_INT, 2);
            MemorySegment state = Libc.callState();
            Libc.check("socketpair", (int) SOCKETPAIR.invokeExact(state, 1 /* AF_UNIX */,
                    Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC, 0, sv), state);
            pair = new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        }
    }

    @AfterEach
    void close() {
        Sockets.close(pair[0]);
        Sockets.close(pair[1]);
    }

    /** Sends one more piece of a request, as a client does while the server is still reading. */
    private void arrive(String bytes) throws Exception {
        byte[] b = bytes.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(Sockets.send(pair[0], b, 0, b.length)).isEqualTo(b.length);
    }

    @Test
    void edgeTriggeredStillWakesASecondThreadForAnFdTheFirstIsReading() throws Exception {
        try (Epoll epoll = new Epoll(); Epoll.Events first = new Epoll.Events(4); Epoll.Events second = new Epoll.Events(4)) {
            epoll.add(pair[1], Epoll.EPOLLIN | Epoll.EPOLLET, 7);
            arrive("GET / HT");
            assertThat(first.waitFor(epoll, 1000)).as("thread 1 takes the fd").isEqualTo(1);
            // Thread 1 has not finished reading when the rest of the request arrives: a new
            // arrival is a new edge, and the next waiter gets the same fd.
            arrive("TP/1.1\n");
            assertThat(second.waitFor(epoll, 0)).as("thread 2 gets the same fd: two readers").isEqualTo(1);
            assertThat(second.data(0)).isEqualTo(7);
            epoll.delete(pair[1]);
        }
    }

    @Test
    void oneShotWakesNobodyElseUntilTheOwnerReArms() throws Exception {
        try (Epoll epoll = new Epoll(); Epoll.Events first = new Epoll.Events(4); Epoll.Events second = new Epoll.Events(4)) {
            int interest = Epoll.EPOLLIN | Epoll.EPOLLET | Epoll.EPOLLONESHOT;
            epoll.add(pair[1], interest, 7);
            arrive("GET / HT");
            assertThat(first.waitFor(epoll, 1000)).as("thread 1 takes the fd").isEqualTo(1);
            arrive("TP/1.1\n");
            assertThat(second.waitFor(epoll, 0)).as("disarmed: nobody else is told").isZero();

            // Thread 1 re-arms when it is done; MOD checks readiness on the spot, so data that
            // came meanwhile is reported at once, to whichever thread waits next.
            epoll.modify(pair[1], interest, 7);
            assertThat(second.waitFor(epoll, 0)).as("re-armed with data waiting: reported").isEqualTo(1);
            epoll.delete(pair[1]);
        }
    }
}
