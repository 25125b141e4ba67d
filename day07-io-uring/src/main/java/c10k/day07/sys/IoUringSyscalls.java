package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.SYS_IO_URING_ENTER;
import static c10k.day07.sys.IoUringAbi.SYS_IO_URING_REGISTER;
import static c10k.day07.sys.IoUringAbi.SYS_IO_URING_SETUP;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import c10k.day03.sys.Libc;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The raw binding, and nothing else: io_uring's three system calls and the mmap(2) that maps
 * its rings, each returning what the kernel said. {@link IoUring} puts them together.
 */
final class IoUringSyscalls {

    private IoUringSyscalls() {
    }

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

    // int socketpair(int domain, int type, int protocol, int sv[2]);
    private static final MethodHandle SOCKETPAIR = Libc.downcall("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    // long sysconf(int name);
    private static final MethodHandle SYSCONF = Libc.downcall("sysconf", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));

    private static final int AF_UNIX = 1, SC_PAGESIZE = 30;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_SHARED_POPULATE = 0x01 | 0x8000;

    /** io_uring_setup(2): the new ring's fd, or -errno. {@code params} is read and written. */
    static int setup(int entries, MemorySegment params) {
        MemorySegment state = Libc.callState();
        try {
            long fd = (long) SETUP.invokeExact(state, SYS_IO_URING_SETUP, entries, params);
            return fd >= 0 ? (int) fd : -Libc.errno(state);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** io_uring_enter(2): how many SQEs the kernel took, or -errno. */
    static int enter(int ringFd, int toSubmit, int minComplete, int flags, MemorySegment arg, long argSize) {
        MemorySegment state = Libc.callState();
        try {
            long n = (long) ENTER.invokeExact(state, SYS_IO_URING_ENTER, ringFd, toSubmit, minComplete, flags, arg, argSize);
            return n >= 0 ? (int) n : -Libc.errno(state);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** io_uring_register(2): the result, or -errno. */
    static int register(int ringFd, int opcode, MemorySegment arg, int count) {
        MemorySegment state = Libc.callState();
        try {
            long n = (long) REGISTER.invokeExact(state, SYS_IO_URING_REGISTER, ringFd, opcode, arg, count);
            return n >= 0 ? (int) n : -Libc.errno(state);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /** mmap(2) of one region of the ring (which one: {@code offset}), shared with the kernel. */
    static MemorySegment mmap(int ringFd, long size, long offset) throws SyscallException {
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

    static void munmap(MemorySegment at, long size) {
        try {
            int ignored = (int) MUNMAP.invokeExact(Libc.callState(), at, size);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * socketpair(2): two connected stream sockets (AF_UNIX), close-on-exec. The start-up probe
     * arms real receives on one end and writes on the other: no port, nothing a client sees.
     */
    static int[] socketpair() throws SyscallException {
        MemorySegment state = Libc.callState();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment sv = a.allocate(JAVA_INT, 2);
            int r = (int) SOCKETPAIR.invokeExact(state, AF_UNIX, c10k.day03.sys.Sockets.SOCK_STREAM | c10k.day03.sys.Sockets.SOCK_CLOEXEC, 0, sv);
            Libc.check("socketpair", r, state);
            return new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }

    /**
     * sysconf(_SC_PAGESIZE): 4,096 on x86-64, but 16 KiB or 64 KiB on some aarch64 kernels.
     * What the kernel maps for us (a provided-buffer ring) must start on a page.
     */
    static long pageSize() {
        try {
            return (long) SYSCONF.invokeExact(Libc.callState(), SC_PAGESIZE);
        } catch (Throwable t) {
            throw Libc.unreachable(t);
        }
    }
}
