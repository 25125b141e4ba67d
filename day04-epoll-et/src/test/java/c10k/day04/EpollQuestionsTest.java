package c10k.day04;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.NoFdLeak;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Libc;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Readers' questions about the interest list, answered by the kernel itself: what a second
 * {@code EPOLL_CTL_ADD} does, what {@code MOD} and {@code DEL} of an fd that was never added do,
 * and what becomes of an event whose connection an earlier event of the same batch closed.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(30)
@ExtendWith(NoFdLeak.class)
class EpollQuestionsTest {

    // int socketpair(int domain, int type, int protocol, int sv[2]);  -- test-only binding
    private static final MethodHandle SOCKETPAIR = Libc.downcall("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));

    private final List<Integer> open = new ArrayList<>();

    @AfterEach
    void closeAndCheckForLeaks() {
        for (int fd : open) Sockets.close(fd);
    }

    /** Two connected non-blocking Unix stream sockets, closed after the test. */
    private int[] socketPair() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(JAVA_INT, 2);
            MemorySegment state = Libc.callState();
            Libc.check("socketpair", (int) SOCKETPAIR.invokeExact(state, 1 /* AF_UNIX */,
                    Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC, 0, sv), state);
            int[] pair = {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
            open.add(pair[0]);
            open.add(pair[1]);
            return pair;
        }
    }

    @Test
    void aSecondAddOfTheSameFdIsEexistNotAnUpdate() throws Throwable {
        int[] pair = socketPair();
        try (Epoll epoll = new Epoll()) {
            epoll.add(pair[1], Epoll.EPOLLIN, 1);
            // ADD is not "add or update": the fd is already on the list, and the list keeps
            // the first registration (its data, 1). Changing interest is MOD's job.
            assertThatThrownBy(() -> epoll.add(pair[1], Epoll.EPOLLIN | Epoll.EPOLLOUT, 2))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.call()).isEqualTo("epoll_ctl(ADD)");
                        assertThat(e.errno()).isEqualTo(Errno.EEXIST);
                    });
            Sockets.send(pair[0], new byte[] {1}, 0, 1);
            try (Epoll.Events events = new Epoll.Events(8)) {
                assertThat(events.waitFor(epoll, 1000)).isEqualTo(1);
                assertThat(events.data(0)).as("the first registration's data").isEqualTo(1);
                assertThat(events.events(0) & Epoll.EPOLLOUT).as("the second ADD's interest was not taken").isZero();
            }
            epoll.modify(pair[1], Epoll.EPOLLIN, 3);    // the way to change it
            epoll.delete(pair[1]);
        }
    }

    @Test
    void modAndDelOfAnFdThatWasNeverAddedAreEnoent() throws Throwable {
        int[] pair = socketPair();
        try (Epoll epoll = new Epoll()) {
            assertThatThrownBy(() -> epoll.modify(pair[1], Epoll.EPOLLIN, 1))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.call()).isEqualTo("epoll_ctl(MOD)");
                        assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                    });
            assertThatThrownBy(() -> epoll.delete(pair[1]))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.call()).isEqualTo("epoll_ctl(DEL)");
                        assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                    });
            // And a second DEL after a first one: the fd is no longer on the list, the same ENOENT.
            epoll.add(pair[1], Epoll.EPOLLIN, 1);
            epoll.delete(pair[1]);
            assertThatThrownBy(() -> epoll.delete(pair[1]))
                    .isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        }
    }

    /**
     * "What if a connection is deleted while its callback runs?" The batch epoll_wait returned
     * is a copy, filled before the loop handled its first event: closing a connection takes it
     * off the interest list, but not out of the array in hand. A later event of the same batch
     * still names it, and the loop must see that the connection is gone and skip it, as
     * {@link EventLoop}'s {@code handle} does with its null check on the table by fd.
     */
    @Test
    void anEventForAConnectionClosedEarlierInTheSameBatchIsStillInTheBatch() throws Throwable {
        int[] a = socketPair();
        int[] b = socketPair();
        Object[] byFd = new Object[4096];                 // the loop's table, indexed by fd
        byFd[a[1]] = "connection A";
        byFd[b[1]] = "connection B";
        try (Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            epoll.add(a[1], Epoll.EPOLLIN, a[1]);
            epoll.add(b[1], Epoll.EPOLLIN, b[1]);
            Sockets.send(a[0], new byte[] {'a'}, 0, 1);
            Sockets.send(b[0], new byte[] {'b'}, 0, 1);
            assertThat(events.waitFor(epoll, 1000)).as("both ready, one batch").isEqualTo(2);

            List<String> handled = new ArrayList<>();
            int skipped = 0;
            for (int i = 0; i < 2; i++) {
                int fd = (int) events.data(i);
                Object c = byFd[fd];
                if (c == null) {                          // closed earlier in this same batch
                    skipped++;
                    continue;
                }
                handled.add((String) c);
                // The first event's handler closes the other connection (a client that sent
                // "kick B", a shutdown, a broken peer group): deregister, then close.
                int other = fd == a[1] ? b[1] : a[1];
                epoll.delete(other);
                Sockets.close(other);
                open.remove((Integer) other);
                byFd[other] = null;
            }
            assertThat(handled).as("only the first event's connection was handled").hasSize(1);
            assertThat(skipped).as("the second event named the closed connection, and was skipped").isEqualTo(1);
            // Asked again, the kernel reports only the survivor (level-triggered: its byte is unread).
            int survivor = byFd[a[1]] != null ? a[1] : b[1];
            assertThat(events.waitFor(epoll, 0)).isEqualTo(1);
            assertThat(events.data(0)).as("the closed fd is off the list").isEqualTo(survivor);
            epoll.delete(survivor);
        }
    }
}
