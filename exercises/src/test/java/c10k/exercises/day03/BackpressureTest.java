package c10k.exercises.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Protocol;
import c10k.day01.TestClient;
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
        "At which number of waiting bytes can one more read still not break MAX_HELD? And once paused, what stops you from resuming after the very next write?",
        "Re-read day 3's \"Backpressure: the outbox's water marks\": why two marks, and what the bound per connection is made of;"
        + " then day 1's \"LineFramer.feed: lines out of chunks\" and \"The line limit, and the ERR path\": what one read's answers can be.",
        "Write down the worst case of one read, in bytes, before you choose any number; then check your numbers against each line of the contract."})
@DisplayName("2. Backpressure: choose when to stop reading from a peer that does not read")
class BackpressureTest {

    /** The flood test opens a selector loop and its clients: every fd is closed when a test ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("The selector loop is given, and closes every connection it accepted:"
            + " did your code open a channel or a selector of its own, and leave it open?");

    private final Backpressure bp = new Backpressure();
    private static final int STEP = 1024;
    /** The most one read can add to what waits: a full read, plus the end of a line begun earlier. */
    private static final int ONE_READ = Backpressure.READ_BYTES + Protocol.MAX_LINE;

    @Test
    void readsAPeerWithLittleWaiting() {
        for (int p = 0; p <= Backpressure.ALWAYS_READ; p += STEP) {
            assertThat(bp.shouldRead(p))
                    .as("a peer with " + p + " bytes waiting (at most ALWAYS_READ) was not read: a client that pipelines"
                            + " a few lines is slowed down for nothing")
                    .isTrue();
        }
    }

    @Test
    @Hints({"At the moment you say \"read\", how many bytes can be waiting after that read, at worst?",
            "Re-read day 3's \"Backpressure: the outbox's water marks\" (\"at most HIGH_WATER plus the answers to one read\"),"
            + " then day 1's \"LineFramer.feed: lines out of chunks\": which bytes does the answer to a line echo?",
            "A read takes at most READ_BYTES from the socket; are the answers it makes always at most what it took?"
            + " Follow one long line, cut into many packets, through the framer and the echo."})
    void neverReadsWhenOneMoreReadCouldBreakTheBound() {
        for (int p = 0; p <= Backpressure.MAX_HELD; p += STEP) {
            if (!bp.shouldRead(p)) return;
            assertThat(p + ONE_READ)
                    .as("with " + p + " bytes waiting your shouldRead said read, and the worst read from there leaves"
                            + " more than MAX_HELD bytes held for this peer (it has room for " + (Backpressure.MAX_HELD - p)
                            + " more). The decision to stop comes before the read that would break the bound, not after:"
                            + " what is the most one read can add?")
                    .isLessThanOrEqualTo(Backpressure.MAX_HELD);
        }
    }

    @Test
    @Hints({"Once paused, what exactly makes you read again, and how much has drained by then?", "",
            "Name the two sizes at which you stop and start; what must be true between them for GAP bytes to pass,"
            + " and what must you remember between two calls to know which one applies?"})
    void pausesAndResumesWithoutFlapping() {
        int p = 0;
        while (p <= Backpressure.MAX_HELD && bp.shouldRead(p)) p += STEP;
        assertThat(p).as("the outbox grew to MAX_HELD and the peer was still read").isLessThanOrEqualTo(Backpressure.MAX_HELD);
        assertThat(bp.isPaused()).as("shouldRead said no: isPaused()").isTrue();
        int pausedAt = p;
        while (p > 0 && !bp.shouldRead(p)) p -= STEP;
        int resumedAt = bp.shouldRead(p) ? p : -1;
        if (resumedAt < 0) resumedAt = bp.shouldRead(0) ? 0 : -1;
        assertThat(resumedAt).as("paused at " + pausedAt + " bytes, and still paused with nothing waiting: a peer that has"
                + " read everything is never read again").isNotNegative();
        assertThat(pausedAt - resumedAt)
                .as("paused at " + pausedAt + " bytes and resumed at " + resumedAt + ": every write that frees a little"
                        + " room would then flip reading off and on, two system calls each time. Let at least GAP bytes"
                        + " drain first (day 3, \"Backpressure: the outbox's water marks\": why two marks)")
                .isGreaterThanOrEqualTo(Backpressure.GAP);
        assertThat(bp.isPaused()).as("shouldRead said yes: not paused").isFalse();
        for (int q = resumedAt; q < resumedAt + Backpressure.GAP; q += STEP) {
            assertThat(bp.shouldRead(q))
                    .as("resumed at " + resumedAt + " bytes and paused again at " + q + ": the same flapping, the other way")
                    .isTrue();
        }
    }

    @Test
    @Hints({"Does \"a peer with at most ALWAYS_READ bytes waiting is read\" stop being true once you have paused?", "",
            "One write can send a great deal at once: from paused, the next call may see any size. Where must your"
            + " resume mark be for every line of the contract to hold at that call?"})
    void aPausedPeerWithLittleWaitingIsReadAgain() {
        int p = 0;
        while (p <= Backpressure.MAX_HELD && bp.shouldRead(p)) p += STEP;
        int pausedAt = p;
        assertThat(bp.isPaused()).as("the outbox grew to " + pausedAt + " bytes: paused").isTrue();
        // The peer read a lot at once: one write of the loop took nearly everything.
        int left = Backpressure.ALWAYS_READ;
        assertThat(bp.shouldRead(left))
                .as("paused at " + pausedAt + " bytes, then one write drained all but " + left + " (ALWAYS_READ), and the"
                        + " peer is still not read: a client that pipelines normally again is slowed down, each pause"
                        + " waiting for its last bytes to be sent")
                .isTrue();
        for (int q = left; q >= 0; q -= STEP) {
            assertThat(bp.shouldRead(q)).as("resumed, then " + q + " bytes waiting: still read").isTrue();
        }
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
                        "a client sends 32 MiB and reads nothing: the server never stopped reading from it",
                        () -> server.readPausedCount() == 1);
                int bound = Backpressure.MAX_HELD;
                assertThat(server.largestOutbox())
                        .as("the server held " + server.largestOutbox() + " bytes for a client that sends and never reads,"
                                + " more than MAX_HELD (" + bound + "): the peer was still read when the next read could break the bound")
                        .isLessThanOrEqualTo(bound);
                try (TestClient other = Expect.client(server.port())) {
                    assertThat(Expect.line(other.send("me too\n"), server.failure(), "another client was not served"))
                            .isEqualTo("me too\n");
                }
                // Now the flooder reads: the outbox drains, reading resumes, every byte comes back in order.
                long received = Flood.readAndCheck(flooder.socket().getInputStream(), total);
                writer.get(10, TimeUnit.SECONDS);
                assertThat(received).as("every byte echoed once reading resumed").isEqualTo(total);
                assertThat(server.largestOutbox()).as("once the flooder read, the server held " + server.largestOutbox()
                        + " bytes for it at one point, more than MAX_HELD (" + bound + ")").isLessThanOrEqualTo(bound);
            }
        }
    }
}
