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

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jbang bench}: every server of the book, Netty's epoll and io_uring transports, a C
 * floor and nginx, under the same load, side by side in one run.
 *
 * <p>The rules (bench/README.md says why): one server alive at a time, each in a process of its
 * own, started for its runs and stopped after; the load generator in other processes, checking
 * every byte; rounds interleaved in a rotating order, the median of the rounds reported with the
 * spread; a run with a wrong byte counts as failed and is left out of medians and ratios; every
 * figure is also given as a ratio to the C floor measured in the same run, and each event-loop
 * design against Netty with the same number of threads.
 *
 * <p>Scenarios, in the report's order:
 * <ol>
 *   <li><b>busy beside idle</b>: 100 busy connections (8 lines in flight each) beside 0, 1,000
 *       and 10,000 idle ones, opened by a load generator of their own, so they count against
 *       the server like real idle clients;
 *   <li><b>all busy</b>: 100, 1,000 and 10,000 connections, every one busy;
 *   <li><b>memory per idle connection</b>: the slope between two hold sizes after a warm-up;
 *   <li><b>HTTP</b>: day 5's engine against nginx, by wrk.
 * </ol>
 */
public final class Bench {

    /**
     * One server as the bench runs it.
     *
     * @param threads the threads that serve connections, in words, for every comparison
     * @param peer    Netty with the same threads, or null
     * @param scenarios which of "idle", "busy", "memory" it takes part in
     */
    record Variant(String name, String kind, String mainClass, List<String> args, List<String> jvm, String threads,
                   String peer, List<String> scenarios) {
        boolean in(String scenario) {
            return scenarios.contains(scenario);
        }
    }

    /** One measured run. {@code failure} is null for a clean run; {@code served} is -1 when the load generator did not say. */
    record Sample(String server, String scenario, int level, int round, double linesPerSec, double p50us, double p99us,
                  long errors, int served, int connections, String failure) {
        boolean ok() {
            return failure == null && errors == 0;
        }
    }

    /** Memory per idle connection from one round: the slope of resident set and heap between two hold sizes. */
    record Memory(String server, int round, double rssPerConn, double heapPerConn, long echoed, long held, String failure) {
        double total() {
            return rssPerConn + heapPerConn;
        }
    }

    static final List<String> ALL = List.of("idle", "busy", "memory");
    static final String FLOOR = "floor-c";

    private static final long T0 = System.nanoTime();

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        progress("bench starting: " + (o.quick ? "--quick (a smoke run, not comparable with the full one)" : "full run"));
        Path out = o.outDir();
        Files.createDirectories(out);
        Quiet.Mark begin = Quiet.mark();
        Quiet atStart = Quiet.sample(null);

        Path floorBinary = null;
        String floorNote = null;
        progress("compiling the C floor (bench/c/echo_floor.c) with cc -O2");
        try {
            floorBinary = Floor.compile(out);
        } catch (Floor.Unavailable e) {
            floorNote = "C floor skipped: " + e.getMessage();
            progress(floorNote);
        }

        List<Variant> variants = new ArrayList<>();
        for (Variant v : variants(o.threads, o.quick)) {
            // the floor stays in every run: every table reads its rows against it
            if (!o.servers.isEmpty() && !v.name().equals(FLOOR) && o.servers.stream().noneMatch(s -> v.name().startsWith(s))) continue;
            if (v.kind().equals("java") && !classExists(v.mainClass())) {
                progress("skipping " + v.name() + ": " + v.mainClass() + " is not on the class path");
                continue;
            }
            if (v.kind().equals("native") && floorBinary == null) continue;
            variants.add(v);
        }
        printPlan(o, variants);

        List<Sample> samples = new ArrayList<>();
        List<Memory> memory = new ArrayList<>();
        Map<String, String> sockets = new LinkedHashMap<>();
        Map<String, List<String>> commands = new LinkedHashMap<>();
        Map<String, String> startFailures = new LinkedHashMap<>();
        for (int round = 0; round < o.rounds; round++) {
            List<Variant> order = new ArrayList<>(variants);
            Collections.rotate(order, round);
            for (Variant v : order) {
                if (startFailures.containsKey(v.name())) continue;
                String where = "round " + (round + 1) + "/" + o.rounds + ", " + v.name() + " (" + v.threads() + ")";
                if (v.in("idle") || v.in("busy")) {
                    progress(where + ": starting for throughput");
                    try (ServerProcess server = start(v, floorBinary, ServerProcess.THROUGHPUT_JVM)) {
                        commands.putIfAbsent(v.name(), server.shown);
                        if (!sockets.containsKey(v.name())) {
                            try (Holder one = Holder.open(server.port, 1, o.lineSize)) {   // one connection open while we look
                                sockets.put(v.name(), one.failure != null ? "not read: " + one.failure
                                        : SocketProbe.accepted(server.process.pid(), server.port));
                            }
                        }
                        if (v.in("idle")) {
                            for (int idle : o.idle) {
                                samples.add(busyBesideIdle(v, server, idle, round, o, where));
                            }
                        }
                        if (v.in("busy")) {
                            for (int c : o.connections) {
                                if (blocking(v) && c > 100) continue;   // one client at a time, a thread per connection, or a starved pool
                                progress(where + ": " + String.format(Locale.ROOT, "%,d", c) + " busy connections");
                                samples.add(measure(v.name(), "busy", c, round, server, c, o.pipeline, o));
                            }
                        }
                    } catch (IOException e) {
                        startFailures.put(v.name(), e.getMessage());   // a start-up (or a load generator) that could not run at all
                        progress(v.name() + " FAILED: " + e.getMessage() + "; no further runs of it");
                        continue;
                    }
                }
                if (v.in("memory") && o.holdLow > 0) {
                    progress(where + ": memory, " + String.format(Locale.ROOT, "%,d then %,d idle connections", o.holdLow, o.holdHigh));
                    try (ServerProcess server = start(v, floorBinary, ServerProcess.MEMORY_JVM)) {
                        memory.add(memory(v, server, round, o));
                    } catch (IOException e) {
                        memory.add(new Memory(v.name(), round, 0, 0, 0, 0, e.getMessage()));
                    }
                }
            }
        }

        HttpBench.Results http = null;
        String httpNote = null;
        if (o.http) {
            httpNote = HttpBench.missingTools();
            if (httpNote == null) {
                http = HttpBench.run(o, 100, Bench::progress);
                httpNote = http.note();
            } else {
                httpNote = "HTTP and nginx rows skipped: " + httpNote + " not installed (apt-get update && apt-get install -y wrk nginx)";
                progress(httpNote);
            }
        }

        long wall = Math.round((System.nanoTime() - T0) / 1e9);
        Report report = new Report(o, variants, samples, memory, sockets, commands, startFailures, http, httpNote, floorNote,
                atStart, Quiet.sample(begin), wall);
        System.out.println();
        System.out.println(report.table());
        Files.writeString(out.resolve("report.md"), report.markdown());
        Files.writeString(out.resolve("results.json"), report.json());
        System.out.println("wrote " + out.resolve("report.md") + " and " + out.resolve("results.json")
                + String.format(Locale.ROOT, " (%d min %02d s)", wall / 60, wall % 60));
    }

    /** Days 1 and 2 block a thread per client: measured at the lowest level only. */
    static boolean blocking(Variant v) {
        return v.name().startsWith("day01") || v.name().startsWith("day02");
    }

    /** The servers, in the report's order. {@code n}: threads for day 5, day 6 and Netty's second row. */
    static List<Variant> variants(int n, boolean quick) {
        List<String> timeouts = List.of("--idle-timeout", "0");   // no idle connection is closed under our feet
        List<String> netty = List.of("--sun-misc-unsafe-memory-access=allow");
        List<Variant> v = new ArrayList<>();
        v.add(new Variant(FLOOR, "native", null, List.of(), List.of(), "1 thread", null, ALL));
        if (!quick) {
            // One client at a time: of 100 busy clients it serves one, as the chapter says. Busy only,
            // and only at the lowest level: the others wait in the accept queue for the whole run.
            v.add(new Variant("day01", "java", "c10k.day01.Day01", List.of(), List.of(), "1 thread, blocking", null, List.of("busy")));
            v.add(new Variant("day02-virtual", "java", "c10k.day02.Day02", List.of("--mode", "virtual"), List.of(),
                    "a virtual thread per connection", null, List.of("busy", "memory")));
            v.add(new Variant("day02-pool", "java", "c10k.day02.Day02", List.of("--mode", "pool", "--threads", "" + n), List.of(),
                    n + " pool threads, one client each", null, List.of("busy")));
        }
        v.add(new Variant("day03-selector", "java", "c10k.day03.Day03", cat(List.of("--mode", "selector"), timeouts), List.of(), "1 thread", "netty-epoll-1", ALL));
        v.add(new Variant("day03-poll", "java", "c10k.day03.Day03", cat(List.of("--mode", "poll"), timeouts), List.of(), "1 thread", "netty-epoll-1", ALL));
        v.add(new Variant("day04-et", "java", "c10k.day04.Day04", cat(List.of("--mode", "et"), timeouts), List.of(), "1 thread", "netty-epoll-1", ALL));
        v.add(new Variant("day04-lt", "java", "c10k.day04.Day04", cat(List.of("--mode", "lt"), timeouts), List.of(), "1 thread", "netty-epoll-1", ALL));
        v.add(new Variant("day05-reactor", "java", "c10k.day05.Day05", cat(List.of("--mode", "reactor", "--threads", "" + n), timeouts), List.of(),
                "1 I/O thread + " + n + " workers", "netty-epoll-" + n, ALL));
        v.add(new Variant("day05-shared", "java", "c10k.day05.Day05", cat(List.of("--mode", "shared", "--threads", "" + n), timeouts), List.of(),
                n + " threads on one epoll fd", "netty-epoll-" + n, ALL));
        v.add(new Variant("day05-loops", "java", "c10k.day05.Day05", cat(List.of("--mode", "loops", "--threads", "" + n), timeouts), List.of(),
                n + " loops + 1 acceptor thread", "netty-epoll-" + n, ALL));
        if (!quick) {
            v.add(new Variant("day05-loops-reuseport", "java", "c10k.day05.Day05", cat(List.of("--mode", "loops-reuseport", "--threads", "" + n), timeouts),
                    List.of(), n + " loops, SO_REUSEPORT", "netty-epoll-" + n, ALL));
        }
        // 12,000 slots: the busy-beside-idle scenario holds 10,100 connections at once.
        v.add(new Variant("day06-pinned", "java", "c10k.day06.Day06", cat(List.of("--mode", "pinned", "--threads", "" + n, "--pool", "12000"), timeouts),
                List.of(), "1 I/O thread + " + n + " workers", "netty-epoll-" + n, ALL));
        v.add(new Variant("day07-basic", "java", "c10k.day07.Day07", cat(List.of("--mode", "basic", "--threads", "1"), timeouts), List.of(),
                "1 ring thread", "netty-uring-1", ALL));
        v.add(new Variant("day07-multishot", "java", "c10k.day07.Day07", cat(List.of("--mode", "multishot", "--threads", "1"), timeouts), List.of(),
                "1 ring thread", "netty-uring-1", ALL));
        v.add(new Variant("netty-epoll-1", "java", "c10k.bench.NettyMain", List.of("--mode", "epoll", "--threads", "1"), netty, "1 event loop", null, ALL));
        if (n != 1) {
            v.add(new Variant("netty-epoll-" + n, "java", "c10k.bench.NettyMain", List.of("--mode", "epoll", "--threads", "" + n), netty,
                    n + " event loops", null, ALL));
        }
        v.add(new Variant("netty-uring-1", "java", "c10k.bench.NettyMain", List.of("--mode", "io_uring", "--threads", "1"), netty,
                "1 io_uring event loop", null, ALL));
        return v;
    }

    private static List<String> cat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static boolean classExists(String name) {
        try {
            Class.forName(name, false, Bench.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    private static ServerProcess start(Variant v, Path floorBinary, List<String> jvm) throws IOException {
        if (v.kind().equals("native")) return ServerProcess.startNative(v.name(), floorBinary, v.args());
        return ServerProcess.start(v.name(), v.mainClass(), cat(jvm, v.jvm()), v.args());
    }

    /** 100 busy connections while {@code idle} others, from a load generator of their own, sit open. */
    private static Sample busyBesideIdle(Variant v, ServerProcess server, int idle, int round, Options o, String where)
            throws IOException, InterruptedException {
        progress(where + ": " + o.busy + " busy beside " + String.format(Locale.ROOT, "%,d", idle) + " idle");
        if (idle == 0) return measure(v.name(), "idle", 0, round, server, o.busy, o.pipeline, o);
        try (Holder holder = Holder.open(server.port, idle, o.lineSize)) {
            if (holder.failure != null) return failed(v.name(), "idle", idle, round, o.busy, "idle connections: " + holder.failure);
            Sample s = measure(v.name(), "idle", idle, round, server, o.busy, o.pipeline, o);
            if (s.ok() && holder.echoed < idle) {
                return new Sample(s.server(), s.scenario(), s.level(), s.round(), s.linesPerSec(), s.p50us(), s.p99us(), s.errors(),
                        s.served(), s.connections(), "only " + holder.echoed + " of " + idle + " idle connections were answered");
            }
            return s;
        } finally {
            SocketProbe.awaitNoConnections(server.process.pid(), server.port, 10_000);   // the next run starts on a settled server
        }
    }

    private static Sample failed(String server, String scenario, int level, int round, int connections, String why) {
        return new Sample(server, scenario, level, round, 0, 0, 0, 0, -1, connections, why);
    }

    private static final Pattern RESULT = Pattern.compile(
            "RESULT lines_per_sec=(\\S+) p50_us=(\\S+) p99_us=(\\S+) errors=(\\d+)");
    private static final Pattern SERVED = Pattern.compile("served=(\\d+)");

    /** One closed-loop run of the load generator; a crash, a timeout or a wrong byte makes it a failed sample. */
    static Sample measure(String server, String scenario, int level, int round, ServerProcess target, int connections, int pipeline,
                          Options o) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ServerProcess.javaBin(), "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), "c10k.bench.LoadGen", "--port", "" + target.port,
                "--connections", "" + connections, "--pipeline", "" + pipeline, "--line-size", "" + o.lineSize,
                "--warmup", "" + o.warmup, "--seconds", "" + o.seconds));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60 + (long) (o.warmup + o.seconds), TimeUnit.SECONDS)) p.destroyForcibly();
        Matcher m = RESULT.matcher(out);
        if (!m.find()) {
            String why = target.alive() ? "load generator: " + firstLine(out) : "server died: " + firstLine(target.tail());
            return failed(server, scenario, level, round, connections, why);
        }
        Matcher s = SERVED.matcher(out);
        int served = s.find() ? Integer.parseInt(s.group(1)) : -1;
        long errors = Long.parseLong(m.group(4));
        double lines = Double.parseDouble(m.group(1));
        String failure = errors > 0 ? errors + " errors (wrong bytes or broken connections)"
                : lines == 0 ? "no line answered in the measured seconds" : null;
        return new Sample(server, scenario, level, round, lines, Double.parseDouble(m.group(2)),
                Double.parseDouble(m.group(3)), errors, served, connections, failure);
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return (nl < 0 ? t : t.substring(0, nl)).replace('|', '/');
    }

    /**
     * Memory per idle connection: a warm-up with traffic first (100 busy connections, then
     * {@code holdLow} held and let go, so lazily built pools and JIT are paid before), then the
     * slope between holding {@code holdLow} and {@code holdHigh} idle connections.
     */
    private static Memory memory(Variant v, ServerProcess server, int round, Options o) throws IOException, InterruptedException {
        Sample warm = measure(v.name(), "warmup", 0, round, server, o.busy, o.pipeline,
                o.withDurations(Math.min(o.warmup, 1), Math.min(o.seconds, 1)));
        if (!warm.ok()) return new Memory(v.name(), round, 0, 0, 0, 0, "warm-up failed: " + warm.failure());
        try (Holder once = Holder.open(server.port, o.holdLow, o.lineSize)) {
            if (once.failure != null) return new Memory(v.name(), round, 0, 0, 0, 0, once.failure);
        }
        SocketProbe.awaitNoConnections(server.process.pid(), server.port, 10_000);   // the server has seen those closes
        TimeUnit.MILLISECONDS.sleep(200);
        try (Holder low = Holder.open(server.port, o.holdLow, o.lineSize)) {
            if (low.failure != null) return new Memory(v.name(), round, 0, 0, 0, 0, low.failure);
            server.settleNativeMemory(o.settleMillis);
            long heapLow = server.heapUsedAfterGc();
            server.settleNativeMemory(0);
            long rssLow = server.rss();
            try (Holder more = Holder.open(server.port, o.holdHigh - o.holdLow, o.lineSize)) {
                if (more.failure != null) return new Memory(v.name(), round, 0, 0, 0, 0, more.failure);
                server.settleNativeMemory(o.settleMillis);
                long heapHigh = server.heapUsedAfterGc();
                server.settleNativeMemory(0);
                long rssHigh = server.rss();
                double n = o.holdHigh - o.holdLow;
                return new Memory(v.name(), round, (rssHigh - rssLow) / n, (heapHigh - heapLow) / n,
                        low.echoed + more.echoed, o.holdHigh, null);
            }
        }
    }

    /**
     * Idle connections held by a load generator in a process of its own ({@code LoadGen --hold}):
     * each echoes one line, then sits; closing the holder closes them all.
     */
    static final class Holder implements AutoCloseable {
        final Process process;
        long echoed;
        String failure;

        private Holder(Process process) {
            this.process = process;
        }

        static Holder open(int port, int count, int lineSize) throws IOException {
            return open("c10k.bench.LoadGen", port, count, lineSize);
        }

        /** {@code mainClass}: LoadGen for the echo servers, {@link HttpHold} for nginx (a keep-alive request each). */
        static Holder open(String mainClass, int port, int count, int lineSize) throws IOException {
            List<String> command = List.of(ServerProcess.javaBin(), "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                    mainClass, "--hold", "--port", "" + port, "--connections", "" + count, "--line-size", "" + lineSize);
            Holder h = new Holder(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start());
            BufferedReader out = new BufferedReader(new InputStreamReader(h.process.getInputStream(), StandardCharsets.UTF_8));
            String held = out.readLine();
            if (held == null || !held.startsWith("HELD")) {
                h.failure = "could not hold " + count + " connections" + (held == null ? "" : ": " + held);
            } else {
                Matcher m = Pattern.compile("echoed=(\\d+)").matcher(held);
                h.echoed = m.find() ? Long.parseLong(m.group(1)) : 0;
            }
            return h;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            try {
                process.getOutputStream().close();   // the holder closes its connections and exits
            } catch (IOException ignored) {
                // already gone
            }
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        }
    }

    private static void printPlan(Options o, List<Variant> variants) {
        long idleRuns = variants.stream().filter(v -> v.in("idle")).count() * o.idle.size();
        long busyRuns = variants.stream().filter(v -> v.in("busy"))
                .mapToLong(v -> o.connections.stream().filter(c -> !blocking(v) || c <= 100).count()).sum();
        long memoryRuns = o.holdLow > 0 ? variants.stream().filter(v -> v.in("memory")).count() : 0;
        double perRun = o.warmup + o.seconds;
        double load = o.rounds * ((idleRuns + busyRuns) * perRun + memoryRuns * (Math.min(o.warmup, 1) + Math.min(o.seconds, 1)));
        progress(String.format(Locale.ROOT, "plan: %d servers, %d round(s); per round %d busy-beside-idle runs (%d busy, idle %s), "
                        + "%d all-busy runs (%s connections), %d memory runs (%,d and %,d held); %.1f s + %.1f s warm-up per run, "
                        + "%d in flight per connection, lines of %d bytes",
                variants.size(), o.rounds, idleRuns, o.busy, o.idle, busyRuns, o.connections, memoryRuns, o.holdLow, o.holdHigh,
                o.seconds, o.warmup, o.pipeline, o.lineSize));
        progress(String.format(Locale.ROOT, "plan: %.0f s under load, plus start-up and connection set-up (bench/README.md has measured wall times)", load));
    }

    static void progress(String what) {
        System.out.printf(Locale.ROOT, "[%4ds] %s%n", Math.round((System.nanoTime() - T0) / 1e9), what);
        System.out.flush();
    }

    /**
     * How quiet the machine is while the bench itself does nothing: the load average, and the
     * share of all CPUs busy over a 2 s sample (from /proc/stat). Taken before the first run and
     * after the last, when no server or load generator of ours runs, so what it sees is other
     * people's work. The load average alone cannot tell: at the end it still counts the bench's
     * own last minute.
     */
    record Quiet(String loadAverage, double cpuBusy, double othersDuringRun) {
        Quiet(String loadAverage, double cpuBusy) {
            this(loadAverage, cpuBusy, -1);
        }

        /**
         * Busy enough that the figures are noise: more than a fifth of the CPUs in use by others
         * while the bench was idle, or more than a tenth on average during the whole run.
         */
        boolean busy() {
            return cpuBusy > 0.2 || othersDuringRun > 0.1;
        }

        /** CPU time so far: the machine's, busy and in all, and the bench's own with its reaped children (servers, load generators, wrk). */
        record Mark(long total, long idle, long ours) { }

        static Mark mark() {
            try {
                long[] t = cpuTimes();
                // /proc/self/stat after the command's ")": utime, stime, cutime, cstime are fields 14 to 17.
                String stat = Files.readString(Path.of("/proc/self/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
                long ours = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
                return new Mark(t[0], t[1], ours);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        /**
         * A 2 s sample with the bench idle; with {@code since}, also the share of all CPUs that
         * other processes used since then: busy time minus the bench's own and its children's.
         * That is what catches a build that ran in the middle of the run and not at its ends.
         */
        static Quiet sample(Mark since) {
            try {
                long[] a = cpuTimes();
                Thread.sleep(2_000);
                long[] b = cpuTimes();
                double total = b[0] - a[0], idle = b[1] - a[1];
                double others = -1;
                Mark end = since == null ? null : mark();
                if (end != null && end.total() > since.total()) {
                    double busy = (end.total() - since.total()) - (end.idle() - since.idle());
                    others = Math.max(0, (busy - (end.ours() - since.ours())) / (end.total() - since.total()));
                }
                return new Quiet(Bench.loadAverage(), total <= 0 ? -1 : 1 - idle / total, others);
            } catch (IOException | RuntimeException e) {
                return new Quiet(Bench.loadAverage(), -1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Quiet(Bench.loadAverage(), -1);
            }
        }

        /** /proc/stat's first line: total jiffies, and idle + iowait jiffies, of all CPUs. */
        private static long[] cpuTimes() throws IOException {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) total += Long.parseLong(f[i]);   // user … steal
            return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
        }

        String describe() {
            String s = cpuBusy < 0 ? "load average " + loadAverage
                    : String.format(Locale.ROOT, "%.0f%% of the CPUs busy (load average %s)", 100 * cpuBusy, loadAverage);
            if (othersDuringRun >= 0) {
                s += String.format(Locale.ROOT, "; during the whole run, other processes than the bench and its children used %.0f%% of the CPUs",
                        100 * othersDuringRun);
            }
            return s;
        }
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Command-line options. */
    static final class Options {
        boolean quick;
        List<Integer> idle = List.of(0, 1_000, 10_000);
        int busy = 100;
        List<Integer> connections = List.of(100, 1_000, 10_000);
        int rounds = 3;
        double seconds = 3;
        double warmup = 1;
        int pipeline = 8;
        int lineSize = 64;
        int holdLow = 2_000;
        int holdHigh = 10_000;
        /** Wait before each memory reading: one period of HotSpot's arena-chunk cleaner (5 s), then a malloc_trim. */
        long settleMillis = 5_500;
        int threads = 2;
        List<String> servers = List.of();
        boolean http = true;
        String out;
        String command = "./jbang bench";

        Options withDurations(double warmup, double seconds) {
            Options o = new Options();
            o.lineSize = lineSize;
            o.warmup = warmup;
            o.seconds = seconds;
            return o;
        }

        /** The report's folder: {@code --out DIR}, else a fresh scratch folder (never the committed bench/results/). */
        Path outDir() throws IOException {
            if (out != null) return Path.of(out);
            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
            Path bench = Path.of("bench");
            if (Files.isRegularFile(bench.resolve("pom.xml"))) return bench.resolve("target").resolve("bench-runs").resolve(stamp);
            if (Files.isRegularFile(Path.of("pom.xml")) && Files.isDirectory(Path.of("results"))) {
                return Path.of("target", "bench-runs", stamp);
            }
            return Files.createTempDirectory("c10k-bench-" + stamp + "-");
        }

        static Options parse(String[] args) {
            Options o = new Options();
            o.command = "./jbang bench" + (args.length > 0 ? " " + String.join(" ", args) : "");
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--quick" -> {
                        o.quick = true;
                        o.idle = List.of(0, 10_000);
                        o.connections = List.of(100);
                        o.rounds = 1;
                        o.seconds = 1;
                        o.warmup = 0.5;
                        o.holdLow = 1_000;
                        o.holdHigh = 5_000;
                        o.settleMillis = 0;
                    }
                    case "--idle" -> o.idle = ints(args[++i]);
                    case "--busy" -> o.busy = Integer.parseInt(args[++i]);
                    case "--connections" -> o.connections = ints(args[++i]);
                    case "--rounds" -> o.rounds = Integer.parseInt(args[++i]);
                    case "--seconds" -> o.seconds = Double.parseDouble(args[++i]);
                    case "--warmup" -> o.warmup = Double.parseDouble(args[++i]);
                    case "--pipeline" -> o.pipeline = Integer.parseInt(args[++i]);
                    case "--line-size" -> o.lineSize = Integer.parseInt(args[++i]);
                    case "--hold" -> {
                        List<Integer> h = ints(args[++i]);
                        if (h.size() == 1 && h.get(0) == 0) {
                            o.holdLow = o.holdHigh = 0;
                        } else if (h.size() != 2 || h.get(0) >= h.get(1)) {
                            usageError("--hold takes two sizes, LOW,HIGH (e.g. 2000,10000), or 0");
                        } else {
                            o.holdLow = h.get(0);
                            o.holdHigh = h.get(1);
                        }
                    }
                    case "--threads" -> o.threads = Integer.parseInt(args[++i]);
                    case "--servers" -> o.servers = List.of(args[++i].split(","));
                    case "--no-http" -> o.http = false;
                    case "--out" -> o.out = args[++i];
                    case "--help", "-h" -> {
                        System.out.println("""
                                usage: bench [options]
                                  --quick              a smoke run (one round, shorter runs, fewer levels): not comparable with the full run
                                  --idle LIST          idle connections beside the busy ones (default 0,1000,10000)
                                  --busy N             busy connections in that scenario (default 100)
                                  --connections LIST   all-busy scenario levels (default 100,1000,10000)
                                  --rounds N           rounds, servers interleaved in a rotating order (default 3)
                                  --seconds S          measured seconds per run (default 3)
                                  --warmup S           warm-up seconds per run (default 1)
                                  --pipeline D         lines in flight per busy connection (default 8)
                                  --line-size B        bytes per line, newline included (default 64)
                                  --hold LOW,HIGH      hold sizes for memory per idle connection, 0 to skip (default 2000,10000)
                                  --threads N          threads for day 5, day 6 and Netty's second row (default 2)
                                  --servers LIST       name prefixes, e.g. floor,day04,netty-epoll-1 (default: all)
                                  --no-http            skip the HTTP rows and nginx (wrk against nginx)
                                  --out DIR            report folder (default: a new folder under bench/target/bench-runs/;
                                                       the committed figures are written with --out bench/results)""");
                        System.exit(0);
                    }
                    default -> usageError("unknown option '" + args[i] + "' (try --help)");
                }
            }
            if (o.holdHigh + o.busy > 18_000 || o.idle.stream().anyMatch(n -> n + o.busy > 18_000)) {
                usageError("at most about 18,000 connections at once: the open-files limit is 20,000 per process here");
            }
            return o;
        }

        private static List<Integer> ints(String list) {
            return Arrays.stream(list.split(",")).map(String::trim).map(Integer::parseInt).toList();
        }

        private static void usageError(String message) {
            System.err.println("bench: " + message);
            System.exit(2);
        }
    }

    static String machine() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException ignored) {
            // not Linux
        }
        return String.format(Locale.ROOT, "%s, %d cores, %d GiB, %s %s, JDK %s, %s", cpu,
                Runtime.getRuntime().availableProcessors(),
                Math.round(((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                        .getOperatingSystemMXBean()).getTotalMemorySize() / (1024.0 * 1024 * 1024)),
                System.getProperty("os.name"), System.getProperty("os.version"), Runtime.version(), LocalDate.now());
    }
}
