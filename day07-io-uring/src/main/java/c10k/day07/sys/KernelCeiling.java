package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import c10k.day03.sys.Errno;
import java.lang.foreign.MemorySegment;

/**
 * The seam: io_uring answering as an older kernel would (every flag, field and opcode newer
 * than {@code major.minor} refused with {@code EINVAL}, as that kernel refuses it), or not at
 * all ({@code setupErrno}: {@code EPERM} as Docker's seccomp profile answers, {@code ENOSYS}
 * as a kernel without io_uring or a filter that says so). {@link IoUring} and
 * {@link SubmissionQueue} consult it; the server's own code never does.
 */
public record KernelCeiling(int major, int minor, int setupErrno) {
    public static final KernelCeiling NONE = new KernelCeiling(Integer.MAX_VALUE, 0, 0);
    /** {@code -Dc10k.day07.kernel=6.1} (or {@code =EPERM}, {@code =ENOSYS}): what a reader or a script sets. */
    public static final String PROPERTY = "c10k.day07.kernel";

    /** "6.1", "5.19", "EPERM" or "ENOSYS". */
    public static KernelCeiling of(String spec) {
        switch (spec) {
            case "EPERM": return new KernelCeiling(0, 0, Errno.EPERM);
            case "ENOSYS": return new KernelCeiling(0, 0, Errno.ENOSYS);
            default:
                String[] v = spec.split("\\.");
                if (v.length != 2) throw new IllegalArgumentException(PROPERTY + ": a version like 6.1, or EPERM, or ENOSYS, not " + spec);
                return new KernelCeiling(Integer.parseInt(v[0]), Integer.parseInt(v[1]), 0);
        }
    }

    public static KernelCeiling fromSystemProperty() {
        String spec = System.getProperty(PROPERTY);
        return spec == null || spec.isBlank() ? NONE : of(spec.trim());
    }

    boolean below(int major, int minor) {
        return this.major < major || this.major == major && this.minor < minor;
    }

    /** The errno io_uring_setup fails with for these flags, or 0 to make the real call. */
    int setup(int flags) {
        if (setupErrno != 0) return setupErrno;
        boolean refused = (flags & IORING_SETUP_COOP_TASKRUN) != 0 && below(5, 19)
                || (flags & IORING_SETUP_SINGLE_ISSUER) != 0 && below(6, 0)
                || (flags & IORING_SETUP_DEFER_TASKRUN) != 0 && below(6, 1);
        return refused ? Errno.EINVAL : 0;
    }

    /**
     * Whether the kernel played closes a direct descriptor's socket only once the requests
     * issued before the close have completed (its fixed-file table's resource nodes released
     * in order). Measured on Debian 12's 6.1 and Debian 13's 6.12; 5.19 and 6.0, and the
     * releases between 6.1 and 6.12, are played the same way because their table code
     * releases its nodes in order as 6.1's and 6.12's does (read, not run). From 6.13 on the
     * probe alone decides (6.18 closes at once).
     */
    boolean defersDirectClose() {
        return below(6, 13);
    }

    /** The errno io_uring_register fails with, or 0 to make the real call. */
    int register(int opcode, MemorySegment arg) {
        if (opcode != IORING_REGISTER_PBUF_RING) return 0;
        boolean incremental = (arg.get(JAVA_SHORT, BR_FLAGS) & IOU_PBUF_RING_INC) != 0;
        return below(5, 19) || incremental && below(6, 12) ? Errno.EINVAL : 0;
    }

    /** Whether an older kernel would fail this SQE with EINVAL. */
    boolean refuses(MemorySegment sqes, long at) {
        byte op = sqes.get(JAVA_BYTE, at + SQE_OPCODE);
        short ioprio = sqes.get(JAVA_SHORT, at + SQE_IOPRIO);
        if (op == IORING_OP_RECV && (ioprio & IORING_RECV_MULTISHOT) != 0) {
            // Before 6.17 a receive refuses any file_index (the budget's optlen shares it).
            return below(6, 0) || sqes.get(JAVA_INT, at + SQE_OPTLEN) != 0 && below(6, 17);
        }
        if (op == IORING_OP_ACCEPT && (ioprio & IORING_ACCEPT_MULTISHOT) != 0) return below(5, 19);
        if (op == IORING_OP_ASYNC_CANCEL) {
            return (sqes.get(JAVA_INT, at + SQE_OP_FLAGS) & (IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ANY)) != 0 && below(5, 19);
        }
        return false;
    }

    @Override
    public String toString() {
        return setupErrno != 0 ? "a kernel that refuses io_uring with " + Errno.name(setupErrno) : "Linux " + major + "." + minor;
    }
}
