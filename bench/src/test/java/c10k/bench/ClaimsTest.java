package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The claims table reads each claim off the run it is given: made-up samples, no server runs. */
class ClaimsTest {

    private static final Bench.Options OPTIONS = Bench.Options.parse(new String[] {"--idle", "0,10000", "--connections", "100"});

    private static Report report(double pollWithIdle) {
        List<Bench.Variant> variants = Bench.variants(2, false).stream()
                .filter(v -> List.of(Bench.FLOOR, "day03-poll").contains(v.name())).toList();
        List<Bench.Sample> samples = List.of(
                new Bench.Sample("day03-poll", "idle", 0, 0, 1_000_000, 100, 1000, 0, 100, 100, null),
                new Bench.Sample("day03-poll", "idle", 10_000, 0, pollWithIdle, 100, 1000, 0, 100, 100, null));
        return new Report(OPTIONS, variants, samples, List.of(), Map.of(), Map.of(), Map.of(), null, null, null,
                new Bench.Quiet("0.1 0.1 0.1", 0.02), new Bench.Quiet("0.1 0.1 0.1", 0.02), 60);
    }

    private static Claims.Claim pollClaim(Report r) {
        return Claims.all(r).stream().filter(c -> c.words().startsWith("poll loses")).findFirst().orElseThrow();
    }

    @Test
    void aClaimIsBorneOutOnlyWhenTheRunSaysSo() {
        assertThat(pollClaim(report(100_000)).verdict()).isEqualTo("yes");
        assertThat(pollClaim(report(100_000)).figure()).isEqualTo("kept 0.10×");
        assertThat(pollClaim(report(950_000)).verdict()).isEqualTo("**no**");
    }

    @Test
    void aClaimTheRunHasNoFigureForIsSaidSo() {
        Claims.Claim vt = Claims.all(report(100_000)).stream().filter(c -> c.words().contains("virtual thread costs")).findFirst().orElseThrow();
        assertThat(vt.verdict()).isEqualTo("not in this run");
        assertThat(vt.figure()).isEmpty();
    }

    @Test
    void theReportOpensWithTheClaimsAndSpeaksOfNoGoals() {
        String md = report(100_000).markdown();
        assertThat(md).contains("## What the chapters claim, checked by this run").doesNotContainIgnoringCase("goal")
                .doesNotContainIgnoringCase("issue");
    }
}
