package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One io_uring instance, through FFM: set up, its two rings mapped into our memory, entered,
 * closed. No server logic lives here.
 *
 * <p>An io_uring is two queues shared with the kernel (io_uring(7)). We write requests
 * (SQEs) into the <em>submission queue</em> ({@link #sq()}) and move its tail; the kernel
 * consumes them from its head. The kernel writes results (CQEs) into the <em>completion
 * queue</em> ({@link #cq()}) and moves its tail; we consume them and move its head. One
 * {@code io_uring_enter} both hands over everything queued since the last call and, if
 * asked, waits for completions. The system calls themselves are in {@link IoUringSyscalls}.
 *
 * <p>Not thread-safe: one thread owns a ring (the server runs one ring per thread).
 */
public final class IoUring implements AutoCloseable {

    /** Each ring's own small structs (the wait timeout), as long as the ring lives. */
    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final int features;
    private final MemorySegment sqRing, cqRing, sqes;
    private final long sqRingSize, cqRingSize, sqesSize;
    private final SubmissionQueue sq;
    private final CompletionQueue cq;
    private final MemorySegment waitArg = arena.allocate(GETEVENTS_ARG);
    private final MemorySegment waitTimeout = arena.allocate(TIMESPEC);
    private long enters;
    /** Set up with IORING_SETUP_R_DISABLED: no request is taken until the owner {@link #enable}s it. */
    private final boolean disabled;
    /** Tests: the older kernel this ring answers as ({@code NONE}: this kernel, as it is). */
    private final KernelCeiling ceiling;
    private volatile boolean closed;

    private IoUring(int fd, MemorySegment params, KernelCeiling ceiling) throws SyscallException {
        this.fd = fd;
        this.ceiling = ceiling;
        this.disabled = (params.get(JAVA_INT, P_FLAGS) & IORING_SETUP_R_DISABLED) != 0;
        this.features = params.get(JAVA_INT, P_FEATURES);
        int sqCount = params.get(JAVA_INT, P_SQ_ENTRIES);
        int cqCount = params.get(JAVA_INT, P_CQ_ENTRIES);
        long sqSize = params.get(JAVA_INT, P_SQ_OFF + SQO_ARRAY) + (long) sqCount * JAVA_INT.byteSize();
        long cqSize = params.get(JAVA_INT, P_CQ_OFF + CQO_CQES) + (long) cqCount * CQE.byteSize();
        MemorySegment sqMap = null, cqMap = null, entries;
        try {
            // IORING_FEAT_SINGLE_MMAP (5.4): both rings live in one mapping; map the larger size once.
            if ((features & IORING_FEAT_SINGLE_MMAP) != 0) {
                sqSize = cqSize = Math.max(sqSize, cqSize);
                sqMap = cqMap = IoUringSyscalls.mmap(fd, sqSize, IORING_OFF_SQ_RING);
            } else {
                sqMap = IoUringSyscalls.mmap(fd, sqSize, IORING_OFF_SQ_RING);
                cqMap = IoUringSyscalls.mmap(fd, cqSize, IORING_OFF_CQ_RING);
            }
            entries = IoUringSyscalls.mmap(fd, (long) sqCount * SQE.byteSize(), IORING_OFF_SQES);
        } catch (SyscallException e) {
            if (sqMap != null) IoUringSyscalls.munmap(sqMap, sqSize);
            if (cqMap != null && cqMap != sqMap) IoUringSyscalls.munmap(cqMap, cqSize);
            arena.close();
            throw e;
        }
        this.sqRing = sqMap;
        this.cqRing = cqMap;
        this.sqes = entries;
        this.sqRingSize = sqSize;
        this.cqRingSize = cqSize;
        this.sqesSize = entries.byteSize();
        this.sq = new SubmissionQueue(this, sqMap, entries, params);
        this.cq = new CompletionQueue(cqMap, params);
    }

    /**
     * io_uring_setup(2): a ring of {@code entries} SQEs (a power of two, clamped by the
     * kernel) and {@code cqEntries} CQEs. The completion queue is made larger than the
     * submission queue because multishot requests post many completions per SQE.
     *
     * @throws UnavailableException if this kernel or this process may not use io_uring,
     *     with the reason in words
     */
    public static IoUring open(int entries, int cqEntries) throws UnavailableException, SyscallException {
        return open(entries, cqEntries, 0, KernelCeiling.NONE);
    }

    /**
     * A server's ring: set up with what {@code kernel} offers ({@link KernelFeatures#setupFlags}).
     * Where the kernel has them (Linux 6.1), three flags together: {@code IORING_SETUP_SINGLE_ISSUER}
     * (a promise: one task submits), {@code IORING_SETUP_DEFER_TASKRUN} (completion work waits
     * for that task's next {@code io_uring_enter} with {@code GETEVENTS}: no interrupting the
     * loop thread in the middle of its turn, and a turn's completions posted in one batch), and
     * {@code IORING_SETUP_R_DISABLED} (the ring takes nothing until {@link #enable}: the
     * submitting task is the one that enables it, which is how a ring made on one thread is
     * given to another). Otherwise {@code IORING_SETUP_COOP_TASKRUN} (5.19), or nothing.
     */
    public static IoUring open(int entries, int cqEntries, KernelFeatures kernel) throws UnavailableException, SyscallException {
        return open(entries, cqEntries, kernel.setupFlags(), kernel.ceiling());
    }

    /** With {@code flags} besides CQSIZE and CLAMP, on io_uring as {@code ceiling} makes it answer. */
    static IoUring open(int entries, int cqEntries, int flags, KernelCeiling ceiling)
            throws UnavailableException, SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(PARAMS);
            params.set(JAVA_INT, P_FLAGS, IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | flags);
            params.set(JAVA_INT, P_CQ_ENTRIES, cqEntries);
            int refused = ceiling.setup(flags);
            int fd = refused != 0 ? -refused : IoUringSyscalls.setup(entries, params);
            if (fd < 0) throw new UnavailableException(-fd);
            int features = params.get(JAVA_INT, P_FEATURES);
            if ((features & IORING_FEAT_EXT_ARG) == 0 || (features & IORING_FEAT_NODROP) == 0) {
                Sockets.close(fd);
                throw new UnavailableException("io_uring on this kernel is too old (no IORING_FEAT_EXT_ARG"
                        + " or IORING_FEAT_NODROP, Linux 5.11); day 7 needs Linux 5.19");
            }
            try {
                return new IoUring(fd, params, ceiling);
            } catch (SyscallException e) {
                Sockets.close(fd);
                throw e;
            }
        }
    }

    /** io_uring_setup failed, or the kernel lacks what we need: says why in words. */
    public static final class UnavailableException extends java.io.IOException {
        private final int errno;

        public UnavailableException(int errno) {
            super(explain(errno));
            this.errno = errno;
        }

        public UnavailableException(String reason) {
            super(reason);
            this.errno = 0;
        }

        /** The errno of io_uring_setup, or 0 if it worked but the kernel is too old. */
        public int errno() {
            return errno;
        }

        private static String explain(int errno) {
            String base = "io_uring is not available: io_uring_setup failed with " + Errno.name(errno);
            String disabled = sysctl("kernel/io_uring_disabled");
            return switch (errno) {
                case Errno.ENOSYS -> base + " (a kernel built without CONFIG_IO_URING, or a seccomp filter"
                        + " that answers ENOSYS, as some container runtimes do)";
                case Errno.EPERM -> base + (disabled != null && !disabled.equals("0")
                        ? " (kernel.io_uring_disabled = " + disabled + ": 2 disables it for everyone, 1 for users"
                          + " outside kernel.io_uring_group)"
                        : " (most likely a seccomp profile: Docker's default blocks the io_uring calls since Docker 25, moby#46762)");
                case Errno.ENOMEM -> base + " (the ring could not be allocated: RLIMIT_MEMLOCK on kernels before 5.12)";
                case Errno.EINVAL -> base + " (this kernel does not know a flag we asked for)";
                default -> base;
            };
        }

        private static String sysctl(String name) {
            try {
                return Files.readString(Path.of("/proc/sys", name)).trim();
            } catch (Exception e) {
                return null;
            }
        }
    }

    KernelCeiling ceiling() {
        return ceiling;
    }

    public int fd() {
        return fd;
    }

    public int features() {
        return features;
    }

    /** Where requests are written. */
    public SubmissionQueue sq() {
        return sq;
    }

    /** Where their results are read. */
    public CompletionQueue cq() {
        return cq;
    }

    public int submissionEntries() {
        return sq.entries();
    }

    public int completionEntries() {
        return cq.entries();
    }

    /** How many times this ring entered the kernel: the batching shows here. */
    public long enters() {
        return enters;
    }

    /**
     * io_uring_enter(2): publishes every SQE queued since the last call and waits until
     * {@code minComplete} completions are ready or {@code timeoutNanos} passes
     * ({@code Long.MAX_VALUE}: no limit; 0: do not wait). One system call for any number of
     * operations: this is the batching.
     *
     * @return how many SQEs the kernel took, or -errno: -ETIME (the wait timed out) and
     *     -EINTR (a signal: the JVM sends them) are normal, the caller just goes round again
     */
    public int submitAndWait(int minComplete, long timeoutNanos) {
        if (timeoutNanos <= 0) minComplete = 0;
        MemorySegment arg = MemorySegment.NULL;
        long argSize = 0;
        int flags = IORING_ENTER_GETEVENTS;   // also with minComplete 0: reap what is ready
        if (minComplete > 0 && timeoutNanos != Long.MAX_VALUE) {
            waitTimeout.set(JAVA_LONG, TS_SEC, timeoutNanos / 1_000_000_000L);
            waitTimeout.set(JAVA_LONG, TS_NSEC, timeoutNanos % 1_000_000_000L);
            waitArg.set(JAVA_LONG, GA_TS, waitTimeout.address());
            flags |= IORING_ENTER_EXT_ARG;
            arg = waitArg;
            argSize = GETEVENTS_ARG.byteSize();
        }
        return enter(minComplete, flags, arg, argSize);
    }

    /** io_uring_enter(2) that only submits: returns at once. */
    public int submit() {
        return enter(0, 0, MemorySegment.NULL, 0);
    }

    private int enter(int minComplete, int flags, MemorySegment arg, long argSize) {
        int toSubmit = sq.publish();
        enters++;
        return IoUringSyscalls.enter(fd, toSubmit, minComplete, flags, arg, argSize);
    }

    /**
     * On the thread that will own the ring, before its first request: IORING_REGISTER_ENABLE_RINGS,
     * if the ring was set up disabled (single issuer); nothing otherwise.
     */
    public void enable() throws SyscallException {
        if (!disabled) return;
        int r = register(IORING_REGISTER_ENABLE_RINGS, MemorySegment.NULL, 0);
        if (r < 0) throw new SyscallException("io_uring_register(IORING_REGISTER_ENABLE_RINGS)", -r);
    }

    /** Whether only the thread that enabled the ring may submit to it (IORING_SETUP_SINGLE_ISSUER). */
    public boolean singleIssuer() {
        return disabled;
    }

    /** io_uring_register(2); returns the result or -errno. */
    public int register(int opcode, MemorySegment arg, int count) {
        int refused = ceiling.register(opcode, arg);
        return refused != 0 ? -refused : IoUringSyscalls.register(fd, opcode, arg, count);
    }

    /**
     * IORING_REGISTER_FILES2 with IORING_RSRC_REGISTER_SPARSE (5.19): a table of
     * {@code count} empty slots for direct descriptors. Returns 0 or -errno (-EMFILE above
     * RLIMIT_NOFILE).
     */
    public int registerSparseFiles(int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(RSRC_REGISTER);
            reg.set(JAVA_INT, RR_NR, count);
            reg.set(JAVA_INT, RR_FLAGS, IORING_RSRC_REGISTER_SPARSE);
            return register(IORING_REGISTER_FILES2, reg, (int) RSRC_REGISTER.byteSize());
        }
    }

    /**
     * Closes the ring. Every request must have completed first: closing the ring fd makes the
     * kernel cancel what is left in the background, after this returns, while the memory
     * those requests point at may already be freed.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        IoUringSyscalls.munmap(sqes, sqesSize);
        if (cqRing != sqRing) IoUringSyscalls.munmap(cqRing, cqRingSize);
        IoUringSyscalls.munmap(sqRing, sqRingSize);
        Sockets.close(fd);
        arena.close();
    }
}
