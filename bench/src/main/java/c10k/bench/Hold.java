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

import c10k.day05.Master;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./jbang hold N}: N connections held on this one machine, server and clients together,
 * every one echoing a line when it opens and again while all are held; then a table of what
 * they cost the server and the kernel, and of what would run out first at the next step.
 *
 * <p>The server is day 5's process form, run as a reader runs it ({@code Day05 --mode loops
 * --connections N}): as many worker JVMs as the open-files limit asks, each one loop, with a
 * small heap. The clients are {@code bench/c/hold_client.c}, as many processes as the same
 * limit asks, from as many source addresses (127.0.0.2 onwards) as the ephemeral ports ask.
 * Before anything starts, the machine is checked ({@link HoldMachine#problems}); whatever
 * happens after, the clients, the master and its workers are stopped, Ctrl-C included.
 */
public final class Hold {

    /** What each worker JVM runs with (the master passes its own options on): a small heap, one collector thread, C1 only. */
    static final List<String> WORKER_JVM = List.of("-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    /** Lines in flight per client process: bounded, so the accept queues and tcp_mem see a trickle, not a flood. */
    static final int IN_FLIGHT = 64;
    /** Without one client connecting for this long, the hold gives up and says what the clients said. */
    static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(90);

    private final long n;
    private final int port;
    private final int atLeastWorkers;
    private final boolean wait;
    private final HoldMachine machine;
    private final int workers, clients, sources;
    private final Path scratch;
    private Process master;
    private volatile int serverPort = -1;
    private final List<HoldClients.Client> running = new ArrayList<>();
    private boolean stopped;
    private final long t0 = System.nanoTime();

    Hold(long n, int port, int atLeastWorkers, boolean wait, HoldMachine machine, Path scratch) {
        this.n = n;
        this.port = port;
        this.atLeastWorkers = atLeastWorkers;
        this.wait = wait;
        this.machine = machine;
        this.scratch = scratch;
        this.workers = Math.max(atLeastWorkers, Master.workersFor(n, machine.openFilesPerProcess()));
        this.clients = (int) ((n + machine.perClient() - 1) / machine.perClient());
        this.sources = (int) ((n + machine.perSource() - 1) / machine.perSource());
    }

    public static void main(String[] args) throws Exception {
        long n = 100_000;
        int port = 0, atLeastWorkers = 1;
        boolean wait = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--wait" -> wait = true;
                case "--workers" -> atLeastWorkers = Integer.parseInt(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: ./jbang hold [N] [--port P] [--workers W] [--wait]   (N connections, default 100,000; "
                            + "W: at least W worker processes; --wait: hold them until Enter, to look around with ss -s)");
                    return;
                }
                default -> n = Long.parseLong(args[i].replace("_", "").replace(",", ""));
            }
        }
        if (n < 1) {
            System.out.println("N must be a positive number of connections");
            System.exit(2);
        }
        HoldMachine machine = HoldMachine.read();
        Path scratch = Files.createTempDirectory("hold");
        Hold hold = new Hold(n, port, atLeastWorkers, wait, machine, scratch);
        System.exit(hold.run());
    }

    int run() throws Exception {
        System.out.printf(Locale.ROOT, "hold %,d connections: %d worker processes (open files %,d each), %d client processes, "
                + "%d source addresses (127.0.0.2 onwards, %,d ports each to one server port)%n",
                n, workers, machine.openFilesPerProcess(), clients, sources, machine.portsPerPair());
        List<String> problems = machine.problems(n, workers, clients);
        if (!problems.isEmpty()) {
            System.out.println("cannot hold " + String.format(Locale.ROOT, "%,d", n) + " connections on this machine:");
            for (String p : problems) System.out.println("  - " + p);
            return 2;
        }
        Path client;
        try {
            client = HoldClients.compile(scratch);
        } catch (IOException e) {
            System.out.println("cannot build the hold client: " + e.getMessage());
            return 2;
        }
        Thread onSignal = new Thread(() -> stop("interrupted"));
        Runtime.getRuntime().addShutdownHook(onSignal);
        int status = 1;
        try {
            status = hold(client);
            return status;
        } catch (IOException e) {
            System.out.println("stopping: " + e.getMessage());
            return status;
        } finally {
            stop("done");
            Runtime.getRuntime().removeShutdownHook(onSignal);
            cleanUp(status);
        }
    }

    /** The scratch folder goes (the client binary, the server's log); a failed run shows the log's last lines first. */
    private void cleanUp(int status) throws IOException {
        Path log = scratch.resolve("server.log");
        if (status != 0 && Files.exists(log)) {
            List<String> lines = Files.readAllLines(log);
            lines.subList(Math.max(0, lines.size() - 10), lines.size()).forEach(l -> System.out.println("server: " + l));
        }
        try (var files = Files.list(scratch)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        Files.delete(scratch);
    }

    private int hold(Path client) throws Exception {
        HoldFigures.Snapshot before = HoldFigures.Snapshot.take(null, List.of(), List.of());
        say("starting the server: " + workers + " workers");
        int serverPort = startServer();
        // One worker's worth of connections needs no master: then the server is that one process.
        List<ProcessHandle> workerHandles = workers == 1 ? List.of(master.toHandle()) : master.toHandle().children().toList();
        say(String.format(Locale.ROOT, "%d workers ready on 127.0.0.1:%d", workerHandles.size(), serverPort));
        HoldFigures.Snapshot empty = HoldFigures.Snapshot.take(master.toHandle(), workerHandles, List.of());

        long connectStart = System.nanoTime();
        long share = (n + clients - 1) / clients;
        synchronized (this) {
            if (stopped) return 1;
            for (long first = 0; first < n; first += share) {
                running.add(HoldClients.Client.start(client, serverPort, first, Math.min(share, n - first), machine.perSource(), IN_FLIGHT));
            }
        }
        long lastCount = -1, lastChange = System.nanoTime(), lastSaid = 0;
        while (!running.stream().allMatch(HoldClients.Client::held)) {
            long connected = 0, echoed = 0, failed = 0;
            for (HoldClients.Client c : running) {
                if (!c.alive() && !c.held()) return fail("a hold client ended before it held its connections");
                connected += c.connected;
                echoed += c.echoed;
                failed += c.failed;
            }
            long now = System.nanoTime();
            if (connected + failed != lastCount) {
                lastCount = connected + failed;
                lastChange = now;
            } else if (now - lastChange > STALL_NANOS) {
                return fail("no connection made for 90 s (the clients said why above)");
            }
            if (now - lastSaid > 2_000_000_000L) {
                say(String.format(Locale.ROOT, "connecting: %,d of %,d connected, %,d echoed, %,d failed", connected, n, echoed, failed));
                lastSaid = now;
            }
            Thread.sleep(100);                               // a progress line, not a test: polling is fine here
        }
        double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
        long held = 0, echoedOnce = 0;
        for (HoldClients.Client c : running) {
            held += c.heldCount;
            echoedOnce += c.echoed;
        }
        say(String.format(Locale.ROOT, "%,d held, %,d echoed when opened, in %.1f s; measuring", held, echoedOnce, connectSeconds));
        HoldFigures.Snapshot full = HoldFigures.Snapshot.take(master.toHandle(), workerHandles,
                running.stream().map(HoldClients.Client::handle).toList());

        long echoStart = System.nanoTime();
        for (HoldClients.Client c : running) c.command("echo");
        long again = 0;
        for (HoldClients.Client c : running) again += c.awaitEchoed();
        double echoSeconds = (System.nanoTime() - echoStart) / 1e9;
        say(String.format(Locale.ROOT, "%,d echoed again while all were held, in %.1f s", again, echoSeconds));

        HoldFigures figures = new HoldFigures(n, held, echoedOnce, again, connectSeconds, echoSeconds, workerHandles.size(),
                running.size(), sources, machine, before, empty, full);
        System.out.println();
        System.out.print(figures.table());
        System.out.println();
        System.out.print(figures.ceilings());
        if (wait) {
            say("holding them: press Enter (or end stdin) to stop");
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
        return held == n && echoedOnce == n && again == n ? 0 : 1;
    }

    /** The master, as a reader starts it; its workers inherit its JVM options. Returns the port it listens on. */
    private int startServer() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ServerProcess.javaBin(), "--enable-native-access=ALL-UNNAMED"));
        command.addAll(WORKER_JVM);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "c10k.day05.Day05", "--mode", "loops", "--threads", "1",
                "--connections", "" + n, "--processes", "" + workers, "--idle-timeout", "0", "--port", "" + port, "--log-level", "WARNING"));
        Path log = scratch.resolve("server.log");
        synchronized (this) {
            if (stopped) throw new IOException("stopped");
            master = new ProcessBuilder(command).redirectError(log.toFile()).start();
        }
        String ready = new BufferedReader(new InputStreamReader(master.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (ready == null || !ready.startsWith("listening on ")) {
            throw new IOException("the server did not start: " + String.join(" / ", Files.readAllLines(log)));
        }
        serverPort = Integer.parseInt(ready.substring(ready.lastIndexOf(':') + 1).trim());
        return serverPort;
    }

    private int fail(String why) {
        say("stopping: " + why);
        return 1;
    }

    /**
     * Clients first (the end of their stdin: each closes its sockets with RST, so no TIME_WAIT is
     * left, and exits; a client whose parent died gets SIGKILL from the kernel, PR_SET_PDEATHSIG),
     * then SIGTERM to the master, which passes it on to every worker. Then checks that nothing of
     * ours is left: no process, no socket on the server's port.
     */
    private void stop(String why) {
        List<HoldClients.Client> cs;
        Process m;
        synchronized (this) {
            if (stopped) return;
            stopped = true;
            cs = List.copyOf(running);
            m = master;
        }
        if (why.equals("interrupted")) say("interrupted: stopping the clients and the server");
        for (HoldClients.Client c : cs) c.close();
        for (HoldClients.Client c : cs) c.await(60);
        List<ProcessHandle> left = new ArrayList<>();
        if (m != null) {
            List<ProcessHandle> all = new ArrayList<>(m.toHandle().descendants().toList());
            m.destroy();                                     // SIGTERM: the master's graceful shutdown, passed on to every worker
            try {
                if (!m.waitFor(120, TimeUnit.SECONDS)) m.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (ProcessHandle h : all) {
                h.onExit().completeOnTimeout(h, 30, TimeUnit.SECONDS).join();
                if (h.isAlive()) left.add(h);
            }
        }
        for (HoldClients.Client c : cs) if (c.alive()) left.add(c.handle());
        left.forEach(ProcessHandle::destroyForcibly);
        say("stopped: " + (left.isEmpty() ? "no process left" : left.size() + " processes had to be killed")
                + (serverPort < 0 ? "" : "; sockets left on port " + serverPort + ": " + HoldFigures.socketsOnPort(serverPort)));
    }

    private void say(String line) {
        System.out.printf(Locale.ROOT, "[%6.1f s] %s%n", (System.nanoTime() - t0) / 1e9, line);
        System.out.flush();
    }
}
