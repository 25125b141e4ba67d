package c10k.day07.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * The kernel's side of the contract, in one place: the structs and numbers of
 * {@code include/uapi/linux/io_uring.h}, as FFM layouts. Every offset the binding and the
 * server use is computed here from a layout, never typed in twice; {@code IoUringAbiTest}
 * checks the sizes against the kernel's header (and against a running ring).
 *
 * <p>The layouts are the same on x86-64 and aarch64: the structs are made of fixed-width
 * {@code __u8 ... __u64} fields, naturally aligned, with explicit padding ({@code resv}).
 * Unlike {@code struct epoll_event} (day 4), nothing here is packed differently per
 * architecture. So are the system call numbers: io_uring arrived (Linux 5.1) after the
 * tables were unified, and is 425, 426, 427 in both x86-64's table and the generic one
 * aarch64 uses.
 */
public final class IoUringAbi {

    private IoUringAbi() {
    }

    // --- system calls: io_uring_setup(2), io_uring_enter(2), io_uring_register(2) -----------
    public static final long SYS_IO_URING_SETUP = 425;
    public static final long SYS_IO_URING_ENTER = 426;
    public static final long SYS_IO_URING_REGISTER = 427;

    /*
     * struct io_sqring_offsets {
     *     __u32 head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
     *     __u64 user_addr;
     * };
     * struct io_cqring_offsets {
     *     __u32 head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
     *     __u64 user_addr;
     * };
     * The same shape: four fields both rings have, three of their own, then padding.
     */
    public static final StructLayout SQRING_OFFSETS = ringOffsets("io_sqring_offsets", "flags", "dropped", "array");
    public static final StructLayout CQRING_OFFSETS = ringOffsets("io_cqring_offsets", "overflow", "cqes", "flags");

    private static StructLayout ringOffsets(String struct, String fifth, String sixth, String seventh) {
        return MemoryLayout.structLayout(
                JAVA_INT.withName("head"), JAVA_INT.withName("tail"),
                JAVA_INT.withName("ring_mask"), JAVA_INT.withName("ring_entries"),
                JAVA_INT.withName(fifth), JAVA_INT.withName(sixth),
                JAVA_INT.withName(seventh), JAVA_INT.withName("resv1"),
                JAVA_LONG.withName("user_addr")).withName(struct);
    }

    /*
     * struct io_uring_params {
     *     __u32 sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd;
     *     __u32 resv[3];
     *     struct io_sqring_offsets sq_off;
     *     struct io_cqring_offsets cq_off;
     * };
     * In: the flags (and cq_entries with IORING_SETUP_CQSIZE). Out: the sizes the kernel
     * chose, its features, and where in the mapped rings each field lives.
     */
    public static final StructLayout PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("sq_entries"), JAVA_INT.withName("cq_entries"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("sq_thread_cpu"),
            JAVA_INT.withName("sq_thread_idle"), JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"), MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv"),
            SQRING_OFFSETS.withName("sq_off"), CQRING_OFFSETS.withName("cq_off")).withName("io_uring_params");

    /*
     * struct io_uring_sqe: one request, 64 bytes. Most fields are unions whose meaning
     * depends on the opcode; the names here are the ones this book uses.
     *     __u8  opcode;          IORING_OP_*
     *     __u8  flags;           IOSQE_*
     *     __u16 ioprio;          for ACCEPT and RECV: the MULTISHOT flags
     *     __s32 fd;
     *     __u64 off;             (union: addr2; for ACCEPT the socklen_t *)
     *     __u64 addr;            buffer, timespec *, or the user_data to cancel
     *     __u32 len;
     *     __u32 op_flags;        (union: msg_flags, accept_flags, timeout_flags, cancel_flags...)
     *     __u64 user_data;       handed back untouched in the completion
     *     __u16 buf_group;       (union: buf_index) the provided-buffer group to pick from
     *     __u16 personality;
     *     __s32 file_index;      (union: splice_fd_in, addr_len, optlen: a multishot recv's byte limit)
     *     __u64 addr3, __pad2[1];
     */
    public static final StructLayout SQE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("opcode"), JAVA_BYTE.withName("flags"), JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"), JAVA_LONG.withName("off"), JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"), JAVA_INT.withName("op_flags"), JAVA_LONG.withName("user_data"),
            JAVA_SHORT.withName("buf_group"), JAVA_SHORT.withName("personality"), JAVA_INT.withName("file_index"),
            JAVA_LONG.withName("addr3"), JAVA_LONG.withName("pad2")).withName("io_uring_sqe");

    /*
     * struct io_uring_cqe { __u64 user_data; __s32 res; __u32 flags; };   16 bytes
     * res: what the system call would have returned, or -errno. flags: IORING_CQE_F_*,
     * and with F_BUFFER the provided buffer's id in the upper 16 bits.
     */
    public static final StructLayout CQE = MemoryLayout.structLayout(
            JAVA_LONG.withName("user_data"), JAVA_INT.withName("res"), JAVA_INT.withName("flags")).withName("io_uring_cqe");

    /*
     * struct io_uring_buf { __u64 addr; __u32 len; __u16 bid; __u16 resv; };   16 bytes
     * One entry of a provided-buffer ring. The ring's tail (__u16) overlays bufs[0].resv,
     * at offset 14, "to avoid spilling into more pages than we need".
     */
    public static final StructLayout BUF = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"), JAVA_INT.withName("len"), JAVA_SHORT.withName("bid"),
            JAVA_SHORT.withName("resv")).withName("io_uring_buf");

    /*
     * struct io_uring_buf_reg { __u64 ring_addr; __u32 ring_entries; __u16 bgid; __u16 flags; __u64 resv[3]; };
     * The argument of IORING_REGISTER_PBUF_RING.
     */
    public static final StructLayout BUF_REG = MemoryLayout.structLayout(
            JAVA_LONG.withName("ring_addr"), JAVA_INT.withName("ring_entries"), JAVA_SHORT.withName("bgid"),
            JAVA_SHORT.withName("flags"), MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("resv")).withName("io_uring_buf_reg");

    /*
     * struct io_uring_getevents_arg { __u64 sigmask; __u32 sigmask_sz; __u32 min_wait_usec; __u64 ts; };
     * With IORING_ENTER_EXT_ARG, io_uring_enter's last two arguments point here: a wait
     * timeout without spending a timeout SQE on it.
     */
    public static final StructLayout GETEVENTS_ARG = MemoryLayout.structLayout(
            JAVA_LONG.withName("sigmask"), JAVA_INT.withName("sigmask_sz"), JAVA_INT.withName("min_wait_usec"),
            JAVA_LONG.withName("ts")).withName("io_uring_getevents_arg");

    /*
     * struct io_uring_rsrc_register { __u32 nr; __u32 flags; __u64 resv2; __aligned_u64 data; __aligned_u64 tags; };
     * The argument of IORING_REGISTER_FILES2: with IORING_RSRC_REGISTER_SPARSE, a table of
     * nr empty slots for direct descriptors.
     */
    public static final StructLayout RSRC_REGISTER = MemoryLayout.structLayout(
            JAVA_INT.withName("nr"), JAVA_INT.withName("flags"), JAVA_LONG.withName("resv2"),
            JAVA_LONG.withName("data"), JAVA_LONG.withName("tags")).withName("io_uring_rsrc_register");

    /* struct __kernel_timespec { __s64 tv_sec; long long tv_nsec; }; */
    public static final StructLayout TIMESPEC = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"), JAVA_LONG.withName("tv_nsec")).withName("__kernel_timespec");

    /*
     * struct io_uring_probe_op { __u8 op; __u8 resv; __u16 flags; __u32 resv2; };   8 bytes
     * struct io_uring_probe { __u8 last_op; __u8 ops_len; __u16 resv; __u32 resv2[3];
     *                         struct io_uring_probe_op ops[]; };
     * The argument of IORING_REGISTER_PROBE (5.6): the kernel fills one op per opcode it
     * knows, with IO_URING_OP_SUPPORTED in flags if this kernel can run it.
     */
    public static final StructLayout PROBE_OP = MemoryLayout.structLayout(
            JAVA_BYTE.withName("op"), JAVA_BYTE.withName("resv"), JAVA_SHORT.withName("flags"),
            JAVA_INT.withName("resv2")).withName("io_uring_probe_op");
    public static final StructLayout PROBE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("last_op"), JAVA_BYTE.withName("ops_len"), JAVA_SHORT.withName("resv"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv2")).withName("io_uring_probe");

    // --- offsets, from the layouts ---------------------------------------------------------
    public static final long P_SQ_ENTRIES = off(PARAMS, "sq_entries");
    public static final long P_CQ_ENTRIES = off(PARAMS, "cq_entries");
    public static final long P_FLAGS = off(PARAMS, "flags");
    public static final long P_FEATURES = off(PARAMS, "features");
    public static final long P_SQ_OFF = off(PARAMS, "sq_off");
    public static final long P_CQ_OFF = off(PARAMS, "cq_off");
    public static final long SQO_HEAD = off(SQRING_OFFSETS, "head");
    public static final long SQO_TAIL = off(SQRING_OFFSETS, "tail");
    public static final long SQO_RING_MASK = off(SQRING_OFFSETS, "ring_mask");
    public static final long SQO_RING_ENTRIES = off(SQRING_OFFSETS, "ring_entries");
    public static final long SQO_FLAGS = off(SQRING_OFFSETS, "flags");
    public static final long SQO_ARRAY = off(SQRING_OFFSETS, "array");
    public static final long CQO_HEAD = off(CQRING_OFFSETS, "head");
    public static final long CQO_TAIL = off(CQRING_OFFSETS, "tail");
    public static final long CQO_RING_MASK = off(CQRING_OFFSETS, "ring_mask");
    public static final long CQO_RING_ENTRIES = off(CQRING_OFFSETS, "ring_entries");
    public static final long CQO_OVERFLOW = off(CQRING_OFFSETS, "overflow");
    public static final long CQO_CQES = off(CQRING_OFFSETS, "cqes");

    public static final long SQE_OPCODE = off(SQE, "opcode");
    public static final long SQE_FLAGS = off(SQE, "flags");
    public static final long SQE_IOPRIO = off(SQE, "ioprio");
    public static final long SQE_FD = off(SQE, "fd");
    public static final long SQE_OFF = off(SQE, "off");
    public static final long SQE_ADDR = off(SQE, "addr");
    public static final long SQE_LEN = off(SQE, "len");
    public static final long SQE_OP_FLAGS = off(SQE, "op_flags");
    public static final long SQE_USER_DATA = off(SQE, "user_data");
    public static final long SQE_BUF_GROUP = off(SQE, "buf_group");
    public static final long SQE_FILE_INDEX = off(SQE, "file_index");
    /** sqe.optlen, the same four bytes as file_index: for a multishot recv (6.17), the bytes after which it ends. */
    public static final long SQE_OPTLEN = SQE_FILE_INDEX;

    public static final long CQE_USER_DATA = off(CQE, "user_data");
    public static final long CQE_RES = off(CQE, "res");
    public static final long CQE_FLAGS = off(CQE, "flags");

    public static final long BUF_ADDR = off(BUF, "addr");
    public static final long BUF_LEN = off(BUF, "len");
    public static final long BUF_BID = off(BUF, "bid");
    /** io_uring_buf_ring.tail: the resv field of bufs[0]. */
    public static final long BUF_RING_TAIL = off(BUF, "resv");

    public static final long BR_RING_ADDR = off(BUF_REG, "ring_addr");
    public static final long BR_RING_ENTRIES = off(BUF_REG, "ring_entries");
    public static final long BR_BGID = off(BUF_REG, "bgid");
    public static final long BR_FLAGS = off(BUF_REG, "flags");

    public static final long RR_NR = off(RSRC_REGISTER, "nr");
    public static final long RR_FLAGS = off(RSRC_REGISTER, "flags");
    public static final long GA_TS = off(GETEVENTS_ARG, "ts");
    public static final long TS_SEC = off(TIMESPEC, "tv_sec");
    public static final long TS_NSEC = off(TIMESPEC, "tv_nsec");
    public static final long PROBE_LAST_OP = off(PROBE, "last_op");
    public static final long PROBE_OP_FLAGS = off(PROBE_OP, "flags");

    // --- io_uring_setup(2) flags and features ------------------------------------------------
    public static final int IORING_SETUP_SQPOLL = 1 << 1;
    public static final int IORING_SETUP_CQSIZE = 1 << 3;
    public static final int IORING_SETUP_CLAMP = 1 << 4;
    public static final int IORING_SETUP_R_DISABLED = 1 << 6;
    public static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    public static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;
    public static final int IORING_SETUP_DEFER_TASKRUN = 1 << 13;
    public static final int IORING_FEAT_SINGLE_MMAP = 1 << 0;
    public static final int IORING_FEAT_NODROP = 1 << 1;
    public static final int IORING_FEAT_FAST_POLL = 1 << 5;
    public static final int IORING_FEAT_EXT_ARG = 1 << 8;

    /** mmap(2) offsets that pick which of the ring's regions to map. */
    public static final long IORING_OFF_SQ_RING = 0L;
    public static final long IORING_OFF_CQ_RING = 0x8000000L;
    public static final long IORING_OFF_SQES = 0x10000000L;

    // --- io_uring_enter(2) flags ---------------------------------------------------------------
    public static final int IORING_ENTER_GETEVENTS = 1 << 0;
    public static final int IORING_ENTER_EXT_ARG = 1 << 3;

    // --- io_uring_register(2) opcodes -----------------------------------------------------------
    public static final int IORING_REGISTER_PBUF_RING = 22;
    public static final int IORING_UNREGISTER_PBUF_RING = 23;
    public static final int IORING_REGISTER_PROBE = 8;
    /** io_uring_probe_op.flags: this kernel can run the opcode. */
    public static final int IO_URING_OP_SUPPORTED = 1 << 0;
    public static final int IORING_REGISTER_ENABLE_RINGS = 12;
    public static final int IORING_REGISTER_FILES = 2;
    public static final int IORING_UNREGISTER_FILES = 3;
    public static final int IORING_REGISTER_FILES2 = 13;
    public static final int IORING_RSRC_REGISTER_SPARSE = 1 << 0;
    /** sqe.file_index of ACCEPT: put the new socket in a free slot of the ring's file table. */
    public static final int IORING_FILE_INDEX_ALLOC = ~0;

    // --- opcodes (enum io_uring_op) ------------------------------------------------------------
    public static final byte IORING_OP_NOP = 0;
    public static final byte IORING_OP_TIMEOUT = 11;
    public static final byte IORING_OP_ACCEPT = 13;
    public static final byte IORING_OP_ASYNC_CANCEL = 14;
    public static final byte IORING_OP_READ = 22;
    public static final byte IORING_OP_SEND = 26;
    public static final byte IORING_OP_RECV = 27;
    public static final byte IORING_OP_CLOSE = 19;
    public static final byte IORING_OP_SHUTDOWN = 34;

    // --- SQE flags and per-opcode flags -------------------------------------------------------
    /** sqe.flags: sqe.fd is an index in the ring's registered file table, not an fd. */
    public static final byte IOSQE_FIXED_FILE = 1 << 0;
    /** sqe.flags: take a buffer from the group in sqe.buf_group instead of sqe.addr. */
    public static final byte IOSQE_BUFFER_SELECT = 1 << 5;
    /** sqe.ioprio of ACCEPT: keep accepting, one CQE per connection. */
    public static final short IORING_ACCEPT_MULTISHOT = 1 << 0;
    /** sqe.ioprio of RECV: keep receiving, one CQE (and one provided buffer) per chunk. */
    public static final short IORING_RECV_MULTISHOT = 1 << 1;
    public static final int IORING_ASYNC_CANCEL_ALL = 1 << 0;
    public static final int IORING_ASYNC_CANCEL_FD = 1 << 1;
    public static final int IORING_ASYNC_CANCEL_ANY = 1 << 2;
    public static final int IORING_ASYNC_CANCEL_FD_FIXED = 1 << 3;

    // --- CQE flags ------------------------------------------------------------------------------
    /** A provided buffer was used; its id is {@code flags >>> IORING_CQE_BUFFER_SHIFT}. */
    public static final int IORING_CQE_F_BUFFER = 1 << 0;
    /** The request is still armed: more completions will come from the same SQE. */
    public static final int IORING_CQE_F_MORE = 1 << 1;
    public static final int IORING_CQE_BUFFER_SHIFT = 16;
    /**
     * Incremental buffers (6.12): the kernel used only part of this buffer and will put the
     * next data after it; the buffer is not ours again until a completion comes without it.
     */
    public static final int IORING_CQE_F_BUF_MORE = 1 << 4;
    /** io_uring_buf_reg.flags: consume each provided buffer incrementally (6.12). */
    public static final short IOU_PBUF_RING_INC = 2;

    private static long off(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }
}
