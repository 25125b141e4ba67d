package c10k.day05;

import c10k.day01.EchoServer;
import c10k.day03.sys.Faults;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * Day 5, {@code --mode loops --processes P}: the process form of the loops, nginx's master and
 * workers. The master serves nobody. It starts P worker JVMs, each a {@link LoopsServer} with
 * {@code SO_REUSEPORT} on the same port, so the kernel spreads connections over all their
 * listeners; it starts a new worker when one dies; and on SIGTERM it passes the signal on to
 * every worker, waits for them to finish their graceful shutdown, and exits 0.
 *
 * <pre>
 *   master ──(holds the port, serves nobody)── starts, restarts, stops
 *     ├── worker 1: JVM, N loops, N listeners ┐
 *     ├── worker 2: JVM, N loops, N listeners ├─ one port, SO_REUSEPORT: the kernel picks
 *     └── worker P: JVM, N loops, N listeners ┘
 * </pre>
 *
 * <p>Why processes, when threads share a port as well: each has its own open-files limit (20,000
 * here), heap and GC, and a crash takes one worker's clients, not everyone's; but they share nothing.
 *
 * <p>The master keeps the port for as long as it lives, with a socket that is bound (with
 * {@code SO_REUSEPORT}, so the workers may bind beside it) but never listens: a socket that
 * does not listen is not in the kernel's group and gets no connections, yet no other program
 * can take the port while a worker restarts. nginx's master goes further and opens the
 * listeners itself for its forked workers; a JVM cannot hand its descriptors to a child.
 *
 * <p>A worker runs this JVM's {@code java}, class path and options, is ready once it prints its
 * {@code listening on} line (ours comes when all are), and shuts down by itself if we are
 * killed ({@link MasterPipe}: its stdin is a pipe from us).
 */
public final class Master implements EchoServer {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day05");
    /** A worker that dies sooner than this after its start is restarted only after this long, not in a tight loop. */
    private static final long RESTART_PAUSE_NANOS = 1_000_000_000L;

    private final String host;
    private final int requestedPort;
    private final List<String> workerArgs;
    private final Process[] workers;
    private final long[] startedAt;
    private final AtomicInteger restarts = new AtomicInteger();
    private SocketChannel portHolder;
    private int port;
    /** Set under the lock that guards {@link #workers}, so a worker is either launched and stored, or not launched at all. */
    private volatile boolean stopping;
    private Duration readyTimeout;
    private String workerMain = Day05.class.getName();
    private BiConsumer<Integer, Process> launched = (i, p) -> { };
    // Read once: the JDK reads it from /proc/self/cmdline, which it cannot open when the machine is
    // out of files (ENFILE), and a restart would then run whatever `java` is on the PATH.
    private final String java = ProcessHandle.current().info().command().orElse("java");

    /**
     * @param workerArgs what each worker gets after {@code --host} and {@code --port}, e.g.
     *                   {@code --mode loops-reuseport --threads 2}
     */
    public Master(String host, int port, int processes, List<String> workerArgs) {
        if (processes < 1) throw new IllegalArgumentException("processes must be positive");
        this.host = host;
        this.requestedPort = port;
        this.workerArgs = List.copyOf(workerArgs);
        this.workers = new Process[processes];
        this.startedAt = new long[processes];
        // They start together: on a machine with fewer cores than workers, the last to get the
        // CPU waits for the others' start-up (a second or two of CPU each) before its own.
        this.readyTimeout = Duration.ofSeconds(60 + 2L * processes);
    }

    /**
     * How many workers hold {@code connections} when each may open {@code openFiles} files: a
     * worker's JVM keeps some dozens of its own (jars, epoll, eventfds, listeners, pipes), and the
     * kernel's hash does not split exactly evenly, so each is planned for 90% of its limit.
     */
    public static int workersFor(long connections, long openFiles) {
        long share = openFiles * 9 / 10 - 64;
        if (share < 1) throw new IllegalArgumentException("an open-files limit of " + openFiles + " leaves a worker no room");
        return (int) Math.max(1, (connections + share - 1) / share);
    }

    /** How long a worker may take to print its ready line before it counts as failed (default 60 s + 2 s per worker); before {@link #start}. */
    public Master readyTimeout(Duration timeout) {
        this.readyTimeout = timeout;
        return this;
    }

    /** Tests: the main class the workers run instead of {@link Day05}. */
    Master workerMain(String className) {
        this.workerMain = className;
        return this;
    }

    /** Tests: called with each worker process just after it was launched and stored, before its ready line is awaited. */
    Master onLaunched(BiConsumer<Integer, Process> hook) {
        this.launched = hook;
        return this;
    }

    /** Launches every worker, then waits for their ready lines: the JVMs start side by side, not in turn. */
    @Override
    public void start() throws IOException {
        Kill.ready();
        portHolder = SocketChannel.open();
        try {
            portHolder.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            portHolder.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            portHolder.bind(new InetSocketAddress(host, requestedPort));
            port = ((InetSocketAddress) portHolder.getLocalAddress()).getPort();
            List<CompletableFuture<String>> ready = new ArrayList<>();
            for (int i = 0; i < workers.length; i++) ready.add(launch(i));
            for (int i = 0; i < workers.length; i++) awaitReady(i, ready.get(i));
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Starts worker {@code i} and stores it at once, under the lock a shutdown takes to list the
     * workers, so the shutdown stops it even before it is ready: stored only once ready, a worker
     * restarted as SIGTERM arrives is missed, and outlives the master, listening, under pid 1.
     */
    private CompletableFuture<String> launch(int i) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOptions());
        command.addAll(List.of("-D" + MasterPipe.PROPERTY + "=true", "-cp", System.getProperty("java.class.path"), workerMain,
                "--host", host, "--port", Integer.toString(port)));
        command.addAll(workerArgs);
        Process p;
        synchronized (this) {
            if (stopping) throw new IOException("stopping: worker " + (i + 1) + " not started");
            // A launch that fails counts as a start, so the next try waits out the restart pause: out of
            // files (ENFILE, the whole machine's) the pipes cannot be made, and retrying at once spins.
            startedAt[i] = System.nanoTime();
            int fault = Faults.take("posix_spawn");          // tests: this launch fails
            if (fault != 0) throw new IOException("cannot launch a worker: injected errno " + fault);
            // Its log lines go where ours go; its stdout (the ready line) comes to us.
            p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            workers[i] = p;
        }
        CompletableFuture<String> ready = new CompletableFuture<>();
        // A thread of its own reads the ready line (a read from a pipe has no deadline; the wait for the line has), then the rest.
        Thread.ofPlatform().daemon(true).name("day05-master-out-" + (i + 1)).start(() -> {
            try {
                ready.complete(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine());
                p.getInputStream().transferTo(OutputStream.nullOutputStream());
            } catch (IOException gone) {
                ready.complete(null);                     // the worker ended, and the JDK closed the pipe
            }
        });
        launched.accept(i, p);
        return ready;
    }

    /** Waits for worker {@code i}'s {@code listening on} line, for at most the ready timeout; then watches for its end. */
    private void awaitReady(int i, CompletableFuture<String> ready) throws IOException {
        Process p;
        synchronized (this) {
            p = workers[i];
        }
        String line = ready.completeOnTimeout("nothing within " + readyTimeout.toMillis() + " ms", readyTimeout.toNanos(), TimeUnit.NANOSECONDS).join();
        if (line == null || !line.startsWith("listening on ")) {
            Kill.signal(p, Kill.SIGKILL);
            throw new IOException("worker " + (i + 1) + " (pid " + p.pid() + ") did not start (it said: " + line + "); stopped it");
        }
        LOG.log(Level.INFO, "worker " + (i + 1) + " ready: pid " + p.pid());
        p.onExit().thenRun(() -> died(i, p));
    }

    /** A worker ended. Unless we are stopping, start another in its place (nginx's master does the same). */
    private void died(int i, Process p) {
        if (stopping) return;
        LOG.log(Level.WARNING, "worker " + (i + 1) + " (pid " + p.pid() + ") exited with status " + p.exitValue()
                + "; starting a new one");
        Thread.ofPlatform().name("day05-master-restart-" + (i + 1)).start(() -> {
            try {
                while (!stopping) {
                    long since;
                    synchronized (this) {
                        since = System.nanoTime() - startedAt[i];
                    }
                    if (since < RESTART_PAUSE_NANOS) TimeUnit.NANOSECONDS.sleep(RESTART_PAUSE_NANOS - since);
                    try {
                        awaitReady(i, launch(i));
                        restarts.incrementAndGet();
                        return;
                    } catch (IOException e) {
                        if (!stopping) LOG.log(Level.ERROR, "worker " + (i + 1) + " could not be restarted: " + e.getMessage() + "; trying again");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /**
     * The JVM options a worker inherits from us ({@code -X}, {@code -XX}, {@code -D}: heap, collector,
     * properties), and native access for FFM: the master's command line sets every worker's memory
     * ({@code java -Xmx32m -XX:+UseSerialGC … Day05}). Not a debugger's agent, nor a flight recording.
     */
    private static List<String> jvmOptions() {
        List<String> options = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED"));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if ((a.startsWith("-X") || a.startsWith("-D")) && !a.contains("jdwp") && !a.startsWith("-XX:StartFlightRecording")) options.add(a);
        }
        return options;
    }

    @Override
    public int port() {
        return port;
    }

    /** The workers' process ids, worker 1 first (0 where none runs). */
    public synchronized long[] workerPids() {
        long[] pids = new long[workers.length];
        for (int i = 0; i < workers.length; i++) pids[i] = workers[i] == null || !workers[i].isAlive() ? 0 : workers[i].pid();
        return pids;
    }

    /** How many workers were started again after one died. */
    public int restarts() {
        return restarts.get();
    }

    /**
     * SIGTERM, passed on: each worker drains for up to its {@code --drain-timeout}; we wait for all,
     * then let the port go. By kill(2) ({@link Kill}): {@code Process.destroy()} would also close
     * our pipe on the worker's stdin, which it takes for our death, a second signal ({@link MasterPipe}).
     */
    @Override
    public void shutdownGracefully(Duration drain) {
        List<Process> all = stopAndList();
        for (Process p : all) Kill.signal(p, Kill.SIGTERM);   // the worker's own graceful shutdown
        awaitAll(all, drain.plusSeconds(15));
        close();
    }

    /** At once (a second signal, or a test): every worker gets SIGTERM again, which closes it at once, then SIGKILL if need be. */
    @Override
    public void close() {
        List<Process> all = stopAndList();
        for (Process p : all) Kill.signal(p, Kill.SIGTERM);
        awaitAll(all, Duration.ofSeconds(10));
        for (Process p : all) if (Kill.signal(p, Kill.SIGKILL)) p.onExit().join();
        try {
            if (portHolder != null) portHolder.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }

    /** From now on no worker is launched; every one launched so far, ready or not, is in the list. */
    private synchronized List<Process> stopAndList() {
        stopping = true;
        List<Process> all = new ArrayList<>();
        for (Process p : workers) if (p != null && p.isAlive()) all.add(p);
        return all;
    }

    private static void awaitAll(List<Process> all, Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        for (Process p : all) {
            try {
                p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "day05 loops master (" + workers.length + " workers)";
    }
}
