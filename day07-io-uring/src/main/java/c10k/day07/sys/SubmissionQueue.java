package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import c10k.day03.sys.Sockets;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The submission side of an {@link IoUring}: the SQ ring we write requests (SQEs) into, and
 * one method per operation this book submits. Each fills an SQE; none is the kernel's until
 * {@link IoUring#submitAndWait} publishes the tail ({@link #publish}).
 *
 * <p>The indexes are shared with the kernel, which reads them from other CPUs while we run
 * (an SQPOLL thread reads our tail while we write SQEs). So they go through a VarHandle with
 * explicit ordering, never plain get/set: the tail is written with setRelease, so that our
 * writes of the SQEs happen before it moves (a plain store may be reordered before them, and
 * the kernel would read a half-written SQE); the head, which the kernel moves as it consumes
 * SQEs, is read with getAcquire. liburing does the same with smp_store_release and
 * smp_load_acquire.
 */
public final class SubmissionQueue {

    private static final VarHandle INT = JAVA_INT.varHandle();

    private final IoUring ring;
    /** Tests: the older kernel the ring answers as ({@code NONE} here: no request is touched). */
    private final KernelCeiling ceiling;
    private final MemorySegment sqRing, sqes;
    private final long headAt, tailAt;
    private final int mask, entries;
    /** Our copy of the tail: SQEs up to here are written, not all published yet. */
    private int tail;

    SubmissionQueue(IoUring ring, MemorySegment sqRing, MemorySegment sqes, MemorySegment params) {
        this.ring = ring;
        this.ceiling = ring.ceiling();
        this.sqRing = sqRing;
        this.sqes = sqes;
        long off = P_SQ_OFF;
        this.headAt = params.get(JAVA_INT, off + SQO_HEAD);
        this.tailAt = params.get(JAVA_INT, off + SQO_TAIL);
        this.mask = sqRing.get(JAVA_INT, params.get(JAVA_INT, off + SQO_RING_MASK));
        this.entries = sqRing.get(JAVA_INT, params.get(JAVA_INT, off + SQO_RING_ENTRIES));
        // The SQ "array" is one more indirection (slot i of the ring names SQE array[i]); we
        // never reorder, so it maps each slot to the SQE of the same index, once and for all.
        int array = params.get(JAVA_INT, off + SQO_ARRAY);
        for (int i = 0; i < entries; i++) sqRing.set(JAVA_INT, array + 4L * i, i);
        this.tail = (int) INT.getAcquire(sqRing, tailAt);
    }

    public int entries() {
        return entries;
    }

    /** Publishes every SQE written so far; returns how many the kernel has not consumed yet. */
    int publish() {
        INT.setRelease(sqRing, tailAt, tail);   // the SQEs before it are complete
        return tail - (int) INT.getAcquire(sqRing, headAt);
    }

    /**
     * The next free SQE, zeroed, as an offset into the SQE array. If the queue is full, what
     * is queued is submitted first (one extra io_uring_enter, no wait).
     */
    private long nextSqe() {
        int head = (int) INT.getAcquire(sqRing, headAt);
        if (tail - head == entries) {
            ring.submit();
            head = (int) INT.getAcquire(sqRing, headAt);
            if (tail - head == entries) throw new IllegalStateException("submission queue stays full");
        }
        long at = (long) (tail & mask) * SQE.byteSize();
        tail++;
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

    /**
     * Tests: a request that an older kernel would not know fails as it fails there. An opcode no
     * kernel has makes the kernel fail it with -EINVAL, user_data kept, as an older kernel fails
     * a request with a flag or a field it does not know.
     */
    private void asOlderKernel(long at) {
        if (ceiling != KernelCeiling.NONE && ceiling.refuses(sqes, at)) sqes.set(JAVA_BYTE, at + SQE_OPCODE, (byte) 0xFF);
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
        asOlderKernel(at);
    }

    /**
     * IORING_OP_RECV into {@code length} bytes at {@code address}: that memory now belongs to
     * the kernel until this request's completion arrives, whatever happens to the socket.
     */
    public void recv(int fd, long address, int length, long userData) {
        recv(fd, false, address, length, userData);
    }

    /** {@code fixed}: {@code fd} is an index in the registered file table. */
    public void recv(int fd, boolean fixed, long address, int length, long userData) {
        long at = sqe(IORING_OP_RECV, fd, userData);
        if (fixed) sqes.set(JAVA_BYTE, at + SQE_FLAGS, IOSQE_FIXED_FILE);
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
        recvMultishot(fd, fixed, bufferGroup, 0, userData);
    }

    /**
     * {@code limit} > 0 (6.17, sqe.optlen): the recv ends, its last completion without
     * IORING_CQE_F_MORE, once it has brought in that many bytes (it may pass the limit by at
     * most one buffer). A kernel without the feature fails the request with -EINVAL: only
     * arm it where the start-up probe found it ({@link KernelFeatures.Feature#RECV_BUDGET}).
     */
    public void recvMultishot(int fd, boolean fixed, short bufferGroup, int limit, long userData) {
        long at = sqe(IORING_OP_RECV, fd, userData);
        sqes.set(JAVA_BYTE, at + SQE_FLAGS, (byte) (IOSQE_BUFFER_SELECT | (fixed ? IOSQE_FIXED_FILE : 0)));
        sqes.set(JAVA_SHORT, at + SQE_IOPRIO, IORING_RECV_MULTISHOT);
        sqes.set(JAVA_SHORT, at + SQE_BUF_GROUP, bufferGroup);
        if (limit > 0) sqes.set(JAVA_INT, at + SQE_OPTLEN, limit);
        asOlderKernel(at);
    }

    /**
     * A single-shot IORING_OP_RECV with a buffer picked by the kernel from group
     * {@code bufferGroup} when data arrives (5.19 for a buffer ring): one completion, one
     * buffer at most, then it ends. Until data arrives it holds no buffer.
     */
    public void recvOneBuffer(int fd, boolean fixed, short bufferGroup, long userData) {
        long at = sqe(IORING_OP_RECV, fd, userData);
        sqes.set(JAVA_BYTE, at + SQE_FLAGS, (byte) (IOSQE_BUFFER_SELECT | (fixed ? IOSQE_FIXED_FILE : 0)));
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
        asOlderKernel(at);
    }

    /** IORING_OP_ASYNC_CANCEL of every request in flight on this ring (5.19). */
    public void cancelAll(long userData) {
        long at = sqe(IORING_OP_ASYNC_CANCEL, -1, userData);
        sqes.set(JAVA_INT, at + SQE_OP_FLAGS, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
        asOlderKernel(at);
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
}
