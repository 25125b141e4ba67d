package c10k.day07;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.Fds;
import c10k.day01.harness.Timeouts;
import c10k.day03.sys.SyscallException;
import c10k.day07.sys.IoUring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** Start-up failures say what is wrong, in words, and leave nothing open behind them. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "io_uring is Linux's")
class StartupTest {

    @Test
    void whenIoUringIsForbiddenTheMessageSaysWhoForbidsIt() {
        // What a default Docker container answers (seccomp), and a kernel without io_uring.
        assertThat(new IoUring.UnavailableException(c10k.day03.sys.Errno.EPERM).getMessage())
                .startsWith("io_uring is not available: io_uring_setup failed with EPERM")
                .containsAnyOf("seccomp", "kernel.io_uring_disabled");
        assertThat(new IoUring.UnavailableException(c10k.day03.sys.Errno.ENOSYS).getMessage())
                .contains("ENOSYS").contains("CONFIG_IO_URING");
    }

    @Test
    void aPortInUseIsRefusedAndNothingLeaks() throws Exception {
        IoUringAvailable.assume(IoUringEchoServer.Mode.MULTISHOT);
        int before = Fds.baseline();
        try (IoUringEchoServer first = new IoUringEchoServer("127.0.0.1", 0, IoUringEchoServer.Mode.MULTISHOT, 2, Timeouts.NONE)) {
            first.start();
            // One thread: no SO_REUSEPORT, so the port is refused. (Two threads of a second server
            // would be let in: SO_REUSEPORT shares a port with any socket of the same user that
            // sets it too.)
            IoUringEchoServer second = new IoUringEchoServer("127.0.0.1", first.port(), IoUringEchoServer.Mode.MULTISHOT, 1, Timeouts.NONE);
            assertThatThrownBy(second::start)
                    .isInstanceOf(SyscallException.class)
                    .hasMessageContaining("bind 127.0.0.1:" + first.port())
                    .hasMessageContaining("EADDRINUSE");
            second.close();
        }
        Fds.awaitNoLeak(before);
    }
}
