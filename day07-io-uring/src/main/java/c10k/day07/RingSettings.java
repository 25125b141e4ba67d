package c10k.day07;

import c10k.day01.harness.Timeouts;
import c10k.day07.sys.BufferRing;
import c10k.day07.sys.IoUring;
import c10k.day07.sys.KernelFeatures.Feature;
import c10k.day07.sys.KernelFeatures;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What every {@link RingLoop} of a server is started with: the server's settings, fixed at
 * {@code start()}, and what the start-up probe found the kernel to offer.
 *
 * @param recvSize basic mode: the receive buffer each connection holds
 * @param ringBuffers multishot mode: the provided buffers of each ring (a power of two), of
 *     {@code ringBufferSize} bytes each
 * @param fixedFiles multishot mode: connections as direct descriptors, if the kernel lets us
 *     register a file table
 * @param incrementalBuffers multishot mode: provided buffers consumed incrementally, where the
 *     kernel can
 * @param turnHook tests: runs at the top of every turn, before the loop enters the kernel
 * @param onFatal what to do when a ring fails (the loop has logged why)
 */
record RingSettings(IoUringEchoServer.Mode mode, Timeouts timeouts, LongSupplier clock, int recvSize,
                    int ringBuffers, int ringBufferSize, boolean fixedFiles, boolean incrementalBuffers,
                    KernelFeatures kernel, Runnable turnHook, Consumer<Throwable> onFatal) {

    /**
     * Each turn of a loop submits about one SQE per connection that was answered: 4,096 make
     * a turn with 10,000 busy connections three io_uring_enter calls, where 256 made forty.
     */
    static final int SQ_ENTRIES = 4096;
    /**
     * Each busy connection can post a receive and a send completion per turn. A full CQ ring
     * costs twice: the kernel keeps the completion aside (IORING_FEAT_NODROP) and ends the
     * multishot request that posted it, which we must then re-arm. 65,536 is the kernel's
     * largest; its 1 MiB is the ring's, not a connection's.
     */
    static final int CQ_ENTRIES = 65_536;

    boolean multishot() {
        return mode == IoUringEchoServer.Mode.MULTISHOT;
    }

    /** Incremental buffers where asked for and the kernel has them (Linux 6.12). */
    boolean incremental() {
        return incrementalBuffers && kernel.has(Feature.INCREMENTAL_BUFFERS);
    }

    /** The byte budget of each multishot recv, or 0 where the kernel takes none (before Linux 6.17). */
    int recvBudget() {
        return kernel.has(Feature.RECV_BUDGET) ? Receiver.RECV_BUDGET : 0;
    }

    /**
     * Connections as direct descriptors: where asked for, and where closing one closes its
     * socket at once. Where the kernel puts a closed one only after every request issued
     * before the close has completed, one idle connection's armed receive would keep each
     * client we close from getting its FIN: there connections are fds.
     */
    boolean directDescriptors() {
        return fixedFiles && kernel.has(Feature.DIRECT_CLOSE);
    }

    /** A loop's start-up line: its ring, its receive buffers, and its file table ({@code fixedFiles} slots, 0: none). */
    String describe(IoUring ring, BufferRing buffers, int fixedFiles) {
        return "ring fd " + ring.fd() + ", " + ring.submissionEntries() + " SQEs, " + ring.completionEntries() + " CQEs"
                + (ring.singleIssuer() ? " (single issuer, task work deferred to our enter)" : "")
                + ", " + (multishot() ? ringBuffers + " provided buffers of " + ringBufferSize + " bytes"
                + (buffers.incremental() ? ", consumed incrementally" : "")
                + (recvBudget() == 0 ? ", one per single-shot receive (no receive budget)" : "")
                : recvSize + "-byte receive buffer per connection")
                + (fixedFiles > 0 ? ", connections as direct descriptors (a table of " + fixedFiles + ")"
                : multishot() && this.fixedFiles && !kernel.has(Feature.DIRECT_CLOSE)
                ? ", connections as fds (this kernel closes a direct descriptor only once earlier requests complete)" : "");
    }
}
