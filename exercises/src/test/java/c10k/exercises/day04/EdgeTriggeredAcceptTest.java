package c10k.exercises.day04;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.TestClient;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import c10k.day04.Epoll;
import c10k.exercises.Expect;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import c10k.exercises.day04.EdgeTriggeredAccept.Result;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "Ten clients that connect together may make one edge on the listener. How many accepts does one edge call for, and what stops a storm of connections from starving the clients already here?",
        "Re-read day 4's \"What edge-triggered mode demands\" (\"The listener is an fd too\") and \"A budget per turn, and the owed list\".",
        "The listener is read like a socket: accept until the kernel says the queue is empty (EAGAIN, Sockets.WOULD_BLOCK), or the budget is spent; a turn that stopped at the budget is owed."})
@DisplayName("2. EdgeTriggeredAccept: every client of a burst served, on one edge")
class EdgeTriggeredAcceptTest {

    /** The real-socket test opens a listener, an epoll instance and ten connections: every fd is closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("Every fd accept returns is a connection that only the caller can close,"
            + " once onAccepted has it: did your loop accept one and not hand it over (one past the budget, say)?");

    private final List<Integer> accepted = new ArrayList<>();

    /** A listener whose queue holds {@code queued} connections (fds 100, 101, ...), then EAGAIN. */
    private static final class ScriptedAccept implements EdgeTriggeredAccept.Accept {
        final int queued;
        int calls;

        ScriptedAccept(int queued) {
            this.queued = queued;
        }

        @Override
        public int accept() {
            return calls++ < queued ? 100 + calls - 1 : Sockets.WOULD_BLOCK;
        }
    }

    @Test
    void acceptsEveryQueuedConnection() throws Exception {
        ScriptedAccept listener = new ScriptedAccept(5);
        Result result = EdgeTriggeredAccept.acceptAll(listener, 256, accepted::add);
        assertThat(accepted)
                .as("5 clients connected together, one edge on the listener, and not all 5 were taken: the others"
                        + " stay in the kernel's queue until yet another client connects")
                .containsExactly(100, 101, 102, 103, 104);
        assertThat(result).as("accept said EAGAIN: the queue is empty").isEqualTo(Result.DRAINED);
        assertThat(listener.calls).as("accept calls: 5 fds, then the EAGAIN").isEqualTo(6);
    }

    @Test
    void stopsAtTheBudgetAndSaysItIsOwedATurn() throws Exception {
        ScriptedAccept listener = new ScriptedAccept(1000);
        Result result = EdgeTriggeredAccept.acceptAll(listener, 64, accepted::add);
        assertThat(accepted)
                .as("a burst of 1000 connections, maxAccepts 64: a turn that does not take exactly 64 either"
                        + " leaves queued clients with no edge to come, or starves the clients already here")
                .hasSize(64);
        assertThat(result).as("more may be queued and no edge will say so: OWED").isEqualTo(Result.OWED);
        assertThat(listener.calls)
                .as("accept calls with maxAccepts 64: 64. A 65th takes a connection out of the kernel's queue that"
                        + " onAccepted never hears of: nobody serves it, and nobody closes its fd (a leak)")
                .isEqualTo(64);
    }

    @Test
    void letsErrorsThrough() {
        EdgeTriggeredAccept.Accept outOfFds = () -> {
            throw new SyscallException("accept4", Errno.EMFILE);
        };
        assertThatThrownBy(() -> EdgeTriggeredAccept.acceptAll(outOfFds, 64, accepted::add))
                .as("EMFILE is the caller's to handle (day 4 has a spare fd for it): let it through")
                .isInstanceOf(SyscallException.class);
    }

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
    void acceptsABurstOfRealClientsOnOneEdge() throws Exception {
        int n = 10;
        int listenFd = Sockets.listen("127.0.0.1", 0, 64);
        List<TestClient> clients = new ArrayList<>();
        try (Epoll epoll = new Epoll(); Epoll.Events events = new Epoll.Events(8)) {
            epoll.add(listenFd, Epoll.EPOLLIN | Epoll.EPOLLET, -2);
            for (int i = 0; i < n; i++) clients.add(Expect.client(Sockets.localPort(listenFd)));
            while (accepted.size() < n) {
                int ready = events.waitFor(epoll, 1000);
                assertThat(ready)
                        .as("only " + accepted.size() + " of " + n + " clients accepted, and the edge-triggered"
                                + " listener reports nothing more: the rest wait in the kernel's queue until"
                                + " another client connects")
                        .isPositive();
                EdgeTriggeredAccept.acceptAll(() -> Sockets.accept(listenFd), 256, accepted::add);
            }
            assertThat(accepted).hasSize(n);
        } finally {
            for (int fd : accepted) Sockets.close(fd);
            for (TestClient c : clients) c.close();
            Sockets.close(listenFd);
        }
    }
}
