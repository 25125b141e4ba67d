package c10k.day03.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The plumbing every binding class shares: the C linker, the C library's symbols, and
 * {@code errno}.
 *
 * <p>{@code errno} is a thread-local variable of the C library, and the JVM itself makes
 * system calls between ours, so reading it "afterwards" would read someone else's. FFM's
 * answer is {@link Linker.Option#captureCallState}: the downcall copies {@code errno} into a
 * segment we pass as an extra first argument, right after the call returns. That segment is
 * allocated once per thread and reused: an arena per call would cost several times the
 * system call itself.
 */
public final class Libc {

    public static final Linker LINKER = Linker.nativeLinker();
    /** The C library the JVM is linked against: socket, poll, epoll_wait and friends. */
    public static final SymbolLookup LOOKUP = LINKER.defaultLookup();

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** One capture segment per thread, alive as long as the thread (an automatic arena). */
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private Libc() {
    }

    /**
     * A handle for a C function that reports failure through {@code errno}; it takes the
     * capture segment ({@link #callState()}) as its first argument.
     */
    public static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE_ERRNO;
        System.arraycopy(extra, 0, options, 1, extra.length);
        MemorySegment symbol = LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError("no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** This thread's errno capture segment. */
    public static MemorySegment callState() {
        return STATE.get();
    }

    /** The errno the last call on this thread captured into {@code state}. */
    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /**
     * Makes {@code -1} into an exception naming the call and the errno; returns other values.
     */
    public static int check(String call, int result, MemorySegment state) throws SyscallException {
        if (result == -1) throw new SyscallException(call, errno(state));
        return result;
    }

    /** Turns an unexpected Throwable from {@code MethodHandle.invokeExact} into an Error. */
    public static AssertionError unreachable(Throwable t) {
        return new AssertionError("native call failed unexpectedly", t);
    }
}
