///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS io.netty:netty-codec:4.2.18.Final
//DEPS io.netty:netty-transport-native-epoll:4.2.18.Final:linux-x86_64
//DEPS io.netty:netty-transport-native-io_uring:4.2.18.Final:linux-x86_64
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day02-multithread/src/main/java/c10k/day02/*.java
//SOURCES ../../../../../../day06-fd-reuse/src/main/java/c10k/day06/*.java
//SOURCES ../../../../../../day07-io-uring/src/main/java/c10k/day07/*.java

package c10k.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jbang pages}: every figure a page quotes, written from the committed run.
 *
 * <p>One source for every number: {@code bench/results/results.json}. From it this rewrites
 * {@code bench/results/report.md} whole, and in each page the text between a marker pair,
 * {@code <!-- bench:KEY -->} and {@code <!-- /bench -->}, where KEY names a table, a list or
 * one figure. {@code --check} writes nothing and lists every place that differs (exit 1);
 * {@code PagesTest} runs the same check in {@code ./mvnw verify}, so a figure changed by hand,
 * or a new run committed without re-running this, fails the build.
 */
public final class Pages {

    /** The pages that quote figures, relative to the repository's root. */
    static final List<String> PAGES = List.of("README.md", "bench/README.md", "day01-blocking/README.md", "day02-multithread/README.md",
            "day03-select-poll/README.md", "day04-epoll-et/README.md", "day05-threadpool-epoll/README.md", "day06-fd-reuse/README.md",
            "day07-io-uring/README.md");
    static final String RESULTS = "bench/results/results.json";
    static final String REPORT = "bench/results/report.md";

    private static final Pattern MARKER = Pattern.compile("<!-- bench:([a-z][^>]*?) -->(.*?)<!-- /bench -->", Pattern.DOTALL);

    /** One place where a page differs from what the run produces. */
    record Difference(String page, String key, String expected, String found) {
        @Override
        public String toString() {
            return page + ", <!-- bench:" + key + " -->: expected\n" + expected.strip() + "\nfound\n" + found.strip();
        }
    }

    private Pages() {
    }

    public static void main(String[] args) throws IOException {
        boolean check = Arrays.asList(args).contains("--check");
        Path root = root();
        Report report = Report.fromJson(Files.readString(root.resolve(RESULTS)));
        List<Difference> diffs = new ArrayList<>();
        for (String page : pagesWithReport()) {
            Path file = root.resolve(page);
            if (!Files.exists(file)) continue;
            String text = Files.readString(file);
            String made = page.equals(REPORT) ? report.markdown() : render(text, report, page);
            if (made.equals(text)) continue;
            if (check) {
                diffs.addAll(page.equals(REPORT) ? List.of(new Difference(page, "(the whole report)", "regenerated", "differs")) : differences(text, report, page));
            } else {
                Files.writeString(file, made);
                System.out.println("wrote " + page);
            }
        }
        if (check) {
            diffs.forEach(d -> System.out.println(d + "\n"));
            System.out.println(diffs.isEmpty() ? "every page matches " + RESULTS : diffs.size() + " place(s) differ: run ./jbang pages");
            if (!diffs.isEmpty()) System.exit(1);
        }
    }

    static List<String> pagesWithReport() {
        List<String> all = new ArrayList<>(PAGES);
        all.add(REPORT);
        return all;
    }

    /** The repository's root: the working directory or one of its parents, the one with the JBang catalog. */
    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("jbang-catalog.json"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("run from inside the repository (no jbang-catalog.json above " + Path.of("").toAbsolutePath() + ")");
        return p;
    }

    /** The page with every marker's content made from the run. */
    static String render(String text, Report report, String page) {
        Matcher m = MARKER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement("<!-- bench:" + m.group(1) + " -->" + content(m.group(1), report, page) + "<!-- /bench -->"));
        }
        m.appendTail(out);
        return out.toString();
    }

    static List<Difference> differences(String text, Report report, String page) {
        List<Difference> diffs = new ArrayList<>();
        Matcher m = MARKER.matcher(text);
        while (m.find()) {
            String want = content(m.group(1), report, page);
            if (!want.equals(m.group(2))) diffs.add(new Difference(page, m.group(1), want, m.group(2)));
        }
        return diffs;
    }

    /** What goes between one marker pair. Blocks start and end on a line of their own; figures are inline. */
    static String content(String key, Report r, String page) {
        List<String> w = List.of(key.trim().split("\\s+"));
        String up = "../".repeat((int) page.chars().filter(c -> c == '/').count());
        return switch (w.get(0)) {
            case "run" -> block(run(r, up));
            case "busy" -> block(Tables.busy(r, servers(w), peer(w), at(w)));
            case "idle" -> block(Tables.idle(r, servers(w)));
            case "memory" -> block(Tables.memory(r, servers(w)));
            case "claims" -> block(w.size() > 1 ? Claims.forDay(r, Integer.parseInt(w.get(1))) : allClaims(r, up));
            case "front" -> block(Tables.front(r, servers(w)));
            case "chart-kept" -> block(Tables.keptChart(r, servers(w)));
            case "lps" -> Report.thousands(need(r.lps(w.get(1), scenario(w.get(2)), level(w.get(3))), key));
            case "ratio" -> Report.times(need(r.ratioOf(w.get(1), w.get(2), scenario(w.get(3)), level(w.get(4))), key));
            case "floor" -> Report.times(need(r.ratioOf(w.get(1), Bench.FLOOR, scenario(w.get(2)), level(w.get(3))), key));
            case "kept" -> Report.times(need(r.keptOf(w.get(1)), key));
            case "bytes" -> String.format(Locale.ROOT, "%,.0f", need(r.bytesOf(w.get(1)), key));
            case "kb" -> String.format(Locale.ROOT, "%.0f", need(r.bytesOf(w.get(1)), key) / 1000);
            case "served" -> {
                Report.Cell c = r.cellOf(w.get(1), scenario(w.get(2)), level(w.get(3)));
                if (c == null) throw new IllegalArgumentException("no figure in the run for <!-- bench:" + key + " -->");
                yield c.served() + " of " + c.connections();
            }
            case "machine" -> r.machine();
            case "wall" -> String.format(Locale.ROOT, "%d min %02d s", r.wallSeconds() / 60, r.wallSeconds() % 60);
            default -> throw new IllegalArgumentException("unknown marker <!-- bench:" + key + " -->");
        };
    }

    private static String block(String s) {
        return "\n" + s.stripTrailing() + "\n";
    }

    private static double need(double v, String key) {
        if (Double.isNaN(v)) throw new IllegalArgumentException("no figure in the run for <!-- bench:" + key + " -->");
        return v;
    }

    private static String scenario(String s) {
        return s.equals("idle") ? "idle" : "busy";
    }

    private static int level(String s) {
        return Integer.parseInt(s.replace("_", ""));
    }

    /** {@code busy A B vs PEER at 100}: the servers, the peer of the ratio column, and the one level to show. */
    private static List<String> servers(List<String> w) {
        int end = w.size();
        for (String stop : List.of("vs", "at")) if (w.indexOf(stop) > 0) end = Math.min(end, w.indexOf(stop));
        return w.subList(1, end);
    }

    private static String peer(List<String> w) {
        int vs = w.indexOf("vs");
        return vs < 0 ? null : w.get(vs + 1);
    }

    /** {@code at 100} or {@code at 100,10000}: the levels to show, or null for all of them. */
    private static List<Integer> at(List<String> w) {
        int at = w.indexOf("at");
        return at < 0 ? null : java.util.Arrays.stream(w.get(at + 1).split(",")).map(Pages::level).toList();
    }

    private static String allClaims(Report r, String up) {
        StringBuilder md = new StringBuilder();
        Claims.table(Claims.all(r), md, up);
        return md.toString();
    }

    /** One paragraph: the machine, the command, the load, how quiet the machine was, where every figure is. */
    static String run(Report r, String up) {
        Bench.Options o = r.options();
        Bench.Quiet q = r.quietEnd();
        String quiet = q.othersDuringRun() >= 0
                ? String.format(Locale.ROOT, "; other processes used %.0f%% of the CPUs%s", 100 * q.othersDuringRun(),
                        q.busy() ? ", **too busy: read the figures as noise**" : "")
                : "";
        return String.format(Locale.ROOT, "Measured by `%s` on %s: %d rounds of %.0f s after a %.0f s warm-up, %d-byte lines, %d in flight per busy "
                        + "connection, the load generator on the same cores%s. Each figure is the median of the rounds, with the spread; `×floor` is the ratio "
                        + "to a one-thread C epoll server in the same run ([how](%sbench/README.md), [every figure](%sbench/results/report.md)).%s",
                r.commandShown(), r.machine(), o.rounds, o.seconds, o.warmup, o.lineSize, o.pipeline, quiet, up, up,
                o.quick ? " **A --quick run: not comparable.**" : "");
    }
}
