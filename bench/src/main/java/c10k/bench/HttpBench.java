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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The last mile: the HTTP responder on day 5's engine against nginx, both with one worker,
 * both measured by wrk. nginx runs with a configuration written here: one worker process,
 * bound to 127.0.0.1 only, {@code return 200} with a body the size of ours, no access log.
 */
final class HttpBench {

    record Result(String server, double median, double min, double max, long errors) {
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

    static List<Result> run(Bench.Options o, int connections) throws Exception {
        Path dir = Files.createTempDirectory("c10k-nginx");
        int nginxPort = freePort();
        Files.writeString(dir.resolve("nginx.conf"), """
                worker_processes 1;
                daemon off;
                pid %s/nginx.pid;
                error_log %s/error.log warn;
                events { worker_connections 4096; }
                http {
                    access_log off;
                    keepalive_requests 1000000;
                    server {
                        listen 127.0.0.1:%d;
                        location / { default_type text/plain; return 200 "Hello, world!\\n"; }
                    }
                }
                """.formatted(dir, dir, nginxPort));
        Process nginx = new ProcessBuilder(which("nginx"), "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
        Map<String, List<double[]>> samples = new LinkedHashMap<>();
        try (ServerProcess ours = ServerProcess.start("day05-http", "c10k.bench.HttpMain", ServerProcess.SERVER_JVM, List.of("--threads", "1"))) {
            awaitListening(nginxPort);
            Map<String, Integer> ports = new LinkedHashMap<>();
            ports.put("day05-http x1", ours.port);
            ports.put("nginx x1", nginxPort);
            for (int round = 0; round < o.rounds; round++) {
                List<String> order = new ArrayList<>(ports.keySet());
                java.util.Collections.rotate(order, round);
                for (String name : order) {
                    System.out.print("\r" + String.format("%-100s", "... http round " + (round + 1) + ": " + name));
                    System.out.flush();
                    samples.computeIfAbsent(name, k -> new ArrayList<>()).add(wrk(ports.get(name), connections, o));
                }
            }
        } finally {
            nginx.destroy();
            nginx.waitFor(10, TimeUnit.SECONDS);
            nginx.destroyForcibly();
        }
        List<Result> results = new ArrayList<>();
        samples.forEach((name, list) -> {
            double[] rps = list.stream().mapToDouble(s -> s[0]).sorted().toArray();
            long errors = list.stream().mapToLong(s -> (long) s[1]).sum();
            double median = rps.length % 2 == 1 ? rps[rps.length / 2] : (rps[rps.length / 2 - 1] + rps[rps.length / 2]) / 2;
            results.add(new Result(name, median, rps[0], rps[rps.length - 1], errors));
        });
        return results;
    }

    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern SOCKET_ERRORS = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

    /** {requests per second, errors} from one wrk run (warm-up first, then the measured run). */
    private static double[] wrk(int port, int connections, Bench.Options o) throws IOException, InterruptedException {
        String url = "http://127.0.0.1:" + port + "/";
        exec(which("wrk"), "-t1", "-c" + connections, "-d" + Math.max(1, Math.round(o.warmup)) + "s", url);
        String out = exec(which("wrk"), "-t1", "-c" + connections, "-d" + Math.max(1, Math.round(o.seconds)) + "s", url);
        Matcher m = RPS.matcher(out);
        if (!m.find()) throw new IOException("wrk failed: " + out);
        long errors = 0;
        Matcher n = NON_2XX.matcher(out);
        if (n.find()) errors += Long.parseLong(n.group(1));
        Matcher s = SOCKET_ERRORS.matcher(out);
        if (s.find()) for (int g = 1; g <= 4; g++) errors += Long.parseLong(s.group(g));
        return new double[] {Double.parseDouble(m.group(1)), errors};
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
