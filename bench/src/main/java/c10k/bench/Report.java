package c10k.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Turns the samples of one run into a console table, a Markdown report with charts, and JSON.
 *
 * <p>Rules it keeps: a run with any error is marked FAILED in every output and left out of the
 * medians and of every ratio; a row where the server served only some of its clients says so;
 * every table gives the ratio to the C floor; charts show ratios or one scenario each, so no
 * outlier flattens the others.
 */
final class Report {

    /** The rounds of one server, scenario and level: medians of the clean runs, and what failed. */
    record Cell(double median, double min, double max, double p50us, double p99us, int ok, int failed, String failure,
                int served, int connections) {
        boolean usable() {
            return ok > 0;
        }
    }

    /** Memory per idle connection, medians of the rounds. */
    record Mem(double rss, double heap, double total, long echoed, long held, int ok, String failure) {
    }

    private final Bench.Options o;
    private final List<Bench.Variant> variants;
    private final List<Bench.Sample> samples;
    private final List<Bench.Memory> memoryRuns;
    private final Map<String, String> sockets;
    private final Map<String, List<String>> commands;
    private final Map<String, String> startFailures;
    private final HttpBench.Results http;
    private final String httpNote, floorNote;
    private final Bench.Quiet quietStart, quietEnd;
    private final long wallSeconds;
    private String machine = Bench.machine();
    private final Map<String, Cell> cells = new LinkedHashMap<>();
    private final Map<String, Mem> memory = new LinkedHashMap<>();
    private final int maxIdle;

    Report(Bench.Options o, List<Bench.Variant> variants, List<Bench.Sample> samples, List<Bench.Memory> memoryRuns,
           Map<String, String> sockets, Map<String, List<String>> commands, Map<String, String> startFailures,
           HttpBench.Results http, String httpNote, String floorNote, Bench.Quiet quietStart, Bench.Quiet quietEnd, long wallSeconds) {
        this.o = o;
        this.variants = variants;
        this.samples = samples;
        this.memoryRuns = memoryRuns;
        this.sockets = sockets;
        this.commands = commands;
        this.startFailures = startFailures;
        this.http = http;
        this.httpNote = httpNote;
        this.floorNote = floorNote;
        this.quietStart = quietStart;
        this.quietEnd = quietEnd;
        this.wallSeconds = wallSeconds;
        this.maxIdle = o.idle.stream().mapToInt(Integer::intValue).max().orElse(0);
        for (Bench.Sample s : samples) cells.putIfAbsent(key(s.server(), s.scenario(), s.level()), null);
        for (String k : new ArrayList<>(cells.keySet())) {
            List<Bench.Sample> all = samples.stream().filter(s -> key(s.server(), s.scenario(), s.level()).equals(k)).toList();
            List<Bench.Sample> good = all.stream().filter(Bench.Sample::ok).toList();
            String failure = all.stream().filter(s -> !s.ok()).map(Bench.Sample::failure).filter(Objects::nonNull).findFirst().orElse(null);
            int served = all.stream().filter(s -> s.served() >= 0).mapToInt(Bench.Sample::served).min().orElse(-1);
            double[] lps = good.stream().mapToDouble(Bench.Sample::linesPerSec).toArray();
            cells.put(k, new Cell(median(lps), min(lps), max(lps), median(good.stream().mapToDouble(Bench.Sample::p50us).toArray()),
                    median(good.stream().mapToDouble(Bench.Sample::p99us).toArray()), good.size(), all.size() - good.size(), failure,
                    served, all.get(0).connections()));
        }
        for (Bench.Variant v : variants) {
            List<Bench.Memory> runs = memoryRuns.stream().filter(m -> m.server().equals(v.name())).toList();
            if (runs.isEmpty()) continue;
            List<Bench.Memory> good = runs.stream().filter(m -> m.failure() == null && m.echoed() >= m.held()).toList();
            String failure = runs.stream().filter(m -> m.failure() != null).map(Bench.Memory::failure).findFirst()
                    .orElse(runs.stream().filter(m -> m.failure() == null && m.echoed() < m.held())
                            .map(m -> "only " + m.echoed() + " of " + m.held() + " held connections answered").findFirst().orElse(null));
            memory.put(v.name(), new Mem(median(good.stream().mapToDouble(Bench.Memory::rssPerConn).toArray()),
                    median(good.stream().mapToDouble(Bench.Memory::heapPerConn).toArray()),
                    median(good.stream().mapToDouble(Bench.Memory::total).toArray()),
                    runs.stream().mapToLong(Bench.Memory::echoed).min().orElse(0), runs.get(0).held(), good.size(), failure));
        }
    }

    private static String key(String server, String scenario, int level) {
        return server + "|" + scenario + "|" + level;
    }

    private Cell cell(String server, String scenario, int level) {
        return cells.get(key(server, scenario, level));
    }

    private static double median(double[] values) {
        if (values.length == 0) return 0;
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(0);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(0);
    }

    private Bench.Variant variant(String name) {
        return variants.stream().filter(v -> v.name().equals(name)).findFirst().orElse(null);
    }

    // ---- figures and ratios

    private static String k(double linesPerSec) {
        return String.format(Locale.ROOT, "%,.0fk", linesPerSec / 1000);
    }

    /** lines/s as shown, with the FAILED and partial-service markers. */
    static String shown(Cell c) {
        if (c == null) return "";
        StringBuilder s = new StringBuilder();
        if (!c.usable()) {
            s.append("**FAILED**");
        } else {
            s.append(k(c.median()));
            if (c.failed() > 0) s.append(" (**FAILED** ").append(c.failed()).append(" of ").append(c.ok() + c.failed()).append(" rounds, left out)");
        }
        if (c.served() >= 0 && c.served() < c.connections()) {
            s.append(" (**served only ").append(c.served()).append(" of ").append(c.connections()).append(" clients**)");
        }
        return s.toString();
    }

    private static String ratio(Cell mine, Cell other) {
        if (mine == null || other == null || !mine.usable() || !other.usable() || other.median() == 0) return "";
        return String.format(Locale.ROOT, "%.2f×", mine.median() / other.median());
    }

    private static double ratioValue(Cell mine, Cell other) {
        if (mine == null || other == null || !mine.usable() || !other.usable() || other.median() == 0) return Double.NaN;
        return mine.median() / other.median();
    }

    private String vsFloor(String server, String scenario, int level) {
        return server.equals(Bench.FLOOR) ? "1.00×" : ratio(cell(server, scenario, level), cell(Bench.FLOOR, scenario, level));
    }

    private String vsPeer(Bench.Variant v, String scenario, int level) {
        if (v.peer() == null || variant(v.peer()) == null) return "";
        String r = ratio(cell(v.name(), scenario, level), cell(v.peer(), scenario, level));
        return r.isEmpty() ? "" : r + " " + v.peer();
    }

    /** Throughput kept with the most idle connections, as a ratio of the 0-idle figure. */
    private double kept(String server) {
        return ratioValue(cell(server, "idle", maxIdle), cell(server, "idle", 0));
    }

    private static String fmt(double ratio) {
        return Double.isNaN(ratio) ? "" : String.format(Locale.ROOT, "%.2f×", ratio);
    }

    private List<Bench.Variant> in(String scenario) {
        return variants.stream().filter(v -> v.in(scenario) && cells.keySet().stream().anyMatch(k -> k.startsWith(v.name() + "|" + scenario + "|"))).toList();
    }

    private static String n(int count) {
        return String.format(Locale.ROOT, "%,d", count);
    }

    // ---- figures for the claims and the chapters (NaN when this run has no clean figure)

    /** The command as run, without {@code --out DIR}: where a report was written is no part of how it was measured. */
    String commandShown() {
        return o.command.replaceAll(" --out \\S+", "");
    }

    String machine() {
        return machine;
    }

    Bench.Options options() {
        return o;
    }

    List<Bench.Variant> variants() {
        return variants;
    }

    Bench.Variant variantOf(String name) {
        return variant(name);
    }

    int maxIdle() {
        return maxIdle;
    }

    long wallSeconds() {
        return wallSeconds;
    }

    Bench.Quiet quietEnd() {
        return quietEnd;
    }

    /** The cell of one server, scenario ("idle" or "busy") and level, or null when the run has none. */
    Cell cellOf(String server, String scenario, int level) {
        return cell(server, scenario, level);
    }

    double lps(String server, String scenario, int level) {
        Cell c = cell(server, scenario, level);
        return c == null || !c.usable() ? Double.NaN : c.median();
    }

    double ratioOf(String mine, String other, String scenario, int level) {
        return ratioValue(cell(mine, scenario, level), cell(other, scenario, level));
    }

    double keptOf(String server) {
        return kept(server);
    }

    /** Bytes per idle connection (total), or NaN. nginx's figure comes from the HTTP rows. */
    double bytesOf(String server) {
        if (server.equals("nginx")) return http != null && http.nginxBytesPerIdle() >= 0 ? http.nginxBytesPerIdle() : Double.NaN;
        Mem m = memory.get(server);
        return m == null || m.ok() == 0 ? Double.NaN : m.total();
    }

    Mem memOf(String server) {
        return memory.get(server);
    }

    static String thousands(double linesPerSec) {
        return k(linesPerSec);
    }

    static String times(double ratio) {
        return fmt(ratio);
    }

    static String count(int n) {
        return n(n);
    }

    /**
     * The report of a committed run, rebuilt from its results.json alone, with no server started:
     * what {@code ./jbang pages} writes bench/results/report.md and the chapters' figures from.
     */
    static Report fromJson(String text) {
        Map<String, Object> j = Json.object(Json.parse(text));
        String command = (String) j.get("command");
        String args = command.startsWith("./jbang bench") ? command.substring("./jbang bench".length()).trim() : "";
        Bench.Options o = Bench.Options.parse(args.isEmpty() ? new String[0] : args.split(" "));
        Map<String, Object> servers = Json.object(j.get("servers"));
        List<Bench.Variant> known = Bench.variants(o.threads, o.quick);
        List<Bench.Variant> variants = servers.keySet().stream()   // the run's own order
                .map(name -> known.stream().filter(v -> v.name().equals(name)).findFirst().orElse(null)).filter(Objects::nonNull).toList();
        List<Bench.Sample> samples = new ArrayList<>();
        for (Object r : Json.array(j.get("runs"))) {
            Map<String, Object> m = Json.object(r);
            String scenario = switch ((String) m.get("scenario")) {
                case "busy_beside_idle" -> "idle";
                case "all_busy" -> "busy";
                default -> (String) m.get("scenario");   // a scenario this reader does not know keeps its own name
            };
            samples.add(new Bench.Sample((String) m.get("server"), scenario,
                    (int) Json.number(m.get("level")), (int) Json.number(m.get("round")) - 1, Json.number(m.get("lines_per_sec")),
                    Json.number(m.get("p50_us")), Json.number(m.get("p99_us")), (long) Json.number(m.get("errors")),
                    (int) Json.number(m.get("served")), (int) Json.number(m.get("connections")), (String) m.get("failed")));
        }
        Map<String, String> sockets = new LinkedHashMap<>();
        Map<String, List<String>> commands = new LinkedHashMap<>();
        servers.forEach((name, v) -> {
            Map<String, Object> m = Json.object(v);
            String cmd = (String) m.get("command");
            if (cmd != null && !cmd.isEmpty()) commands.put(name, List.of(cmd.split(" ")));
            sockets.put(name, (String) m.get("accepted_socket"));
        });
        Map<String, String> startFailures = new LinkedHashMap<>();
        if (j.get("start_failures") != null) Json.object(j.get("start_failures")).forEach((k, v) -> startFailures.put(k, (String) v));
        Map<String, Object> bytes = Json.object(j.getOrDefault("bytes_per_idle_connection", Map.of()));
        List<HttpBench.Result> httpRows = new ArrayList<>();
        for (Object r : Json.array(j.get("http"))) {
            Map<String, Object> m = Json.object(r);
            double median = Json.number(m.get("requests_per_sec"));
            httpRows.add(new HttpBench.Result((String) m.get("server"), median, m.containsKey("min") ? Json.number(m.get("min")) : median,
                    m.containsKey("max") ? Json.number(m.get("max")) : median, Json.number(m.get("p50_us")), Json.number(m.get("p99_us")), 0,
                    (int) Json.number(m.get("failed_rounds"))));
        }
        double nginxBytes = bytes.containsKey("nginx") ? Json.number(Json.object(bytes.get("nginx")).get("total")) : -1;
        HttpBench.Results http = httpRows.isEmpty() && nginxBytes < 0 ? null
                : new HttpBench.Results(httpRows, nginxBytes, 0, null, (String) j.get("nginx_config"), (String) j.get("nginx_socket"));
        // Results written before the notes were kept: the only run of that kind had no nginx, and its report said so.
        String httpNote = j.containsKey("http_note") ? (String) j.get("http_note")
                : httpRows.isEmpty() ? "HTTP and nginx rows skipped: nginx was not installed on the machine of this run" : null;
        Map<String, Object> load = Json.object(j.get("load_average"));
        Map<String, Object> cpu = Json.object(j.get("cpu_busy_before_and_after"));
        Report r = new Report(o, variants, samples, List.of(), sockets, commands, startFailures, http, httpNote,
                (String) j.get("floor_note"), new Bench.Quiet((String) load.get("start"), Json.number(cpu.get("start"))),
                new Bench.Quiet((String) load.get("end"), Json.number(cpu.get("end")), Json.number(cpu.get("others_during_run"))),
                (long) Json.number(j.get("wall_seconds")));
        r.machine = (String) j.get("machine");
        for (Bench.Variant v : variants) {
            if (bytes.containsKey(v.name())) {
                Map<String, Object> m = Json.object(bytes.get(v.name()));
                r.memory.put(v.name(), new Mem(Json.number(m.get("off_heap")), Json.number(m.get("heap")), Json.number(m.get("total")), 1, 1, 1,
                        (String) m.get("partial")));
            }
        }
        if (j.get("memory_failed") != null) {
            Json.object(j.get("memory_failed")).forEach((k, v) -> r.memory.putIfAbsent(k, new Mem(0, 0, 0, 0, 0, 0, (String) v)));
        }
        return r;
    }

    // ---- console

    String table() {
        StringBuilder sb = new StringBuilder();
        if (o.quick) sb.append("A --quick smoke run: NOT comparable with the full run or with the book's figures.\n\n");
        sb.append(String.format(Locale.ROOT, "busy beside idle: %d busy connections, %d lines in flight each, beside %s idle%n",
                o.busy, o.pipeline, o.idle));
        sb.append(String.format(Locale.ROOT, "%-22s", "server"));
        for (int idle : o.idle) sb.append(String.format(Locale.ROOT, " %16s", n(idle) + " idle"));
        sb.append(String.format(Locale.ROOT, " %8s %9s %9s%n", "kept", "×floor", "p99 µs"));
        for (Bench.Variant v : in("idle")) {
            sb.append(String.format(Locale.ROOT, "%-22s", v.name()));
            for (int idle : o.idle) {
                Cell c = cell(v.name(), "idle", idle);
                sb.append(String.format(Locale.ROOT, " %16s", c == null ? "" : c.usable() ? k(c.median()) + (c.failed() > 0 ? "!" : "") : "FAILED"));
            }
            Cell last = cell(v.name(), "idle", maxIdle);
            sb.append(String.format(Locale.ROOT, " %8s %9s %9s%n", fmt(kept(v.name())), vsFloor(v.name(), "idle", maxIdle),
                    last != null && last.usable() ? String.format(Locale.ROOT, "%.0f", last.p99us()) : ""));
        }
        sb.append(String.format(Locale.ROOT, "%nevery connection busy (%d in flight each):%n", o.pipeline));
        sb.append(String.format(Locale.ROOT, "%-22s %8s %12s %9s %9s %8s %22s%n", "server", "conns", "lines/s", "p50 µs", "p99 µs", "×floor", "vs netty, same threads"));
        for (Bench.Variant v : in("busy")) {
            for (int c : o.connections) {
                Cell x = cell(v.name(), "busy", c);
                if (x == null) continue;
                String lps = x.usable() ? k(x.median()) + (x.failed() > 0 ? "!" : "") : "FAILED";
                String partial = x.served() >= 0 && x.served() < x.connections() ? "  served only " + x.served() + " of " + x.connections() : "";
                sb.append(String.format(Locale.ROOT, "%-22s %8s %12s %9.0f %9.0f %8s %22s%s%n", v.name(), n(c), lps, x.p50us(), x.p99us(),
                        vsFloor(v.name(), "busy", c), vsPeer(v, "busy", c), partial));
            }
        }
        if (!memory.isEmpty() || (http != null && http.nginxBytesPerIdle() >= 0)) {
            sb.append(String.format(Locale.ROOT, "%nmemory per idle connection (slope %s → %s held, after a warm-up), bytes:%n", n(o.holdLow), n(o.holdHigh)));
            sb.append(String.format(Locale.ROOT, "%-22s %10s %10s %10s%n", "server", "off-heap", "heap", "total"));
            memory.forEach((name, m) -> sb.append(m.ok() == 0
                    ? String.format(Locale.ROOT, "%-22s FAILED: %s%n", name, m.failure())
                    : String.format(Locale.ROOT, "%-22s %10.0f %10.0f %10.0f%n", name, m.rss(), m.heap(), m.total())));
            if (http != null && http.nginxBytesPerIdle() >= 0) {
                sb.append(String.format(Locale.ROOT, "%-22s %10.0f %10s %10.0f%n", "nginx (keep-alive)", http.nginxBytesPerIdle(), "-", http.nginxBytesPerIdle()));
            }
        }
        if (http != null && !http.rows().isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%nHTTP/1.1 keep-alive, wrk -t1 -c100, one worker each:%n"));
            for (HttpBench.Result r : http.rows()) {
                sb.append(String.format(Locale.ROOT, "  %-15s %12s req/s  p50 %.0f µs  p99 %.0f µs%s%n", r.server(),
                        r.median() > 0 ? k(r.median()) : "FAILED", r.p50us(), r.p99us(), vsNginx(r)));
            }
        }
        for (String note : notes()) sb.append('\n').append(note.replace("**", "")).append('\n');
        return sb.toString();
    }

    private String vsNginx(HttpBench.Result r) {
        double nginx = http.rows().stream().filter(x -> x.server().startsWith("nginx")).mapToDouble(HttpBench.Result::median).findFirst().orElse(0);
        return r.server().startsWith("nginx") || nginx == 0 || r.median() == 0 ? "" : String.format(Locale.ROOT, "  %.2f× nginx", r.median() / nginx);
    }

    private List<String> notes() {
        List<String> notes = new ArrayList<>();
        if (floorNote != null) notes.add(floorNote + ": no ratio to the floor in this report.");
        if (httpNote != null) notes.add(httpNote);
        startFailures.forEach((name, why) -> notes.add("**" + name + " FAILED**, no further runs of it: " + why));
        return notes;
    }

    // ---- Markdown

    String markdown() {
        StringBuilder md = new StringBuilder("# Benchmark report\n\n");
        if (o.quick) {
            md.append("> **A `--quick` smoke run**: one round of ").append(o.seconds).append(" s runs, fewer levels and smaller hold sizes. ")
                    .append("It checks that every server runs and that the report renders; its figures are **not comparable** with the full run ")
                    .append("(`./jbang bench`) nor with the figures quoted in the chapters.\n\n");
        }
        md.append("- Machine: ").append(machine).append('\n');
        md.append("- Command: `").append(commandShown()).append("`, ").append(String.format(Locale.ROOT, "%d min %02d s", wallSeconds / 60, wallSeconds % 60)).append(" wall time\n");
        md.append("- Other work on the machine, sampled for 2 s with the bench idle, before the first run: ").append(quietStart.describe())
                .append("; after the last: ").append(quietEnd.describe());
        if (quietStart.busy() || quietEnd.busy()) md.append(" — **the machine was busy: read these figures as noise**");
        md.append('\n');
        md.append(String.format(Locale.ROOT, "- Load: lines of %d bytes, %d in flight per busy connection; %d round(s), each run %.1f s measured after %.1f s warm-up; "
                        + "servers one at a time, in an order that rotates each round; the median of the clean rounds, spread min–max.%n",
                o.lineSize, o.pipeline, o.rounds, o.seconds, o.warmup));
        md.append("- Throughput rows: each server JVM with `").append(String.join(" ", ServerProcess.COMMON_JVM)).append(' ')
                .append(String.join(" ", ServerProcess.THROUGHPUT_JVM)).append("` (Netty adds `--sun-misc-unsafe-memory-access=allow`); ")
                .append("memory rows: `").append(String.join(" ", ServerProcess.MEMORY_JVM)).append("`. The load generator (`LoadGen`, one thread, ")
                .append("TCP_NODELAY on, `-Xmx512m`) runs in other processes and checks every byte. Servers as they ran: [the last section](#servers-as-they-ran).\n");
        md.append("- A run with any error is marked **FAILED** and left out of medians and ratios. `×floor` is the ratio to the C floor ")
                .append("(`bench/c/echo_floor.c`, one thread, epoll ET) measured in the same run.\n\n");

        Claims.section(this, md);
        busyBesideIdle(md);
        allBusy(md);
        comparisons(md);
        memorySection(md);
        httpSection(md);
        serversSection(md);
        failures(md);
        List<String> notes = notes();
        if (!notes.isEmpty()) {
            md.append("\n## Notes\n\n");
            for (String note : notes) md.append("- ").append(note).append('\n');
        }
        return md.toString();
    }

    private void busyBesideIdle(StringBuilder md) {
        List<Bench.Variant> rows = in("idle");
        if (rows.isEmpty()) return;
        md.append(String.format(Locale.ROOT, "## 1. Busy beside idle%n%n%d busy connections (%d lines in flight each) beside %s idle ones. "
                        + "The idle connections are opened by a load generator process of their own before the busy ones start, and each has echoed one line, "
                        + "so the server holds them as real idle clients. **kept** is the throughput with %s idle as a ratio of the figure with none.%n%n",
                o.busy, o.pipeline, String.join(", ", o.idle.stream().map(Report::n).toList()), n(maxIdle)));
        md.append("| server | threads |");
        for (int idle : o.idle) md.append(" lines/s, ").append(n(idle)).append(" idle |");
        md.append(" kept at ").append(n(maxIdle)).append(" | ×floor, 0 idle | ×floor, ").append(n(maxIdle)).append(" idle |\n|---|---|");
        md.append("---:|".repeat(o.idle.size())).append("---:|---:|---:|\n");
        for (Bench.Variant v : rows) {
            md.append("| ").append(v.name()).append(" | ").append(v.threads()).append(" |");
            for (int idle : o.idle) md.append(' ').append(shown(cell(v.name(), "idle", idle))).append(" |");
            md.append(' ').append(fmt(kept(v.name()))).append(" | ").append(vsFloor(v.name(), "idle", 0)).append(" | ")
                    .append(vsFloor(v.name(), "idle", maxIdle)).append(" |\n");
        }
        barChart(md, "Throughput kept with " + n(maxIdle) + " idle beside " + o.busy + " busy (ratio to 0 idle)", "kept",
                rows.stream().map(Bench.Variant::name).toList(), this::kept);
        barChart(md, "×C floor with " + n(maxIdle) + " idle beside " + o.busy + " busy", "× floor",
                rows.stream().map(Bench.Variant::name).toList(), s -> ratioValue(cell(s, "idle", maxIdle), cell(Bench.FLOOR, "idle", maxIdle)));
        md.append("\nLatency per line (send to answer) in each run:\n\n| server | idle | lines/s | spread | p50 µs | p99 µs | ×floor | vs Netty, same threads |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Bench.Variant v : rows) {
            for (int idle : o.idle) detailRow(md, v, "idle", idle);
        }
    }

    private void detailRow(StringBuilder md, Bench.Variant v, String scenario, int level) {
        Cell c = cell(v.name(), scenario, level);
        if (c == null) return;
        md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s |%n", v.name(), n(level), shown(c),
                c.usable() ? k(c.min()) + "–" + k(c.max()) : "", c.usable() ? String.format(Locale.ROOT, "%.0f", c.p50us()) : "",
                c.usable() ? String.format(Locale.ROOT, "%.0f", c.p99us()) : "", vsFloor(v.name(), scenario, level), vsPeer(v, scenario, level)));
    }

    private void allBusy(StringBuilder md) {
        List<Bench.Variant> rows = in("busy");
        if (rows.isEmpty()) return;
        md.append(String.format(Locale.ROOT, "%n## 2. Every connection busy%n%nEach connection keeps %d lines in flight (a closed loop). "
                + "Day 2 runs at 100 connections only (a thread per connection, or a pool that serves as many clients as it has threads).%n%n", o.pipeline));
        md.append("| server | connections | lines/s | spread | p50 µs | p99 µs | ×floor | vs Netty, same threads |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Bench.Variant v : rows) {
            for (int c : o.connections) detailRow(md, v, "busy", c);
        }
        for (int c : o.connections) {
            List<String> names = rows.stream().map(Bench.Variant::name).filter(s -> cell(s, "busy", c) != null).toList();
            barChart(md, "×C floor, " + n(c) + " busy connections", "× floor", names,
                    s -> ratioValue(cell(s, "busy", c), cell(Bench.FLOOR, "busy", c)));
        }
    }

    private void comparisons(StringBuilder md) {
        List<String[]> pairs = new ArrayList<>();
        for (Bench.Variant v : variants) {
            if (v.peer() != null && variant(v.peer()) != null) pairs.add(new String[] {v.name(), v.peer()});
        }
        for (String day7 : List.of("day07-basic", "day07-multishot")) {
            if (variant(day7) != null && variant("day04-et") != null) pairs.add(new String[] {day7, "day04-et"});
        }
        if (pairs.isEmpty()) return;
        md.append("\n## Comparisons, thread for thread\n\nEach design against the peer with the same number of threads that serve connections, named exactly. ")
                .append("On 2 cores the load generator takes one, so designs with 2 or 3 threads share the other core with each other and with the load generator. ")
                .append("These are ratios between the two rows; each row's ratio to the C floor is in the tables above.\n\n");
        md.append("| comparison |");
        for (int idle : o.idle) md.append(' ').append(o.busy).append(" busy + ").append(n(idle)).append(" idle |");
        for (int c : o.connections) md.append(' ').append(n(c)).append(" busy |");
        md.append("\n|---|").append("---:|".repeat(o.idle.size() + o.connections.size())).append('\n');
        for (String[] p : pairs) {
            Bench.Variant a = variant(p[0]), b = variant(p[1]);
            md.append("| ").append(a.name()).append(" (").append(a.threads()).append(") vs ").append(b.name()).append(" (").append(b.threads()).append(") |");
            for (int idle : o.idle) md.append(' ').append(ratio(cell(a.name(), "idle", idle), cell(b.name(), "idle", idle))).append(" |");
            for (int c : o.connections) md.append(' ').append(ratio(cell(a.name(), "busy", c), cell(b.name(), "busy", c))).append(" |");
            md.append('\n');
        }
    }

    private void memorySection(StringBuilder md) {
        boolean nginx = http != null && http.nginxBytesPerIdle() >= 0;
        if (memory.isEmpty() && !nginx) return;
        md.append(String.format(Locale.ROOT, "%n## 3. Memory per idle connection%n%nThe slope between holding %s and %s idle connections, after a warm-up with traffic "
                        + "(%d busy connections, then %s held and let go), so one-time costs (lazy pools, class loading, JIT) are not charged per connection. "
                        + "Java servers run with a pre-touched fixed heap (`%s`): the **off-heap** part is the growth of the anonymous resident set (`RssAnon`), "
                        + "the **heap** part the growth of the heap in use after a full GC (`jcmd GC.run`, `GC.heap_info`); "
                        + "before each reading the bench waits %s and has the JVM give freed native memory back (`jcmd System.trim_native_heap`). nginx: the anonymous resident set of its master and worker, "
                        + "each connection after one keep-alive request.%n%n",
                n(o.holdLow), n(o.holdHigh), o.busy, n(o.holdLow), String.join(" ", ServerProcess.MEMORY_JVM),
                o.settleMillis > 0 ? String.format(Locale.ROOT, "%.1f s (HotSpot's arena-chunk cleaner runs every 5 s)", o.settleMillis / 1e3)
                        : "no time (--quick)"));
        md.append("| server | off-heap (RSS) B | heap B | total B | ×floor |\n|---|---:|---:|---:|---:|\n");
        double floor = memory.containsKey(Bench.FLOOR) && memory.get(Bench.FLOOR).ok() > 0 ? memory.get(Bench.FLOOR).total() : Double.NaN;
        List<String> chartNames = new ArrayList<>();
        List<Double> chartValues = new ArrayList<>();
        for (Map.Entry<String, Mem> e : memory.entrySet()) {
            Mem m = e.getValue();
            if (m.ok() == 0) {
                md.append("| ").append(e.getKey()).append(" | **FAILED**: ").append(m.failure()).append(" | | | |\n");
                continue;
            }
            String partial = m.failure() != null ? " (**" + m.failure() + "**)" : "";
            md.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %,.0f%s | %s |%n", e.getKey(), m.rss(), m.heap(), m.total(), partial,
                    Double.isNaN(floor) || floor <= 0 ? "" : String.format(Locale.ROOT, "%.1f×", m.total() / floor)));
            chartNames.add(e.getKey());
            chartValues.add(m.total());
        }
        if (nginx) {
            md.append(String.format(Locale.ROOT, "| nginx (1 worker, keep-alive) | %,.0f | – | %,.0f | %s |%n", http.nginxBytesPerIdle(), http.nginxBytesPerIdle(),
                    Double.isNaN(floor) || floor <= 0 ? "" : String.format(Locale.ROOT, "%.1f×", http.nginxBytesPerIdle() / floor)));
            chartNames.add("nginx");
            chartValues.add(http.nginxBytesPerIdle());
        }
        // An outlier (day 2's virtual threads, tens of KB) would flatten every other bar: it stays in the table only.
        double med = median(chartValues.stream().mapToDouble(Double::doubleValue).filter(x -> x > 0).toArray());
        List<String> offScale = new ArrayList<>();
        Map<String, Double> chart = new LinkedHashMap<>();
        for (int i = 0; i < chartNames.size(); i++) {
            if (med > 0 && chartValues.get(i) > 8 * med) offScale.add(chartNames.get(i));
            else chart.put(chartNames.get(i), chartValues.get(i));
        }
        barChart(md, "Bytes per idle connection (total)", "bytes", new ArrayList<>(chart.keySet()), chart::get);
        if (!offScale.isEmpty()) md.append("\nLeft out of the chart as off its scale (see the table): ").append(String.join(", ", offScale)).append(".\n");
    }

    private void httpSection(StringBuilder md) {
        if (http == null || http.rows().isEmpty()) return;
        md.append("\n## 4. HTTP: the day 5 engine against nginx\n\n`wrk -t1 -c100` on a keep-alive `GET /`, one worker each, one server alive at a time: ")
                .append("day 5's shared design with one thread and `HttpResponder`, nginx with `worker_processes 1` and `return 200` (its configuration below). ")
                .append("A round with any non-2xx answer or socket error is **FAILED** and left out. ")
                .append("No `×floor` here: the C floor speaks the echo protocol only.\n\n");
        md.append("| server | requests/s | spread | p50 µs | p99 µs | vs nginx |\n|---|---:|---:|---:|---:|---:|\n");
        for (HttpBench.Result r : http.rows()) {
            String rps = r.median() > 0 ? k(r.median()) + (r.failures() > 0 ? " (**FAILED** " + r.failures() + " rounds, left out)" : "") : "**FAILED**";
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.0f | %.0f | %s |%n", r.server(), rps,
                    r.median() > 0 ? k(r.min()) + "–" + k(r.max()) : "", r.p50us(), r.p99us(), vsNginx(r).replace("  ", "").replace(" nginx", "")));
        }
    }

    private void serversSection(StringBuilder md) {
        md.append("\n## Servers as they ran\n\nThe command line of each server (class path left out) and the options of one of its accepted sockets, ")
                .append("read from the server's side (`pidfd_getfd` on its fd, then `getsockopt`) while connections were open. ")
                .append("The load generator sets TCP_NODELAY on every connection of its own.\n\n");
        md.append("| server | threads | command | accepted socket |\n|---|---|---|---|\n");
        for (Bench.Variant v : variants) {
            List<String> cmd = commands.get(v.name());
            md.append("| ").append(v.name()).append(" | ").append(v.threads()).append(" | `")
                    .append(cmd == null ? "(not started)" : String.join(" ", cmd)).append("` | ")
                    .append(sockets.getOrDefault(v.name(), "not read")).append(" |\n");
        }
        if (http != null && !http.rows().isEmpty()) {
            md.append("| nginx | 1 worker process | `nginx -p $SCRATCH -c $SCRATCH/nginx.conf` (below) | ")
                    .append(http.nginxSocket() == null ? "not read" : http.nginxSocket()).append(" |\n");
            md.append("| day05-http | 1 thread (day 5 shared) | `").append(String.join(" ", ServerProcess.COMMON_JVM)).append(' ')
                    .append(String.join(" ", ServerProcess.THROUGHPUT_JVM)).append(" c10k.bench.HttpMain --threads 1` | as day 5's engine |\n");
        }
        if (http != null && http.nginxConfig() != null && !http.rows().isEmpty()) {
            md.append("\n<details><summary>nginx's configuration</summary>\n\n```nginx\n").append(http.nginxConfig().strip()).append("\n```\n</details>\n");
        }
    }

    private void failures(StringBuilder md) {
        List<Bench.Sample> bad = samples.stream().filter(s -> !s.ok()).toList();
        List<Bench.Sample> partial = samples.stream().filter(s -> s.ok() && s.served() >= 0 && s.served() < s.connections()).toList();
        if (bad.isEmpty() && partial.isEmpty()) return;
        md.append("\n## Failed and partial runs\n\n");
        for (Bench.Sample s : bad) {
            md.append(String.format(Locale.ROOT, "- **FAILED** %s, %s %s, round %d: %s%n", s.server(), s.scenario().equals("idle") ? "beside" : "busy",
                    s.scenario().equals("idle") ? n(s.level()) + " idle" : n(s.level()), s.round() + 1, s.failure()));
        }
        for (Bench.Sample s : partial) {
            md.append(String.format(Locale.ROOT, "- %s, %s connections, round %d: **served only %d of %d clients**%n", s.server(), n(s.connections()),
                    s.round() + 1, s.served(), s.connections()));
        }
    }

    /** A Mermaid bar chart of one value per server, or nothing when fewer than two values exist. */
    private static void barChart(StringBuilder md, String title, String axis, List<String> names, Function<String, Double> value) {
        List<String> shownNames = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (String name : names) {
            Double v = value.apply(name);
            if (v != null && !v.isNaN()) {
                shownNames.add(name);
                values.add(v);
            }
        }
        if (values.size() < 2) return;
        // One outlier must not flatten every other bar: cap the axis at 3× the median and say which bars were cut.
        double med = median(values.stream().mapToDouble(Double::doubleValue).filter(x -> x > 0).toArray());
        double cap = med > 0 ? 3 * med : Double.MAX_VALUE;
        List<String> cut = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) > cap) {
                cut.add(String.format(Locale.ROOT, axis.equals("bytes") ? "%s (%,.0f)" : "%s (%.2f×)", shownNames.get(i), values.get(i)));
                values.set(i, cap);
            }
        }
        double top = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        boolean ratio = !axis.equals("bytes");
        md.append("\n```mermaid\nxychart-beta\n    title \"").append(title).append("\"\n    x-axis [")
                .append(String.join(", ", shownNames.stream().map(s -> "\"" + s + "\"").toList())).append("]\n    y-axis \"").append(axis)
                .append("\" 0 --> ").append(String.format(Locale.ROOT, ratio ? "%.1f" : "%.0f", ratio ? Math.max(1.2, Math.ceil(top * 10) / 10) : top * 1.1))
                .append("\n    bar [").append(String.join(", ", values.stream().map(v -> String.format(Locale.ROOT, ratio ? "%.2f" : "%.0f", Math.max(0, v))).toList()))
                .append("]\n```\n");
        if (!cut.isEmpty()) md.append("\nCut at the top of the chart (3× the median), see the table: ").append(String.join(", ", cut)).append(".\n");
    }

    // ---- JSON

    String json() {
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"machine\": ").append(q(machine)).append(",\n");
        j.append("  \"command\": ").append(q(o.command)).append(",\n");
        j.append("  \"quick\": ").append(o.quick).append(",\n");
        j.append("  \"load_average\": {\"start\": ").append(q(quietStart.loadAverage())).append(", \"end\": ").append(q(quietEnd.loadAverage())).append("},\n");
        j.append(String.format(Locale.ROOT, "  \"cpu_busy_before_and_after\": {\"start\": %.3f, \"end\": %.3f, \"others_during_run\": %.3f},%n", quietStart.cpuBusy(), quietEnd.cpuBusy(), quietEnd.othersDuringRun()));
        j.append("  \"wall_seconds\": ").append(wallSeconds).append(",\n");
        j.append("  \"runs\": [\n");
        j.append(String.join(",\n", samples.stream().map(s -> String.format(Locale.ROOT,
                "    {\"server\": %s, \"scenario\": %s, \"level\": %d, \"round\": %d, \"connections\": %d, \"lines_per_sec\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"errors\": %d, \"served\": %d, \"failed\": %s}",
                q(s.server()), q(s.scenario().equals("idle") ? "busy_beside_idle" : "all_busy"), s.level(), s.round() + 1, s.connections(), s.linesPerSec(),
                s.p50us(), s.p99us(), s.errors(), s.served(), s.ok() ? "null" : q(s.failure()))).toList()));
        j.append("\n  ],\n  \"medians\": [\n");
        List<String> rows = new ArrayList<>();
        cells.forEach((key, c) -> {
            String[] p = key.split("\\|");
            rows.add(String.format(Locale.ROOT,
                    "    {\"server\": %s, \"scenario\": %s, \"level\": %s, \"lines_per_sec\": %.0f, \"min\": %.0f, \"max\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"clean_rounds\": %d, \"failed_rounds\": %d}",
                    q(p[0]), q(p[1].equals("idle") ? "busy_beside_idle" : "all_busy"), p[2], c.median(), c.min(), c.max(), c.p50us(), c.p99us(), c.ok(), c.failed()));
        });
        j.append(String.join(",\n", rows)).append("\n  ],\n  \"kept_with_most_idle\": {");
        j.append(String.join(", ", in("idle").stream().filter(v -> !Double.isNaN(kept(v.name())))
                .map(v -> String.format(Locale.ROOT, "%s: %.3f", q(v.name()), kept(v.name()))).toList()));
        j.append("},\n  \"bytes_per_idle_connection\": {");
        List<String> mem = new ArrayList<>(memory.entrySet().stream().filter(e -> e.getValue().ok() > 0).map(e -> String.format(Locale.ROOT,
                "%s: {\"off_heap\": %.1f, \"heap\": %.1f, \"total\": %.1f%s}", q(e.getKey()), e.getValue().rss(), e.getValue().heap(), e.getValue().total(),
                e.getValue().failure() == null ? "" : ", \"partial\": " + q(e.getValue().failure()))).toList());
        if (http != null && http.nginxBytesPerIdle() >= 0) mem.add(String.format(Locale.ROOT, "\"nginx\": {\"off_heap\": %.0f, \"heap\": 0, \"total\": %.0f}",
                http.nginxBytesPerIdle(), http.nginxBytesPerIdle()));
        j.append(String.join(", ", mem)).append("},\n  \"http\": [");
        if (http != null) {
            j.append(String.join(", ", http.rows().stream().map(r -> String.format(Locale.ROOT,
                    "{\"server\": %s, \"requests_per_sec\": %.0f, \"min\": %.0f, \"max\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"failed_rounds\": %d}",
                    q(r.server()), r.median(), r.min(), r.max(), r.p50us(), r.p99us(), r.failures())).toList()));
        }
        j.append("],\n");
        if (http != null && http.nginxConfig() != null) j.append("  \"nginx_config\": ").append(q(http.nginxConfig())).append(",\n");
        if (http != null && http.nginxSocket() != null) j.append("  \"nginx_socket\": ").append(q(http.nginxSocket())).append(",\n");
        if (httpNote != null) j.append("  \"http_note\": ").append(q(httpNote)).append(",\n");
        if (floorNote != null) j.append("  \"floor_note\": ").append(q(floorNote)).append(",\n");
        if (!startFailures.isEmpty()) {
            j.append("  \"start_failures\": {").append(String.join(", ", startFailures.entrySet().stream()
                    .map(e -> q(e.getKey()) + ": " + q(e.getValue())).toList())).append("},\n");
        }
        List<String> memFailed = memory.entrySet().stream().filter(e -> e.getValue().ok() == 0)
                .map(e -> q(e.getKey()) + ": " + q(e.getValue().failure())).toList();
        if (!memFailed.isEmpty()) j.append("  \"memory_failed\": {").append(String.join(", ", memFailed)).append("},\n");
        j.append("  \"servers\": {");
        j.append(String.join(", ", variants.stream().map(v -> String.format(Locale.ROOT, "%s: {\"threads\": %s, \"command\": %s, \"accepted_socket\": %s}",
                q(v.name()), q(v.threads()), q(commands.containsKey(v.name()) ? String.join(" ", commands.get(v.name())) : ""),
                q(sockets.getOrDefault(v.name(), "not read")))).toList()));
        j.append("}\n}\n");
        return j.toString();
    }

    private static String q(String s) {
        return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
}
