package c10k.exercises.day06;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.TestClient;
import c10k.day03.sys.Sockets;
import c10k.day06.FdCalls;
import c10k.exercises.Expect;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import c10k.exercises.day06.SlotPool.Slot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "The generation is checked: so at which instant can it still be Bob's slot when the bytes are sent? What can change between two of the given lines, and who can change it?",
        "Re-read day 6's \"The race\", then the step of \"The fix, step by step\" that is about the generation: for how long does its check hold?",
        "A check is worth what the guarantee around it is worth: from the check to the end of the send, what keeps the loop from handing the slot to Bob?"})
@DisplayName("2. LateWrite: find why a late answer reaches the next client on the number")
class LateWriteTest {

    /** The real-socket test opens a listener and two connections, pinned on fd 1300: all closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("writeIfStill only writes, through the send it is given: the slot's"
            + " number is the pool's, and only the pool's close() closes it. Did your code open or dup a descriptor,"
            + " and leave it open?");

    private static final byte[] ALICE = "alice: my password is hunter2\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BOB = "hello bob\n".getBytes(StandardCharsets.US_ASCII);

    /** What reached which number. */
    private final List<String> wire = new ArrayList<>();
    private final LateWrite.Send recorder = (fd, bytes) -> wire.add(fd + ": " + new String(bytes, StandardCharsets.US_ASCII).strip());

    /** Numbers that only pretend: these tests watch the slot, not the fd table. */
    private static final SlotPool.Numbers NO_NUMBERS = new SlotPool.Numbers() {
        @Override
        public void putPlaceholder(int n) {
        }

        @Override
        public void close(int n) {
        }
    };

    private static SlotPool pool(int size) {
        return new SlotPool(1000, size, NO_NUMBERS);
    }

    @Test
    void writesToTheClientItServed() throws Exception {
        Slot s = pool(2).acquire();
        boolean written = LateWrite.writeIfStill(s, s.generation(), BOB, recorder);
        assertThat(wire).as("the slot still holds the client the answer is for: send it").containsExactly("1000: hello bob");
        assertThat(written).as("and say so: true").isTrue();
    }

    @Test
    void refusesAfterTheClientLeft() throws Exception {
        SlotPool pool = pool(2);
        Slot s = pool.acquire();
        int alices = s.generation();
        pool.release(s);   // Alice reset; the loop put the placeholder back on her number
        boolean written = LateWrite.writeIfStill(s, alices, ALICE, recorder);
        assertThat(wire)
                .as("Alice left and her slot was released: her number holds the placeholder, and the next client"
                        + " may get the slot: her late answer was sent anyway, to a number that is no longer hers")
                .isEmpty();
        assertThat(written).as("refused: false").isFalse();
    }

    @Test
    void refusesAfterTheSlotWasReusedForAnotherClient() throws Exception {
        SlotPool pool = pool(1);
        Slot s = pool.acquire();
        int alices = s.generation();
        pool.release(s);
        Slot bobs = pool.acquire();   // a pool of one: Bob gets Alice's slot, and her number, at once
        assertThat(bobs).isSameAs(s);
        boolean written = LateWrite.writeIfStill(s, alices, ALICE, recorder);
        assertThat(wire)
                .as("the slot is open again, for Bob, on Alice's number: \"is it open?\" says yes. Only the"
                        + " generation tells Alice's answer from Bob's, and Bob got Alice's line (day 6, \"The race\")")
                .isEmpty();
        assertThat(written).isFalse();
        assertThat(LateWrite.writeIfStill(bobs, bobs.generation(), BOB, recorder)).as("Bob's own answer goes through").isTrue();
        assertThat(wire).containsExactly("1000: hello bob");
    }

    @Test
    void theSlotCannotChangeHandsWhileAnAnswerIsSent() throws Exception {
        Slot s = pool(1).acquire();
        AtomicBoolean locked = new AtomicBoolean();
        LateWrite.writeIfStill(s, s.generation(), BOB, (fd, bytes) -> locked.set(s.lock.isHeldByCurrentThread()));
        assertThat(locked.get())
                .as("send ran without the slot's lock: the loop may release the slot (the placeholder replaces"
                        + " Alice's socket) while you write, and give it to Bob in mid-answer")
                .isTrue();
        assertThat(s.lock.isHeldByCurrentThread()).as("and let go of the lock afterwards (finally)").isFalse();
    }

    @Test
    void aWorkerThatWaitedWhileTheSlotChangedHandsWritesNothing() throws Exception {
        SlotPool pool = pool(1);
        Slot s = pool.acquire();
        int alices = s.generation();
        AtomicReference<Object> outcome = new AtomicReference<>();
        s.lock.lock();   // the loop is busy with the slot: the worker must wait for it
        Thread worker;
        try {
            worker = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(LateWrite.writeIfStill(s, alices, ALICE, recorder));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (!s.lock.hasQueuedThread(worker) && outcome.get() == null && System.nanoTime() < deadline) {
                LockSupport.parkNanos(100_000);
            }
            if (outcome.get() instanceof RuntimeException r) throw r;   // the skeleton's TODO
            // Meanwhile, under the lock: Alice resets, Bob gets her slot.
            pool.release(s);
            pool.acquire();
        } finally {
            s.lock.unlock();
        }
        worker.join(2_000);
        if (outcome.get() instanceof RuntimeException r) throw r;
        assertThat(wire)
                .as("the worker came with Alice's answer while the loop held the slot, and by the time it got the"
                        + " lock the slot was Bob's, and Bob got Alice's line. The check was true when it was made, and no"
                        + " longer when the bytes went (day 6, \"Step 3: the generation, checked under the slot's lock\")")
                .isEmpty();
        assertThat(outcome.get()).isEqualTo(false);
    }

    @Test
    void theSlotCannotChangeHandsBetweenTheCheckAndTheSend() throws Exception {
        // The loop's move (Alice resets, her slot is released, Bob gets it) is played in turn
        // before each time the worker takes the slot's lock: the first time, the second, ...
        // Wherever it lands, Alice's answer must not reach Bob.
        for (int round = 1; round <= 4; round++) {
            int k = round;
            wire.clear();
            SlotPool pool = pool(1);
            Slot s = pool.acquire();
            int alices = s.generation();
            int[] takes = {0};
            boolean[] played = {false};
            s.lock.beforeLock = () -> {
                if (played[0] || ++takes[0] != k) return;
                played[0] = true;      // the loop, in this instant, on its own thread (the lock is free)
                pool.release(s);
                pool.acquire();
            };
            boolean written;
            try {
                written = LateWrite.writeIfStill(s, alices, ALICE, recorder);
            } finally {
                s.lock.beforeLock = null;
            }
            if (!played[0]) {
                assertThat(wire).as("the slot stayed Alice's: her answer goes to her").containsExactly("1000: " + new String(ALICE, StandardCharsets.US_ASCII).strip());
                continue;
            }
            assertThat(wire)
                    .as("the slot changed hands just before the worker took the slot's lock for the " + ordinal(k)
                            + " time, and Bob got Alice's line. Each look at the slot was made under its lock, and each"
                            + " was true when it was made; the loop was free to act between two holds of the lock"
                            + " (day 6, \"The race\")")
                    .isEmpty();
            assertThat(written).as("refused: false").isFalse();
        }
    }

    private static String ordinal(int k) {
        return switch (k) {
            case 1 -> "first";
            case 2 -> "second";
            case 3 -> "third";
            default -> k + "th";
        };
    }

    /**
     * The whole of day 6 on real sockets: a placeholder holds the slot's number (1300) from the
     * start, Alice's connection is dup3-ed onto it, she leaves and the placeholder goes back,
     * Bob's connection is dup3-ed onto the same number, and a worker late with Alice's answer
     * tries to write it.
     */
    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "dup3 and the FFM sockets are Linux's")
    void onRealSocketsAlicesLateAnswerNeverReachesBob() throws Exception {
        int number = 1_300;
        FdCalls.Limit limit = FdCalls.raiseSoftLimitToHard();
        assertThat(limit.soft()).as("the open-files limit must be above the pinned number " + number).isGreaterThan(number);
        assertThat(FdCalls.isOpen(number)).as("fd " + number + " is already in use in this JVM").isFalse();
        LateWrite.Send send = (fd, bytes) -> {
            for (int off = 0; off < bytes.length; ) {
                int n = Sockets.send(fd, bytes, off, bytes.length - off);
                if (n == Sockets.WOULD_BLOCK) throw new IOException("the test's socket buffer is full");
                off += n;
            }
        };
        // Day 6's SlotNumbers in a few lines: a dead socketpair end, put on the number at start.
        int[] pair = FdCalls.socketpair(Sockets.SOCK_STREAM | Sockets.SOCK_NONBLOCK | Sockets.SOCK_CLOEXEC);
        Sockets.close(pair[1]);
        int placeholder = pair[0];
        int listenFd = -1;
        SlotPool pool = null;
        Slot slot = null;
        try {
            assertThat(FdCalls.dupAtLeast(placeholder, number)).as("the placeholder takes fd " + number).isEqualTo(number);
            pool = new SlotPool(number, 1, new SlotPool.Numbers() {
                @Override
                public void putPlaceholder(int n) {
                    try {
                        FdCalls.dup3(placeholder, n);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }

                @Override
                public void close(int n) {
                    Sockets.close(n);
                }
            });
            listenFd = Sockets.listen("127.0.0.1", 0, 16);
            try (TestClient alice = Expect.client(Sockets.localPort(listenFd))) {
                slot = pool.acquire();
                pin(acceptOne(listenFd), slot);
                int alices = slot.generation();
                alice.reset();
                pool.release(slot);                  // the loop puts the placeholder back on fd 1300
                assertThat(FdCalls.isOpen(number)).as("released, fd " + number + " is still ours: the placeholder").isTrue();
                try (TestClient bob = Expect.client(Sockets.localPort(listenFd))) {
                    Slot bobs = pool.acquire();
                    pin(acceptOne(listenFd), bobs);  // Bob is fd 1300 now
                    boolean late = LateWrite.writeIfStill(slot, alices, ALICE, send);
                    assertThat(late).as("Alice's late answer, to fd 1300, which is Bob's now: refused").isFalse();
                    assertThat(LateWrite.writeIfStill(bobs, bobs.generation(), BOB, send)).isTrue();
                    assertThat(bob.readLine())
                            .as("the first line Bob receives: his own answer, not Alice's password")
                            .isEqualTo("hello bob\n");
                }
            }
        } finally {
            if (pool != null) pool.close();          // closes fd 1300, whatever it holds
            if (pool == null && FdCalls.isOpen(number)) Sockets.close(number);
            Sockets.close(placeholder);
            if (listenFd >= 0) Sockets.close(listenFd);
        }
        assertThat(FdCalls.isOpen(number)).as("fd " + number + " after the pool's close").isFalse();
    }

    /** What day 6's server does with each accepted socket: dup3 it onto the slot's number, give back the one accept chose. */
    private static void pin(int acceptedFd, Slot slot) throws IOException {
        FdCalls.dup3(acceptedFd, slot.fd());
        Sockets.close(acceptedFd);
    }

    /** Accepts the connection the test just made (connect() returned: it is queued, or about to be). */
    private static int acceptOne(int listenFd) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            int fd = Sockets.accept(listenFd);
            if (fd != Sockets.WOULD_BLOCK) return fd;
            LockSupport.parkNanos(100_000);
        }
        throw new IllegalStateException("the test could not accept its own connection");
    }
}
