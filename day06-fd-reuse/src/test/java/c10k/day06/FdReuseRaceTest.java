package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The race, deterministically: Alice's request is held in a worker, Alice resets, Bob
 * connects, the worker writes. What reaches Bob?
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll and dup3 are Linux's")
class FdReuseRaceTest {

    private static final String ALICE = "alice: my password is hunter2\n";
    private int fdsBefore;

    @BeforeEach
    void count() {
        fdsBefore = Fds.baseline();
    }

    @AfterEach
    void noLeak() {
        Fds.awaitNoLeak(fdsBefore);
    }

    @Test
    void byNumberTheLateWorkerWritesAlicesSecretToBob() throws Exception {
        RaceDemo.Outcome o = RaceDemo.play(h -> FdReuseServer.unpinned("127.0.0.1", 0, 2, h));
        assertThat(o.bobFd()).as("accept handed Bob the number the loop had just closed").isEqualTo(o.aliceFd());
        assertThat(o.bobReceived()).as("Bob received Alice's answer").isEqualTo(ALICE);
    }

    @Test
    void pinnedWithGenerationsTheLateWriteIsRefused() throws Exception {
        RaceDemo.Outcome o = RaceDemo.play(h -> FdReuseServer.pinned("127.0.0.1", 0, 2, h, 16, 1_100));
        assertThat(o.aliceFd()).isEqualTo(1_100);
        assertThat(o.bobFd()).as("the FIFO gives Bob the next slot, not Alice's").isEqualTo(1_101);
        assertThat(o.bobReceived()).as("nothing meant for Alice reaches Bob").isEmpty();
        assertThat(o.refusedLateWrites()).isEqualTo(1);
    }

    @Test
    void theFifoOnlyDelaysReuseWithOneSlotBobGetsAlicesNumberAgain() throws Exception {
        // No generation check: a pool of one slot hands Alice's number to Bob at once, and the
        // late worker, seeing an open slot, writes into it.
        RaceDemo.Outcome o = RaceDemo.play(h -> new FdReuseServer("127.0.0.1", 0, 2, h,
                FdReuseServer.Identity.PINNED_SLOT, 1, 1_200, false));
        assertThat(o.bobFd()).isEqualTo(o.aliceFd()).isEqualTo(1_200);
        assertThat(o.bobReceived()).as("pinning alone is not enough").isEqualTo(ALICE);
    }

    @Test
    void theGenerationMakesItSafeEvenWhenTheSlotIsReusedAtOnce() throws Exception {
        RaceDemo.Outcome o = RaceDemo.play(h -> new FdReuseServer("127.0.0.1", 0, 2, h,
                FdReuseServer.Identity.PINNED_SLOT, 1, 1_200, true));
        assertThat(o.bobFd()).isEqualTo(o.aliceFd());
        assertThat(o.bobReceived()).isEmpty();
        assertThat(o.refusedLateWrites()).isEqualTo(1);
    }
}
