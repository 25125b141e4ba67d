package c10k.day07;

import c10k.day07.sys.KernelFeatures;
import org.junit.jupiter.api.Assumptions;

/**
 * io_uring may be missing or forbidden (an old kernel, {@code kernel.io_uring_disabled},
 * a container's seccomp profile). Then the tests of this day are skipped, with the reason,
 * instead of failing the build. {@code -Dc10k.day07.kernel=ENOSYS} (or {@code =EPERM}) on
 * the build's command line shows it on a kernel that has io_uring.
 */
final class IoUringAvailable {

    private static final String REASON = System.getProperty("os.name").startsWith("Linux")
            ? KernelFeatures.unavailableReason() : "io_uring is Linux's";

    private IoUringAvailable() {
    }

    static void assume() {
        Assumptions.assumeTrue(REASON == null, () -> "skipped: " + REASON);
    }
}
