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

/**
 * A server under measurement in a process of its own: a program of the book (or Netty) in a JVM
 * on this JVM's class path, or a native program (the C floor). It is started for the runs that
 * measure it and stopped right after, so that only the server being measured is alive.
 */
final class ServerProcess implements AutoCloseable {

    /**
     * JVM settings for throughput and latency rows: a heap sized to the need and no pre-touch,
     * so that a JVM costs what it uses. The same for every server.
     */
    static final List<String> THROUGHPUT_JVM = List.of("-Xms512m", "-Xmx512m", "-XX:+UseSerialGC");

    /**
     * JVM settings for the memory rows: a fixed, pre-touched heap, so that the resident set does
     * not move with heap growth and a change in it is memory outside the heap; the heap's own
     * part is read apart, after a full collection.
     */
    static final List<String> MEMORY_JVM = List.of("-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC");

    /** What every server JVM gets: FFM without a warning. */
    static final List<String> COMMON_JVM = List.of("--enable-native-access=ALL-UNNAMED");

    final String name;
    final Process process;
    final int port;
    final boolean java;
    /** The command line, without the class path, for the report. */
    final List<String> shown;
    private final Path log;

    private ServerProcess(String name, Process process, int port, boolean java, List<String> shown, Path log) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.java = java;
        this.shown = shown;
        this.log = log;
    }

    static String javaBin() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** A Java server: {@code java COMMON_JVM jvm -cp ... mainClass --port 0 args}. */
    static ServerProcess start(String name, String mainClass, List<String> jvm, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(javaBin()));
        command.addAll(COMMON_JVM);
        command.addAll(jvm);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass, "--port", "0"));
        command.addAll(args);
        List<String> shown = new ArrayList<>(COMMON_JVM);
        shown.addAll(jvm);
        shown.add(mainClass);
        shown.addAll(args);
        return launch(name, command, true, shown);
    }

    /** A native server that takes {@code --port 0} and prints the same ready line. */
    static ServerProcess startNative(String name, Path binary, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--port", "0"));
        command.addAll(args);
        List<String> shown = new ArrayList<>(List.of(binary.getFileName().toString()));
        shown.addAll(args);
        return launch(name, command, false, shown);
    }

    private static ServerProcess launch(String name, List<String> command, boolean java, List<String> shown) throws IOException {
        Path log = Files.createTempFile("bench-" + name.replace(' ', '-'), ".log");
        Process p = new ProcessBuilder(command).redirectError(log.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        if (ready == null || !ready.startsWith("listening on ")) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            String why = Files.readString(log).lines().filter(l -> !l.isBlank()).findFirst().orElse("no output");
            throw new IOException(name + " did not start: " + (ready == null ? "" : ready + ": ") + why);
        }
        return new ServerProcess(name, p, Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1).trim()), java, shown, log);
    }

    /**
     * Anonymous resident memory of the process and its descendants, bytes ({@code RssAnon} in
     * /proc/PID/status; {@code VmRSS} where the kernel has no such line). Memory a connection
     * costs is anonymous (malloc, mmap'd arenas, the heap); file-backed pages (the JDK's
     * modules, jars) come and go with the page cache and would only add noise to a slope.
     */
    long rss() throws IOException {
        return rssOf(process.toHandle());
    }

    static long rssOf(ProcessHandle root) throws IOException {
        long total = 0;
        List<ProcessHandle> all = new ArrayList<>(List.of(root));
        root.descendants().forEach(all::add);
        for (ProcessHandle h : all) {
            try {
                long vmRss = -1, anon = -1;
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(h.pid()), "status"))) {
                    if (line.startsWith("VmRSS:")) vmRss = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                    if (line.startsWith("RssAnon:")) anon = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
                total += anon >= 0 ? anon : Math.max(0, vmRss);
            } catch (IOException gone) {
                // a process that ended meanwhile holds nothing
            }
        }
        return total;
    }

    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    /** Heap in use after a full collection, bytes, through jcmd (GC.run, then GC.heap_info); 0 for a native server. */
    long heapUsedAfterGc() throws IOException, InterruptedException {
        if (!java) return 0;
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

    /**
     * Gives freed native memory back to the kernel before the resident set is read: waits
     * {@code settleMillis} first (HotSpot returns its compilers' and GC's arena chunks to malloc
     * on a 5-second timer), then {@code jcmd System.trim_native_heap} (glibc's malloc_trim), so
     * the slope counts memory in use, not memory freed but still mapped. No-op for a native server.
     */
    void settleNativeMemory(long settleMillis) throws IOException, InterruptedException {
        if (!java) return;
        if (settleMillis > 0) Thread.sleep(settleMillis);
        jcmd("System.trim_native_heap");
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(javaBin()).resolveSibling("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    /** Whether the server is still running (a crash is reported, not hidden). */
    boolean alive() {
        return process.isAlive();
    }

    /** The last lines the server wrote to stderr, for a failure message. */
    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "";
        }
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
        else Files.deleteIfExists(log);
    }
}
