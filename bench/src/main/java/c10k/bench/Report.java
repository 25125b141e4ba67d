package c10k.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** Turns the samples of one run into a console table, a Markdown report with charts, and JSON. */
final class Report {

    record Cell(double median, double min, double max, double p50us, double p99us, long errors) {
    }

    private final Bench.Options options;
    private final List<Bench.Variant> variants;
    private final Map<String, Map<Integer, Cell>> cells = new LinkedHashMap<>();
    private final Map<String, double[]> memory;
    private final List<Integer> levels;
    private final String machine = Bench.machine();
    private final List<HttpBench.Result> http;
    private final String httpNote;

    Report(Bench.Options options, List<Bench.Variant> variants, List<Bench.Sample> samples, Map<String, double[]> memory,
           List<HttpBench.Result> http, String httpNote) {
        this.http = http;
        this.httpNote = httpNote;
        this.options = options;
        this.variants = variants;
        this.memory = memory;
        this.levels = new ArrayList<>(new TreeSet<>(samples.stream().map(Bench.Sample::connections).toList()));
        for (Bench.Variant v : variants) {
            Map<Integer, Cell> row = new LinkedHashMap<>();
            for (int level : levels) {
                List<Bench.Sample> s = samples.stream().filter(x -> x.server().equals(v.name()) && x.connections() == level).toList();
                if (s.isEmpty()) continue;
                row.put(level, new Cell(median(s.stream().mapToDouble(Bench.Sample::linesPerSec).toArray()),
                        s.stream().mapToDouble(Bench.Sample::linesPerSec).min().orElse(0),
                        s.stream().mapToDouble(Bench.Sample::linesPerSec).max().orElse(0),
                        median(s.stream().mapToDouble(Bench.Sample::p50us).toArray()),
                        median(s.stream().mapToDouble(Bench.Sample::p99us).toArray()),
                        s.stream().mapToLong(Bench.Sample::errors).sum()));
            }
            cells.put(v.name(), row);
        }
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private String ratio(Bench.Variant v, int level) {
        if (v.peer() == null || !cells.containsKey(v.peer())) return "";
        Cell mine = cells.get(v.name()).get(level);
        Cell peer = cells.get(v.peer()).get(level);
        if (mine == null || peer == null || peer.median() == 0) return "";
        return String.format(Locale.ROOT, "%.2f× %s", mine.median() / peer.median(), v.peer());
    }

    private static String k(double linesPerSec) {
        return String.format(Locale.ROOT, "%.0fk", linesPerSec / 1000);
    }

    String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-15s %8s %10s %16s %9s %9s %18s%n",
                "server", "conns", "lines/s", "spread", "p50 µs", "p99 µs", "vs netty"));
        for (Bench.Variant v : variants) {
            for (Map.Entry<Integer, Cell> e : cells.get(v.name()).entrySet()) {
                Cell c = e.getValue();
                sb.append(String.format(Locale.ROOT, "%-15s %8d %10s %16s %9.0f %9.0f %18s%s%n", v.name(), e.getKey(),
                        k(c.median()), k(c.min()) + "–" + k(c.max()), c.p50us(), c.p99us(), ratio(v, e.getKey()),
                        c.errors() > 0 ? "  ERRORS: " + c.errors() : ""));
            }
        }
        if (!http.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%nHTTP/1.1 keep-alive, wrk -t1 -c100, one worker each:%n"));
            double nginx = http.stream().filter(r -> r.server().startsWith("nginx")).mapToDouble(HttpBench.Result::median).findFirst().orElse(0);
            for (HttpBench.Result r : http) {
                sb.append(String.format(Locale.ROOT, "  %-15s %10s req/s  (%s–%s)%s%s%n", r.server(), k(r.median()), k(r.min()), k(r.max()),
                        r.server().startsWith("nginx") || nginx == 0 ? "" : String.format(Locale.ROOT, "  %.2f× nginx", r.median() / nginx),
                        r.errors() > 0 ? "  ERRORS: " + r.errors() : ""));
            }
        }
        if (httpNote != null) sb.append("\n").append(httpNote).append("\n");
        if (!memory.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%nmemory per idle connection (%d held, one echo each):%n", options.hold));
            memory.forEach((name, m) -> sb.append(String.format(Locale.ROOT, "  %-15s %8.0f bytes%s%n", name, m[0],
                    m[1] < options.hold ? "  (only " + (int) m[1] + " echoed)" : "")));
        }
        return sb.toString();
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Benchmark report\n\n");
        md.append("- Machine: ").append(machine).append('\n');
        md.append("- Command: `").append(options.command).append("`\n");
        md.append(String.format(Locale.ROOT, "- Load: lines of %d bytes, %d in flight per connection; %d round(s) of %.1f s after %.1f s warm-up, servers interleaved; median of the rounds (spread min–max).%n",
                options.lineSize, options.pipeline, options.rounds, options.seconds, options.warmup));
        md.append("- Each server in its own JVM (`").append(String.join(" ", ServerProcess.SERVER_JVM))
                .append("`), the load generator in another, checking every byte it gets back.\n\n");
        md.append("## Throughput and latency\n\n");
        md.append("| server | connections | lines/s | spread | p50 µs | p99 µs | vs Netty (same threads) |\n|---|---:|---:|---:|---:|---:|---|\n");
        for (Bench.Variant v : variants) {
            for (Map.Entry<Integer, Cell> e : cells.get(v.name()).entrySet()) {
                Cell c = e.getValue();
                md.append(String.format(Locale.ROOT, "| %s | %,d | %s | %s–%s | %.0f | %.0f | %s |%n", v.name(), e.getKey(),
                        k(c.median()), k(c.min()), k(c.max()), c.p50us(), c.p99us(), ratio(v, e.getKey())));
            }
        }
        if (levels.size() > 1) {
            md.append("\n```mermaid\nxychart-beta\n    title \"Echo throughput (thousand lines/s) against connections\"\n");
            md.append("    x-axis [").append(String.join(", ", levels.stream().map(l -> "\"" + l + "\"").toList())).append("]\n");
            md.append("    y-axis \"k lines/s\"\n");
            for (Bench.Variant v : variants) {
                Map<Integer, Cell> row = cells.get(v.name());
                if (row.size() < levels.size()) continue;
                md.append("    line [").append(String.join(", ", levels.stream()
                        .map(l -> String.format(Locale.ROOT, "%.0f", row.get(l).median() / 1000)).toList())).append("]\n");
            }
            md.append("```\n\nLines, in order: ");
            md.append(String.join(", ", variants.stream().filter(v -> cells.get(v.name()).size() == levels.size()).map(Bench.Variant::name).toList()));
            md.append(".\n");
        }
        if (!http.isEmpty()) {
            md.append("\n## HTTP: the day 5 engine against nginx\n\n`wrk -t1 -c100` on a keep-alive `GET /`, one worker each: day 5's shared design with one thread and `HttpResponder`, nginx with `worker_processes 1` and `return 200`.\n\n");
            md.append("| server | requests/s | spread | vs nginx |\n|---|---:|---:|---:|\n");
            double nginx = http.stream().filter(r -> r.server().startsWith("nginx")).mapToDouble(HttpBench.Result::median).findFirst().orElse(0);
            for (HttpBench.Result r : http) {
                md.append(String.format(Locale.ROOT, "| %s | %s | %s–%s | %s |%n", r.server(), k(r.median()), k(r.min()), k(r.max()),
                        nginx == 0 ? "" : String.format(Locale.ROOT, "%.2f×", r.median() / nginx)));
            }
        }
        if (httpNote != null) md.append("\n").append(httpNote).append("\n");
        if (!memory.isEmpty()) {
            md.append(String.format(Locale.ROOT, "%n## Memory per idle connection%n%n%,d connections held, each after one echo: (resident set + heap after a full GC) while holding, minus before, divided by the count.%n%n", options.hold));
            md.append("| server | bytes per connection |\n|---|---:|\n");
            List<Map.Entry<String, double[]>> rows = new ArrayList<>(memory.entrySet());
            rows.sort(Comparator.comparingDouble(e -> e.getValue()[0]));
            for (Map.Entry<String, double[]> e : rows) {
                md.append(String.format(Locale.ROOT, "| %s | %,.0f |%n", e.getKey(), e.getValue()[0]));
            }
            md.append("\n```mermaid\nxychart-beta\n    title \"Bytes per idle connection\"\n    x-axis [");
            md.append(String.join(", ", rows.stream().map(e -> "\"" + e.getKey() + "\"").toList())).append("]\n    y-axis \"bytes\"\n    bar [");
            md.append(String.join(", ", rows.stream().map(e -> String.format(Locale.ROOT, "%.0f", Math.max(0, e.getValue()[0]))).toList())).append("]\n```\n");
        }
        return md.toString();
    }

    String json() {
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"machine\": \"").append(machine.replace("\"", "'")).append("\",\n");
        j.append("  \"command\": \"").append(options.command).append("\",\n");
        j.append("  \"throughput\": [\n");
        List<String> rows = new ArrayList<>();
        cells.forEach((name, row) -> row.forEach((level, c) -> rows.add(String.format(Locale.ROOT,
                "    {\"server\": \"%s\", \"connections\": %d, \"lines_per_sec\": %.0f, \"min\": %.0f, \"max\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"errors\": %d}",
                name, level, c.median(), c.min(), c.max(), c.p50us(), c.p99us(), c.errors()))));
        j.append(String.join(",\n", rows)).append("\n  ],\n  \"bytes_per_idle_connection\": {");
        j.append(String.join(", ", memory.entrySet().stream().map(e -> String.format(Locale.ROOT, "\"%s\": %.0f", e.getKey(), e.getValue()[0])).toList()));
        j.append("}\n}\n");
        return j.toString();
    }
}
