package c10k.day07.sys;

import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What this kernel's io_uring offers, found out once at start-up, before the first client.
 *
 * <p>Opcodes have a probe ({@code IORING_REGISTER_PROBE}, as liburing and Netty use). Flags and
 * fields do not: a kernel that does not know one fails the request that carries it with
 * {@code EINVAL}, and so does every other request already armed the same way. So each is
 * tried with a real request on a ring and a socketpair of our own, thrown away afterwards;
 * a client never meets a feature check.
 */
public record KernelFeatures(String kernel, Set<Feature> offered, KernelCeiling ceiling) {

    /** What the server uses beyond Linux 5.11's io_uring, with the version that brings it. */
    public enum Feature {
        /** IORING_ASYNC_CANCEL_FD and _ANY: a connection's requests, or all, in one cancel. */
        CANCEL_BY_FD(5, 19, "cancel by fd", false),
        /** Completions posted when we next enter, not by interrupting our thread. */
        COOP_TASKRUN(5, 19, "COOP_TASKRUN", false),
        BUFFER_RING(5, 19, "provided-buffer rings", true),
        MULTISHOT_RECV(6, 0, "multishot receive", true),
        /** SINGLE_ISSUER (6.0) with DEFER_TASKRUN (6.1): the ring's work runs in our own enter. */
        SINGLE_ISSUER(6, 1, "SINGLE_ISSUER with DEFER_TASKRUN", false),
        INCREMENTAL_BUFFERS(6, 12, "incremental provided buffers", true),
        /** sqe.optlen on a multishot receive: it ends after that many bytes. */
        RECV_BUDGET(6, 17, "a receive budget", true),
        /**
         * IORING_OP_CLOSE of a direct descriptor puts the socket at once, not when requests
         * issued before it on other slots complete ({@link DirectCloseProbe}). A behaviour, not
         * a flag: no version is claimed for it.
         */
        DIRECT_CLOSE(0, 0, "closing a direct descriptor closes the socket at once", true);

        final int major, minor;
        final String words;
        final boolean multishotOnly;

        Feature(int major, int minor, String words, boolean multishotOnly) {
            this.major = major;
            this.minor = minor;
            this.words = words;
            this.multishotOnly = multishotOnly;
        }

        public String since() {
            return "Linux " + major + "." + minor;
        }
    }

    /** The operations the server submits; the kernel's probe must say it can run each one. */
    private static final byte[] OPCODES = {IORING_OP_NOP, IORING_OP_TIMEOUT, IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL,
            IORING_OP_CLOSE, IORING_OP_READ, IORING_OP_SEND, IORING_OP_RECV, IORING_OP_SHUTDOWN};
    private static final long PROBE_UD = 1, PROBE_CANCEL_UD = 2;
    private static final long WAIT_NANOS = 5_000_000_000L;

    public boolean has(Feature f) {
        return offered.contains(f);
    }

    /** The flags a server's ring is set up with on this kernel (the loop thread enables it). */
    public int setupFlags() {
        if (has(Feature.SINGLE_ISSUER)) return IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
        return has(Feature.COOP_TASKRUN) ? IORING_SETUP_COOP_TASKRUN : 0;
    }

    /** Why this kernel cannot run the server in this mode, in words; null if it can. */
    public String refusal(boolean multishot) {
        if (!has(Feature.CANCEL_BY_FD)) {
            return "day 7 needs io_uring's cancel by fd (Linux 5.19), which " + kernel + " lacks";
        }
        if (multishot && !(has(Feature.MULTISHOT_RECV) && has(Feature.BUFFER_RING))) {
            return "--mode multishot needs multishot receive (Linux 6.0) with provided-buffer rings (Linux 5.19),"
                    + " which " + kernel + " lacks; --mode basic runs here";
        }
        return null;
    }

    /** One line: the kernel, what of it the mode uses, and what it lacks with the version that brings it. */
    public String describe(boolean multishot) {
        List<String> used = new ArrayList<>(), missing = new ArrayList<>();
        for (Feature f : Feature.values()) {
            if (f.multishotOnly && !multishot) continue;
            if (f == Feature.COOP_TASKRUN && has(Feature.SINGLE_ISSUER)) continue;   // the stronger one is used
            if (has(f)) used.add(f.words);
            else missing.add(f.words + (f.major == 0 ? " (here only once earlier requests complete)" : " (" + f.since() + ")"));
        }
        return kernel + ": io_uring with " + (used.isEmpty() ? "nothing beyond Linux 5.11" : String.join(", ", used))
                + (missing.isEmpty() ? "" : "; missing: " + String.join(", ", missing));
    }

    /** Why io_uring cannot be used here (the tests skip with it), or null if it can. */
    public static String unavailableReason() {
        try {
            probe(KernelCeiling.fromSystemProperty());
            return null;
        } catch (IoUring.UnavailableException e) {
            return e.getMessage();
        }
    }

    /** Asks this kernel (answering as {@code ceiling} says: {@link KernelCeiling#NONE} for itself). */
    public static KernelFeatures probe(KernelCeiling ceiling) throws IoUring.UnavailableException {
        String kernel = "Linux " + release() + (ceiling == KernelCeiling.NONE ? "" : " answering as " + ceiling);
        EnumSet<Feature> offered = EnumSet.noneOf(Feature.class);
        try (Arena arena = Arena.ofConfined(); IoUring ring = IoUring.open(8, 16, 0, ceiling)) {
            List<String> lacking = missingOpcodes(ring, arena);
            if (!lacking.isEmpty()) {
                throw new IoUring.UnavailableException("io_uring on " + kernel + " cannot run " + lacking + " (day 7 needs Linux 5.19)");
            }
            if (setupWorks(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED, ceiling)) {
                offered.add(Feature.SINGLE_ISSUER);
            }
            if (setupWorks(IORING_SETUP_COOP_TASKRUN, ceiling)) offered.add(Feature.COOP_TASKRUN);
            ring.sq().cancelAll(PROBE_UD);
            // Nothing is in flight: 0 cancelled from a kernel that knows the flags, EINVAL from one that does not.
            if (answer(ring, PROBE_UD)[0] != -Errno.EINVAL) offered.add(Feature.CANCEL_BY_FD);
            probeReceives(ring, arena, offered);
            // The ceiling can only take away: a kernel that defers the close is not played as one that does not.
            if (DirectCloseProbe.closesAtOnce(ring, arena) && !ceiling.defersDirectClose()) offered.add(Feature.DIRECT_CLOSE);
        } catch (SyscallException e) {
            throw new IoUring.UnavailableException("io_uring on " + kernel + " failed a start-up check: " + e.getMessage());
        }
        return new KernelFeatures(kernel, Set.copyOf(offered), ceiling);
    }

    private static List<String> missingOpcodes(IoUring ring, Arena arena) {
        MemorySegment probe = arena.allocate(PROBE.byteSize() + 256 * PROBE_OP.byteSize(), 8);
        int r = ring.register(IORING_REGISTER_PROBE, probe, 256);
        List<String> lacking = new ArrayList<>();
        if (r < 0) {
            lacking.add("IORING_REGISTER_PROBE (" + Errno.name(-r) + ")");
            return lacking;
        }
        int last = Byte.toUnsignedInt(probe.get(JAVA_BYTE, PROBE_LAST_OP));
        for (byte op : OPCODES) {
            long at = PROBE.byteSize() + op * PROBE_OP.byteSize() + PROBE_OP_FLAGS;
            if (op > last || (probe.get(JAVA_SHORT, at) & IO_URING_OP_SUPPORTED) == 0) lacking.add("opcode " + op);
        }
        return lacking;
    }

    private static boolean setupWorks(int flags, KernelCeiling ceiling) throws SyscallException {
        try (IoUring ignored = IoUring.open(2, 4, flags, ceiling)) {
            return true;
        } catch (IoUring.UnavailableException e) {
            return false;
        }
    }

    /** Provided-buffer rings, incremental ones, multishot receive and its budget: each tried for real. */
    private static void probeReceives(IoUring ring, Arena arena, EnumSet<Feature> offered) throws SyscallException {
        BufferRing buffers;
        try {
            buffers = new BufferRing(ring, (short) 1, 2, 64, true, arena);
            offered.add(Feature.INCREMENTAL_BUFFERS);
        } catch (SyscallException incrementalRefused) {
            try {
                buffers = new BufferRing(ring, (short) 2, 2, 64, false, arena);
            } catch (SyscallException refused) {
                return;   // no provided-buffer ring: no multishot receive either
            }
        }
        offered.add(Feature.BUFFER_RING);
        int[] pair = IoUringSyscalls.socketpair();
        try {
            if (received(ring, buffers, pair, 0)) {
                offered.add(Feature.MULTISHOT_RECV);
                if (received(ring, buffers, pair, 1024)) offered.add(Feature.RECV_BUDGET);
            }
        } finally {
            Sockets.close(pair[0]);
            Sockets.close(pair[1]);
            buffers.close();
        }
    }

    /** One byte sent, one multishot receive armed (with {@code budget} if > 0): did it arrive? */
    private static boolean received(IoUring ring, BufferRing buffers, int[] pair, int budget) throws SyscallException {
        Sockets.send(pair[1], new byte[] {'x'}, 0, 1);
        ring.sq().recvMultishot(pair[0], false, buffers.group(), budget, PROBE_UD);
        int[] cqe = answer(ring, PROBE_UD);
        if ((cqe[1] & IORING_CQE_F_BUFFER) != 0) {
            buffers.received(cqe[1], cqe[0]);
            buffers.release(cqe[1]);
            buffers.publish();
        }
        if ((cqe[1] & IORING_CQE_F_MORE) != 0) cancel(ring, PROBE_UD);
        return cqe[0] == 1;
    }

    /** Submits what is queued and returns {res, flags} of the next completion for {@code userData}. */
    static int[] answer(IoUring ring, long userData) {
        int[] found = new int[2];
        await(ring, (ud, res, flags) -> {
            if (ud != userData) return false;
            found[0] = res;
            found[1] = flags;
            return true;
        });
        return found;
    }

    /**
     * Cancels the armed receive {@code target} and waits for both completions: the cancel's
     * own, and the receive's last (no F_MORE). Only then is its memory ours again.
     */
    static void cancel(IoUring ring, long target) {
        ring.sq().cancel(target, PROBE_CANCEL_UD);
        boolean[] seen = new boolean[2];
        await(ring, (ud, res, flags) -> {
            if (ud == PROBE_CANCEL_UD) seen[0] = true;
            if (ud == target && (flags & IORING_CQE_F_MORE) == 0) seen[1] = true;
            return seen[0] && seen[1];
        });
    }

    private interface Until {
        boolean done(long userData, int res, int flags);
    }

    /** Submits what is queued and reaps completions until {@code until} says done (bounded: 5 s). */
    private static void await(IoUring ring, Until until) {
        CompletionQueue cq = ring.cq();
        long deadline = System.nanoTime() + WAIT_NANOS;
        while (System.nanoTime() < deadline) {
            if (cq.ready() == 0) ring.submitAndWait(1, 100_000_000L);
            int n = cq.ready();
            for (int i = 0; i < n; i++) {
                if (until.done(cq.userData(i), cq.res(i), cq.flags(i))) {
                    cq.consumed(i + 1);
                    return;
                }
            }
            cq.consumed(n);
        }
        throw new IllegalStateException("io_uring did not answer a start-up check within 5 s");
    }

    private static String release() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (Exception e) {
            return System.getProperty("os.version");
        }
    }
}
