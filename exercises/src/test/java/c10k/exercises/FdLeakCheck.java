package c10k.exercises;

import c10k.day01.Fds;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * The project's rule for every test that opens descriptors (sockets, epoll instances,
 * eventfds, pipes): none may be left open when it ends. Day 1's {@link Fds} counts them;
 * this says what leaked in the learner's words: which kind of fd, and what the exercise's
 * code should have closed.
 *
 * <pre>{@code
 * @RegisterExtension
 * final FdLeakCheck fds = new FdLeakCheck("did you close ...?");
 * }</pre>
 *
 * <p>The count is taken before every {@code @BeforeEach} of the test class and checked after
 * every {@code @AfterEach}, so whatever the test and its harness close (try-with-resources,
 * {@code @AfterEach}) is closed by then. Closes made on other threads (a server's worker
 * ending its connection) get {@link #PATIENCE} to show: the check polls, it does not sleep.
 *
 * <p>A descriptor that goes away only after a garbage collection leaked all the same: the JDK
 * closes a {@code Socket} or a {@code Selector} that nothing references any more (its
 * Cleaner, after the collector found it), but a server under load runs out of descriptors
 * long before it runs out of heap. So while it waits, the check counts the collections too.
 *
 * <p>A test that failed already is not checked: its own message is the lesson, and what it
 * left open is most likely the failure's.
 */
public final class FdLeakCheck implements BeforeEachCallback, TestExecutionExceptionHandler, AfterEachCallback {

    /**
     * How long the check waits for the count to come back down. A correct answer's closes
     * are done in milliseconds; this leaves a server test's {@code @AfterEach} (which also
     * closes the server) inside {@link ExerciseRun#LIFECYCLE_SECONDS}.
     */
    static final Duration PATIENCE = Duration.ofSeconds(5);

    private final String whatToClose;
    private Set<String> before;
    private boolean testFailed;
    private boolean checked;

    /** @param whatToClose the exercise's question, e.g. "did dispatch close the client it refused?" */
    public FdLeakCheck(String whatToClose) {
        this.whatToClose = whatToClose;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        testFailed = false;
        checked = false;
        if (!Fds.supported()) return;   // no /proc/self/fd: nothing to compare
        Fds.baseline();                 // the JDK's own once-per-process descriptors first
        before = Set.copyOf(Fds.leakable());
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable t) throws Throwable {
        testFailed = true;
        throw t;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getExecutionException().isPresent()) testFailed = true;
        check();
    }

    /**
     * Checks now (once per test), instead of after the last {@code @AfterEach}: for a test
     * class whose {@code @AfterEach} closes a server that a later one would check by itself
     * ({@link ServerExerciseBase}).
     */
    public void check() {
        if (checked) return;
        checked = true;
        if (before == null || testFailed) return;
        long collections = collections();
        List<String> now = Fds.leakable();
        if (now.size() <= before.size()) return;   // the usual case: everything is closed already
        // Described now, while the kernel's tables still name them: they may close while we wait.
        Leak seen = leak(now);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (true) {
            LockSupport.parkNanos(1_000_000);       // poll: another thread may be closing right now
            boolean collected = collections() != collections;
            now = Fds.leakable();
            if (now.size() <= before.size()) {
                if (!collected) return;              // closed by the code, only a little later
                throw new AssertionError(seen.message("left open after the test, and closed only by the garbage"
                        + " collector (the JDK closes a socket or a selector that nothing references any more)"));
            }
            if (System.nanoTime() > deadline) {
                String how = "still open " + PATIENCE.toSeconds() + " s after the test ended";
                throw new AssertionError(leak(now).message(how));
            }
        }
    }

    /** Garbage collections so far, all collectors together. */
    private static long collections() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    /** How many more descriptors than before the test; by kind ("1 TCP socket"); fd by fd. */
    private record Leak(int more, List<String> summary, List<String> details, String whatToClose) {
        String message(String how) {
            StringBuilder sb = new StringBuilder()
                    .append(more == 1 ? "1 file descriptor was " : more + " file descriptors were ").append(how)
                    .append(summary.isEmpty() ? "" : ": " + String.join(", ", summary))
                    .append("\n").append(whatToClose);
            for (String d : details) sb.append("\n  ").append(d);
            return sb.toString();
        }
    }

    /** What is open now and was not before the test. */
    private Leak leak(List<String> now) {
        List<String> fresh = now.stream().filter(fd -> !before.contains(fd)).toList();
        Map<Long, String[]> tcp = tcpSockets();
        Map<String, Integer> kinds = new LinkedHashMap<>();
        List<String> details = new ArrayList<>();
        for (String entry : fresh) {
            String[] kind = describe(entry, tcp);
            kinds.merge(kind[0], 1, Integer::sum);
            details.add("fd " + entry.substring(0, entry.indexOf(' ')) + ": " + kind[1]);
        }
        List<String> summary = new ArrayList<>();
        kinds.forEach((noun, n) -> summary.add(n + " " + (n == 1 ? noun : noun + "s")));
        return new Leak(now.size() - before.size(), summary, details, whatToClose);
    }

    /** {kind, details} of "57 -> socket:[12345]", "58 -> anon_inode:[eventpoll]", ... */
    static String[] describe(String entry, Map<Long, String[]> tcp) {
        String target = entry.substring(entry.indexOf("-> ") + 3);
        if (target.equals("anon_inode:[eventpoll]")) {
            return new String[] {"epoll instance", "an epoll instance (epoll_create1: an Epoll, or a Selector's)"};
        }
        if (target.equals("anon_inode:[eventfd]")) {
            return new String[] {"eventfd", "an eventfd (a Selector's wake-up, among others)"};
        }
        if (target.startsWith("pipe:")) return new String[] {"pipe", "a pipe"};
        if (target.startsWith("anon_inode:")) {
            return new String[] {"other descriptor", "a kernel object, " + target.substring("anon_inode:".length())};
        }
        if (!target.startsWith("socket:[")) return new String[] {"other descriptor", target};
        String[] cols = tcp.get(inode(target));
        if (cols == null) {
            return new String[] {"socket", "a socket whose connection is over (both ends have finished with it)"
                    + " but whose fd was never closed"};
        }
        String local = port(cols[1]);
        String state = STATES.getOrDefault(cols[3], "state " + cols[3]);
        if (cols[3].equals("0A")) {
            return new String[] {"listening TCP socket", "a listening TCP socket on port " + local};
        }
        String why = switch (cols[3]) {
            case "08" -> ": the peer has closed its end, only this end's close() is missing";
            case "04", "05" -> ": this end has shut down its output (FIN sent), but shutdownOutput() is not close()";
            case "01" -> ": still connected";
            default -> "";
        };
        return new String[] {"TCP socket", "a TCP socket from port " + local + " to port " + port(cols[2]) + ", "
                + state + why};
    }

    private static final Map<String, String> STATES = Map.ofEntries(
            Map.entry("01", "ESTABLISHED"), Map.entry("02", "SYN_SENT"), Map.entry("03", "SYN_RECV"),
            Map.entry("04", "FIN_WAIT1"), Map.entry("05", "FIN_WAIT2"), Map.entry("06", "TIME_WAIT"),
            Map.entry("07", "CLOSE"), Map.entry("08", "CLOSE_WAIT"), Map.entry("09", "LAST_ACK"),
            Map.entry("0A", "LISTEN"), Map.entry("0B", "CLOSING"));

    private static long inode(String socketTarget) {
        try {
            return Long.parseLong(socketTarget.substring("socket:[".length(), socketTarget.length() - 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** "0100007F:9C40" -> "40000": the port, hex after the colon. */
    private static String port(String address) {
        return String.valueOf(Integer.parseInt(address.substring(address.indexOf(':') + 1), 16));
    }

    /**
     * This process's TCP sockets by inode, from /proc/self/net/tcp and tcp6: the columns of
     * each line (1: local address, 2: remote address, 3: state, 9: inode).
     */
    private static Map<Long, String[]> tcpSockets() {
        Map<Long, String[]> byInode = new HashMap<>();
        for (String table : List.of("tcp", "tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/net", table))) {
                    String[] cols = line.strip().split("\\s+");
                    if (cols.length > 9 && cols[0].endsWith(":")) {
                        try {
                            byInode.put(Long.parseLong(cols[9]), cols);
                        } catch (NumberFormatException e) {
                            // the header line
                        }
                    }
                }
            } catch (IOException e) {
                // no such table on this kernel
            }
        }
        return byInode;
    }
}
