package c10k.day01;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The command line every server in the book shares: {@code --host}, {@code --port}, and where
 * a day has them {@code --threads} and {@code --mode}, plus options of its own.
 *
 * <p>{@link #run} prints exactly one line, {@code listening on HOST:PORT}, to stdout once the
 * server is ready (scripts and the tour wait for it), logs everything else to stderr, and
 * closes the server on Ctrl-C or SIGTERM through a shutdown hook.
 */
public final class ServerCli {

    /** What the command line asked for. */
    public record Options(String host, int port, int threads, String mode, Map<String, String> extra) {
        /** An integer option declared with {@link #option}. */
        public int intOption(String name) {
            return Integer.parseInt(extra.get(name));
        }

        public String option(String name) {
            return extra.get(name);
        }
    }

    /** A mistake on the command line; {@link #run} prints it with the usage and exits with 2. */
    public static final class UsageException extends Exception {
        public UsageException(String message) {
            super(message);
        }
    }

    /** Builds a server from the parsed options; the server is not started yet. */
    @FunctionalInterface
    public interface ServerFactory {
        EchoServer create(Options options) throws Exception;
    }

    private record Extra(String name, String argName, String defaultValue, String help, boolean integer) {
    }

    private final String program;
    private final String summary;
    private final int defaultPort;
    private List<String> modes = List.of();
    private String defaultMode;
    private int defaultThreads = -1;
    private final List<Extra> extras = new ArrayList<>();

    private ServerCli(String program, String summary, int defaultPort) {
        this.program = program;
        this.summary = summary;
        this.defaultPort = defaultPort;
    }

    /** @param program the name shown in usage, e.g. {@code day01} */
    public static ServerCli named(String program, String summary, int defaultPort) {
        return new ServerCli(program, summary, defaultPort);
    }

    /** Declares {@code --mode}; the first mode listed is the default. */
    public ServerCli modes(String... modes) {
        this.modes = List.of(modes);
        this.defaultMode = modes[0];
        return this;
    }

    /** Declares {@code --threads} with its default. */
    public ServerCli threads(int defaultThreads) {
        this.defaultThreads = defaultThreads;
        return this;
    }

    /** Declares a day's own integer option, e.g. {@code --pool SIZE}. */
    public ServerCli intOption(String name, String argName, int defaultValue, String help) {
        extras.add(new Extra(name, argName, Integer.toString(defaultValue), help, true));
        return this;
    }

    public Options parse(String... args) throws UsageException {
        String host = "127.0.0.1";
        int port = defaultPort;
        int threads = defaultThreads;
        String mode = defaultMode;
        Map<String, String> extra = new LinkedHashMap<>();
        for (Extra e : extras) extra.put(e.name(), e.defaultValue());

        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            }
            switch (arg) {
                case "--host" -> host = value != null ? value : valueOf(args, ++i, arg);
                case "--port" -> port = port(value != null ? value : valueOf(args, ++i, arg));
                case "--threads" -> {
                    if (defaultThreads < 0) throw new UsageException(program + " has no --threads option");
                    threads = positive(arg, value != null ? value : valueOf(args, ++i, arg));
                }
                case "--mode" -> {
                    if (modes.isEmpty()) throw new UsageException(program + " has no --mode option");
                    mode = value != null ? value : valueOf(args, ++i, arg);
                    if (!modes.contains(mode)) {
                        throw new UsageException("unknown mode '" + mode + "' (expected one of " + String.join(", ", modes) + ")");
                    }
                }
                default -> {
                    Extra e = extra(arg);
                    String v = value != null ? value : valueOf(args, ++i, arg);
                    if (e.integer()) positive(arg, v);
                    extra.put(e.name(), v);
                }
            }
        }
        return new Options(host, port, threads, mode, Map.copyOf(extra));
    }

    private Extra extra(String name) throws UsageException {
        for (Extra e : extras) {
            if (e.name().equals(name)) return e;
        }
        throw new UsageException("unknown option '" + name + "'");
    }

    public String usage() {
        StringBuilder sb = new StringBuilder();
        sb.append("usage: ").append(program).append(" [options]\n");
        sb.append(summary).append("\n\noptions:\n");
        sb.append(row("--host HOST", "address to listen on (default 127.0.0.1)"));
        sb.append(row("--port PORT", "port to listen on, 0 picks a free one (default " + defaultPort + ")"));
        if (defaultThreads >= 0) sb.append(row("--threads N", "worker threads (default " + defaultThreads + ")"));
        if (!modes.isEmpty()) sb.append(row("--mode MODE", String.join("|", modes) + " (default " + defaultMode + ")"));
        for (Extra e : extras) sb.append(row(e.name() + " " + e.argName(), e.help() + " (default " + e.defaultValue() + ")"));
        sb.append(row("--help", "print this help"));
        return sb.toString();
    }

    /**
     * Parses the arguments, starts the server, prints {@code listening on HOST:PORT} and blocks
     * until Ctrl-C or SIGTERM. Exits the JVM with 2 on a usage error, 1 if the server cannot
     * start (for example the port is taken), 0 after a clean shutdown.
     */
    public void run(String[] args, ServerFactory factory) {
        int status = runWithoutExit(args, factory, System.out, System.err);
        // After a clean shutdown the JVM is already exiting (we were woken by its hook).
        if (status != 0) System.exit(status);
    }

    int runWithoutExit(String[] args, ServerFactory factory, PrintStream out, PrintStream err) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                out.print(usage());
                return 0;
            }
        }
        Options options;
        try {
            options = parse(args);
        } catch (UsageException e) {
            err.println(program + ": " + e.getMessage());
            err.print(usage());
            return 2;
        }
        EchoServer server;
        try {
            server = factory.create(options);
            server.start();
        } catch (Exception e) {
            err.println(program + ": cannot start: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        // The JVM runs shutdown hooks on SIGINT (Ctrl-C) and SIGTERM. Closing the server there
        // releases the port at once, so the next run does not meet "Address already in use".
        Thread hook = new Thread(() -> {
            err.println(program + ": shutting down");
            server.close();
            stopped.countDown();
        }, program + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("listening on " + options.host() + ":" + server.port());
        out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static String row(String left, String right) {
        return String.format("  %-18s %s%n", left, right);
    }

    private static String valueOf(String[] args, int i, String option) throws UsageException {
        if (i >= args.length) throw new UsageException(option + " needs a value");
        return args[i];
    }

    private static int port(String v) throws UsageException {
        try {
            int p = Integer.parseInt(v);
            if (p < 0 || p > 65_535) throw new NumberFormatException();
            return p;
        } catch (NumberFormatException e) {
            throw new UsageException("bad port '" + v + "' (expected 0 to 65535)");
        }
    }

    private static int positive(String option, String v) throws UsageException {
        try {
            int n = Integer.parseInt(v);
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(option + " needs a positive integer, got '" + v + "'");
        }
    }
}
