package c10k.day01.harness;

import c10k.day01.harness.Stats;
import c10k.day01.harness.StatsReporter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class StatsReporterTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Stats stats = new Stats();
    private final Stats.Counters a = stats.newCounters();
    private final Stats.Counters b = stats.newCounters();

    @Test
    void ratesAreTheDifferenceOfTwoSnapshotsOverTheTimeMeasured() {
        StatsReporter reporter = new StatsReporter(stats, now::get);
        for (int i = 0; i < 10; i++) a.accepted();
        for (int i = 0; i < 4; i++) b.accepted();
        b.closed();
        a.lines(3_000);
        b.lines(1_000);
        a.bytesIn(2 * 1024 * 1024);
        b.bytesOut(3 * 1024 * 1024);
        for (int i = 0; i < 500; i++) a.wakeup();
        a.paused(+1);
        a.paused(+1);
        b.paused(-1);
        a.refused();
        b.timedOut();
        b.lateWriteRefused();
        now.addAndGet(TimeUnit.SECONDS.toNanos(2));   // a reporter that woke after 2 s, not 1

        StatsReporter.Rates r = reporter.sample();
        assertThat(r.open()).isEqualTo(13);
        assertThat(r.acceptedPerSec()).isEqualTo(7.0);
        assertThat(r.closedPerSec()).isEqualTo(0.5);
        assertThat(r.linesPerSec()).isEqualTo(2_000.0);
        assertThat(r.mibInPerSec()).isCloseTo(1.0, within(1e-9));
        assertThat(r.mibOutPerSec()).isCloseTo(1.5, within(1e-9));
        assertThat(r.wakeupsPerSec()).isEqualTo(250.0);
        assertThat(r.pausedReaders()).as("a level, summed over threads").isEqualTo(1);
        assertThat(r.refused()).isEqualTo(1);
        assertThat(r.timeouts()).isEqualTo(1);
        assertThat(r.lateWritesRefused()).isEqualTo(1);
        assertThat(r.line()).isEqualTo("13 open, 7 accepted/s, 1 closed/s, 2000 lines/s, 1.00 MiB/s in, 1.50 MiB/s out, "
                + "250 wake-ups/s, 1 paused readers, 1 refused, 1 timeouts, 1 late writes refused");
    }

    @Test
    void eachSampleCountsOnlyWhatHappenedSinceThePreviousOne() {
        StatsReporter reporter = new StatsReporter(stats, now::get);
        a.lines(100);
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertThat(reporter.sample().linesPerSec()).isEqualTo(100.0);
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(500));
        b.lines(50);
        StatsReporter.Rates second = reporter.sample();
        assertThat(second.linesPerSec()).isEqualTo(100.0);
        assertThat(second.open()).isZero();
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertThat(reporter.sample().linesPerSec()).as("a quiet second").isZero();
    }

    @Test
    void aRetiredThreadsFiguresStayInTheTotals() {
        StatsReporter reporter = new StatsReporter(stats, now::get);
        Stats.Counters perConnection = stats.newCounters();
        perConnection.accepted();
        perConnection.lines(10);
        perConnection.closed();
        stats.retire(perConnection);   // its thread ends; the totals must not drop
        a.accepted();
        Stats.Snapshot s = stats.snapshot();
        assertThat(s.accepted()).isEqualTo(2);
        assertThat(s.closed()).isEqualTo(1);
        assertThat(s.lines()).isEqualTo(10);
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertThat(reporter.sample().linesPerSec()).isEqualTo(10.0);
    }
}
