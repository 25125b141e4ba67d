package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * A provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19): a pool of receive buffers
 * the kernel picks from at the moment data arrives, instead of one buffer per pending
 * receive chosen when the receive was submitted.
 *
 * <p>That is day 3's "every pending read pins a buffer", answered: with 10,000 idle
 * connections, a server that keeps a recv in flight on each must give each its own buffer
 * (10,000 x 16 KiB = 160 MiB doing nothing). With a buffer ring, an idle connection's
 * multishot recv holds no memory at all; only data that has arrived occupies a buffer, and
 * only until we hand it back.
 *
 * <p>It is a third ring shared with the kernel, one-way this time: we put buffers at the
 * tail (with a release store: the entry is written before the tail says it is there), the
 * kernel takes them from the head, and each completion says which one it used
 * ({@code cqe.flags >>> 16}). When it is empty, a multishot recv ends with {@code -ENOBUFS}.
 *
 * <p>Incremental consumption (IOU_PBUF_RING_INC, Linux 6.12), when the kernel has it: a
 * receive takes only the bytes it fills from the buffer at the head, and the next receive,
 * on any connection, goes on after them. Without it every receive takes a whole buffer, a
 * 64-byte line a 16 KiB buffer: 256 buffers then serve 256 receives per turn of the loop,
 * and with 10,000 busy connections the rest end in ENOBUFS (measured: most completions were
 * ENOBUFS, and throughput halved). With it the same 4 MiB serve about 8,000 such receives.
 */
public final class BufferRing implements AutoCloseable {

    private static final VarHandle SHORT = JAVA_SHORT.varHandle();
    /** This machine's page size (sysconf(_SC_PAGESIZE)). */
    public static final long PAGE_SIZE = IoUringSyscalls.pageSize();

    private final IoUring ring;
    private final short group;
    private final int count;
    private final int size;
    private final MemorySegment entries;   // struct io_uring_buf[count], page-aligned
    private final MemorySegment memory;    // the buffers themselves, count x size
    private final ByteBuffer[] views;      // one per buffer id, made once: nothing allocates per completion
    private final long base;
    /** Incremental: bytes of each buffer the kernel has filled (and we have read) so far. */
    private final int[] used;
    private final boolean incremental;
    private int tail;
    private int given;                     // buffers added since the last publish()

    /**
     * Registers {@code count} (a power of two, at most 32,768) buffers of {@code size} bytes
     * as group {@code group} of {@code ring}. The memory comes from {@code arena}, which must
     * outlive the registration.
     */
    public BufferRing(IoUring ring, short group, int count, int size, Arena arena) throws SyscallException {
        this(ring, group, count, size, false, arena);
    }

    /**
     * With {@code incremental} (Linux 6.12), each buffer is consumed incrementally; a kernel
     * without it refuses the registration with EINVAL ({@link KernelFeatures} asks first).
     */
    public BufferRing(IoUring ring, short group, int count, int size, boolean incremental, Arena arena) throws SyscallException {
        this(ring, group, count, size, incremental, arena, PAGE_SIZE);
    }

    /** {@code pageSize}: tests pretend a kernel with larger pages (64 KiB on some aarch64). */
    public BufferRing(IoUring ring, short group, int count, int size, boolean incremental, Arena arena, long pageSize)
            throws SyscallException {
        if (Integer.bitCount(count) != 1 || count > 32_768) throw new IllegalArgumentException("count must be a power of two up to 32768");
        this.ring = ring;
        this.group = group;
        this.count = count;
        this.size = size;
        // The kernel maps the ring itself and insists on an address at the start of a page:
        // 4,096 bytes on x86-64, but 16 KiB or 64 KiB on some aarch64 kernels.
        this.entries = arena.allocate(BUF.byteSize() * count, pageSize);
        this.memory = arena.allocate((long) count * size, 64);
        this.base = memory.address();
        this.views = new ByteBuffer[count];
        for (int bid = 0; bid < count; bid++) views[bid] = memory.asSlice((long) bid * size, size).asByteBuffer();
        int r = register(incremental ? IOU_PBUF_RING_INC : 0);
        if (r < 0) throw new SyscallException("io_uring_register(IORING_REGISTER_PBUF_RING)", -r);
        this.incremental = incremental;
        this.used = new int[count];
        for (int bid = 0; bid < count; bid++) give(bid);
        publish();
    }

    /** Where this ring's entries start: on a page, for the kernel. */
    public long entriesAddress() {
        return entries.address();
    }

    private int register(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(BUF_REG);
            reg.set(JAVA_LONG, BR_RING_ADDR, entries.address());
            reg.set(JAVA_INT, BR_RING_ENTRIES, count);
            reg.set(JAVA_SHORT, BR_BGID, group);
            reg.set(JAVA_SHORT, BR_FLAGS, (short) flags);
            return ring.register(IORING_REGISTER_PBUF_RING, reg, 1);
        }
    }

    public boolean incremental() {
        return incremental;
    }

    public short group() {
        return group;
    }

    public int bufferSize() {
        return size;
    }

    /** The bytes the kernel put in buffer {@code bid}, as a buffer positioned over them. */
    public ByteBuffer filled(int bid, int length) {
        return views[bid].clear().limit(length);
    }

    /**
     * The {@code res} bytes a completion with these {@code flags} (IORING_CQE_F_BUFFER set)
     * received. With incremental consumption they start where the buffer's previous
     * completion stopped. Call it for every such completion, even to discard the bytes.
     */
    public ByteBuffer received(int flags, int res) {
        int bid = flags >>> IORING_CQE_BUFFER_SHIFT;
        int from = used[bid];
        if (incremental) used[bid] = from + res;
        return views[bid].clear().position(from).limit(from + res);
    }

    /**
     * After {@link #received}: the buffer goes back to the kernel, unless the kernel said it
     * is still filling it (IORING_CQE_F_BUF_MORE); the completion that ends it gives it back.
     */
    public void release(int flags) {
        if ((flags & IORING_CQE_F_BUF_MORE) != 0) return;
        int bid = flags >>> IORING_CQE_BUFFER_SHIFT;
        used[bid] = 0;
        give(bid);
    }

    /**
     * Puts buffer {@code bid} back at the tail. Not visible to the kernel until
     * {@link #publish}: we return a whole batch of completions' buffers with one store.
     */
    public void give(int bid) {
        long at = BUF.byteSize() * (tail & (count - 1));
        entries.set(JAVA_LONG, at + BUF_ADDR, base + (long) bid * size);
        entries.set(JAVA_INT, at + BUF_LEN, size);
        entries.set(JAVA_SHORT, at + BUF_BID, (short) bid);
        // Not bufs[i].resv: in entry 0 those two bytes are the ring's tail.
        tail++;
        given++;
    }

    /** Makes every buffer given back since the last call available to the kernel. */
    public void publish() {
        if (given == 0) return;
        SHORT.setRelease(entries, BUF_RING_TAIL, (short) tail);
        given = 0;
    }

    @Override
    public void close() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(BUF_REG);
            reg.set(JAVA_SHORT, BR_BGID, group);
            ring.register(IORING_UNREGISTER_PBUF_RING, reg, 1);
        }
    }
}
