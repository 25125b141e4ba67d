package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.Fds;
import c10k.day01.TestClient;
import c10k.day03.sys.Errno;
import c10k.day03.sys.Faults;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The master's two ways to lose track of a worker: one launched while a shutdown takes its list
 * (it outlived the master, listening), and one that never says it is ready (start-up waited for
 * ever); and, while files are short, one it cannot launch again and one its SIGTERM never
 * reached. Each is reached through the master's own seams: the hook that runs between a worker's
 * launch and the wait for its ready line, the main class a worker runs, a launch made to fail,
 * and this JVM's own fd table, filled.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the process form is taught on Linux (SO_REUSEPORT)")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MasterFaultsTest {

    private static final List<String> WORKER = List.of("--mode", "loops-reuseport", "--threads", "1");

    /**
     * A worker is killed; its replacement is launched and held there by the hook, not yet ready,
     * while the shutdown lists the workers: the shutdown stops it too. Red when a worker is
     * stored only once it printed its ready line.
     */
    @Test
    void aReplacementStillStartingWhenTheShutdownComesIsStoppedWithTheRest() throws Exception {
        int fdsBefore = Fds.baseline();
        CountDownLatch replacementLaunched = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Process> replacement = new AtomicReference<>();
        Master master = new Master("127.0.0.1", 0, 2, WORKER);
        AtomicBoolean started = new AtomicBoolean();
        master.onLaunched((i, p) -> {
            if (!started.get()) return;                          // the first two, from start()
            replacement.set(p);
            replacementLaunched.countDown();
            try {
                release.await();                               // "replacement started", not yet "ready"
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            master.start();
            started.set(true);
            long[] pids = master.workerPids();
            ProcessHandle.of(pids[0]).orElseThrow().destroyForcibly();
            assertThat(replacementLaunched.await(60, TimeUnit.SECONDS)).isTrue();
            master.shutdownGracefully(Duration.ZERO);          // SIGTERM to the master, as ServerRun passes it on
            Process p = replacement.get();
            assertThat(p.isAlive()).as("the replacement launched during the shutdown").isFalse();
            assertThat(ProcessHandle.of(pids[1]).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        } finally {
            release.countDown();
            if (replacement.get() != null) replacement.get().destroyForcibly().waitFor();
            master.close();
        }
        awaitRestartThreadsEnded();
        Fds.awaitNoLeak(fdsBefore);
    }

    /**
     * A worker that never prints its ready line fails the start within the ready timeout, and is
     * stopped; the port is let go. Red (the timeout below) when the wait for the line has no deadline.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aWorkerThatNeverSaysItIsReadyFailsTheStartInsteadOfHangingIt() throws Exception {
        int fdsBefore = Fds.baseline();
        AtomicReference<Process> silent = new AtomicReference<>();
        Master master = new Master("127.0.0.1", 0, 1, WORKER).workerMain(SilentWorker.class.getName())
                .readyTimeout(Duration.ofSeconds(2)).onLaunched((i, p) -> silent.set(p));
        try {
            assertThatThrownBy(master::start).isInstanceOf(IOException.class).hasMessageContaining("did not start")
                    .hasMessageContaining("nothing within 2000 ms");
            assertThat(silent.get().waitFor(30, TimeUnit.SECONDS)).as("the silent worker was stopped").isTrue();
            try (ServerSocket again = new ServerSocket()) {
                again.bind(new InetSocketAddress("127.0.0.1", master.port()));   // the master let its port go
            }
        } finally {
            if (silent.get() != null) silent.get().destroyForcibly().waitFor();
            master.close();
        }
        Fds.awaitNoLeak(fdsBefore);
    }

    /**
     * The machine is out of files ({@code ENFILE}: the pipes to a new worker cannot be made, and
     * no close of ours ends it), and a worker dies: its replacement cannot be launched. The master
     * tries again after its restart pause, asleep in between, and starts it once files are back.
     * Red when a failed launch does not count as a start: the restart thread then never sleeps
     * again (run by hand under a lowered fs.file-max, it spun at a full core and logged 85,000
     * lines in 4 s).
     */
    @Test
    void aReplacementThatCannotBeLaunchedIsTriedAgainAfterThePauseNotInABusyLoop() throws Exception {
        int fdsBefore = Fds.baseline();
        int many = 1_000_000;
        Master master = new Master("127.0.0.1", 0, 1, WORKER);
        try {
            master.start();
            Faults.failNext("posix_spawn", Errno.ENFILE, many);
            ProcessHandle.of(master.workerPids()[0]).orElseThrow().destroyForcibly();
            Fds.await("two launches failed", Duration.ofSeconds(60), () -> Faults.remaining("posix_spawn") <= many - 2);
            Fds.await("the restart thread waits out its pause after a failed launch", Duration.ofSeconds(20),
                    MasterFaultsTest::restartThreadSleeps);
            assertThat(many - Faults.remaining("posix_spawn")).as("launches tried").isLessThan(10);
            Faults.clear();                                    // files are back
            Fds.await("the replacement is ready", Duration.ofSeconds(60), () -> master.restarts() == 1);
            try (TestClient c = new TestClient(master.port())) {
                assertThat(c.roundTrip("back\n")).isEqualTo("back\n");
            }
        } finally {
            Faults.clear();
            master.close();
        }
        awaitRestartThreadsEnded();
        Fds.awaitNoLeak(fdsBefore);
    }

    /**
     * SIGTERM to the master while no file can be opened still reaches every worker. The JDK's
     * {@code Process.destroy()} first opens {@code /proc/PID/stat}, and when that open fails it
     * sends nothing. In production the machine is out of files (ENFILE); here this JVM fills its
     * own fd table (EMFILE), and the same open fails. Red with {@code destroy()}: the worker ran
     * on until the master's last resort, a SIGKILL (run by hand under a lowered fs.file-max,
     * the master was killed first and its workers outlived it). Red too when the class that
     * signals is first loaded at the shutdown: its class file cannot be opened then.
     */
    @Test
    void theShutdownReachesEveryWorkerWhileNoFileCanBeOpened() throws Exception {
        int fdsBefore = Fds.baseline();
        AtomicReference<Process> worker = new AtomicReference<>();
        Master master = new Master("127.0.0.1", 0, 1, WORKER).onLaunched((i, p) -> worker.set(p));
        List<FileInputStream> hoard = new ArrayList<>();
        boolean ended = false;
        Thread shutdown = null;
        try {
            master.start();
            fill(hoard);
            try {
                shutdown = Thread.ofPlatform().start(() -> master.shutdownGracefully(Duration.ZERO));
                // Whatever the master closes meanwhile (destroy() closes the worker's pipes) is taken
                // at once, as other processes take a freed file on a machine out of files.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!ended && System.nanoTime() < deadline) {
                    fill(hoard);
                    ended = worker.get().waitFor(10, TimeUnit.MILLISECONDS);
                }
            } finally {
                for (FileInputStream f : hoard) f.close();
            }
        } finally {
            master.close();                                    // what the shutdown did not reach, if it failed
            if (shutdown != null) shutdown.join();
        }
        assertThat(hoard).as("the fd table was filled").isNotEmpty();
        assertThat(ended).as("the worker ended").isTrue();
        assertThat(worker.get().exitValue()).as("the worker ended gracefully, on the SIGTERM (not the SIGKILL that follows)").isZero();
        Fds.awaitNoLeak(fdsBefore);
    }

    /** Opens /dev/null until this JVM's fd table is full. */
    private static void fill(List<FileInputStream> hoard) {
        try {
            while (true) hoard.add(new FileInputStream("/dev/null"));
        } catch (IOException full) {
            // EMFILE: no file can be opened
        }
    }

    private static boolean restartThreadSleeps() {
        return Thread.getAllStackTraces().entrySet().stream().anyMatch(e -> e.getKey().getName().startsWith("day05-master-restart-")
                && e.getKey().getState() == Thread.State.TIMED_WAITING
                && java.util.Arrays.stream(e.getValue()).anyMatch(f -> f.getMethodName().equals("sleep")));
    }

    @Test
    void theWorkerCountFollowsTheOpenFilesLimit() {
        assertThat(Master.workersFor(10_000, 20_000)).isEqualTo(1);
        assertThat(Master.workersFor(60_000, 20_000)).isEqualTo(4);      // 17,936 each at most
        assertThat(Master.workersFor(1_000_000, 20_000)).isEqualTo(56);
        assertThat(Master.workersFor(1_000_000, 1_048_576)).isEqualTo(2);
        assertThatThrownBy(() -> Master.workersFor(10, 64)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Whatever a failing run left behind (this JVM's children are the workers it started), even after a timeout. */
    @AfterEach
    void stopChildren() {
        ProcessHandle.current().children().forEach(h -> {
            h.destroyForcibly();
            h.onExit().join();
        });
    }

    private static void awaitRestartThreadsEnded() {
        Fds.await("the master's restart thread ended", Duration.ofSeconds(60), () -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("day05-master-restart-")));
    }

    /** A worker stuck before its ready line (a slow disk, a lock, a debugger): it never prints anything. */
    public static final class SilentWorker {
        public static void main(String[] args) throws InterruptedException {
            new CountDownLatch(1).await();
        }
    }
}
