package c10k.day07;

import static c10k.day07.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import c10k.day03.Libc;
import c10k.day03.Sockets;
import c10k.day03.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One io_uring instance, through FFM: the three system calls, the two rings mapped into
 * our memory, and the few operations this book submits. No server logic lives here.
 *
 * <p>An io_uring is two queues shared with the kernel (io_uring(7)). We write requests
 * (SQEs) into the <em>submission queue</em> and move its tail; the kernel consumes them
 * from its head. The kernel writes results (CQEs) into the <em>completion queue</em> and
 * moves its tail; we consume them and move its head. One {@code io_uring_enter} both hands
 * over everything queued since the last call and, if asked, waits for completions.
 *
 * <p>Not thread-safe: one thread owns a ring (the server runs one ring per thread).
 */
public final class IoUring implements AutoCloseable {

    // glibc has no wrappers for the io_uring calls: we go through syscall(2), which is
    // variadic in C (long syscall(long number, ...)). A variadic call must be linked as one,
    // or the arguments may land in the wrong registers on some ABIs: firstVariadicArg(1).
    // long syscall(SYS_io_uring_setup, u32 entries, struct io_uring_params *p);
    private static final MethodHandle SETUP = Libc.downcall("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS), Linker.Option.firstVariadicArg(1));
    // long syscall(SYS_io_uring_enter, unsigned fd, u32 to_submit, u32 min_complete, u32 flags,
    //              const void *arg, size_t argsz);
    // Never critical: it may sleep waiting for completions.
    private static final MethodHandle ENTER = Libc.downcall("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    // long syscall(SYS_io_uring_register, unsigned fd, unsigned opcode, void *arg, unsigned nr_args);
    private static final MethodHandle REGISTER = Libc.downcall("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT),
            Linker.Option.firstVariadicArg(1));
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
    private static final MethodHandle MMAP = Libc.downcall("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    // int munmap(void *addr, size_t length);
    private static final MethodHandle MUNMAP = Libc.downcall("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_SHARED_POPULATE = 0x01 | 0x8000;

    /*
     * The ring indexes are shared with the kernel, which reads and writes them from other
     * CPUs while we run (a completion can be posted from another core, an SQPOLL thread reads
     * our tail while we write SQEs). So they are accessed through a VarHandle with explicit
     * ordering, never with plain get/set:
     * - the CQ tail is read with getAcquire: every CQE the kernel wrote before moving the
     *   tail is then visible to us. A plain read may be hoisted out of our loop by the JIT
     *   (we would spin on a stale tail forever), and on a weakly ordered CPU (aarch64) the
     *   CQE's fields could be read before the tail, i.e. before the kernel wrote them.
     * - the SQ tail and the CQ head are written with setRelease: our writes of the SQE (and
     *   our reads of the CQE) happen before the index moves. A plain store may be reordered
     *   before them: the kernel would read a half-written SQE, or reuse a CQE slot we are
     *   still reading.
     * - the SQ head, which the kernel moves as it consumes SQEs, is read with getAcquire.
     * This is exactly what liburing does with smp_load_acquire / smp_store_release.
     */
    private static final VarHandle INT = JAVA_INT.varHandle();

    /** Each ring's own small structs (the wait timeout), as long as the ring lives. */
    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final int features;
    private final MemorySegment sqRing, cqRing, sqes;
    private final long sqRingSize, cqRingSize, sqesSize;
    private final long sqHeadAt, sqTailAt, cqHeadAt, cqTailAt, cqesAt, cqOverflowAt;
    private final int sqMask, sqEntries, cqMask, cqEntries;
    private final MemorySegment waitArg = arena.allocate(GETEVENTS_ARG);
    private final MemorySegment waitTimeout = arena.allocate(TIMESPEC);

    /** Our copy of the SQ tail: SQEs up to here are written, not all published yet. */
    private int sqTail;
    /** Our copy of the CQ head: completions before it are consumed. */
    private int cqHead;
    private long enters;
    private volatile boolean closed;

    private IoUring(int fd, MemorySegment params) throws SyscallException {
        this.fd = fd;
        this.features = params.get(JAVA_INT, P_FEATURES);
        int sqCount = params.get(JAVA_INT, P_SQ_ENTRIES);
        int cqCount = params.get(JAVA_INT, P_CQ_ENTRIES);
        long sqOff = P_SQ_OFF, cqOff = P_CQ_OFF;
        int sqArray = params.get(JAVA_INT, sqOff + SQO_ARRAY);
        int cqes = params.get(JAVA_INT, cqOff + CQO_CQES);
        long sqSize = sqArray + (long) sqCount * JAVA_INT.byteSize();
        long cqSize = cqes + (long) cqCount * CQE.byteSize();
        MemorySegment sq = null, cq = null, entries = null;
        try {
            // IORING_FEAT_SINGLE_MMAP (5.4): both rings live in one mapping; map the larger size once.
            if ((features & IORING_FEAT_SINGLE_MMAP) != 0) {
                sqSize = cqSize = Math.max(sqSize, cqSize);
                sq = cq = mmap(fd, sqSize, IORING_OFF_SQ_RING);
            } else {
                sq = mmap(fd, sqSize, IORING_OFF_SQ_RING);
                cq = mmap(fd, cqSize, IORING_OFF_CQ_RING);
            }
            entries = mmap(fd, (long) sqCount * SQE.byteSize(), IORING_OFF_SQES);
        } catch (SyscallException e) {
            if (sq != null) munmap(sq, sqSize);
            if (cq != null && cq != sq) munmap(cq, cqSize);
            arena.close();
            throw e;
        }
        this.sqRing = sq;
        this.cqRing = cq;
        this.sqes = entries;
        this.sqRingSize = sqSize;
        this.cqRingSize = cqSize;
        this.sqesSize = entries.byteSize();
        this.sqHeadAt = params.get(JAVA_INT, sqOff + SQO_HEAD);
        this.sqTailAt = params.get(JAVA_INT, sqOff + SQO_TAIL);
        this.sqMask = sq.get(JAVA_INT, params.get(JAVA_INT, sqOff + SQO_RING_MASK));
        this.sqEntries = sq.get(JAVA_INT, params.get(JAVA_INT, sqOff + SQO_RING_ENTRIES));
        this.cqHeadAt = params.get(JAVA_INT, cqOff + CQO_HEAD);
        this.cqTailAt = params.get(JAVA_INT, cqOff + CQO_TAIL);
        this.cqOverflowAt = params.get(JAVA_INT, cqOff + CQO_OVERFLOW);
        this.cqMask = cq.get(JAVA_INT, params.get(JAVA_INT, cqOff + CQO_RING_MASK));
        this.cqEntries = cq.get(JAVA_INT, params.get(JAVA_INT, cqOff + CQO_RING_ENTRIES));
        this.cqesAt = cqes;
        // The SQ "array" is one more indirection (slot i of the ring names SQE array[i]); we
        // never reorder, so it maps each slot to the SQE of the same index, once and for all.
        for (int i = 0; i < sqEntries; i++) sq.set(JAVA_INT, sqArray + 4L * i, i);
        this.sqTail = (int) INT.getAcquire(sq, sqTailAt);
        this.cqHead = (int) INT.getAcquire(cq, cqHeadAt);
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
        MemorySegment state = Libc.callState();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(PARAMS);
            // COOP_TASKRUN (5.19): completions are posted when we next enter the kernel, instead
            // of the kernel interrupting our thread to post them. We enter once per turn anyway.
            params.set(JAVA_INT, P_FLAGS, IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_COOP_TASKRUN);
            params.set(JAVA_INT, P_CQ_ENTRIES, cqEntries);
            long fd = (long) SETUP.invokeExact(state, SYS_IO_URING_SETUP, entries, params);
            if (fd < 0 && Libc.errno(state) == c10k.day03.Errno.EINVAL) {   // a kernel before 5.19
                params.fill((byte) 0);
                params.set(JAVA_INT, P_FLAGS, IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP);
                params.set(JAVA_INT, P_CQ_ENTRIES, cqEntries);
                fd = (long) SETUP.invokeExact(state, SYS_IO_URING_SETUP, entries, params);
            }
            if (fd < 0) throw new UnavailableException(Libc.errno(state));
            int features = params.get(JAVA_INT, P_FEATURES);
            if ((features & IORING_FEAT_EXT_ARG) == 0 || (features & IORING_FEAT_NODROP) == 0) {
                Sockets.close((int) fd);
                throw new UnavailableException("io_uring on this kernel is too old (no IORING_FEAT_EXT_ARG"
                        + " or IORING_FEAT_NODROP, Linux 5.11); multishot receive needs Linux 6.0");
            }
            try {
                return new IoUring((int) fd, params);
            } catch (SyscallException e) {
                Sockets.close((int) fd);
                throw e;
            }
        } catch (UnavailableException | SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * Why io_uring cannot be used here, or null if it can: the tests skip with this reason,
     * the server refuses to start with it.
     */
    public static String unavailableReason() {
        try {
            open(2, 4).close();
            return null;
        } catch (UnavailableException | SyscallException e) {
            return e.getMessage();
        }
    }

    /** io_uring_setup failed, or the kernel lacks what we need: says why in words. */
    public static final class UnavailableException extends java.io.IOException {
        private final int errno;

        UnavailableException(int errno) {
            super(explain(errno));
            this.errno = errno;
        }

        UnavailableException(String reason) {
            super(reason);
            this.errno = 0;
        }

        /** The errno of io_uring_setup, or 0 if it worked but the kernel is too old. */
        public int errno() {
            return errno;
        }

        private static String explain(int errno) {
            String base = "io_uring is not available: io_uring_setup failed with " + errnoName(errno);
            String disabled = sysctl("kernel/io_uring_disabled");
            return switch (errno) {
                case IoUringAbi.ENOSYS -> base + " (a kernel built without CONFIG_IO_URING, or a seccomp filter"
                        + " that answers ENOSYS, as some container runtimes do)";
                case IoUringAbi.EPERM -> base + (disabled != null && !disabled.equals("0")
                        ? " (kernel.io_uring_disabled = " + disabled + ": 2 disables it for everyone, 1 for users"
                          + " outside kernel.io_uring_group)"
                        : " (most likely a seccomp profile: Docker's default blocks the io_uring calls since Docker 25, moby#46762)");
                case c10k.day03.Errno.ENOMEM -> base + " (the ring could not be allocated: RLIMIT_MEMLOCK on kernels before 5.12)";
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

    /** mmap(2) of one region of the ring (which one: {@code offset}), shared with the kernel. */
    private static MemorySegment mmap(int ringFd, long size, long offset) throws SyscallException {
        MemorySegment state = Libc.callState();
        try {
            MemorySegment at = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, size, PROT_READ_WRITE,
                    MAP_SHARED_POPULATE, ringFd, offset);
            if (at.address() == -1L) throw new SyscallException("mmap", Libc.errno(state));   // MAP_FAILED
            return at.reinterpret(size);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    private static void munmap(MemorySegment at, long size) {
        try {
            int ignored = (int) MUNMAP.invokeExact(Libc.callState(), at, size);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    public int fd() {
        return fd;
    }

    public int features() {
        return features;
    }

    public int submissionEntries() {
        return sqEntries;
    }

    public int completionEntries() {
        return cqEntries;
    }

    /** How many times {@link #submitAndWait} entered the kernel: the batching shows here. */
    public long enters() {
        return enters;
    }

    /** Completions the kernel had to keep aside because our CQ ring was full (IORING_FEAT_NODROP). */
    public int overflowed() {
        return (int) INT.getAcquire(cqRing, cqOverflowAt);
    }

    // --- submission --------------------------------------------------------------------------

    /**
     * The next free SQE, zeroed, as an offset into the SQE array. It is not the kernel's
     * until {@link #submitAndWait} publishes the tail. If the queue is full, what is queued
     * is submitted first (one extra io_uring_enter, no wait).
     */
    private long nextSqe() {
        int head = (int) INT.getAcquire(sqRing, sqHeadAt);
        if (sqTail - head == sqEntries) {
            submit();
            head = (int) INT.getAcquire(sqRing, sqHeadAt);
            if (sqTail - head == sqEntries) throw new IllegalStateException("submission queue stays full");
        }
        long at = (long) (sqTail & sqMask) * SQE.byteSize();
        sqTail++;
        for (long i = 0; i < SQE.byteSize(); i += 8) sqes.set(JAVA_LONG, at + i, 0L);
        return at;
    }

    private long sqe(byte opcode, int fd, long userData) {
        long at = nextSqe();
        sqes.set(JAVA_BYTE, at + SQE_OPCODE, opcode);
        sqes.set(JAVA_INT, at + SQE_FD, fd);
        sqes.set(JAVA_LONG, at + SQE_USER_DATA, userData);
        return at;
    }

    /** IORING_OP_NOP: completes at once with res 0. Shows the round trip, nothing else. */
    public void nop(long userData) {
        sqe(IORING_OP_NOP, -1, userData);
    }

    /**
     * IORING_OP_ACCEPT: accept4(fd, NULL, NULL, flags). Completes with the new fd or -errno.
     * Multishot (5.19): one SQE keeps accepting, one CQE per connection, each with
     * IORING_CQE_F_MORE while it stays armed.
     */
    public void accept(int listenFd, int flags, boolean multishot, long userData) {
        accept(listenFd, flags, multishot, false, userData);
    }

    /**
     * With {@code direct} (5.19), the new socket gets no fd at all: it goes into a free slot
     * of the ring's registered file table, and the completion carries that slot's index.
     */
    public void accept(int listenFd, int flags, boolean multishot, boolean direct, long userData) {
        long at = sqe(IORING_OP_ACCEPT, listenFd, userData);
        sqes.set(JAVA_INT, at + SQE_OP_FLAGS, flags);
        if (multishot) sqes.set(JAVA_SHORT, at + SQE_IOPRIO, IORING_ACCEPT_MULTISHOT);
        if (direct) sqes.set(JAVA_INT, at + SQE_FILE_INDEX, IORING_FILE_INDEX_ALLOC);
    }

    /**
     * IORING_OP_RECV into {@code length} bytes at {@code address}: that memory now belongs to
     * the kernel until this request's completion arrives, whatever happens to the socket.
     */
    public void recv(int fd, long address, int length, long userData) {
        long at = sqe(IORING_OP_RECV, fd, userData);
        sqes.set(JAVA_LONG, at + SQE_ADDR, address);
        sqes.set(JAVA_INT, at + SQE_LEN, length);
    }

    /**
     * Multishot IORING_OP_RECV (6.0) with a buffer picked by the kernel from group
     * {@code bufferGroup} when data arrives: one CQE per chunk, each naming its buffer.
     */
    public void recvMultishot(int fd, short bufferGroup, long userData) {
        recvMultishot(fd, false, bufferGroup, userData);
    }

    /** {@code fixed}: {@code fd} is an index in the registered file table. */
    public void recvMultishot(int fd, boolean fixed, short bufferGroup, long userData) {
        long at = sqe(IORING_OP_RECV, fd, userData);
        sqes.set(JAVA_BYTE, at + SQE_FLAGS, (byte) (IOSQE_BUFFER_SELECT | (fixed ? IOSQE_FIXED_FILE : 0)));
        sqes.set(JAVA_SHORT, at + SQE_IOPRIO, IORING_RECV_MULTISHOT);
        sqes.set(JAVA_SHORT, at + SQE_BUF_GROUP, bufferGroup);
    }

    /** IORING_OP_SEND with MSG_NOSIGNAL (a gone peer gives -EPIPE, never SIGPIPE). */
    public void send(int fd, long address, int length, long userData) {
        send(fd, false, address, length, userData);
    }

    /** {@code fixed}: {@code fd} is an index in the registered file table. */
    public void send(int fd, boolean fixed, long address, int length, long userData) {
        long at = sqe(IORING_OP_SEND, fd, userData);
        if (fixed) sqes.set(JAVA_BYTE, at + SQE_FLAGS, IOSQE_FIXED_FILE);
        sqes.set(JAVA_LONG, at + SQE_ADDR, address);
        sqes.set(JAVA_INT, at + SQE_LEN, length);
        sqes.set(JAVA_INT, at + SQE_OP_FLAGS, Sockets.MSG_NOSIGNAL);
    }

    /** IORING_OP_READ at the file's current position (offset -1), e.g. of an eventfd. */
    public void read(int fd, long address, int length, long userData) {
        long at = sqe(IORING_OP_READ, fd, userData);
        sqes.set(JAVA_LONG, at + SQE_OFF, -1L);
        sqes.set(JAVA_LONG, at + SQE_ADDR, address);
        sqes.set(JAVA_INT, at + SQE_LEN, length);
    }

    /**
     * IORING_OP_TIMEOUT: completes with -ETIME once {@code timespec} (a relative
     * struct __kernel_timespec) has passed. A timer that costs no thread and no fd.
     */
    public void timeout(MemorySegment timespec, long userData) {
        long at = sqe(IORING_OP_TIMEOUT, -1, userData);
        sqes.set(JAVA_LONG, at + SQE_ADDR, timespec.address());
        sqes.set(JAVA_INT, at + SQE_LEN, 1);
    }

    /**
     * IORING_OP_ASYNC_CANCEL of the request submitted with {@code target} as its user_data.
     * Two completions follow: the cancel's own (0, -ENOENT if nothing matched, -EALREADY if
     * the request was already running), and the target's (-ECANCELED, or its real result).
     */
    public void cancel(long target, long userData) {
        long at = sqe(IORING_OP_ASYNC_CANCEL, -1, userData);
        sqes.set(JAVA_LONG, at + SQE_ADDR, target);
    }

    /** IORING_OP_ASYNC_CANCEL of every request on {@code fd} (5.19): res is how many. */
    public void cancelFd(int fd, long userData) {
        cancelFd(fd, false, userData);
    }

    /** {@code fixed}: {@code fd} is an index in the registered file table. */
    public void cancelFd(int fd, boolean fixed, long userData) {
        long at = sqe(IORING_OP_ASYNC_CANCEL, fd, userData);
        sqes.set(JAVA_INT, at + SQE_OP_FLAGS,
                IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL | (fixed ? IORING_ASYNC_CANCEL_FD_FIXED : 0));
    }

    /** IORING_OP_SHUTDOWN (5.11) of a registered file: shutdown(2) for a socket that has no fd. */
    public void shutdownFixed(int index, int how, long userData) {
        long at = sqe(IORING_OP_SHUTDOWN, index, userData);
        sqes.set(JAVA_BYTE, at + SQE_FLAGS, IOSQE_FIXED_FILE);
        sqes.set(JAVA_INT, at + SQE_LEN, how);
    }

    /** IORING_OP_CLOSE of slot {@code index} of the registered file table (file_index is index + 1). */
    public void closeFixed(int index, long userData) {
        long at = sqe(IORING_OP_CLOSE, 0, userData);
        sqes.set(JAVA_INT, at + SQE_FILE_INDEX, index + 1);
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

    /** IORING_OP_ASYNC_CANCEL of every request in flight on this ring (5.19). */
    public void cancelAll(long userData) {
        long at = sqe(IORING_OP_ASYNC_CANCEL, -1, userData);
        sqes.set(JAVA_INT, at + SQE_OP_FLAGS, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
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
        INT.setRelease(sqRing, sqTailAt, sqTail);   // publish: the SQEs before it are complete
        int toSubmit = sqTail - (int) INT.getAcquire(sqRing, sqHeadAt);
        enters++;
        MemorySegment state = Libc.callState();
        try {
            long n = (long) ENTER.invokeExact(state, SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, arg, argSize);
            return n >= 0 ? (int) n : -Libc.errno(state);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** io_uring_register(2); returns the result or -errno. */
    public int register(int opcode, MemorySegment arg, int count) {
        MemorySegment state = Libc.callState();
        try {
            long n = (long) REGISTER.invokeExact(state, SYS_IO_URING_REGISTER, fd, opcode, arg, count);
            return n >= 0 ? (int) n : -Libc.errno(state);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    // --- completion ------------------------------------------------------------------------

    /** How many completions are ready to be read ({@code cqe(0)} is the oldest). */
    public int ready() {
        return (int) INT.getAcquire(cqRing, cqTailAt) - cqHead;
    }

    private long cqeAt(int i) {
        return cqesAt + (long) ((cqHead + i) & cqMask) * CQE.byteSize();
    }

    public long userData(int i) {
        return cqRing.get(JAVA_LONG, cqeAt(i) + CQE_USER_DATA);
    }

    public int res(int i) {
        return cqRing.get(JAVA_INT, cqeAt(i) + CQE_RES);
    }

    public int flags(int i) {
        return cqRing.get(JAVA_INT, cqeAt(i) + CQE_FLAGS);
    }

    /** Hands the first {@code n} CQE slots back to the kernel. Read them before this. */
    public void consumed(int n) {
        cqHead += n;
        INT.setRelease(cqRing, cqHeadAt, cqHead);
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
        munmap(sqes, sqesSize);
        if (cqRing != sqRing) munmap(cqRing, cqRingSize);
        munmap(sqRing, sqRingSize);
        Sockets.close(fd);
        arena.close();
    }
}
