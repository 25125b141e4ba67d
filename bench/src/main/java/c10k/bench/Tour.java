///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS io.netty:netty-codec:4.2.18.Final
//DEPS io.netty:netty-transport-native-epoll:4.2.18.Final:linux-x86_64
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day02-multithread/src/main/java/c10k/day02/*.java
//SOURCES ../../../../../../day06-fd-reuse/src/main/java/c10k/day06/*.java
//SOURCES ../../../../../../day07-io-uring/src/main/java/c10k/day07/*.java

package c10k.bench;

import c10k.day05.Handler;
import c10k.day05.ReactorServer;
import c10k.day06.FdReuseServer;
import c10k.day06.RaceDemo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jbang tour}: the book in one minute. Each day's server is started in turn and put
 * through a short scripted scene that shows that day's lesson as a number and a sentence.
 */
public final class Tour {

    private static final List<String> NO_JVM_OPTIONS = List.of();
    private static long started;

    public static void main(String[] args) throws Exception {
        started = System.nanoTime();
        System.out.println("The C10K workbook in one minute: every day's server, one scene each.\n");
        day1();
        day2();
        day3();
        day4();
        day5Loops();
        // Days 5 and 6 run in this process; their servers' shutdown logs would cut into the story.
        java.io.PrintStream err = System.err;
        System.setErr(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            day5();
            day6();
        } finally {
            System.setErr(err);
        }
        day7();
        clearProgress();
        System.out.printf(Locale.ROOT, "%nDone in %.0f s. Read the chapters in order: day01-blocking/README.md first.%n",
                (System.nanoTime() - started) / 1e9);
    }

    private static void day1() throws Exception {
        progress("day 1: three clients on a blocking server");
        try (ServerProcess s = ServerProcess.start("day01", "c10k.day01.Day01", NO_JVM_OPTIONS, List.of())) {
            List<Socket> clients = new ArrayList<>();
            int answered = 0;
            for (int i = 0; i < 3; i++) {
                Socket c = TourClients.connect(s.port);
                clients.add(c);
                c.getOutputStream().write(("hello " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                if (TourClients.readLine(c, 500) != null) answered++;
            }
            clients.getFirst().close();
            boolean secondServedAfter = TourClients.readLine(clients.get(1), 5000) != null;
            for (Socket c : clients) c.close();
            say("day 1", answered + " of 3 connected clients answered",
                    "the server sits in read() for the first; the others wait in the kernel's queue"
                            + (secondServedAfter ? " (the second is answered the moment the first leaves)" : ""));
        }
    }

    private static void day2() throws Exception {
        progress("day 2: a pool of 4 workers and 4 idle clients");
        try (ServerProcess s = ServerProcess.start("day02-pool", "c10k.day02.Day02", NO_JVM_OPTIONS, List.of("--mode", "pool", "--threads", "4"))) {
            List<Socket> idle = TourClients.holdIdle(s.port, 4);
            Socket fifth = TourClients.connect(s.port);
            fifth.getOutputStream().write("anyone?\n".getBytes(StandardCharsets.US_ASCII));
            boolean answered = TourClients.readLine(fifth, 1000) != null;
            fifth.close();
            for (Socket c : idle) c.close();
            say("day 2", "pool of 4: the 5th client " + (answered ? "was answered" : "got no answer in 1 s"),
                    "each idle client holds a blocking worker for as long as it stays connected");
        }
        progress("day 2: virtual threads and 2,000 idle clients");
        try (ServerProcess s = ServerProcess.start("day02-virtual", "c10k.day02.Day02", NO_JVM_OPTIONS, List.of("--mode", "virtual"))) {
            List<Socket> idle = TourClients.holdIdle(s.port, 2_000);
            Socket next = TourClients.connect(s.port);
            next.getOutputStream().write("and me?\n".getBytes(StandardCharsets.US_ASCII));
            boolean answered = TourClients.readLine(next, 5000) != null;
            int threads = TourClients.threads(s);
            next.close();
            for (Socket c : idle) c.close();
            say("day 2", "virtual threads: client 2,001 " + (answered ? "answered" : "NOT answered") + ", " + threads + " OS threads",
                    "a parked virtual thread costs heap, not a kernel thread: the JDK's poller waits for all of them");
        }
    }

    private static void day3() throws Exception {
        for (String mode : List.of("selector", "poll")) {
            progress("day 3: " + mode + " holding 5,000 clients");
            try (ServerProcess s = ServerProcess.start("day03-" + mode, "c10k.day03.Day03", NO_JVM_OPTIONS, List.of("--mode", mode))) {
                int echoed = TourClients.holdAndEcho(s.port, 5_000);
                int threads = TourClients.threads(s);
                say("day 3", mode + ": " + String.format(Locale.ROOT, "%,d", echoed) + " of 5,000 clients echoed; " + threads + " OS threads in the JVM",
                        "one event-loop thread serves them all, because nothing it calls blocks");
            }
        }
    }

    private static final Pattern WAKEUPS = Pattern.compile("(\\d+) epoll_wait wake-ups");

    private static void day4() throws Exception {
        progress("day 4: edge-triggered epoll holding 10,000 clients");
        long[] wakeups = new long[2];
        try (ServerProcess s = ServerProcess.start("day04-et", "c10k.day04.Day04", NO_JVM_OPTIONS, List.of("--mode", "et"))) {
            int echoed = TourClients.holdAndEcho(s.port, 10_000);
            say("day 4", "ET: " + String.format(Locale.ROOT, "%,d", echoed) + " of 10,000 clients echoed on one thread",
                    "epoll_wait returns only the ready fds: the cost follows activity, not connections");
        }
        String[] modes = {"lt", "et"};
        for (int m = 0; m < 2; m++) {
            progress("day 4: 20 clients sending 2 MiB each, " + modes[m]);
            try (ServerProcess s = ServerProcess.start("day04-" + modes[m], "c10k.day04.Day04", NO_JVM_OPTIONS, List.of("--mode", modes[m]))) {
                TourClients.stream(s.port, 20, 2 * 1024 * 1024);
                Matcher w = WAKEUPS.matcher(s.stop());
                wakeups[m] = w.find() ? Long.parseLong(w.group(1)) : -1;
            }
        }
        say("day 4", "the same 40 MiB: LT woke up " + wakeups[0] + " times, ET " + wakeups[1],
                "LT reads once per report and is told again; ET must drain to EAGAIN, in bounded turns");
    }

    private static void day5() throws Exception {
        progress("day 5: a slow request on a pool of 4");
        CountDownLatch slowStarted = new CountDownLatch(1);
        CountDownLatch finishSlow = new CountDownLatch(1);
        Handler handler = line -> {
            if (line.length > 4 && line[0] == 's' && line[1] == 'l' && line[2] == 'o' && line[3] == 'w') {
                slowStarted.countDown();
                finishSlow.await();
            }
            return line;
        };
        try (ReactorServer server = new ReactorServer("127.0.0.1", 0, 4, handler)) {
            server.start();
            try (Socket slow = TourClients.connect(server.port()); Socket other = TourClients.connect(server.port())) {
                slow.getOutputStream().write("slow request\n".getBytes(StandardCharsets.US_ASCII));
                slowStarted.await();
                int answered = 0;
                for (int i = 0; i < 100; i++) {
                    other.getOutputStream().write(("quick " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                    if (TourClients.readLine(other, 5000) != null) answered++;
                }
                finishSlow.countDown();
                boolean slowAnswered = TourClients.readLine(slow, 5000) != null;
                say("day 5", answered + " of 100 quick requests answered while a slow one ran" + (slowAnswered ? ", then the slow one" : ""),
                        "the event loop hands requests to a fixed pool, so one slow request holds one worker, not everyone");
            }
        }
    }

    /**
     * Day 5's loops, the process form: 4 worker JVMs on one port (SO_REUSEPORT) and 60,000
     * clients from 4 load-generator processes and 4 source addresses. More than one process may
     * hold here (20,000 fds each), and more than one source address can reach (28,000 ports).
     * Bounded: the scene gives up after two minutes and says so.
     */
    private static void day5Loops() throws Exception {
        progress("day 5: loops in 4 processes, 60,000 clients from 4 processes");
        int clients = 60_000;
        try (ServerProcess s = ServerProcess.start("day05-loops", "c10k.day05.Day05", NO_JVM_OPTIONS,
                List.of("--mode", "loops", "--processes", "4", "--threads", "1"))) {
            Process gen = new ProcessBuilder(ServerProcess.javaBin(), "-cp", System.getProperty("java.class.path"), "c10k.bench.LoadGen",
                    "--hold", "--port", "" + s.port, "--connections", "" + clients, "--processes", "4", "--sources", "4")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(gen.getInputStream(), StandardCharsets.US_ASCII));
                long t0 = System.nanoTime();
                String held = lineWithin(out, 120);
                if (held == null || !held.startsWith("HELD")) {
                    say("day 5", "loops in 4 processes: 60,000 clients not all connected within 2 minutes (" + held + ")",
                            "a busy machine; ./jbang day05 --mode loops --processes 4 and LoadGen --hold show it step by step");
                    return;
                }
                double connectSeconds = (System.nanoTime() - t0) / 1e9;
                List<Long> fds = new ArrayList<>();
                s.process.toHandle().children().forEach(w -> fds.add(openFds(w.pid())));
                gen.getOutputStream().write("echo\n".getBytes(StandardCharsets.US_ASCII));
                gen.getOutputStream().flush();
                String echoed = lineWithin(out, 60);
                Matcher m = Pattern.compile("connections=(\\d+)").matcher(held);
                long n = m.find() ? Long.parseLong(m.group(1)) : 0;
                String again = echoed != null && echoed.startsWith("ECHOED ")
                        ? String.format(Locale.ROOT, "%,d", Long.parseLong(echoed.substring(7).trim())) : "none";
                say("day 5", String.format(Locale.ROOT, "loops in 4 processes: %,d clients held (connected in %.0f s), %s echoed again while all held; fds per worker %s",
                                n, connectSeconds, again, fds),
                        "each worker stays under its own 20,000-fd limit; 4 source addresses give 4 x 28,000 ports; the kernel spreads by hash");
            } finally {
                gen.getOutputStream().close();
                if (!gen.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) gen.destroyForcibly();
            }
        }
    }

    /** A line from {@code in}, or null if none comes within {@code seconds}. */
    private static String lineWithin(BufferedReader in, int seconds) throws InterruptedException {
        java.util.concurrent.CompletableFuture<String> line = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                line.complete(in.readLine());
            } catch (IOException e) {
                line.complete(null);
            }
        });
        try {
            return line.get(seconds, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    private static long openFds(long pid) {
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void day7() throws Exception {
        progress("day 7: io_uring multishot holding 10,000 clients");
        try (ServerProcess s = ServerProcess.start("day07-multishot", "c10k.day07.Day07", NO_JVM_OPTIONS,
                List.of("--mode", "multishot", "--threads", "1"))) {
            int echoed = TourClients.holdAndEcho(s.port, 10_000);
            say("day 7", "io_uring: " + String.format(Locale.ROOT, "%,d", echoed) + " of 10,000 clients echoed by one ring thread",
                    "completions instead of readiness: the kernel receives into one shared ring of buffers, so an idle client needs none of its own");
        } catch (IOException e) {
            say("day 7", "io_uring could not start here: " + e.getMessage(),
                    "some kernels and container profiles refuse io_uring; day 7's chapter says why and how to check");
        }
    }

    private static void day6() throws Exception {
        progress("day 6: the fd-reuse race, unpinned then pinned");
        RaceDemo.Outcome unpinned = RaceDemo.play(h -> FdReuseServer.unpinned("127.0.0.1", 0, 2, h));
        RaceDemo.Outcome pinned = RaceDemo.play(h -> FdReuseServer.pinned("127.0.0.1", 0, 2, h, 16, 1_024));
        say("day 6", "unpinned: Bob (fd " + unpinned.bobFd() + ", Alice's old number) received "
                        + (unpinned.bobReceived().isEmpty() ? "nothing" : "Alice's line"),
                "a late worker wrote to a number that accept() had already handed to someone else");
        say("day 6", "pinned: Bob (fd " + pinned.bobFd() + ") received " + (pinned.bobReceived().isEmpty() ? "nothing" : "Alice's line")
                        + "; late writes refused: " + pinned.refusedLateWrites(),
                "fixed numbers with dup3, a FIFO of slots, and a generation checked before every late write");
    }

    // ----------------------------------------------------------------------------------------

    private static void say(String day, String figure, String why) {
        clearProgress();
        System.out.printf("%-6s %s%n       %s.%n", day, figure, why);
    }

    /** Progress lines rewrite themselves with a carriage return: only for a terminal, never into a file or a pipe. */
    private static final boolean TERMINAL = System.console() != null && System.console().isTerminal();

    private static void progress(String what) {
        if (!TERMINAL) return;
        System.out.printf(Locale.ROOT, "\r[%3.0f s] %-70s", (System.nanoTime() - started) / 1e9, what + " ...");
        System.out.flush();
    }

    private static void clearProgress() {
        if (!TERMINAL) return;
        System.out.print("\r" + " ".repeat(82) + "\r");
    }
}
