package c10k.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.NoFdLeak;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The race, deterministically: Alice's request is held in a worker, Alice resets, Bob
 * connects, the worker writes (the test waits for that, {@link FdReuseServer#batchesWritten}),
 * then Bob sends a line and reads up to its echo. What reached Bob before it?
 *
 * <p>One test per mechanism, alone and together: the number alone (the bug), the placeholder
 * and the FIFO without the generation, the FIFO defeated by a pool of one, and the generation.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll and dup3 are Linux's")
@ExtendWith(NoFdLeak.class)
class FdReuseRaceTest {

    @Test
    void byNumberTheLateWorkerWritesAlicesSecretToBob() throws Exception {
        RaceDemo.Outcome o = RaceDemo.play(h -> FdReuseServer.unpinned("127.0.0.1", 0, 2, h));
        assertThat(o.bobFd()).as("accept handed Bob the number the loop had just closed").isEqualTo(o.aliceFd());
        assertThat(o.bobReceived()).as("Bob received Alice's answer").isEqualTo(RaceDemo.ALICE);
    }

    @Test
    void pinnedTheLateWriteIsRefusedAndBobGetsTheNextSlot() throws Exception {
        RaceDemo.Outcome o = RaceDemo.play(h -> FdReuseServer.pinned("127.0.0.1", 0, 2, h, 16, 1_100));
        assertThat(o.aliceFd()).isEqualTo(1_100);
        assertThat(o.bobFd()).as("the FIFO gives Bob the next slot, not Alice's").isEqualTo(1_101);
        assertThat(o.bobReceived()).as("nothing meant for Alice reaches Bob").isEmpty();
        assertThat(o.refusedLateWrites()).as("the generation check said no").isEqualTo(1);
    }

    @Test
    void withoutTheGenerationTheLateWriteMeetsThePlaceholderNotBob() throws Exception {
        // Alice's number is not reused yet (FIFO): it holds the placeholder, and the late send
        // fails with EPIPE. Nobody receives anything, though nothing refused it either.
        AtomicReference<String> aliceNumber = new AtomicReference<>(), placeholder = new AtomicReference<>();
        AtomicInteger dupGot = new AtomicInteger();
        RaceDemo.Outcome o = RaceDemo.play(h -> new PinnedServer("127.0.0.1", 0, 2, h, 16, 1_150).withoutGenerationCheck(),
                (server, outcome) -> {
                    // What a closed number cannot do: name a socket (the placeholder), and refuse
                    // to be handed out (F_DUPFD from that number up gives the next one).
                    aliceNumber.set(Probe.link(outcome.aliceFd()));
                    placeholder.set(Probe.link(((PinnedServer) server).placeholderFd()));
                    try {
                        int probe = c10k.day06.FdCalls.dupAtLeast(((PinnedServer) server).placeholderFd(), outcome.aliceFd());
                        dupGot.set(probe);
                        c10k.day03.sys.Sockets.close(probe);
                    } catch (c10k.day03.sys.SyscallException e) {
                        throw new AssertionError(e);
                    }
                });
        assertThat(o.bobFd()).isEqualTo(1_151);
        assertThat(o.bobReceived()).isEmpty();
        assertThat(o.refusedLateWrites()).isZero();
        assertThat(aliceNumber.get()).as("Alice's number, after her late write").isEqualTo(placeholder.get()).startsWith("socket:[");
        assertThat(dupGot.get()).as("her number is held: nobody else can be given it").isNotEqualTo(o.aliceFd());
    }

    @Test
    void theFifoOnlyDelaysReuseWithOneSlotBobGetsAlicesNumberAndHerSecret() throws Exception {
        // One slot: Alice's number is the next one handed out, the placeholder is already
        // replaced by Bob's socket when the late worker writes, and nothing else checks.
        RaceDemo.Outcome o = RaceDemo.play(h -> new PinnedServer("127.0.0.1", 0, 2, h, 1, 1_200).withoutGenerationCheck());
        assertThat(o.bobFd()).isEqualTo(o.aliceFd()).isEqualTo(1_200);
        assertThat(o.bobReceived()).as("placeholder and FIFO alone are not enough").isEqualTo(RaceDemo.ALICE);
    }

    @Test
    void theGenerationMakesItSafeEvenWhenTheSlotIsReusedAtOnce() throws Exception {
        RaceDemo.Outcome o = RaceDemo.play(h -> FdReuseServer.pinned("127.0.0.1", 0, 2, h, 1, 1_200));
        assertThat(o.bobFd()).isEqualTo(o.aliceFd());
        assertThat(o.bobReceived()).isEmpty();
        assertThat(o.refusedLateWrites()).isEqualTo(1);
    }
}
