package c10k.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The tables the chapters show, each made from a {@link Report} of the committed run, one row per server the run has. */
final class Tables {

    private Tables() {
    }

    private static List<String> present(Report r, List<String> servers) {
        return servers.stream().filter(s -> r.variantOf(s) != null).toList();
    }

    /** A sentence for the servers a page asks for and the run does not have: said, never filled in. */
    private static String absent(Report r, List<String> servers) {
        List<String> missing = servers.stream().filter(s -> r.variantOf(s) == null).toList();
        if (missing.isEmpty()) return "";
        return "\nThe committed run has no figures for " + String.join(", ", missing)
                + ": `./jbang bench` does not run " + (missing.size() == 1 ? "it" : "them") + ", so this page quotes none.\n";
    }

    private static String threads(Report r, String s) {
        return r.variantOf(s).threads();
    }

    static String busy(Report r, List<String> servers, String peer, List<Integer> levels) {
        List<String> rows = present(r, servers);
        if (rows.isEmpty()) return absent(r, servers).strip();
        StringBuilder md = new StringBuilder("| server | threads | connections | lines/s | spread | ×floor |");
        if (peer != null) md.append(" vs ").append(peer).append(" (").append(threads(r, peer)).append(") |");
        md.append("\n|---|---|---:|---:|---:|---:|").append(peer != null ? "---:|" : "").append('\n');
        for (String s : rows) {
            for (int level : r.options().connections) {
                Report.Cell c = r.cellOf(s, "busy", level);
                if (c == null || (levels != null && !levels.contains(level))) continue;
                md.append("| ").append(s).append(" | ").append(threads(r, s)).append(" | ").append(Report.count(level)).append(" | ")
                        .append(Report.shown(c)).append(" | ").append(c.usable() ? Report.thousands(c.min()) + "–" + Report.thousands(c.max()) : "")
                        .append(" | ").append(Report.times(r.ratioOf(s, Bench.FLOOR, "busy", level))).append(" |");
                if (peer != null) md.append(' ').append(s.equals(peer) ? "" : Report.times(r.ratioOf(s, peer, "busy", level))).append(" |");
                md.append('\n');
            }
        }
        return md + absent(r, servers);
    }

    static String idle(Report r, List<String> servers) {
        List<String> rows = present(r, servers).stream().filter(s -> r.cellOf(s, "idle", 0) != null).toList();
        if (rows.isEmpty()) return absent(r, servers).strip();
        List<Integer> idle = r.options().idle;
        String most = Report.count(r.maxIdle());
        StringBuilder md = new StringBuilder("| server | threads |");
        for (int i : idle) md.append(" lines/s, ").append(Report.count(i)).append(" idle |");
        md.append(" kept at ").append(most).append(" | ×floor, ").append(most).append(" idle |\n|---|---|")
                .append("---:|".repeat(idle.size())).append("---:|---:|\n");
        for (String s : rows) {
            md.append("| ").append(s).append(" | ").append(threads(r, s)).append(" |");
            for (int i : idle) md.append(' ').append(Report.shown(r.cellOf(s, "idle", i))).append(" |");
            md.append(' ').append(Report.times(r.keptOf(s))).append(" | ").append(Report.times(r.ratioOf(s, Bench.FLOOR, "idle", r.maxIdle()))).append(" |\n");
        }
        return md + absent(r, servers);
    }

    static String memory(Report r, List<String> servers) {
        List<String> rows = present(r, servers).stream().filter(s -> r.memOf(s) != null).toList();
        if (rows.isEmpty()) return absent(r, servers).strip();
        Bench.Options o = r.options();
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT,
                "Bytes per idle connection: the slope between holding %s and %s idle connections, after a warm-up (heap after a full GC, "
                        + "plus the growth of the off-heap resident set; each the median of the rounds, so the parts need not add up to the total, and a negative part is noise around zero).%n%n",
                Report.count(o.holdLow), Report.count(o.holdHigh)));
        md.append("| server | off-heap B | heap B | total B |\n|---|---:|---:|---:|\n");
        for (String s : rows) {
            Report.Mem m = r.memOf(s);
            if (m.ok() == 0) {
                md.append("| ").append(s).append(" | **FAILED**: ").append(m.failure()).append(" | | |\n");
            } else {
                md.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %,.0f |%n", s, m.rss(), m.heap(), m.total()));
            }
        }
        return md + absent(r, servers);
    }

    /** The front page's one table when it names no servers: every server of the book, the C floor and Netty beside them. */
    static final List<String> FRONT = List.of("day02-virtual", "day02-pool", "day03-poll", "day03-selector", "day04-et", "day04-lt", "day05-reactor",
            "day05-shared", "day05-loops", "day05-loops-reuseport", "day06-pinned", "day07-basic", "day07-multishot", "netty-epoll-1",
            "netty-epoll-2", "netty-uring-1", Bench.FLOOR);

    /**
     * The front page's one table, short enough to read at a glance: per server, the speed with the fewest busy
     * connections (and how many of them it served, when not all), what it keeps beside the most idle ones, and what an
     * idle connection costs it.
     */
    static String front(Report r, List<String> servers) {
        int low = r.options().connections.get(0);
        String most = Report.count(r.maxIdle());
        StringBuilder md = new StringBuilder("| server | threads | ×floor, " + Report.count(low) + " busy | kept beside " + most
                + " idle | bytes per idle connection |\n|---|---|---:|---:|---:|\n");
        for (String s : present(r, servers.isEmpty() ? FRONT : servers)) {
            Report.Cell c = r.cellOf(s, "busy", low);
            String atLow = Report.times(r.ratioOf(s, Bench.FLOOR, "busy", low));
            if (c != null && c.served() >= 0 && c.served() < c.connections()) atLow += " (served " + c.served() + " of " + c.connections() + ")";
            double b = r.bytesOf(s);
            md.append("| ").append(s).append(" | ").append(threads(r, s)).append(" | ").append(atLow).append(" | ")
                    .append(Report.times(r.keptOf(s))).append(" | ")
                    .append(Double.isNaN(b) ? "" : String.format(Locale.ROOT, "%,.0f", b)).append(" |\n");
        }
        return md + absent(r, servers);
    }

    static String keptChart(Report r, List<String> servers) {
        List<String> names = new ArrayList<>();
        List<String> values = new ArrayList<>();
        for (String s : present(r, servers)) {
            double k = r.keptOf(s);
            if (Double.isNaN(k)) continue;
            names.add("\"" + s + "\"");
            values.add(String.format(Locale.ROOT, "%.2f", k));
        }
        return "```mermaid\nxychart-beta\n    title \"Throughput kept with " + Report.count(r.maxIdle()) + " idle connections beside "
                + r.options().busy + " busy (ratio to none)\"\n    x-axis [" + String.join(", ", names) + "]\n    y-axis \"kept\" 0 --> 1.4\n    bar ["
                + String.join(", ", values) + "]\n```\n";
    }
}
