package c10k.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A program of the book (a server, or the load generator) in a JVM of its own, on this JVM's class path. */
final class ServerProcess implements AutoCloseable {

    /**
     * Same JVM settings for every server: a fixed, pre-touched heap, so that the resident set
     * does not move with heap growth and a change in it is memory outside the heap.
     */
    static final List<String> SERVER_JVM = List.of("-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC");

    final String name;
    final Process process;
    final int port;
    private final Path log;

    private ServerProcess(String name, Process process, int port, Path log) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.log = log;
    }

    static String javaBin() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    static ServerProcess start(String name, String mainClass, List<String> jvm, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(javaBin(), "--enable-native-access=ALL-UNNAMED"));
        command.addAll(jvm);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass, "--port", "0"));
        command.addAll(args);
        Path log = Files.createTempFile("bench-" + name.replace(' ', '-'), ".log");
        Process p = new ProcessBuilder(command).redirectError(log.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        if (ready == null || !ready.startsWith("listening on ")) {
            p.destroyForcibly();
            throw new IOException(name + " did not start: " + ready + " " + Files.readString(log));
        }
        return new ServerProcess(name, p, Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1)), log);
    }

    /** Resident set size, bytes (VmRSS in /proc/PID/status). */
    long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        return -1;
    }

    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    /** Heap in use after a full collection, bytes, through jcmd (GC.run, then GC.heap_info). */
    long heapUsedAfterGc() throws IOException, InterruptedException {
        jcmd("GC.run");
        long used = 0;
        // Serial GC prints one line per generation ("DefNew total NK, used NK", "Tenured total
        // NK, used NK"; older JDKs say "def new generation", "tenured generation"), each
        // followed by lines for its spaces ("eden space ... 12% used"): only the first kind count.
        for (String line : jcmd("GC.heap_info").lines().toList()) {
            Matcher g = USED.matcher(line);
            if (line.contains(" total ") && !line.contains(" space ") && g.find()) used += Long.parseLong(g.group(1)) * 1024;
        }
        if (used == 0) throw new IOException("cannot read the heap of " + name + " from jcmd GC.heap_info");
        return used;
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(javaBin()).resolveSibling("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    String stop() throws IOException, InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        String s = Files.readString(log);
        Files.deleteIfExists(log);
        return s;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (process.isAlive()) stop();
    }
}
