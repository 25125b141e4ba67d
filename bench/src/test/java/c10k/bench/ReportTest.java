package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report's rules, on made-up samples: no server runs, no figure is measured here. */
class ReportTest {

    private static final Bench.Options OPTIONS = Bench.Options.parse(new String[] {"--idle", "0,10000", "--connections", "100"});

    private static Bench.Variant variant(String name) {
        return Bench.variants(2, false).stream().filter(v -> v.name().equals(name)).findFirst().orElseThrow();
    }

    private static Bench.Sample ok(String server, String scenario, int level, int round, double lines) {
        return new Bench.Sample(server, scenario, level, round, lines, 100, 1000, 0, 100, 100, null);
    }

    private static Report report(List<Bench.Sample> samples) {
        List<Bench.Variant> variants = List.of(variant(Bench.FLOOR), variant("day04-et"),
                variant("day02-pool"), variant("netty-epoll-1"));
        return new Report(OPTIONS, variants, samples, List.of(), Map.of(), Map.of(), Map.of(), null, null, null, new Bench.Quiet("0.1 0.1 0.1", 0.02),
                new Bench.Quiet("0.1 0.1 0.1", 0.02), 60);
    }

    @Test
    void aFailedRunIsMarkedAndLeftOutOfMediansAndRatios() {
        Bench.Sample wrongBytes = new Bench.Sample("day04-et", "busy", 100, 2, 9_000_000, 10, 20, 3, 100, 100,
                "3 errors (wrong bytes or broken connections)");
        Report r = report(List.of(
                ok(Bench.FLOOR, "busy", 100, 0, 1_000_000), ok(Bench.FLOOR, "busy", 100, 1, 1_000_000), ok(Bench.FLOOR, "busy", 100, 2, 1_000_000),
                ok("day04-et", "busy", 100, 0, 900_000), ok("day04-et", "busy", 100, 1, 960_000), wrongBytes,
                ok("netty-epoll-1", "busy", 100, 0, 1_000_000)));
        String md = r.markdown();
        assertThat(md).contains("**FAILED** 1 of 3 rounds, left out").contains("3 errors (wrong bytes or broken connections)");
        assertThat(md).contains("| day04-et | 100 | 930k (**FAILED** 1 of 3 rounds, left out)");   // the median of the two clean rounds
        assertThat(md).contains("0.93× netty-epoll-1").doesNotContain("9,000k");
        assertThat(r.table()).contains("930k!");
        assertThat(r.json()).contains("\"failed\": \"3 errors (wrong bytes or broken connections)\"");
    }

    @Test
    void aRunWithOnlyFailuresHasNoFigureAndNoRatio() {
        Report r = report(List.of(ok(Bench.FLOOR, "busy", 100, 0, 1_000_000),
                new Bench.Sample("day04-et", "busy", 100, 0, 0, 0, 0, 0, -1, 100, "server died: boom")));
        assertThat(r.markdown()).contains("| day04-et | 100 | **FAILED** |").contains("server died: boom");
        assertThat(r.table()).contains("FAILED");
    }

    @Test
    void aServerThatServedOnlySomeClientsSaysSo() {
        Report r = report(List.of(ok(Bench.FLOOR, "busy", 100, 0, 1_000_000),
                new Bench.Sample("day02-pool", "busy", 100, 0, 600_000, 40, 90, 0, 2, 100, null)));
        assertThat(r.markdown()).contains("served only 2 of 100 clients");
        assertThat(r.table()).contains("served only 2 of 100");
    }

    @Test
    void keptIsTheMostIdleFigureOverTheNoIdleOneAndTheFloorRatioIsInTheFirstTable() {
        Report r = report(List.of(ok(Bench.FLOOR, "idle", 0, 0, 1_000_000), ok(Bench.FLOOR, "idle", 10_000, 0, 1_000_000),
                ok("day04-et", "idle", 0, 0, 800_000), ok("day04-et", "idle", 10_000, 0, 720_000)));
        String md = r.markdown();
        assertThat(md.indexOf("## 1. Busy beside idle")).isLessThan(md.indexOf("## 2.") < 0 ? md.length() : md.indexOf("## 2."));
        assertThat(md).contains("| day04-et | 1 thread | 800k | 720k | 0.90× | 0.80× | 0.72× |");
    }

    @Test
    void anOutlierIsCutAtTheTopOfAChartAndNamed() {
        Report r = report(List.of(ok(Bench.FLOOR, "idle", 0, 0, 100_000), ok(Bench.FLOOR, "idle", 10_000, 0, 100_000),
                ok("day04-et", "idle", 0, 0, 100_000), ok("day04-et", "idle", 10_000, 0, 95_000),
                ok("netty-epoll-1", "idle", 0, 0, 10_000), ok("netty-epoll-1", "idle", 10_000, 0, 200_000)));
        assertThat(r.markdown()).contains("Cut at the top of the chart (3× the median), see the table: netty-epoll-1 (20.00×)");
    }

    @Test
    void aQuickReportSaysItIsNotComparableAtTheTop() {
        Bench.Options quick = Bench.Options.parse(new String[] {"--quick"});
        Report r = new Report(quick, List.of(variant(Bench.FLOOR)), List.of(ok(Bench.FLOOR, "busy", 100, 0, 1)), List.of(),
                Map.of(), Map.of(), Map.of(), null, null, null, new Bench.Quiet("3.0 3.0 3.0", 0.9), new Bench.Quiet("3.0 3.0 3.0", 0.9), 60);
        String md = r.markdown();
        assertThat(md.substring(0, 400)).contains("--quick").contains("not comparable");
        assertThat(md).contains("the machine was busy");
    }

    /** The load average at the end counts the bench's own last minute; only other work makes a run noise. */
    @Test
    void aQuietMachineIsNotCalledBusyWhateverItsLoadAverage() {
        Report r = new Report(OPTIONS, List.of(variant(Bench.FLOOR)), List.of(ok(Bench.FLOOR, "busy", 100, 0, 1)), List.of(),
                Map.of(), Map.of(), Map.of(), null, null, null, new Bench.Quiet("0.9 0.5 0.4", 0.03), new Bench.Quiet("1.9 1.5 1.2", 0.05), 60);
        assertThat(r.markdown()).doesNotContain("the machine was busy").contains("3% of the CPUs busy (load average 0.9 0.5 0.4)");
    }

    /** A build in the middle of the run, quiet at both ends, still makes the figures noise. */
    @Test
    void otherWorkDuringTheRunMakesItNoiseEvenIfBothEndsWereQuiet() {
        Report r = new Report(OPTIONS, List.of(variant(Bench.FLOOR)), List.of(ok(Bench.FLOOR, "busy", 100, 0, 1)), List.of(),
                Map.of(), Map.of(), Map.of(), null, null, null, new Bench.Quiet("0.2 0.2 0.2", 0.01),
                new Bench.Quiet("0.9 0.9 0.9", 0.01, 0.25), 60);
        assertThat(r.markdown()).contains("other processes than the bench and its children used 25% of the CPUs")
                .contains("the machine was busy");
    }

    @Test
    void aReportRebuiltFromItsResultsIsTheReportTheRunPrinted() {
        List<Bench.Variant> variants = List.of(variant(Bench.FLOOR), variant("day04-et"), variant("day02-pool"), variant("netty-epoll-1"));
        List<Bench.Sample> samples = List.of(
                ok(Bench.FLOOR, "busy", 100, 0, 1_000_000), ok(Bench.FLOOR, "busy", 100, 1, 1_100_000),
                ok("day04-et", "busy", 100, 0, 900_000), ok("day04-et", "busy", 100, 1, 960_000),
                ok(Bench.FLOOR, "idle", 0, 0, 1_000_000), ok(Bench.FLOOR, "idle", 10_000, 0, 990_000),
                ok("day04-et", "idle", 0, 0, 800_000), ok("day04-et", "idle", 10_000, 0, 720_000),
                new Bench.Sample("day02-pool", "busy", 100, 0, 600_000, 40, 90, 0, 2, 100, null),
                ok("netty-epoll-1", "busy", 100, 0, 1_000_000));
        List<Bench.Memory> memory = List.of(new Bench.Memory(Bench.FLOOR, 0, 80, 0, 2000, 2000, null),
                new Bench.Memory("day04-et", 0, -20.5, 150.25, 2000, 2000, null));
        Report run = new Report(OPTIONS, variants, samples, memory, Map.of("day04-et", "TCP_NODELAY on"), Map.of("day04-et", List.of("c10k.day04.Day04")),
                Map.of("netty-epoll-1", "could not start"), null, "HTTP and nginx rows skipped: nginx not installed", null,
                new Bench.Quiet("0.1 0.1 0.1", 0.02), new Bench.Quiet("0.2 0.2 0.2", 0.03, 0.01), 125);
        assertThat(Report.fromJson(run.json()).markdown()).isEqualTo(run.markdown());
    }
}
