package c10k.day07;

import org.junit.jupiter.api.Assumptions;

/**
 * io_uring may be missing or forbidden (an old kernel, {@code kernel.io_uring_disabled},
 * a container's seccomp profile). Then the tests of this day are skipped, with the reason,
 * instead of failing the build.
 */
final class IoUringAvailable {

    private static final String REASON = System.getProperty("os.name").startsWith("Linux")
            ? IoUring.unavailableReason() : "io_uring is Linux's";

    private IoUringAvailable() {
    }

    static void assume() {
        Assumptions.assumeTrue(REASON == null, () -> "skipped: " + REASON);
    }
}
