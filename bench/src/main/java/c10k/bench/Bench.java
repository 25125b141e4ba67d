///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS io.netty:netty-codec:4.2.18.Final
//DEPS io.netty:netty-transport-native-epoll:4.2.18.Final:linux-x86_64
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day02-multithread/src/main/java/c10k/day02/*.java
//SOURCES ../../../../../../day06-fd-reuse/src/main/java/c10k/day06/*.java

package c10k.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jbang bench}: every server of the book, and Netty's epoll transport, under the same
 * load, side by side in one run.
 *
 * <p>Each server runs in a JVM of its own with the same settings; the load generator runs in
 * yet another and checks every byte it gets back. Servers are measured in turn, round after
 * round, in a rotating order, so slow drift of the machine (heat, other load) falls on all of
 * them alike; each figure is the median of the rounds, with the spread (min to max) beside it.
 * Figures are ratios against Netty with the same number of event-loop threads, measured in
 * the same run: absolute numbers depend on the machine, ratios much less.
 */
public final class Bench {

    record Variant(String name, String mainClass, List<String> args, int threads, String peer) {
    }

    record Sample(String server, int connections, double linesPerSec, double p50us, double p99us, long errors) {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        List<Variant> variants = variants(o.threads).stream()
                .filter(v -> o.servers.isEmpty() || o.servers.stream().anyMatch(s -> v.name.startsWith(s)))
                .filter(v -> classExists(v.mainClass))
                .toList();
        System.out.println("bench: " + variants.size() + " servers, connections " + o.connections + ", "
                + o.rounds + " round(s) of " + o.seconds + " s after " + o.warmup + " s warm-up, lines of "
                + o.lineSize + " bytes, " + o.pipeline + " in flight per connection");

        Map<String, ServerProcess> running = new LinkedHashMap<>();
        try {
            for (Variant v : variants) running.put(v.name, ServerProcess.start(v.name, v.mainClass, ServerProcess.SERVER_JVM, v.args));

            Map<String, double[]> memory = new LinkedHashMap<>();   // name -> {bytes per connection, echoed}
            if (o.hold > 0) {
                for (Variant v : variants) {
                    if (v.name.startsWith("day01") || v.name.equals("day02-pool")) continue;   // cannot hold idle clients
                    progress("memory: " + v.name + " holding " + o.hold + " idle connections");
                    memory.put(v.name, hold(running.get(v.name), o.hold));
                }
            }

            List<Sample> samples = new ArrayList<>();
            for (int round = 0; round < o.rounds; round++) {
                for (int connections : o.connections) {
                    List<Variant> order = new ArrayList<>(variants);
                    java.util.Collections.rotate(order, round);
                    for (Variant v : order) {
                        if (v.name.startsWith("day01") && connections > 1) continue;   // one client at a time, by design
                        if (v.name.equals("day02-pool") && connections > 100) continue;  // starved, and refuses past its queue
                        progress("round " + (round + 1) + "/" + o.rounds + ": " + v.name + " at " + connections + " connections");
                        samples.add(throughput(v.name, running.get(v.name).port, connections, o));
                    }
                }
            }
            List<HttpBench.Result> http = List.of();
            String httpNote = null;
            if (o.http) {
                httpNote = HttpBench.missingTools();
                if (httpNote == null) http = HttpBench.run(o, 100);
                else httpNote = "HTTP rows skipped: " + httpNote + " not installed (apt-get install -y wrk nginx)";
            }
            Report report = new Report(o, variants, samples, memory, http, httpNote);
            System.out.print("\r" + " ".repeat(100) + "\r");
            System.out.println(report.table());
            Path dir = Path.of(o.out);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("report.md"), report.markdown());
            Files.writeString(dir.resolve("results.json"), report.json());
            System.out.println("wrote " + dir.resolve("report.md") + " and " + dir.resolve("results.json"));
        } finally {
            for (ServerProcess p : running.values()) p.close();
        }
    }

    static List<Variant> variants(int n) {
        List<Variant> v = new ArrayList<>();
        v.add(new Variant("day01", "c10k.day01.Day01", List.of(), 1, null));
        v.add(new Variant("day02-virtual", "c10k.day02.Day02", List.of("--mode", "virtual"), 0, "netty-" + n));
        v.add(new Variant("day02-pool", "c10k.day02.Day02", List.of("--mode", "pool", "--threads", "" + n), n, null));
        v.add(new Variant("day03-selector", "c10k.day03.Day03", List.of("--mode", "selector"), 1, "netty-1"));
        v.add(new Variant("day03-poll", "c10k.day03.Day03", List.of("--mode", "poll"), 1, "netty-1"));
        v.add(new Variant("day04-et", "c10k.day04.Day04", List.of("--mode", "et"), 1, "netty-1"));
        v.add(new Variant("day04-lt", "c10k.day04.Day04", List.of("--mode", "lt"), 1, "netty-1"));
        v.add(new Variant("day05-reactor", "c10k.day05.Day05", List.of("--mode", "reactor", "--threads", "" + n), n, "netty-" + n));
        v.add(new Variant("day05-shared", "c10k.day05.Day05", List.of("--mode", "shared", "--threads", "" + n), n, "netty-" + n));
        v.add(new Variant("day06-pinned", "c10k.day06.Day06", List.of("--threads", "" + n), n, "netty-" + n));
        v.add(new Variant("netty-1", "c10k.bench.NettyMain", List.of("--threads", "1"), 1, null));
        if (n != 1) v.add(new Variant("netty-" + n, "c10k.bench.NettyMain", List.of("--threads", "" + n), n, null));
        return v;
    }

    private static boolean classExists(String name) {
        try {
            Class.forName(name, false, Bench.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    private static final Pattern RESULT = Pattern.compile(
            "RESULT lines_per_sec=(\\S+) p50_us=(\\S+) p99_us=(\\S+) errors=(\\d+)");

    static Sample throughput(String server, int port, int connections, Options o) throws IOException, InterruptedException {
        Process p = loadGen(port, connections, o, false);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        Matcher m = RESULT.matcher(out);
        if (!m.find()) throw new IOException("load generator failed against " + server + ": " + out);
        return new Sample(server, connections, Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
                Double.parseDouble(m.group(3)), Long.parseLong(m.group(4)));
    }

    /** Bytes per idle connection: (resident set + heap after GC) while holding, minus before. */
    static double[] hold(ServerProcess server, int count) throws IOException, InterruptedException {
        long rssBefore = server.rss();
        long heapBefore = server.heapUsedAfterGc();
        rssBefore = server.rss();
        Process gen = loadGen(server.port, count, null, true);
        BufferedReader out = new BufferedReader(new InputStreamReader(gen.getInputStream(), StandardCharsets.UTF_8));
        String held = out.readLine();
        if (held == null || !held.startsWith("HELD")) throw new IOException(server.name + ": " + held);
        long heapAfter = server.heapUsedAfterGc();
        long rssAfter = server.rss();
        try (OutputStream stdin = gen.getOutputStream()) {
            stdin.write('\n');
        }
        gen.waitFor();
        int echoed = Integer.parseInt(held.replaceAll(".*echoed=", "").trim());
        double perConnection = ((rssAfter - rssBefore) + (heapAfter - heapBefore)) / (double) count;
        return new double[] {perConnection, echoed};
    }

    private static Process loadGen(int port, int connections, Options o, boolean hold) throws IOException {
        List<String> command = new ArrayList<>(List.of(ServerProcess.javaBin(), "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), "c10k.bench.LoadGen", "--port", "" + port,
                "--connections", "" + connections));
        if (hold) {
            command.add("--hold");
        } else {
            command.addAll(List.of("--pipeline", "" + o.pipeline, "--line-size", "" + o.lineSize,
                    "--warmup", "" + o.warmup, "--seconds", "" + o.seconds));
        }
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static void progress(String what) {
        System.out.print("\r" + String.format("%-100s", "... " + what));
        System.out.flush();
    }

    /** Command-line options. */
    static final class Options {
        List<Integer> connections = List.of(1, 100, 1_000, 10_000);
        int rounds = 3;
        double seconds = 3;
        double warmup = 1;
        int pipeline = 16;
        int lineSize = 64;
        int hold = 10_000;
        int threads = 2;
        List<String> servers = List.of();
        boolean http = true;
        String out = "bench/results";
        String command = "./jbang bench";

        static Options parse(String[] args) {
            Options o = new Options();
            o.command = "./jbang bench" + (args.length > 0 ? " " + String.join(" ", args) : "");
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--quick" -> {
                        o.connections = List.of(100, 1_000);
                        o.rounds = 1;
                        o.seconds = 1;
                        o.warmup = 0.5;
                        o.hold = 2_000;
                    }
                    case "--connections" -> o.connections = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                    case "--rounds" -> o.rounds = Integer.parseInt(args[++i]);
                    case "--seconds" -> o.seconds = Double.parseDouble(args[++i]);
                    case "--warmup" -> o.warmup = Double.parseDouble(args[++i]);
                    case "--pipeline" -> o.pipeline = Integer.parseInt(args[++i]);
                    case "--line-size" -> o.lineSize = Integer.parseInt(args[++i]);
                    case "--hold" -> o.hold = Integer.parseInt(args[++i]);
                    case "--threads" -> o.threads = Integer.parseInt(args[++i]);
                    case "--servers" -> o.servers = List.of(args[++i].split(","));
                    case "--no-http" -> o.http = false;
                    case "--out" -> o.out = args[++i];
                    case "--help", "-h" -> {
                        System.out.println("""
                                usage: bench [options]
                                  --quick              about a minute: 100 and 1,000 connections, 1 round, 2,000 held
                                  --connections LIST   e.g. 1,100,1000,10000 (default)
                                  --rounds N           rounds, servers interleaved (default 3)
                                  --seconds S          measured seconds per run (default 3)
                                  --warmup S           warm-up seconds per run (default 1)
                                  --pipeline D         lines in flight per connection (default 16)
                                  --line-size B        bytes per line, newline included (default 64)
                                  --hold N             idle connections for the memory figure, 0 to skip (default 10000)
                                  --threads N          event-loop threads for day 5, day 6 and Netty (default 2)
                                  --servers LIST       name prefixes, e.g. day04,netty (default: all)
                                  --no-http            skip the HTTP rows (day 5 engine vs nginx, by wrk)
                                  --out DIR            report directory (default bench/results)""");
                        System.exit(0);
                    }
                    default -> {
                        System.err.println("bench: unknown option '" + args[i] + "' (try --help)");
                        System.exit(2);
                    }
                }
            }
            return o;
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
