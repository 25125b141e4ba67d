package c10k.day07;

import static c10k.day03.sys.Errno.EBADFD;
import static c10k.day03.sys.Errno.ETIME;
import static c10k.day07.sys.IoUringAbi.*;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.assertj.core.api.Assertions.assertThat;

import c10k.day07.sys.IoUring;
import c10k.day07.sys.KernelCeiling;
import c10k.day07.sys.KernelFeatures;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The layouts match the kernel's: first the sizes of include/uapi/linux/io_uring.h, then (if
 * a C compiler and the header are here) the compiler's own sizeof and offsetof, then a live
 * ring whose mapped fields, found through the offsets the kernel reported, say what
 * io_uring_setup said.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class IoUringAbiTest {

    @Test
    void theStructsHaveTheKernelsSizes() {
        assertThat(SQRING_OFFSETS.byteSize()).isEqualTo(40);
        assertThat(CQRING_OFFSETS.byteSize()).isEqualTo(40);
        assertThat(PARAMS.byteSize()).isEqualTo(120);
        assertThat(SQE.byteSize()).as("struct io_uring_sqe").isEqualTo(64);
        assertThat(CQE.byteSize()).as("struct io_uring_cqe").isEqualTo(16);
        assertThat(BUF.byteSize()).as("struct io_uring_buf").isEqualTo(16);
        assertThat(BUF_REG.byteSize()).as("struct io_uring_buf_reg").isEqualTo(40);
        assertThat(GETEVENTS_ARG.byteSize()).isEqualTo(24);
        assertThat(TIMESPEC.byteSize()).isEqualTo(16);
        assertThat(RSRC_REGISTER.byteSize()).as("struct io_uring_rsrc_register").isEqualTo(32);
        assertThat(SQE_USER_DATA).isEqualTo(32);
        assertThat(SQE_BUF_GROUP).isEqualTo(40);
        assertThat(BUF_RING_TAIL).as("the buffer ring's tail overlays bufs[0].resv").isEqualTo(14);
    }

    @Test
    void theLayoutsAgreeWithTheCCompiler(@TempDir Path dir) throws Exception {
        Path header = Path.of("/usr/include/linux/io_uring.h");
        Assumptions.assumeTrue(Files.exists(header), "no kernel headers (linux-libc-dev) installed");
        Assumptions.assumeTrue(onPath("cc"), "no C compiler on PATH");
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("sizeof(struct io_uring_params)", PARAMS.byteSize());
        expected.put("offsetof(struct io_uring_params, features)", P_FEATURES);
        expected.put("offsetof(struct io_uring_params, sq_off)", P_SQ_OFF);
        expected.put("offsetof(struct io_uring_params, cq_off)", P_CQ_OFF);
        expected.put("offsetof(struct io_sqring_offsets, array)", SQO_ARRAY);
        expected.put("offsetof(struct io_cqring_offsets, cqes)", CQO_CQES);
        expected.put("sizeof(struct io_uring_sqe)", SQE.byteSize());
        for (String f : new String[] {"ioprio", "fd", "off", "addr", "len", "user_data", "buf_group", "personality", "file_index", "addr3"}) {
            expected.put("offsetof(struct io_uring_sqe, " + f + ")", offset(SQE, f));
        }
        expected.put("offsetof(struct io_uring_sqe, msg_flags)", SQE_OP_FLAGS);
        expected.put("offsetof(struct io_uring_sqe, accept_flags)", SQE_OP_FLAGS);
        expected.put("offsetof(struct io_uring_sqe, cancel_flags)", SQE_OP_FLAGS);
        expected.put("sizeof(struct io_uring_cqe)", CQE.byteSize());
        expected.put("offsetof(struct io_uring_cqe, res)", CQE_RES);
        expected.put("offsetof(struct io_uring_cqe, flags)", CQE_FLAGS);
        expected.put("sizeof(struct io_uring_buf)", BUF.byteSize());
        expected.put("offsetof(struct io_uring_buf_ring, tail)", BUF_RING_TAIL);
        expected.put("sizeof(struct io_uring_buf_reg)", BUF_REG.byteSize());
        expected.put("sizeof(struct io_uring_rsrc_register)", RSRC_REGISTER.byteSize());
        expected.put("IORING_REGISTER_FILES2", (long) IORING_REGISTER_FILES2);
        expected.put("IORING_REGISTER_ENABLE_RINGS", (long) IORING_REGISTER_ENABLE_RINGS);
        expected.put("IORING_SETUP_R_DISABLED", (long) IORING_SETUP_R_DISABLED);
        expected.put("IORING_SETUP_COOP_TASKRUN", (long) IORING_SETUP_COOP_TASKRUN);
        expected.put("IORING_SETUP_SINGLE_ISSUER", (long) IORING_SETUP_SINGLE_ISSUER);
        expected.put("IORING_SETUP_DEFER_TASKRUN", (long) IORING_SETUP_DEFER_TASKRUN);
        expected.put("IORING_OP_SHUTDOWN", (long) IORING_OP_SHUTDOWN);
        expected.put("IORING_OP_CLOSE", (long) IORING_OP_CLOSE);
        expected.put("IORING_ASYNC_CANCEL_FD_FIXED", (long) IORING_ASYNC_CANCEL_FD_FIXED);
        expected.put("(int) IORING_FILE_INDEX_ALLOC", (long) IORING_FILE_INDEX_ALLOC);
        expected.put("sizeof(struct io_uring_getevents_arg)", GETEVENTS_ARG.byteSize());
        expected.put("offsetof(struct io_uring_getevents_arg, ts)", GA_TS);
        expected.put("IORING_OP_RECV", (long) IORING_OP_RECV);
        expected.put("IORING_OP_SEND", (long) IORING_OP_SEND);
        expected.put("IORING_OP_ACCEPT", (long) IORING_OP_ACCEPT);
        expected.put("IORING_OP_ASYNC_CANCEL", (long) IORING_OP_ASYNC_CANCEL);
        expected.put("IORING_OP_TIMEOUT", (long) IORING_OP_TIMEOUT);
        expected.put("IORING_OP_READ", (long) IORING_OP_READ);
        expected.put("IORING_REGISTER_PBUF_RING", (long) IORING_REGISTER_PBUF_RING);
        expected.put("IORING_RECV_MULTISHOT", (long) IORING_RECV_MULTISHOT);
        expected.put("IORING_ACCEPT_MULTISHOT", (long) IORING_ACCEPT_MULTISHOT);
        expected.put("IORING_CQE_F_MORE", (long) IORING_CQE_F_MORE);
        expected.put("IORING_OFF_SQES", IORING_OFF_SQES);

        StringBuilder c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <linux/io_uring.h>\nint main(void) {\n");
        for (String e : expected.keySet()) c.append("  printf(\"%lld\\n\", (long long) (").append(e).append("));\n");
        c.append("  return 0;\n}\n");
        Path source = dir.resolve("abi.c");
        Files.writeString(source, c);
        Path exe = dir.resolve("abi");
        run(dir, "cc", "-o", exe.toString(), source.toString());
        String[] got = run(dir, exe.toString()).split("\n");
        int i = 0;
        for (Map.Entry<String, Long> e : expected.entrySet()) {
            assertThat(Long.parseLong(got[i++].trim())).as(e.getKey()).isEqualTo(e.getValue());
        }
    }

    @Test
    void setupSucceedsAndTheMappedRingsSayWhatItReported() throws Exception {
        IoUringAvailable.assume();
        try (IoUring ring = IoUring.open(8, 32)) {
            // Read from the mapping, at the offsets io_uring_setup handed back.
            assertThat(ring.submissionEntries()).isEqualTo(8);
            assertThat(ring.completionEntries()).isEqualTo(32);
            assertThat(ring.features() & IORING_FEAT_SINGLE_MMAP).as("one mmap for both rings (5.4)").isNotZero();
            assertThat(ring.features() & IORING_FEAT_FAST_POLL).as("sockets are polled inside the kernel (5.7)").isNotZero();
            assertThat(ring.cq().ready()).isZero();

            // A round trip through both rings: three NOPs in one io_uring_enter.
            ring.sq().nop(0x1111_2222_3333_4444L);
            ring.sq().nop(2);
            ring.sq().nop(3);
            assertThat(ring.submitAndWait(3, Long.MAX_VALUE)).as("one call submits all three").isEqualTo(3);
            assertThat(ring.enters()).isEqualTo(1);
            assertThat(ring.cq().ready()).isEqualTo(3);
            assertThat(ring.cq().userData(0)).as("user_data comes back untouched").isEqualTo(0x1111_2222_3333_4444L);
            assertThat(ring.cq().res(0)).isZero();
            assertThat(ring.cq().userData(2)).isEqualTo(3);
            ring.cq().consumed(3);
            assertThat(ring.cq().ready()).isZero();

            // More requests than the submission queue holds: the ring submits a full queue by itself.
            for (int i = 0; i < 20; i++) ring.sq().nop(100 + i);
            ring.submitAndWait(1, Long.MAX_VALUE);
            int seen = 0;
            while (seen < 20) {
                int n = ring.cq().ready();
                for (int i = 0; i < n; i++) assertThat(ring.cq().userData(i)).isEqualTo(100 + seen + i);
                ring.cq().consumed(n);
                seen += n;
                if (seen < 20) ring.submitAndWait(1, Long.MAX_VALUE);
            }
        }
    }

    @Test
    void theWaitTimeoutComesFromTheCallerNotFromARequest() throws Exception {
        IoUringAvailable.assume();
        try (IoUring ring = IoUring.open(8, 32)) {
            // Nothing in flight: the wait ends with -ETIME when the timeout passes.
            assertThat(ring.submitAndWait(1, 1_000_000L)).isEqualTo(-ETIME);
        }
    }

    /**
     * The server's rings are set up for one thread (IORING_SETUP_SINGLE_ISSUER with
     * DEFER_TASKRUN, made disabled so that the loop thread, not the one that opened them, is
     * the owner). The kernel holds us to it: nothing is taken before the owner enables the
     * ring, and afterwards nothing from any other thread. That is what lets it defer the
     * completion work to the owner's own io_uring_enter.
     */
    @Test
    void aRingForOneThreadTakesRequestsOnlyFromTheThreadThatEnabledIt() throws Exception {
        IoUringAvailable.assume();
        KernelFeatures kernel = KernelFeatures.probe(KernelCeiling.NONE);
        org.junit.jupiter.api.Assumptions.assumeTrue(kernel.has(KernelFeatures.Feature.SINGLE_ISSUER),
                "this kernel has no IORING_SETUP_SINGLE_ISSUER with DEFER_TASKRUN (Linux 6.1)");
        try (IoUring ring = IoUring.open(8, 32, kernel)) {
            assertThat(ring.singleIssuer()).isTrue();
            ring.sq().nop(1);
            assertThat(ring.submitAndWait(1, Long.MAX_VALUE)).as("not enabled yet: EBADFD").isEqualTo(-EBADFD);

            int[] fromOwner = new int[1];
            Thread owner = Thread.ofPlatform().start(() -> {
                try {
                    ring.enable();
                    fromOwner[0] = ring.submitAndWait(1, Long.MAX_VALUE);   // the NOP queued above
                } catch (Exception e) {
                    fromOwner[0] = Integer.MIN_VALUE;
                }
            });
            owner.join();
            assertThat(fromOwner[0]).as("the thread that enabled the ring submits").isEqualTo(1);
            assertThat(ring.cq().ready()).isEqualTo(1);
            ring.cq().consumed(1);

            ring.sq().nop(2);
            assertThat(ring.submitAndWait(1, Long.MAX_VALUE)).as("any other thread: EEXIST").isEqualTo(-c10k.day03.sys.Errno.EEXIST);
        }
    }

    private static long offset(StructLayout l, String field) {
        return l.byteOffset(groupElement(field));
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, program))) return true;
        }
        return false;
    }

    private static String run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + ": " + out).isZero();
        return out;
    }
}
