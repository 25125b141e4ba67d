package c10k.day07;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.harness.Timeouts;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The echo contract every day passes, against each way this day serves it. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class IoUringEchoServerTest {

    static IoUringEchoServer server(IoUringEchoServer.Mode mode, int threads) {
        IoUringAvailable.assume(mode);
        return new IoUringEchoServer("127.0.0.1", 0, mode, threads, Timeouts.NONE);
    }

    @Nested
    class BasicContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.BASIC, 1);
        }
    }

    @Nested
    class MultishotContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.MULTISHOT, 1);
        }
    }

    /** multishot with connections as ordinary fds instead of direct descriptors. */
    @Nested
    class MultishotWithFdsContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.MULTISHOT, 1).withFixedFiles(false);
        }
    }

    /**
     * A buffer ring far too small for the load (4 buffers of 1 KiB for 50 clients and 8 MiB
     * streams): multishot receives keep ending with ENOBUFS and being re-armed, and every
     * byte must still come back in order.
     */
    @Nested
    class MultishotWithADryBufferRingContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.MULTISHOT, 1).withBufferRing(4, 1024);
        }
    }

    /**
     * As a kernel before 6.17 answers (Debian 12's 6.1, Ubuntu 24.04's 6.8): no receive
     * budget, so each receive is single-shot, one buffer from the ring.
     */
    @Nested
    class MultishotWithoutAReceiveBudgetContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.MULTISHOT, 1).withKernelAsOf("6.16");
        }
    }

    /** Two rings, two SO_REUSEPORT listeners on one port. */
    @Nested
    class TwoRingsContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.MULTISHOT, 2);
        }
    }

    @Nested
    class BasicWithSmallBuffersContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(IoUringEchoServer.Mode.BASIC, 2).withRecvSize(100);
        }
    }
}
