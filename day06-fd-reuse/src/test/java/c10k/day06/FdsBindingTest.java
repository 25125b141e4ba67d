package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.MemoryLayout.PathElement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(value = OS.LINUX, disabledReason = "Linux system calls")
class FdsBindingTest {

    @Test
    void rlimitLayoutIsTwoLongs() {
        assertThat(FdCalls.RLIMIT.byteSize()).isEqualTo(16);
        assertThat(FdCalls.RLIMIT.byteOffset(PathElement.groupElement("rlim_max"))).isEqualTo(8);
    }

    @Test
    void theSoftLimitCanBeLoweredAndRaisedBackToTheHardLimit() throws Exception {
        FdCalls.Limit before = FdCalls.openFilesLimit();
        assertThat(before.soft()).isPositive().isLessThanOrEqualTo(before.hard());
        try {
            assertThat(FdCalls.setSoftLimit(before.soft() - 1).soft()).isEqualTo(before.soft() - 1);
            assertThat(FdCalls.raiseSoftLimitToHard().soft()).isEqualTo(before.hard());
        } finally {
            FdCalls.setSoftLimit(before.soft());
        }
    }

    @Test
    void dup3PutsTheSameSocketOnANumberOfOurChoosing() throws Exception {
        int listener = Sockets.listen("127.0.0.1", 0, 4);
        int pinned = 1_500;
        try {
            assertThat(FdCalls.isOpen(pinned)).isFalse();
            FdCalls.dup3(listener, pinned);
            assertThat(FdCalls.isOpen(pinned)).isTrue();
            assertThat(Sockets.localPort(pinned)).as("the same socket under two numbers").isEqualTo(Sockets.localPort(listener));
            Sockets.close(listener);
            assertThat(Sockets.localPort(pinned)).as("closing one number leaves the socket open").isPositive();
        } finally {
            Sockets.close(pinned);
        }
        assertThat(FdCalls.isOpen(pinned)).isFalse();
    }

    @Test
    void thePlaceholderReadsAsEndOfStreamAndRefusesWritesWithEpipe() throws Exception {
        int[] pair = FdCalls.socketpair(Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC);
        Sockets.close(pair[1]);
        int slot = 1_501;
        try {
            FdCalls.dup3(pair[0], slot);
            assertThat(Sockets.recv(slot, new byte[16], 0, 16)).as("a late reader sees end of stream").isZero();
            assertThatThrownBy(() -> Sockets.send(slot, new byte[] {'x'}, 0, 1))
                    .as("a late writer gets EPIPE (MSG_NOSIGNAL: no SIGPIPE)")
                    .isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPIPE));
        } finally {
            Sockets.close(slot);
            Sockets.close(pair[0]);
        }
    }

    @Test
    void dupAtLeastNeverReplacesAnOpenNumber() throws Exception {
        int listener = Sockets.listen("127.0.0.1", 0, 4);
        int wanted = 1_502;
        try {
            assertThat(FdCalls.dupAtLeast(listener, wanted)).isEqualTo(wanted);
            int second = FdCalls.dupAtLeast(listener, wanted);
            assertThat(second).as("taken: the next free number, and fd %d is untouched", wanted).isGreaterThan(wanted);
            assertThat(Sockets.localPort(wanted)).isEqualTo(Sockets.localPort(listener));
            Sockets.close(second);
        } finally {
            Sockets.close(wanted);
            Sockets.close(listener);
        }
    }
}
