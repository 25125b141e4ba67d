package c10k.exercises.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.TestClient;
import c10k.day03.sys.Sockets;
import c10k.day06.FdCalls;
import c10k.exercises.Expect;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "A ticket comes back after its connection is over, and the number it was for now names someone else, or no one. What must a ticket carry so that your timers can tell, and what must they remember so that the answer is still right after the next client, and after no client at all?",
        "Re-read day 6's \"The race\" and \"Why it is catastrophic\" (a late close, a late registration: not only a late write), and day 4's \"Timers: closing what nobody else will close\" for how a fixed timeout keeps its deadlines in order.",
        "List every event that ends a connection's life in your timers, and every call that can come after it with the old ticket; then walk through expire while closeIdle runs the loop's own close and accept."})
@DisplayName("2. IdleTimers: idle deadlines for connections known by number, and tickets that come back late")
class IdleTimersTest {

    /** The real-socket test opens a listener, two connections and a socketpair: all closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("the timers never open or close a descriptor themselves: closeIdle is the"
            + " loop's. Was an fd left open, or closed twice?");

    private static final long SECOND = 1_000_000_000L;
    private static final long IDLE = 30 * SECOND;
    private static final int FD = 7;

    /** Every fd the timers asked the loop to close, in order. */
    private final List<Integer> closedByTimers = new ArrayList<>();

    private IdleTimers timers(int maxFds) {
        return new IdleTimers(maxFds, IDLE, closedByTimers::add);
    }

    @Test
    void closesAnIdleConnectionAtItsDeadlineAndNotBefore() {
        IdleTimers t = timers(64);
        t.opened(FD, 0);
        assertThat(t.expire(IDLE - 1)).as("a pass 1 ns before the connection has been idle for the whole timeout").isZero();
        assertThat(closedByTimers).as("the connection on fd 7 was closed before it had been idle for the whole timeout").isEmpty();
        assertThat(t.expire(IDLE))
                .as("at the deadline the connection has been idle for idleNanos exactly: \"for idleNanos or more\" (the contract)")
                .isEqualTo(1);
        assertThat(closedByTimers).as("closed once, through closeIdle, with its fd").containsExactly(FD);
        assertThat(t.expire(10 * IDLE)).as("a later pass: it was closed already, once is all").isZero();
        assertThat(closedByTimers).containsExactly(FD);
    }

    @Test
    void activityMovesTheDeadlineLater() {
        IdleTimers t = timers(64);
        long ticket = t.opened(FD, 0);
        t.active(ticket, 5 * SECOND);
        assertThat(t.expire(IDLE)).as("the client read something at 5 s: idle for 25 s only at 30 s").isZero();
        assertThat(closedByTimers).as("a client that read something 25 s ago was closed as idle for 30 s").isEmpty();
        assertThat(t.expire(5 * SECOND + IDLE)).as("idle since its read at 5 s: due at 35 s").isEqualTo(1);
        assertThat(closedByTimers).containsExactly(FD);
    }

    @Test
    void aConnectionTheLoopClosedIsNeverClosedByTheTimers() {
        IdleTimers t = timers(64);
        long ticket = t.opened(FD, 0);
        t.closed(ticket);
        t.expire(10 * IDLE);
        assertThat(closedByTimers)
                .as("the loop closed the connection on fd 7 (a FIN, an error) and said so: the timers still closed fd 7,"
                        + " and fd 7 is no longer that connection's")
                .isEmpty();
    }

    @Test
    void onePassClosesEveryConnectionThatIsDue() {
        int n = 50_000;
        IdleTimers t = timers(n + 10);
        long[] tickets = new long[n + 10];
        for (int fd = 10; fd < n + 10; fd++) tickets[fd] = t.opened(fd, fd);            // opened at fd ns
        for (int fd = 11; fd < n + 10; fd += 2) t.active(tickets[fd], SECOND);          // the odd ones read at 1 s
        long now = IDLE + n + 10;                                                       // every even one is due
        assertThat(t.expire(now))
                .as("%,d connections idle since they opened and %,d that read at 1 s, at a pass where every one of the"
                        + " first is due and none of the others: what expire returned", n / 2, n / 2)
                .isEqualTo(n / 2);
        assertThat(closedByTimers).as("closed in one pass: every due connection, once each").hasSize(n / 2).doesNotHaveDuplicates()
                .allMatch(fd -> fd % 2 == 0);
        assertThat(t.expire(now)).as("a second pass at the same instant: nothing more is due").isZero();
        assertThat(t.expire(SECOND + IDLE)).as("the ones that read at 1 s, due together").isEqualTo(n / 2);
        assertThat(closedByTimers).hasSize(n).doesNotHaveDuplicates();
    }

    @Test
    @Hints({
            "Alice's ticket came back after Bob got her number. Which connection did your timers think it named?",
            "Re-read day 6's \"The race\": the late write there, the late report here. What tells two clients of one number apart?",
            "Two clients of one number must give two tickets that your timers can tell apart, and that stay apart however the clients come and go."})
    void aLateReportForTheClientBeforeDoesNotKeepTheNextAlive() {
        IdleTimers t = timers(64);
        long alice = t.opened(FD, 0);
        t.closed(alice);                                  // at 5 s Alice leaves: the loop closes fd 7
        t.opened(FD, 5 * SECOND);                         // and Bob gets fd 7, the lowest free number, at once
        t.active(alice, 6 * SECOND);                      // a worker's report of Alice's last line comes back late
        t.expire(5 * SECOND + IDLE);
        assertThat(closedByTimers)
                .as("Bob has held fd 7 since 5 s and never sent a byte, and at 35 s he was not closed: a report about"
                        + " Alice, who left fd 7 at 5 s, kept him alive. A number does not say whose it is (day 6, \"The"
                        + " race\"); a silent client held for ever is an fd that never comes back")
                .containsExactly(FD);
    }

    @Test
    @Hints({
            "The loop said Alice was closed, once her connection was long over. What did your timers do to fd 7's clock?",
            "Re-read day 6's \"Why it is catastrophic\": a late close hangs up on the number's next owner. Here it does something quieter.",
            "A report whose ticket is not the number's current client must leave that client's deadline as it was."})
    void aLateCloseForTheClientBeforeDoesNotCancelTheNext() {
        IdleTimers t = timers(64);
        long alice = t.opened(FD, 0);
        t.expire(IDLE);                                   // the timers close Alice: fd 7 is free
        t.opened(FD, IDLE);                               // Bob gets fd 7 in the same pass
        t.closed(alice);                                  // an error report about Alice's connection comes back late
        t.expire(2 * IDLE);
        assertThat(closedByTimers)
                .as("the timers closed Alice at 30 s and Bob got fd 7; a late report that Alice's connection was closed"
                        + " cancelled Bob's clock, and Bob, silent since 30 s, was not closed at 60 s")
                .containsExactly(FD, FD);
    }

    @Test
    @Hints({
            "Alice's connection is over and no client holds fd 7. Her ticket comes back. What do your timers know about fd 7 now?",
            "Re-read day 6's \"Why it is catastrophic\": the new owner of a number need not be a client (a log file, a pipe, the loop's eventfd).",
            "A ticket whose number has had no client since is still not a live connection: what tells your timers it is over?"})
    void aLateReportForAConnectionThatIsOverArmsNothing() {
        IdleTimers t = timers(64);
        long alice = t.opened(FD, 0);
        long carol = t.opened(FD + 1, 0);
        t.closed(alice);                                  // Alice leaves at 0; nobody takes fd 7
        t.active(alice, SECOND);                          // her worker's report, late
        t.closed(alice);                                  // and an error report, later still
        t.expire(IDLE);
        assertThat(closedByTimers)
                .as("no client of the timers holds fd 7 since Alice left at 0 s, and her late reports came back: the"
                        + " timers closed fd 7 at 30 s, whatever the process holds on it now (a file, a pipe, the next"
                        + " client), or lost Carol on fd 8")
                .containsExactly(FD + 1);
        long dave = t.opened(FD, 2 * IDLE);
        t.active(carol, 2 * IDLE);                        // late, Carol was closed at 30 s
        t.expire(3 * IDLE);
        assertThat(closedByTimers).as("Dave, on fd 7 since 60 s, due at 90 s, once").containsExactly(FD + 1, FD);
        t.closed(dave);
    }

    @Test
    @Hints({
            "Alice left and Bob arrived in one pass of the loop, at one reading of the clock. What in Alice's ticket differs from Bob's?",
            "Re-read day 4's \"Timers: closing what nobody else will close\" and how the loop reads its clock (once per pass). Is an instant an identity?",
            "Two tickets for one number, made at the same now, must still differ."})
    void twoClientsOfOneNumberInOnePassAreTwoClients() {
        IdleTimers t = timers(64);
        long alice = t.opened(FD, 0);                     // one pass, one now: Alice connects, resets,
        t.closed(alice);
        t.opened(FD, 0);                                  // and Bob gets fd 7
        t.active(alice, IDLE / 2);                        // a worker's report about Alice, late
        t.expire(IDLE);
        assertThat(closedByTimers)
                .as("Alice and Bob had fd 7 in the same pass, at the same now; a late report about Alice kept Bob, silent"
                        + " since 0 s, alive at 30 s: the clock does not tell two clients apart")
                .containsExactly(FD);
    }

    @Test
    @Hints({
            "closeIdle is the loop's close: it reports the close of the very connection you are expiring, accepts the client waiting for a number, and reads from it, all before it returns. What did your timers do with that report, and with the number once closeIdle returned?",
            "Re-read day 6's \"The race\": the number goes to the next client at the first accept after the close. Here that accept runs inside your own pass.",
            "By the time closeIdle runs, the connection it closes must already be over in your timers: a report about it then finds nothing to do, and nothing about it may touch the number afterwards."})
    void closeIdleMayReportTheCloseAndAcceptTheNextClientOntoTheSameNumber() {
        Map<Integer, Long> tickets = new HashMap<>();
        List<Integer> closed = new ArrayList<>();
        IdleTimers[] t = new IdleTimers[1];
        long[] now = {0};
        t[0] = new IdleTimers(64, IDLE, fd -> {
            closed.add(fd);
            t[0].closed(tickets.get(fd));                 // the loop's close path reports every close
            long next = t[0].opened(fd, now[0]);          // a client waited for a free number: it gets this one
            tickets.put(fd, next);
            t[0].active(next, now[0]);                    // and its first bytes are already there
        });
        for (int fd = 10; fd < 13; fd++) tickets.put(fd, t[0].opened(fd, 0));
        now[0] = IDLE;
        assertThat(t[0].expire(now[0]))
                .as("three connections due at 30 s, one pass; closeIdle, the loop's close, reported each close and gave"
                        + " each number to a waiting client before it returned: what expire returned")
                .isEqualTo(3);
        assertThat(closed).as("each closed once, although each number got a new client inside closeIdle").containsExactly(10, 11, 12);
        now[0] = 2 * IDLE - 1;
        assertThat(t[0].expire(now[0])).as("the clients accepted inside closeIdle at 30 s are not due before 60 s").isZero();
        now[0] = 2 * IDLE;
        assertThat(t[0].expire(now[0]))
                .as("the three clients that got fds 10 to 12 inside closeIdle at 30 s, silent since, at 60 s: your pass"
                        + " finished with the old connection after closeIdle had already given its number to a new client,"
                        + " and the new client's clock was lost or mistaken for the old one's")
                .isEqualTo(3);
        assertThat(closed).containsExactly(10, 11, 12, 10, 11, 12);
    }

    @Test
    @Hints({
            "active runs for every read of every connection. What does one call of yours create, or walk through?",
            "Re-read day 4's \"The data structure, from the need\": what a fixed timeout lets a restarted clock do.",
            "A read moves one connection's deadline: to the latest of all, since every clock has the same length."})
    void aMillionReadsAllocateNothing() {
        int n = 50_000;
        IdleTimers t = timers(n);
        long[] tickets = new long[n];
        for (int fd = 0; fd < n; fd++) tickets[fd] = t.opened(fd, 0);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long now = 0;
        t.active(tickets[0], ++now);                      // the first call links and loads what it needs: not a read's cost
        threads.getCurrentThreadAllocatedBytes();
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int round = 0; round < 20; round++) {
            for (int fd = 0; fd < n; fd++) t.active(tickets[(fd * 7919) % n], ++now);   // reads, in a scattered order
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated)
                .as("a million calls of active, on 50,000 connections, allocated %,d bytes: active runs for every read, and"
                        + " what it allocates is paid for by every byte the server serves (the contract: active allocates"
                        + " nothing)", allocated)
                .isLessThan(64 * 1024);
        assertThat(t.expire(now - n + IDLE)).as("every connection read something in the last round of reads, 30 s ago at most").isZero();
        assertThat(t.expire(now + IDLE)).as("and all are due 30 s after their last read").isEqualTo(n);
    }

    /**
     * Day 6 on real sockets: Alice's and then Bob's connection on one pinned number ({@code dup3},
     * as day 6's server does), a report about Alice that comes back late, and after Bob, a file
     * (a socketpair end here) that gets the number, as the next {@code open} would.
     */
    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "dup3 and the FFM sockets are Linux's")
    void onRealSocketsTheTimersCloseTheirClientAndNeverTheNumbersNextOwner() throws Exception {
        int number = 1_310;
        FdCalls.Limit limit = FdCalls.raiseSoftLimitToHard();
        assertThat(limit.soft()).as("the open-files limit must be above the pinned number " + number).isGreaterThan(number);
        assertThat(FdCalls.isOpen(number)).as("fd " + number + " is already in use in this JVM").isFalse();
        List<Integer> closedByLoop = new ArrayList<>();
        IdleTimers t = new IdleTimers(number + 1, IDLE, fd -> {
            closedByLoop.add(fd);
            Sockets.close(fd);                            // the loop's close: the number is free at once
        });
        int listenFd = -1;
        int[] file = null;
        try {
            listenFd = Sockets.listen("127.0.0.1", 0, 16);
            long alice;
            try (TestClient a = Expect.client(Sockets.localPort(listenFd))) {
                pin(acceptOne(listenFd), number);
                alice = t.opened(number, 0);
                a.reset();
            }
            Sockets.close(number);                        // at 1 s the loop sees Alice's reset and closes her
            t.closed(alice);
            try (TestClient bob = Expect.client(Sockets.localPort(listenFd))) {
                pin(acceptOne(listenFd), number);         // Bob: fd 1310, at once
                long bobs = t.opened(number, SECOND);
                t.active(alice, 2 * SECOND);              // a worker's report about Alice, late
                assertThat(t.expire(SECOND + IDLE - 1)).as("Bob, silent since 1 s, at 31 s - 1 ns").isZero();
                t.expire(SECOND + IDLE);
                assertThat(closedByLoop)
                        .as("Bob has held fd 1310 since 1 s and never sent a byte; at 31 s the timers did not close him:"
                                + " a late report about Alice, who had fd 1310 before him, kept him alive")
                        .containsExactly(number);
                assertThat(bob.endsStream()).as("Bob's client sees the end of the stream: the loop closed his socket").isTrue();
                // fd 1310 is free: the next open() in the process gets it. Here a socketpair end plays that file.
                file = FdCalls.socketpair(Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC);
                FdCalls.dup3(file[0], number);
                t.closed(bobs);                           // late reports about Bob and Alice, after the file took 1310
                t.active(bobs, SECOND + IDLE + 1);
                t.active(alice, SECOND + IDLE + 1);
                t.expire(10 * IDLE);
                assertThat(closedByLoop)
                        .as("after Bob, fd 1310 went to a file of the process; a late report about a connection that was"
                                + " over made the timers close fd 1310 again: the file (day 6, \"Why it is catastrophic\")")
                        .containsExactly(number);
                assertThat(FdCalls.isOpen(number)).as("the file on fd 1310 is still open").isTrue();
            }
        } finally {
            if (FdCalls.isOpen(number)) Sockets.close(number);
            if (file != null) {
                Sockets.close(file[0]);
                Sockets.close(file[1]);
            }
            if (listenFd >= 0) Sockets.close(listenFd);
        }
    }

    /** What day 6's server does with each accepted socket: dup3 it onto the number, close the one accept chose. */
    private static void pin(int acceptedFd, int number) throws IOException {
        FdCalls.dup3(acceptedFd, number);
        Sockets.close(acceptedFd);
    }

    /** Accepts the connection the test just made (connect() returned: it is queued, or about to be). */
    private static int acceptOne(int listenFd) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            int fd = Sockets.accept(listenFd);
            if (fd != Sockets.WOULD_BLOCK) return fd;
            LockSupport.parkNanos(100_000);
        }
        throw new IllegalStateException("the test could not accept its own connection");
    }
}
