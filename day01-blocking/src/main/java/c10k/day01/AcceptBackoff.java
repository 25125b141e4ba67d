package c10k.day01;

import c10k.day01.harness.Log;

import java.io.IOException;

/**
 * What a blocking accept loop does when {@code accept} fails. The usual failure is running
 * out of descriptors ({@code EMFILE}, "Too many open files"): the client stays in the
 * kernel's queue, so retrying at once fails again at once, a loop that burns a core and
 * floods the log. Waiting a little (nginx waits 500 ms) lets connections close and free
 * descriptors; clients already connected are served meanwhile by their own threads.
 */
public final class AcceptBackoff {

    static final long PAUSE_MS = 100;

    private AcceptBackoff() {
    }

    public static void pause(IOException e) {
        pause(Log.logger("accept"), e);
    }

    /** Logs the failure on the server's own logger, then waits. */
    public static void pause(System.Logger log, IOException e) {
        log.log(System.Logger.Level.WARNING, "accept failed: " + e.getMessage() + "; retrying in " + PAUSE_MS + " ms");
        try {
            Thread.sleep(PAUSE_MS);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
