package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import c10k.day01.Fds;
import c10k.day01.KernelView;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import c10k.day03.NativeConnection;
import c10k.day03.sys.Sockets;
import c10k.day04.Epoll;
import c10k.day04.EventLoop;
import c10k.day04.LoopExtension;
import c10k.day04.Tuning;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The thundering herd, counted. Four day 4 loops, level-triggered, each with its own epoll
 * instance, all watch ONE listening socket; one client connects. Without
 * {@code EPOLLEXCLUSIVE} the kernel wakes all four; with it (epoll_ctl(2), Linux 4.5) it
 * wakes one, and the kernel's own view of the other three (asleep in {@code epoll_wait}, state
 * S in {@code /proc}) says they were not woken.
 *
 * <p>The loops here never accept (a budget of 0 accepts per turn), and that is what makes
 * the count exact. A loop that accepts would race the others: the losers would find the
 * queue empty, and epoll_wait, finding no event left to report, would put them back to sleep
 * inside the kernel without returning. They were woken all the same (the herd costs context
 * switches), but no counter of ours would see it. Never accepting, the listener stays ready,
 * and every loop the kernel woke returns and keeps returning (level-triggered): its wake-up
 * counter grows. One that was not woken stays asleep, since one connect wakes the listener's
 * wait queue once.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EpollExclusiveTest {

    static final int LOOPS = 4;

    @ParameterizedTest(name = "EPOLLEXCLUSIVE {0}")
    @ValueSource(booleans = {false, true})
    void oneConnectWakesEveryLoopOrJustOne(boolean exclusive) throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/thread-self/syscall")), "the kernel does not say which call a thread sleeps in");
        int fdsBefore = Fds.baseline();
        int listenFd = Sockets.listen("127.0.0.1", 0, 16);
        int port = Sockets.localPort(listenFd);
        Tuning neverAccepts = new Tuning(false, 1, 0, false, false);
        Stats stats = new Stats();
        List<EventLoop> loops = new ArrayList<>();
        String[] tids = new String[LOOPS];
        try {
            for (int i = 0; i < LOOPS; i++) {
                EventLoop l = new EventLoop("herd-" + i, listenFd, neverAccepts, new LoopExtension() { },
                        new NativeConnection.LoopBuffers(1024, NativeConnection.ECHO, stats.newCounters()), Timeouts.NONE, System::nanoTime);
                if (exclusive) l.listenerFlags(Epoll.EPOLLEXCLUSIVE);
                int me = i;
                // On the loop thread, before each epoll_wait: which kernel thread is this loop?
                l.beforeEachWait(() -> {
                    if (tids[me] == null) tids[me] = KernelView.threadSelf();
                });
                loops.add(l);
                l.start();
            }
            // Every loop asleep in epoll_wait, as the kernel itself says (/proc/self/task/TID/syscall).
            // One that had not got there yet would find the listener ready whatever the flag.
            awaitCondition(() -> {
                for (String tid : tids) if (tid == null || !KernelView.asleepInEpollWait(tid)) return false;
                return true;
            });
            long[] before = new long[LOOPS];
            for (int i = 0; i < LOOPS; i++) before[i] = loops.get(i).wakeups();

            try (Socket client = new Socket()) {
                client.connect(new InetSocketAddress("127.0.0.1", port));   // queued by the kernel; nobody accepts
                // Without the flag, until all four have woken. With it, until one has; then the
                // others are looked at in the kernel: asleep in epoll_wait, not runnable. The
                // kernel wakes every waiter it is going to wake in one pass over the listener's
                // wait queue, done before the first woken thread can even return to Java, so a
                // loop still asleep now was not woken (no waiting for it not to wake).
                awaitCondition(() -> woken(loops, before) == (exclusive ? 1 : LOOPS));
                if (exclusive) {
                    for (int i = 0; i < LOOPS; i++) {
                        if (loops.get(i).wakeups() > before[i]) continue;
                        assertThat(KernelView.asleepInEpollWait(tids[i])).as("loop " + i + " still asleep").isTrue();
                    }
                }
                int woken = woken(loops, before);
                System.out.println("one connect, " + LOOPS + " loops, EPOLLEXCLUSIVE " + exclusive + ": " + woken + " woken");
                assertThat(woken).isEqualTo(exclusive ? 1 : LOOPS);
            }
        } finally {
            for (EventLoop l : loops) {
                l.close();
                l.releaseFds(true);
            }
            Sockets.close(listenFd);
        }
        Fds.awaitNoLeak(fdsBefore);
    }

    private static int woken(List<EventLoop> loops, long[] before) {
        int n = 0;
        for (int i = 0; i < loops.size(); i++) if (loops.get(i).wakeups() > before[i]) n++;
        return n;
    }

    /** Bounded polling for a condition another thread makes true (day 1's Fds.await), not a wait for a time. */
    static void awaitCondition(BooleanSupplier condition) {
        Fds.await("the loops' wake-ups", java.time.Duration.ofSeconds(30), condition);
    }
}
