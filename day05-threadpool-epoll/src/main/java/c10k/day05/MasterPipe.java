package c10k.day05;

import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * A worker's watch on its master ({@code --processes}). A master that gets SIGTERM passes it on;
 * one that is killed (SIGKILL, the OOM killer, a crash of the JVM) passes nothing on, and its
 * workers would go on serving under pid 1, each holding the port and up to its open-files limit
 * of fds, with nobody left to stop them.
 *
 * <p>So the master starts each worker with its stdin a pipe whose write end only the master
 * holds, and never writes to it. However a process ends, the kernel closes its fds, and once no
 * write end is left a read of the pipe returns end of file (pipe(7)). The worker reads its
 * stdin on a thread of its own; end of file means the master is gone, and the worker raises
 * SIGTERM on itself: the graceful shutdown a SIGTERM passed on would have started.
 *
 * <p>Why not {@code prctl(PR_SET_PDEATHSIG)}: the "parent" it watches is the thread that created
 * the child (prctl(2)), and a JVM starts a process from whichever thread asks: the master's
 * restart threads end right after they launch a worker, which would kill the worker just
 * started. A master that dies before the worker's {@code prctl} runs is missed, too. The pipe
 * has neither race: an end of file that came before the first read is still there to read.
 * (The JDK closes every other fd in the child it starts, so a worker never holds another's pipe.)
 */
final class MasterPipe {

    /** Set on a worker's command line by {@link Master}: only then is stdin the master's pipe. */
    static final String PROPERTY = "c10k.day05.masterPipe";

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");

    private MasterPipe() {
    }

    /** In a worker started by a master, starts the watch; elsewhere (a terminal's stdin) does nothing. */
    static void watchIfWorker() {
        if (!Boolean.getBoolean(PROPERTY)) return;
        Thread.ofPlatform().daemon(true).name("day05-master-watch").start(() -> {
            byte[] ignored = new byte[64];
            try {
                while (System.in.read(ignored) >= 0) {
                    // the master never writes; whatever comes is not for us
                }
            } catch (IOException e) {
                // a broken pipe says the same as its end
            }
            LOG.log(Level.WARNING, "the master is gone (the pipe on stdin ended): shutting down as on SIGTERM");
            raiseSigterm();
        });
    }

    /** {@code sun.misc.Signal.raise}, through reflection for the reason {@code GracefulShutdown} gives. */
    private static void raiseSigterm() {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            signal.getMethod("raise", signal).invoke(null, signal.getConstructor(String.class).newInstance("TERM"));
        } catch (ReflectiveOperationException e) {
            LOG.log(Level.ERROR, "cannot raise SIGTERM (" + e + "): exiting at once");
            Runtime.getRuntime().halt(1);
        }
    }
}
