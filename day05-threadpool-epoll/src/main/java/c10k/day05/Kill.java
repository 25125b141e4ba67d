package c10k.day05;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import c10k.day03.sys.Libc;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/**
 * kill(2), for the master to signal its workers. {@link Process#destroy()} is not enough: before
 * it signals, the JDK reads {@code /proc/PID/stat} to check that the pid still names the child it
 * started, and when the machine is out of files ({@code ENFILE}) or the process out of fds
 * ({@code EMFILE}) that read fails and {@code destroy()} sends nothing, without a word. The
 * worker then never hears of the shutdown and outlives the master, listening, under pid 1.
 * kill(2) needs no file. Like the JDK we signal only a child it has not reaped yet
 * ({@link Process#isAlive()}), whose pid no other process can have taken.
 */
final class Kill {

    static final int SIGKILL = 9;
    static final int SIGTERM = 15;

    // int kill(pid_t pid, int sig);
    private static final MethodHandle KILL = Libc.downcall("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private Kill() {
    }

    /**
     * Called once at start-up, while files are to be had: loading this class later means
     * opening its class file (and linking the call), which is what fails when files run out.
     */
    static void ready() {
    }

    /** Sends {@code signal} to {@code p} if it still runs; true if it was sent. */
    static boolean signal(Process p, int signal) {
        if (!p.isAlive()) return false;
        try {
            return (int) KILL.invokeExact(Libc.callState(), (int) p.pid(), signal) == 0;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }
}
