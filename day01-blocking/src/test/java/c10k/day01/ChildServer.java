package c10k.day01;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server in a JVM of its own, started exactly as a reader starts it ({@code main} with
 * command-line options), for the tests that need more descriptors than one process may hold
 * for both ends (10,000 connections) or a lower open-files limit than the test's own.
 */
public final class ChildServer implements AutoCloseable {

    private final Process process;
    private final int port;
    private final Path stderr;

    private ChildServer(Process process, int port, Path stderr) {
        this.process = process;
        this.port = port;
        this.stderr = stderr;
    }

    /**
     * Starts {@code mainClass} with {@code args} (plus {@code --port 0}) on this JVM's class
     * path; with {@code openFilesLimit > 0}, under {@code ulimit -n openFilesLimit}.
     */
    public static ChildServer start(String mainClass, int openFilesLimit, String... args) throws IOException {
        return start(System.getProperty("java.class.path"), mainClass, openFilesLimit, args);
    }

    /**
     * As {@link #start(String, int, String...)}, with each module's {@code target/classes} in
     * place of its jar: a server run from its build folders (as {@code scripts/burst-check} and
     * an IDE run it) opens a class file for each class it loads, a jar only once.
     */
    public static ChildServer startFromClassFolders(String mainClass, int openFilesLimit, String... args) throws IOException {
        List<String> path = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry);
            Path classes = p.getParent() == null ? null : p.getParent().resolve("classes");
            boolean moduleJar = entry.endsWith(".jar") && p.getParent().endsWith("target") && Files.isDirectory(classes);
            path.add(moduleJar && !entry.endsWith("-tests.jar") ? classes.toString() : entry);
        }
        return start(String.join(java.io.File.pathSeparator, path), mainClass, openFilesLimit, args);
    }

    private static ChildServer start(String classPath, String mainClass, int openFilesLimit, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>();
        if (openFilesLimit > 0) {
            command.addAll(List.of("/bin/sh", "-c", "ulimit -n " + openFilesLimit + " && exec \"$@\"", "sh"));
        }
        command.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", classPath, mainClass, "--port", "0"));
        command.addAll(List.of(args));
        // stderr goes to a file, read once the process is gone: reading a pipe while the JDK
        // reaps the process races with its own clean-up ("Stream closed").
        Path err = Files.createTempFile("child-server", ".log");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();   // blocks until the server is ready: its one line on stdout
        if (ready == null || !ready.startsWith("listening on ")) {
            p.destroyForcibly();
            throw new IOException("child server did not start: " + ready + "\n" + Files.readString(err));
        }
        int port = Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1));
        return new ChildServer(p, port, err);
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    /** Sends it a signal by name ({@code STOP}, {@code CONT}), through kill(1). */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) throw new IOException("kill -" + name + " failed");
    }

    /** Stops it with SIGTERM, as Ctrl-C would, and returns what it logged. */
    public String stop() throws InterruptedException, IOException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        try {
            return Files.readString(stderr);
        } finally {
            Files.deleteIfExists(stderr);
        }
    }

    @Override
    public void close() throws InterruptedException, IOException {
        if (process.isAlive()) stop();
    }
}
