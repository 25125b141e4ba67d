package c10k.day01.harness;

import c10k.day01.harness.Stats;
import c10k.day01.harness.StatsReporter;

import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/**
 * {@code --stats}: once a second, the server's {@link Stats} as one line on stderr (at INFO),
 * and the same figures as the JFR event {@code c10k.ServerStats}, so a recording started with
 * {@code jcmd PID JFR.start} (or JDK Mission Control) shows them beside GC and threads.
 *
 * <p>A rate is the difference of two {@link Stats.Snapshot}s divided by the time between them,
 * measured, not assumed to be one second: a reporter thread that ran late must not report a
 * burst. Open connections and paused readers are levels, not rates; refusals, timeouts and
 * refused late writes are rare events, shown as totals since the start.
 */
public final class StatsReporter implements AutoCloseable {

    /** What one line says. Per-second figures are averages over the interval measured. */
    public record Rates(long open, double acceptedPerSec, double closedPerSec, double linesPerSec,
                        double mibInPerSec, double mibOutPerSec, double wakeupsPerSec,
                        long pausedReaders, long refused, long timeouts, long lateWritesRefused) {

        public String line() {
            return String.format(Locale.ROOT, "%d open, %.0f accepted/s, %.0f closed/s, %.0f lines/s, "
                            + "%.2f MiB/s in, %.2f MiB/s out, %.0f wake-ups/s, %d paused readers, "
                            + "%d refused, %d timeouts, %d late writes refused",
                    open, acceptedPerSec, closedPerSec, linesPerSec, mibInPerSec, mibOutPerSec, wakeupsPerSec,
                    pausedReaders, refused, timeouts, lateWritesRefused);
        }
    }

    /** The rates between two snapshots taken {@code nanos} apart. */
    public static Rates rates(Stats.Snapshot before, Stats.Snapshot after, long nanos) {
        double seconds = Math.max(nanos, 1) / 1e9;
        double mib = 1024.0 * 1024.0;
        return new Rates(after.open(),
                (after.accepted() - before.accepted()) / seconds,
                (after.closed() - before.closed()) / seconds,
                (after.lines() - before.lines()) / seconds,
                (after.bytesIn() - before.bytesIn()) / mib / seconds,
                (after.bytesOut() - before.bytesOut()) / mib / seconds,
                (after.wakeups() - before.wakeups()) / seconds,
                after.pausedReaders(), after.refused(), after.timeouts(), after.lateWritesRefused());
    }

    private final Stats stats;
    private final LongSupplier nanoTime;
    private Stats.Snapshot last;
    private long lastAt;
    private ScheduledExecutorService timer;
    private Runnable jfrHook;

    /** A sampler: each {@link #sample()} gives the rates since the previous one (or since now). */
    public StatsReporter(Stats stats, LongSupplier nanoTime) {
        this.stats = stats;
        this.nanoTime = nanoTime;
        this.lastAt = nanoTime.getAsLong();
        this.last = stats.snapshot();
    }

    /** The rates since the last call; the first call measures from construction. */
    public synchronized Rates sample() {
        long now = nanoTime.getAsLong();
        Stats.Snapshot s = stats.snapshot();
        Rates r = rates(last, s, now - lastAt);
        last = s;
        lastAt = now;
        return r;
    }

    /**
     * Starts reporting {@code stats} of the server called {@code server}: a line a second on
     * {@code log}, and the JFR event. {@link #close()} stops both.
     */
    public static StatsReporter start(String server, Stats stats, System.Logger log) {
        StatsReporter lines = new StatsReporter(stats, System::nanoTime);
        lines.timer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().daemon().name(server + "-stats").unstarted(r));
        lines.timer.scheduleAtFixedRate(() -> log.log(System.Logger.Level.INFO, "stats: " + lines.sample().line()),
                1, 1, TimeUnit.SECONDS);
        // JFR asks when it wants (each recording at its own period): a sampler of its own, so
        // the two never split one interval between them.
        StatsReporter jfr = new StatsReporter(stats, System::nanoTime);
        lines.jfrHook = () -> ServerStatsEvent.emit(server, jfr.sample());
        FlightRecorder.addPeriodicEvent(ServerStatsEvent.class, lines.jfrHook);
        return lines;
    }

    @Override
    public void close() {
        if (timer != null) timer.shutdownNow();
        if (jfrHook != null) FlightRecorder.removePeriodicEvent(jfrHook);
    }

    /** The JFR face of a {@link Rates} line: {@code jfr print --events c10k.ServerStats rec.jfr}. */
    @Name("c10k.ServerStats")
    @Label("Server statistics")
    @Category("C10K")
    @Description("The --stats line of a workbook server: connections, rates per second, refusals")
    @Period("1 s")
    @StackTrace(false)   // always the same one: JFR's periodic task thread
    static final class ServerStatsEvent extends Event {
        @Label("Server") String server;
        @Label("Connections open") long open;
        @Label("Accepted per second") double acceptedPerSec;
        @Label("Closed per second") double closedPerSec;
        @Label("Lines per second") double linesPerSec;
        @Label("Bytes in per second") @DataAmount(DataAmount.BYTES) long bytesInPerSec;
        @Label("Bytes out per second") @DataAmount(DataAmount.BYTES) long bytesOutPerSec;
        @Label("Wake-ups per second") double wakeupsPerSec;
        @Label("Paused readers") long pausedReaders;
        @Label("Refused") @Description("Clients refused for lack of fds or a full pool") long refused;
        @Label("Timeouts") long timeouts;
        @Label("Late writes refused") long lateWritesRefused;

        static void emit(String server, Rates r) {
            ServerStatsEvent e = new ServerStatsEvent();
            e.server = server;
            e.open = r.open();
            e.acceptedPerSec = r.acceptedPerSec();
            e.closedPerSec = r.closedPerSec();
            e.linesPerSec = r.linesPerSec();
            e.bytesInPerSec = (long) (r.mibInPerSec() * 1024 * 1024);
            e.bytesOutPerSec = (long) (r.mibOutPerSec() * 1024 * 1024);
            e.wakeupsPerSec = r.wakeupsPerSec();
            e.pausedReaders = r.pausedReaders();
            e.refused = r.refused();
            e.timeouts = r.timeouts();
            e.lateWritesRefused = r.lateWritesRefused();
            e.commit();
        }
    }
}
