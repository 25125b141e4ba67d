package c10k.exercises.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Protocol;
import c10k.day01.TestClient;
import c10k.day03.Outbox;
import c10k.exercises.Expect;
import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "Two marks, not one: above which do you stop reading, below which do you start again, and what do you do in between? Re-read day 3's \"Backpressure: the outbox's water marks\".",
        "Remember whether you are paused. Not paused and above HIGH_WATER: pause. Paused and below LOW_WATER: resume. Anything else: stay as you were. Read while not paused."})
@DisplayName("2. Backpressure: stop reading from a peer that does not read")
class BackpressureTest {

    /** The flood test opens a selector loop and its clients: every fd is closed when a test ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("The selector loop is given, and closes every connection it accepted:"
            + " did your code open a channel or a selector of its own, and leave it open?");

    private final Backpressure bp = new Backpressure();

    @Test
    void readsUpToTheHighWaterMark() {
        assertThat(bp.shouldRead(0)).as("nothing waits: read").isTrue();
        assertThat(bp.shouldRead(Outbox.HIGH_WATER))
                .as("exactly HIGH_WATER bytes wait: not above the mark yet, keep reading").isTrue();
    }

    @Test
    void pausesAboveTheHighWaterMark() {
        assertThat(bp.shouldRead(Outbox.HIGH_WATER + 1))
                .as("more than HIGH_WATER (64 KiB) bytes wait for this peer: stop reading from it").isFalse();
        assertThat(bp.isPaused()).isTrue();
    }

    @Test
    void staysPausedBetweenTheMarks() {
        bp.shouldRead(Outbox.HIGH_WATER + 1);
        assertThat(bp.shouldRead(Outbox.HIGH_WATER - 1))
                .as("paused, and the outbox fell just under HIGH_WATER: stay paused until it is under LOW_WATER,"
                        + " or reading flaps on and off with every write")
                .isFalse();
        assertThat(bp.shouldRead(Outbox.LOW_WATER)).as("exactly LOW_WATER: not below it yet, still paused").isFalse();
    }

    @Test
    void resumesBelowTheLowWaterMark() {
        bp.shouldRead(Outbox.HIGH_WATER + 1);
        assertThat(bp.shouldRead(Outbox.LOW_WATER - 1)).as("under LOW_WATER (32 KiB): read again").isTrue();
        assertThat(bp.shouldRead(Outbox.LOW_WATER + 1))
                .as("reading again, and the outbox grows a little: keep reading until it passes HIGH_WATER").isTrue();
    }

    @Test
    void aClientThatNeverReadsIsThrottledAndOthersAreServed() throws Exception {
        long total = 32L * 1024 * 1024;   // far more than the kernel buffers on the way can hold
        AtomicLong written = new AtomicLong();
        try (SelectorHarness server = new SelectorHarness(true)) {
            server.start();
            try (ExecutorService writerThread = Executors.newSingleThreadExecutor();
                 TestClient flooder = Expect.client(server.port())) {
                Future<?> writer = writerThread.submit(() -> {
                    OutputStream out = flooder.socket().getOutputStream();
                    for (long off = 0; off < total; off += 64 * Flood.LINE) {
                        out.write(Flood.bytes(off, 64 * Flood.LINE));   // blocks once every buffer is full
                        written.addAndGet(64 * Flood.LINE);
                    }
                    flooder.shutdownOutput();
                    return null;
                });
                Expect.eventually(Duration.ofSeconds(10), server.failure(),
                        "a client sends 32 MiB and reads nothing: the server must stop reading from it"
                                + " (readPausedCount() == 1) once its outbox passes HIGH_WATER",
                        () -> server.readPausedCount() == 1);
                int bound = Outbox.HIGH_WATER + 64 * 1024 + Protocol.MAX_LINE;
                assertThat(server.largestOutbox())
                        .as("bytes held for a peer that does not read: at most HIGH_WATER plus the answers to one read")
                        .isLessThanOrEqualTo(bound);
                try (TestClient other = Expect.client(server.port())) {
                    assertThat(Expect.line(other.send("me too\n"), server.failure(), "another client was not served"))
                            .isEqualTo("me too\n");
                }
                // Now the flooder reads: the outbox drains, reading resumes, every byte comes back in order.
                long received = Flood.readAndCheck(flooder.socket().getInputStream(), total);
                writer.get(10, TimeUnit.SECONDS);
                assertThat(received).as("every byte echoed once reading resumed (below LOW_WATER)").isEqualTo(total);
                assertThat(server.largestOutbox()).as("bounded all along").isLessThanOrEqualTo(bound);
            }
        }
    }
}
