package c10k.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoublePredicate;

/**
 * What the chapters claim in numbers, in their own words, each read off one run: the figure, and
 * whether the run bears the claim out. The report's first table, and each chapter's "checked by
 * this run" list. A claim is worded with its threshold, so that a reader can check the verdict;
 * the bench never fails on one (tests never assert timings).
 */
final class Claims {

    /** {@code borneOut} is null when the run has no figure for it. */
    record Claim(int day, String words, String figure, Boolean borneOut) {
        String verdict() {
            return borneOut == null ? "not in this run" : borneOut ? "yes" : "**no**";
        }
    }

    private static final String[] CHAPTER = {"", "day01-blocking", "day02-multithread", "day03-select-poll", "day04-epoll-et",
            "day05-threadpool-epoll", "day06-fd-reuse", "day07-io-uring"};

    private Claims() {
    }

    static String chapter(int day) {
        return CHAPTER[day] + "/README.md";
    }

    static List<Claim> all(Report r) {
        List<Claim> c = new ArrayList<>();
        int busy = r.options().busy;
        List<Integer> levels = r.options().connections;
        int low = levels.get(0), high = levels.get(levels.size() - 1);
        String idle = Report.count(r.maxIdle());

        Report.Cell one = r.cellOf("day01", "busy", low);
        c.add(new Claim(1, "A blocking server on one thread serves one client at a time; the others wait.",
                one == null ? "the bench does not run day 1 (`./jbang tour` shows it)" : "served " + one.served() + " of " + one.connections() + " clients",
                one == null ? null : one.served() == 1));
        Report.Cell pool = r.cellOf("day02-pool", "busy", low);
        String poolThreads = r.variantOf("day02-pool") == null ? "?" : r.variantOf("day02-pool").threads();
        c.add(new Claim(2, "A fixed pool of blocking workers serves only as many clients as it has threads; the others wait.",
                pool == null ? "" : "served " + pool.served() + " of " + pool.connections() + " clients (" + poolThreads + ")",
                pool == null ? null : pool.served() >= 0 && pool.served() < pool.connections()));
        double vt = r.bytesOf("day02-virtual");
        c.add(new Claim(2, "An idle virtual thread costs tens of kilobytes (10 to 100 KB).", bytes(vt), check(vt, b -> b >= 10_000 && b < 100_000)));
        double vtSpeed = r.ratioOf("day02-virtual", "day04-et", "busy", low);
        c.add(new Claim(2, "Virtual threads give scale, not speed: with " + Report.count(low) + " busy clients they serve no faster than one event-loop thread (day04-et).",
                Double.isNaN(vtSpeed) ? "" : Report.thousands(r.lps("day02-virtual", "busy", low)) + " lines/s, " + Report.times(vtSpeed) + " day04-et",
                check(vtSpeed, x -> x <= 1.0)));

        double poll = r.keptOf("day03-poll");
        c.add(new Claim(3, "poll loses its throughput beside " + idle + " idle connections (keeps less than half).",
                kept(poll), check(poll, x -> x < 0.5)));
        double sel = r.keptOf("day03-selector");
        c.add(new Claim(3, "Java's `Selector`, epoll underneath, keeps it (0.85× or more).", kept(sel), check(sel, x -> x >= 0.85)));

        c.add(keepsAll(r, 4, "Epoll keeps its throughput beside " + idle + " idle connections (0.85× or more), in both modes.",
                List.of("day04-et", "day04-lt")));
        c.add(ratios(r, 4, "One Java thread on epoll through FFM is about as fast as Netty's native epoll transport on one event loop (0.9× or more).",
                "day04-et", "netty-epoll-1", low, high, 0.9));
        c.add(ratios(r, 4, "… and within about 10% of a C server making the same calls (0.9× the floor or more).",
                "day04-et", Bench.FLOOR, low, high, 0.9));
        c.add(bytesAtMost(r, 4, "An idle event-loop connection costs a few hundred bytes or less (at most 1,000 B).",
                List.of("day04-et", "day04-lt"), 1_000));

        List<String> day5 = List.of("day05-reactor", "day05-shared", "day05-loops", "day05-loops-reuseport");
        c.add(keepsAll(r, 5, "Each of day 5's designs keeps its throughput beside " + idle + " idle connections (0.85× or more).", day5));
        c.add(worstRatio(r, 5, "With two threads, each design serves at least as fast as Netty with two event loops (1.0× or more).",
                day5, "netty-epoll-2", low, high, 1.0));
        c.add(bytesAtMost(r, 5, "An idle connection still costs a few hundred bytes or less (at most 1,000 B), whatever the design.", day5, 1_000));

        double a = r.ratioOf("day06-pinned", "day05-reactor", "busy", low), b = r.ratioOf("day06-pinned", "day05-reactor", "busy", high);
        c.add(new Claim(6, "Workers that write pay for it: day 6 is no faster than day 5's reactor, which runs the same loop.",
                pair(a, b, low, high, "day05-reactor"), Double.isNaN(a) || Double.isNaN(b) ? null : a <= 1.0 && b <= 1.0));
        double pinned = r.bytesOf("day06-pinned"), reactor = r.bytesOf("day05-reactor");
        c.add(new Claim(6, "Slots and their numbers are made at start-up: an idle pinned connection costs a few hundred bytes or less, as the reactor's does (at most 1,000 B).",
                Double.isNaN(pinned) || Double.isNaN(reactor) ? "" : bytes(pinned) + " against " + bytes(reactor),
                Double.isNaN(pinned) ? null : pinned <= 1_000));

        double basic = r.bytesOf("day07-basic");
        c.add(new Claim(7, "A one-shot receive pins its buffer: basic mode holds about 16 KiB per idle connection.", bytes(basic),
                check(basic, x -> x >= 12_000 && x < 32_000)));
        c.add(bytesAtMost(r, 7, "With multishot receives and a shared buffer ring, an idle connection is one small object (at most 128 B).",
                List.of("day07-multishot"), 128));
        c.add(ratios(r, 7, "Multishot on one ring thread is at least as fast as day 4's epoll server on one thread (1.0× or more).",
                "day07-multishot", "day04-et", low, high, 1.0));
        return c;
    }

    /** The report's first section. */
    static void section(Report r, StringBuilder md) {
        List<Claim> claims = all(r);
        if (claims.stream().allMatch(x -> x.borneOut() == null)) return;
        List<Integer> levels = r.options().connections;
        md.append("## What the chapters claim, checked by this run\n\nEach claim in the chapter's words, with its threshold; the bench reports them, ")
                .append("tests never assert them. Ratios with every connection busy at ").append(Report.count(levels.get(0))).append(" and ")
                .append(Report.count(levels.get(levels.size() - 1))).append(" connections; \"keeps\" from the busy-beside-idle scenario; bytes from the memory slope.")
                .append(r.options().quick ? " **A --quick run: not the figures to quote.**" : "").append("\n\n");
        table(claims, md, "../../");   // the report is read at bench/results/report.md
        md.append('\n');
    }

    /** The claims of one chapter, for the chapter's own page (links relative to that page). */
    static String forDay(Report r, int day) {
        List<Claim> claims = all(r).stream().filter(x -> x.day() == day).toList();
        StringBuilder md = new StringBuilder();
        md.append("| the chapter claims | this run | borne out |\n|---|---|---|\n");
        for (Claim x : claims) md.append("| ").append(x.words()).append(" | ").append(x.figure()).append(" | ").append(x.verdict()).append(" |\n");
        return md.toString();
    }

    static void table(List<Claim> claims, StringBuilder md, String linkPrefix) {
        md.append("| claim | chapter | this run | borne out |\n|---|---|---|---|\n");
        for (Claim x : claims) {
            md.append("| ").append(x.words()).append(" | [day ").append(x.day()).append("](").append(linkPrefix)
                    .append(chapter(x.day())).append(") | ").append(x.figure()).append(" | ").append(x.verdict()).append(" |\n");
        }
    }

    private static Boolean check(double v, DoublePredicate p) {
        return Double.isNaN(v) ? null : p.test(v);
    }

    private static String bytes(double b) {
        return Double.isNaN(b) ? "" : String.format(Locale.ROOT, "%,.0f B", b);
    }

    private static String kept(double k) {
        return Double.isNaN(k) ? "" : "kept " + Report.times(k);
    }

    private static String pair(double a, double b, int low, int high, String other) {
        if (Double.isNaN(a) || Double.isNaN(b)) return "";
        return Report.times(a) + " at " + Report.count(low) + ", " + Report.times(b) + " at " + Report.count(high) + " (vs " + other + ")";
    }

    private static Claim keepsAll(Report r, int day, String words, List<String> servers) {
        List<String> shown = new ArrayList<>();
        Boolean all = true;
        for (String s : servers) {
            double k = r.keptOf(s);
            if (Double.isNaN(k)) {
                all = null;
                break;
            }
            shown.add(s + " " + Report.times(k));
            if (k < 0.85) all = false;
        }
        return new Claim(day, words, all == null ? "" : "kept: " + String.join(", ", shown), all);
    }

    private static Claim ratios(Report r, int day, String words, String mine, String other, int low, int high, double atLeast) {
        double a = r.ratioOf(mine, other, "busy", low), b = r.ratioOf(mine, other, "busy", high);
        return new Claim(day, words, pair(a, b, low, high, other.equals(Bench.FLOOR) ? "the C floor" : other),
                Double.isNaN(a) || Double.isNaN(b) ? null : a >= atLeast && b >= atLeast);
    }

    private static Claim worstRatio(Report r, int day, String words, List<String> servers, String other, int low, int high, double atLeast) {
        double worst = Double.NaN;
        String who = "";
        for (String s : servers) {
            for (int level : List.of(low, high)) {
                double x = r.ratioOf(s, other, "busy", level);
                if (Double.isNaN(x)) return new Claim(day, words, "", null);
                if (Double.isNaN(worst) || x < worst) {
                    worst = x;
                    who = s + " at " + Report.count(level);
                }
            }
        }
        return new Claim(day, words, "lowest " + Report.times(worst) + " (" + who + ")", worst >= atLeast);
    }

    private static Claim bytesAtMost(Report r, int day, String words, List<String> servers, double limit) {
        List<String> shown = new ArrayList<>();
        Boolean all = true;
        for (String s : servers) {
            double b = r.bytesOf(s);
            if (Double.isNaN(b)) {
                all = null;
                break;
            }
            shown.add(servers.size() == 1 ? bytes(b) : s + " " + bytes(b));
            if (b > limit) all = false;
        }
        return new Claim(day, words, all == null ? "" : String.join(", ", shown), all);
    }
}
