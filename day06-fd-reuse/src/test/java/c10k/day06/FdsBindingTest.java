package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day03.Sockets;
import java.lang.foreign.MemoryLayout.PathElement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(value = OS.LINUX, disabledReason = "Linux system calls")
class FdsBindingTest {

    @Test
    void rlimitLayoutIsTwoLongs() {
        assertThat(Fds.RLIMIT.byteSize()).isEqualTo(16);
        assertThat(Fds.RLIMIT.byteOffset(PathElement.groupElement("rlim_max"))).isEqualTo(8);
    }

    @Test
    void theSoftLimitCanBeLoweredAndRaisedBackToTheHardLimit() throws Exception {
        Fds.Limit before = Fds.openFilesLimit();
        assertThat(before.soft()).isPositive().isLessThanOrEqualTo(before.hard());
        try {
            assertThat(Fds.setSoftLimit(before.soft() - 1).soft()).isEqualTo(before.soft() - 1);
            assertThat(Fds.raiseSoftLimitToHard().soft()).isEqualTo(before.hard());
        } finally {
            Fds.setSoftLimit(before.soft());
        }
    }

    @Test
    void dup3PutsTheSameSocketOnANumberOfOurChoosing() throws Exception {
        int listener = Sockets.listen("127.0.0.1", 0, 4);
        int pinned = 1_500;
        try {
            assertThat(Fds.isOpen(pinned)).isFalse();
            Fds.dup3(listener, pinned);
            assertThat(Fds.isOpen(pinned)).isTrue();
            assertThat(Sockets.localPort(pinned)).as("the same socket under two numbers").isEqualTo(Sockets.localPort(listener));
            Sockets.close(listener);
            assertThat(Sockets.localPort(pinned)).as("closing one number leaves the socket open").isPositive();
        } finally {
            Sockets.close(pinned);
        }
        assertThat(Fds.isOpen(pinned)).isFalse();
    }
}
