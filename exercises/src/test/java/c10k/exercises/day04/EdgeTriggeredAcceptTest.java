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
        "Re-read day 4's \"What edge-triggered mode demands\" (the paragraph \"The listener is an fd too\": how many clients one edge can stand for), \"A budget per turn, and the owed list\" (the listener's budget, and what is owed when it is spent)"
        + " and \"drop, and ET_STOPS_EARLY\" (the tutorials' mode, and what it does to a burst).",
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

    /** A listener that answers from a script: an fd (>= 0), WOULD_BLOCK, or {@code fail(errno)}. */
    private static final class ErrorScript implements EdgeTriggeredAccept.Accept {
        final int[] script;
        int calls;

        ErrorScript(int... script) {
            this.script = script;
        }

        @Override
        public int accept() throws SyscallException {
            int a = calls < script.length ? script[calls] : Sockets.WOULD_BLOCK;
            calls++;
            if (a <= FAIL) throw new SyscallException("accept4", FAIL - a);
            return a;
        }
    }

    private static final int FAIL = -1000;

    private static int fail(int errno) {
        return FAIL - errno;
    }

    @Test
    @Hints({
            "accept failed for one client: is the listener broken, or is something wrong with that one connection only? What happens to the clients queued behind it if the turn stops, or throws?",
            "Re-read day 4's \"Accepting: Acceptor, and every error accept4 can return\" (which errors are one connection's, which the process's, which the listener's, and the table it links to), and the notes on error handling in accept(2).",
            "Sort accept(2)'s errors by whose they are: the one connection's, the process's (or the kernel's) resources, the listener's. Then, for each sort, ask what the next accept could still get, and who would pay if the turn stopped there."})
    void aClientGoneBeforeItWasTakenCostsTheQueueNothing() throws Exception {
        int[] goneAlready = {Errno.ECONNABORTED, Errno.EPROTO, Errno.EPERM, Errno.ETIMEDOUT, Errno.EHOSTUNREACH};
        for (int errno : goneAlready) {
            accepted.clear();
            ErrorScript listener = new ErrorScript(100, fail(errno), 101, 102, Sockets.WOULD_BLOCK);
            Result result;
            try {
                result = EdgeTriggeredAccept.acceptAll(listener, 256, accepted::add);
            } catch (SyscallException e) {
                throw new AssertionError("accept failed with " + Errno.name(errno) + " for one client, and the turn"
                        + " threw: that client had already given up (or was refused) before we took it; the listener"
                        + " is fine, and the clients queued behind it went down with the loop. Which failures are one"
                        + " client's, which the listener's?", e);
            }
            assertThat(accepted)
                    .as("one client failed with " + Errno.name(errno) + " between its handshake and our accept; the two"
                            + " queued behind it were not taken. In ET mode no new edge comes for them: they wait until"
                            + " yet another client connects. One impatient client froze the queue")
                    .containsExactly(100, 101, 102);
            assertThat(result).as("after " + Errno.name(errno) + ": the queue then ran empty (EAGAIN)").isEqualTo(Result.DRAINED);
        }
    }

    @Test
    void aClientGoneBeforeItWasTakenCountsAgainstTheBudget() throws Exception {
        ErrorScript listener = new ErrorScript(100, fail(Errno.ECONNABORTED), 101, 102, 103, Sockets.WOULD_BLOCK);
        Result result = EdgeTriggeredAccept.acceptAll(listener, 3, accepted::add);
        assertThat(listener.calls)
                .as("maxAccepts 3, and the second accept failed with ECONNABORTED: the contract counts calls of accept,"
                        + " a failed one too, so the turn makes 3 calls. A turn that does not count failures can be held"
                        + " for as long as clients keep giving up before they are taken, while the clients already"
                        + " here wait (day 4, \"A budget per turn, and the owed list\")")
                .isEqualTo(3);
        assertThat(accepted).as("3 calls: 100, the failure, 101").containsExactly(100, 101);
        assertThat(result)
                .as("the budget was spent with clients still queued (102, 103), and no edge will say so: OWED")
                .isEqualTo(Result.OWED);
    }

    @Test
    @Hints({
            "Out of descriptors, the client stays in the queue and the listener stays readable. What does the next accept return, and the one after? What would each Result make the loop do next?",
            "Re-read day 4's \"Accepting: Acceptor, and every error accept4 can return\": the table, and the appendix's paragraph on running out of fds.",
            "Which errors mean \"short of descriptors or memory\"? More than one errno says so, and none of them is helped by asking again at once."})
    void shortOfDescriptorsOrMemoryPausesWithoutAskingAgain() throws Exception {
        int[] short_ = {Errno.EMFILE, Errno.ENFILE, Errno.ENOBUFS, Errno.ENOMEM};
        for (int errno : short_) {
            accepted.clear();
            // Two clients taken, then the process is out of what a new connection needs; a
            // retry fails the same way (the client stays queued), as many times as asked.
            int[] script = new int[300];
            script[0] = 100;
            script[1] = 101;
            for (int i = 2; i < script.length; i++) script[i] = fail(errno);
            ErrorScript listener = new ErrorScript(script);
            Result result;
            try {
                result = EdgeTriggeredAccept.acceptAll(listener, 256, accepted::add);
            } catch (SyscallException e) {
                throw new AssertionError(Errno.name(errno) + " ended the turn with an exception: to the loop, that"
                        + " says the listener is broken, and the server goes down with every client it serves. Short"
                        + " of descriptors or memory is a state that passes (a client leaves, memory frees)", e);
            }
            assertThat(accepted).as("the two clients taken before " + Errno.name(errno) + " are the caller's: handed over")
                    .containsExactly(100, 101);
            assertThat(listener.calls)
                    .as("accept was asked again after " + Errno.name(errno) + " in the same turn: the client is still"
                            + " queued and the next accept fails the same way, so a turn that retries spins (in LT"
                            + " mode, at 100% CPU for as long as the client waits)")
                    .isEqualTo(3);
            assertThat(result)
                    .as(Errno.name(errno) + ": the client is still queued, and accepting must wait: PAUSED (DRAINED"
                            + " would wait for an edge the queue already had; OWED would ask again at once)")
                    .isEqualTo(Result.PAUSED);
        }
        // The pause is over (a client left): the next turn takes the client that waited, and the rest.
        accepted.clear();
        Result after = EdgeTriggeredAccept.acceptAll(new ErrorScript(102, 103, Sockets.WOULD_BLOCK), 256, accepted::add);
        assertThat(accepted).as("after the pause, the queue as the turn finds it").containsExactly(102, 103);
        assertThat(after).isEqualTo(Result.DRAINED);
    }

    @Test
    void aBrokenListenerEndsTheTurnWithItsError() {
        for (int errno : new int[] {Errno.EBADF, Errno.EINVAL, Errno.ENOTSOCK}) {
            ErrorScript listener = new ErrorScript(100, fail(errno), 101);
            accepted.clear();
            assertThatThrownBy(() -> EdgeTriggeredAccept.acceptAll(listener, 64, accepted::add))
                    .as(Errno.name(errno) + " says the listener itself is broken (not one client, not a passing"
                            + " shortage): the turn must end with it, so the loop stops and says why")
                    .isInstanceOf(SyscallException.class);
            assertThat(accepted).as("the client taken before " + Errno.name(errno) + " is handed over").containsExactly(100);
        }
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
