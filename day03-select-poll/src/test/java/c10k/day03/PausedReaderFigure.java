package c10k.day03;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.StreamingWriter;
import c10k.day01.TestClient;
import c10k.day01.harness.Stats;
import java.time.Duration;
import java.util.Arrays;

/** What both day 3 servers must show on {@code --stats}: a client that never reads is counted as paused, then not. */
final class PausedReaderFigure {

    private PausedReaderFigure() {
    }

    /** A client floods lines and never reads: the loop's count and the {@code --stats} figure say 1; after it leaves, 0. */
    static <S extends EventLoopServer & Stats.Source> void countedThenGone(S server) throws Exception {
        Duration patience = Duration.ofSeconds(30);
        byte[] lines = new byte[1 << 16];
        Arrays.fill(lines, (byte) '\n');
        TestClient stalled = new TestClient(server.port());
        StreamingWriter writer = StreamingWriter.repeating(stalled.socket(), lines);   // and never reads
        try {
            // Two figures, published by the loop one after the other: wait for both, then check neither overshoots.
            Fds.await("the stalled reader paused, in the loop's count and in the figure --stats prints", patience,
                    () -> server.readPausedCount() >= 1 && server.stats().snapshot().pausedReaders() >= 1);
            assertThat(server.readPausedCount()).as("readers the loop has paused").isEqualTo(1);
            assertThat(server.stats().snapshot().pausedReaders()).as("the figure --stats prints").isEqualTo(1);
        } finally {
            stalled.close();   // unblocks the writer first
            writer.close();
        }
        Fds.await("the paused reader gone from the figure", patience, () -> server.stats().snapshot().pausedReaders() == 0);
    }
}
