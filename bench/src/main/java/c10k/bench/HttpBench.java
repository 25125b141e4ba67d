package c10k.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The last mile: the HTTP responder on day 5's engine against nginx, both with one worker,
 * both measured by wrk, one alive at a time; and nginx's memory per idle keep-alive connection.
 * nginx runs in the foreground with a configuration written here into a scratch folder: one
 * worker process, bound to 127.0.0.1 only, {@code return 200} with a body the size of ours, no
 * access log. A system nginx (Debian's package starts one on port 80) is neither used nor touched.
 */
final class HttpBench {

    /** One server's wrk figures over the rounds; {@code failures} counts rounds left out (errors, or wrk failed). */
    record Result(String server, double median, double min, double max, double p50us, double p99us, long errors, int failures) {
    }

    /** The HTTP rows, nginx's memory per idle keep-alive connection (-1 if not measured) and a note. */
    record Results(List<Result> rows, double nginxBytesPerIdle, long nginxHeld, String note, String nginxConfig, String nginxSocket) {
    }

    static String missingTools() {
        List<String> missing = new ArrayList<>();
        if (which("wrk") == null) missing.add("wrk");
        if (which("nginx") == null) missing.add("nginx");
        return missing.isEmpty() ? null : String.join(" and ", missing);
    }

    static String which(String tool) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/usr/local/sbin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }

    /** nginx with our own configuration: one worker, 127.0.0.1 only, no access log, room for the idle hold. */
    private static final String NGINX_CONF = """
            worker_processes 1;
            worker_rlimit_nofile 20000;
            daemon off;
            pid %s/nginx.pid;
            error_log %s/error.log warn;
            events { worker_connections 19000; }
            http {
                access_log off;
                keepalive_requests 1000000;
                keepalive_timeout 600s;
                client_body_temp_path %s/tmp;
                proxy_temp_path %s/tmp;
                fastcgi_temp_path %s/tmp;
                uwsgi_temp_path %s/tmp;
                scgi_temp_path %s/tmp;
                server {
                    listen 127.0.0.1:%d;
                    location / { default_type text/plain; return 200 "Hello, world!\\n"; }
                }
            }
            """;

    /**
     * The HTTP rows (day 5's shared engine with one thread and {@link HttpResponder}, against
     * nginx with one worker, by {@code wrk -t1 -cN}, one server alive at a time, rounds
     * interleaved), then nginx's memory per idle keep-alive connection as a slope between the
     * bench's two hold sizes, after a warm-up with wrk.
     */
    static Results run(Bench.Options o, int connections, Consumer<String> progress) throws Exception {
        Path dir = Files.createTempDirectory("c10k-nginx");
        Files.createDirectories(dir.resolve("tmp"));
        int nginxPort = freePort();
        Path conf = dir.resolve("nginx.conf");
        String config = NGINX_CONF.formatted(dir, dir, dir, dir, dir, dir, dir, nginxPort);
        Files.writeString(conf, config);
        Map<String, List<double[]>> samples = new LinkedHashMap<>();
        List<String> order0 = List.of("day05-http x1", "nginx x1");
        for (int round = 0; round < o.rounds; round++) {
            List<String> order = new ArrayList<>(order0);
            java.util.Collections.rotate(order, round);
            for (String name : order) {
                progress.accept("http round " + (round + 1) + "/" + o.rounds + ": " + name + ", wrk -t1 -c" + connections);
                if (name.startsWith("nginx")) {
                    Process nginx = startNginx(dir, conf, nginxPort);
                    try {
                        samples.computeIfAbsent(name, k -> new ArrayList<>()).add(wrk(nginxPort, connections, o));
                    } finally {
                        stop(nginx);
                    }
                } else {
                    try (ServerProcess ours = ServerProcess.start("day05-http", "c10k.bench.HttpMain", ServerProcess.THROUGHPUT_JVM, List.of("--threads", "1"))) {
                        samples.computeIfAbsent(name, k -> new ArrayList<>()).add(wrk(ours.port, connections, o));
                    }
                }
            }
        }
        List<Result> results = new ArrayList<>();
        samples.forEach((name, list) -> {
            List<double[]> good = list.stream().filter(s -> s[1] == 0 && s[0] > 0).toList();
            long errors = list.stream().mapToLong(s -> (long) s[1]).sum();
            if (good.isEmpty()) {
                results.add(new Result(name, 0, 0, 0, 0, 0, errors, list.size()));
                return;
            }
            double[] rps = good.stream().mapToDouble(s -> s[0]).sorted().toArray();
            results.add(new Result(name, median(rps), rps[0], rps[rps.length - 1],
                    median(good.stream().mapToDouble(s -> s[2]).toArray()), median(good.stream().mapToDouble(s -> s[3]).toArray()),
                    errors, list.size() - good.size()));
        });

        double perIdle = -1;
        long held = 0;
        String socket = null;
        String note = null;
        if (o.holdLow > 0) {
            List<Double> slopes = new ArrayList<>();
            for (int round = 0; round < o.rounds; round++) {
                progress.accept("nginx memory, round " + (round + 1) + "/" + o.rounds + String.format(Locale.ROOT,
                        ": %,d then %,d idle keep-alive connections", o.holdLow, o.holdHigh));
                Process nginx = startNginx(dir, conf, nginxPort);
                try {
                    wrk(nginxPort, connections, o.withDurations(0.5, 1));
                    try (Bench.Holder once = Bench.Holder.open("c10k.bench.HttpHold", nginxPort, o.holdLow, 0)) {
                        if (once.failure != null) throw new IOException(once.failure);
                    }
                    TimeUnit.MILLISECONDS.sleep(300);
                    try (Bench.Holder low = Bench.Holder.open("c10k.bench.HttpHold", nginxPort, o.holdLow, 0)) {
                        if (low.failure != null) throw new IOException(low.failure);
                        long rssLow = ServerProcess.rssOf(nginx.toHandle());
                        if (socket == null) socket = SocketProbe.accepted(nginx.pid(), nginxPort);   // nginx's worker holds them
                        try (Bench.Holder more = Bench.Holder.open("c10k.bench.HttpHold", nginxPort, o.holdHigh - o.holdLow, 0)) {
                            if (more.failure != null) throw new IOException(more.failure);
                            long rssHigh = ServerProcess.rssOf(nginx.toHandle());
                            slopes.add((rssHigh - rssLow) / (double) (o.holdHigh - o.holdLow));
                            held = low.echoed + more.echoed;
                        }
                    }
                } catch (IOException e) {
                    note = "nginx memory row failed: " + e.getMessage();
                } finally {
                    stop(nginx);
                }
            }
            if (!slopes.isEmpty()) perIdle = median(slopes.stream().mapToDouble(Double::doubleValue).toArray());
        }
        return new Results(results, perIdle, held, note, config.replace(dir.toString(), "$SCRATCH"), socket);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length == 0 ? 0 : v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static Process startNginx(Path dir, Path conf, int port) throws IOException, InterruptedException {
        Process nginx = new ProcessBuilder(which("nginx"), "-p", dir.toString(), "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
        awaitListening(port);
        return nginx;
    }

    private static void stop(Process nginx) throws InterruptedException {
        nginx.destroy();   // SIGTERM to the master: a fast shutdown of master and worker
        if (!nginx.waitFor(10, TimeUnit.SECONDS)) nginx.destroyForcibly().waitFor();
    }

    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern SOCKET_ERRORS = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

    private static final Pattern PERCENTILE = Pattern.compile("\\s(50|99)%\\s+([0-9.]+)(us|ms|s)\\b");

    /**
     * {requests per second, errors, p50 µs, p99 µs} from one wrk run (warm-up first, then the
     * measured run); a wrk that prints no figure counts as one error and 0 requests.
     */
    private static double[] wrk(int port, int connections, Bench.Options o) throws IOException, InterruptedException {
        String url = "http://127.0.0.1:" + port + "/";
        exec(which("wrk"), "-t1", "-c" + connections, "-d" + Math.max(1, Math.round(o.warmup)) + "s", url);
        String out = exec(which("wrk"), "-t1", "-c" + connections, "-d" + Math.max(1, Math.round(o.seconds)) + "s", "--latency", url);
        Matcher m = RPS.matcher(out);
        if (!m.find()) return new double[] {0, 1, 0, 0};
        double p50 = 0, p99 = 0;
        Matcher p = PERCENTILE.matcher(out);
        while (p.find()) {
            double v = Double.parseDouble(p.group(2)) * switch (p.group(3)) {
                case "ms" -> 1e3;
                case "s" -> 1e6;
                default -> 1;
            };
            if (p.group(1).equals("50")) p50 = v;
            else p99 = v;
        }
        long errors = 0;
        Matcher n = NON_2XX.matcher(out);
        if (n.find()) errors += Long.parseLong(n.group(1));
        Matcher s = SOCKET_ERRORS.matcher(out);
        if (s.find()) for (int g = 1; g <= 4; g++) errors += Long.parseLong(s.group(g));
        return new double[] {Double.parseDouble(m.group(1)), errors, p50, p99};
    }

    private static String exec(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitListening(int port) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) throw new IOException("nginx did not start on port " + port, e);
                TimeUnit.MILLISECONDS.sleep(20);
            }
        }
    }
}
