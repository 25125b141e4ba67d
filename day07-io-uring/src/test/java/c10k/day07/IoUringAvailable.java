package c10k.day07;

import c10k.day07.sys.KernelCeiling;
import c10k.day07.sys.KernelFeatures;
import java.io.IOException;
import org.junit.jupiter.api.Assumptions;

/**
 * io_uring may be missing or forbidden (an old kernel, {@code kernel.io_uring_disabled},
 * a container's seccomp profile). Then the tests of this day are skipped, with the reason,
 * instead of failing the build. {@code -Dc10k.day07.kernel=ENOSYS} (or {@code =EPERM}) on
 * the build's command line shows it on a kernel that has io_uring. Likewise the tests of
 * {@code --mode multishot} where the kernel (or {@code -Dc10k.day07.kernel=5.19}) has no
 * multishot receive: the server refuses that mode there, as {@code OlderKernelsTest} shows.
 */
final class IoUringAvailable {

    private static final String REASON = System.getProperty("os.name").startsWith("Linux")
            ? KernelFeatures.unavailableReason() : "io_uring is Linux's";

    private IoUringAvailable() {
    }

    private static String multishotRefusal;

    static void assume() {
        Assumptions.assumeTrue(REASON == null, () -> "skipped: " + REASON);
    }

    /** As {@link #assume()}, and for multishot mode, that this kernel can run it. */
    static synchronized void assume(IoUringEchoServer.Mode mode) {
        assume();
        if (mode != IoUringEchoServer.Mode.MULTISHOT) return;
        if (multishotRefusal == null) {
            String why;
            try {
                why = KernelFeatures.probe(KernelCeiling.fromSystemProperty()).refusal(true);
            } catch (IOException e) {
                why = e.getMessage();
            }
            multishotRefusal = why == null ? "" : why;
        }
        Assumptions.assumeTrue(multishotRefusal.isEmpty(), () -> "skipped: " + multishotRefusal);
    }
}
