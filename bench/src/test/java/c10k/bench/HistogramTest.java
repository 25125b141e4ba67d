package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class HistogramTest {

    @Test
    void quantilesAreWithinTheBucketResolution() {
        Histogram h = new Histogram();
        for (long v = 1; v <= 1_000_000; v++) h.record(v * 1000);   // 1 µs .. 1 s, uniform
        assertThat(h.count()).isEqualTo(1_000_000);
        assertThat((double) h.quantile(0.5)).isCloseTo(500_000_000, within(500_000_000 * 0.02));
        assertThat((double) h.quantile(0.99)).isCloseTo(990_000_000, within(990_000_000 * 0.02));
        assertThat(h.quantile(0.0001)).isLessThanOrEqualTo(100_000);
    }

    @Test
    void smallValuesAreExact() {
        Histogram h = new Histogram();
        for (int v = 1; v <= 50; v++) h.record(v);
        assertThat(h.quantile(0.5)).isEqualTo(25);
        assertThat(h.quantile(1.0)).isEqualTo(50);
    }

    @Test
    void theLoadGeneratorsLinesHaveTheirSizeAndEndInNewline() {
        byte[] line = new byte[64];
        LoadGen.line(line, 12, 345);
        assertThat(new String(line, java.nio.charset.StandardCharsets.US_ASCII)).startsWith("12:345 x").endsWith("x\n").hasSize(64);
    }
}
