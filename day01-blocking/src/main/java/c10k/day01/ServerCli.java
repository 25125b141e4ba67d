package c10k.day01;

import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/**
 * The command line every server in the book shares (parsed by picocli): {@code --host},
 * {@code --port}, where a day has them {@code --mode}, {@code --threads}, the timeouts and
 * options of its own; and {@code --stats}, {@code --log-level}, {@code --help},
 * {@code --version}. {@link #run} prints exactly one line, {@code listening on HOST:PORT}, to
 * stdout once the server is ready (scripts and the tour wait for it), logs to stderr, and
 * shuts the server down gracefully on the first Ctrl-C or SIGTERM ({@link GracefulShutdown}).
 */
public final class ServerCli {

    /** What the command line asked for. Options a server does not declare keep their defaults. */
    public record Options(String host, int port, int threads, String mode, Map<String, String> extra,
                          Timeouts timeouts, boolean stats, Level logLevel) {
        /** An integer option declared with {@link ServerCli#intOption}. */
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

    private record Extra(String name, String label, String dflt, String help) {
    }

    private static final List<String> TIMEOUTS = List.of("--idle-timeout", "--send-timeout", "--drain-timeout");

    private final String program;
    private final String summary;
    private final int defaultPort;
    private List<String> modes = List.of();
    private int defaultThreads = -1;
    private final List<Extra> extras = new ArrayList<>();
    private final List<String> timeouts = new ArrayList<>();
    private final Map<String, List<String>> onlyIn = new LinkedHashMap<>();

    private ServerCli(String program, String summary, int defaultPort) {
        this.program = program;
        this.summary = summary;
        this.defaultPort = defaultPort;
    }

    /** @param program the name shown in usage and in log lines, e.g. {@code day01} */
    public static ServerCli named(String program, String summary, int defaultPort) {
        return new ServerCli(program, summary, defaultPort);
    }

    /** Declares {@code --mode}; the first mode listed is the default. Any case is accepted. */
    public ServerCli modes(String... modes) {
        this.modes = List.of(modes);
        return this;
    }

    /** Declares {@code --threads} with its default. */
    public ServerCli threads(int defaultThreads) {
        this.defaultThreads = defaultThreads;
        return this;
    }

    /** Declares a day's own integer option (at least 1), e.g. {@code --pool SIZE}. */
    public ServerCli intOption(String name, String argName, int defaultValue, String help) {
        extras.add(new Extra(name, argName, Integer.toString(defaultValue), help));
        return this;
    }

    /**
     * Declares the timeout options the server uses (all three if none are named):
     * {@code --idle-timeout}, {@code --send-timeout}, {@code --drain-timeout}, in seconds.
     */
    public ServerCli timeouts(String... which) {
        timeouts.addAll(which.length == 0 ? TIMEOUTS : List.of(which));
        return this;
    }

    /** Says that {@code option} applies only to these modes: given with another mode, it is refused. */
    public ServerCli only(String option, String... modes) {
        onlyIn.put(option, List.of(modes));
        return this;
    }

    private CommandSpec spec() {
        CommandSpec spec = CommandSpec.create().name(program)
                .version(program + ", from the C10K workbook, on Java " + Runtime.version());
        spec.usageMessage().description(summary).sortOptions(false);
        add(spec, "--host", "HOST", "127.0.0.1", "IPv4 address to listen on (the FFM servers of days 3 to 6 speak IPv4 only)", ServerCli::ipv4);
        add(spec, "--port", "PORT", "" + defaultPort, "TCP port; 0 picks a free one", v -> atLeast("--port", v, 0, 65_535));
        if (!modes.isEmpty()) add(spec, "--mode", "MODE", modes.getFirst(), "one of " + String.join(", ", modes) + " (any case)", this::mode);
        if (defaultThreads >= 0) add(spec, "--threads", "N", "" + defaultThreads, "threads serving connections", v -> atLeast("--threads", v, 1, 1 << 16));
        for (Extra e : extras) add(spec, e.name(), e.label(), e.dflt(), e.help(), v -> atLeast(e.name(), v, 1, Integer.MAX_VALUE));
        if (timeouts.contains("--idle-timeout")) add(spec, "--idle-timeout", "SECONDS", "60", "close a connection that sends no complete line for this long; 0: never", ServerCli::seconds);
        if (timeouts.contains("--send-timeout")) add(spec, "--send-timeout", "SECONDS", "60", "close a connection whose answers make no progress for this long; 0: never", ServerCli::seconds);
        if (timeouts.contains("--drain-timeout")) add(spec, "--drain-timeout", "SECONDS", "5", "on shutdown or after an error line, wait this long for the client to close", ServerCli::seconds);
        spec.addOption(OptionSpec.builder("--stats").type(boolean.class).defaultValue("false").description("log a line of live figures every second (and the JFR event c10k.ServerStats)").build());
        add(spec, "--log-level", "LEVEL", "INFO", "ERROR, WARNING, INFO, or DEBUG (each connection) or TRACE", v -> Level.valueOf(v.toUpperCase(Locale.ROOT)));
        return spec.mixinStandardHelpOptions(true);
    }

    private void add(CommandSpec spec, String name, String label, String dflt, String help, CommandLine.ITypeConverter<Object> conv) {
        List<String> only = onlyIn.get(name);
        String where = only == null ? "" : "; only with --mode " + String.join(" or ", only);
        spec.addOption(OptionSpec.builder(name).paramLabel(label).type(Object.class).converters(conv).defaultValue(dflt)
                .description(help + where + " (default " + dflt + ")").build());
    }

    public Options parse(String... args) throws UsageException {
        try {
            return options(new CommandLine(spec()), args);
        } catch (ParameterException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private Options options(CommandLine cl, String... args) throws UsageException {
        var parsed = cl.parseArgs(args);
        if (cl.isUsageHelpRequested() || cl.isVersionHelpRequested()) return null;
        CommandSpec s = cl.getCommandSpec();
        String mode = modes.isEmpty() ? null : s.findOption("--mode").getValue();
        for (var only : onlyIn.entrySet()) {
            if (parsed.hasMatchedOption(only.getKey()) && !only.getValue().contains(mode)) {
                throw new UsageException(only.getKey() + " does not apply to --mode " + mode + " (only to " + String.join(", ", only.getValue()) + ")");
            }
        }
        Map<String, String> extra = new LinkedHashMap<>();
        for (Extra e : extras) extra.put(e.name(), s.findOption(e.name()).getValue().toString());
        return new Options(s.findOption("--host").getValue(), s.findOption("--port").getValue(),
                defaultThreads < 0 ? -1 : s.findOption("--threads").getValue(), mode, Map.copyOf(extra),
                Timeouts.ofSeconds(seconds(s, "--idle-timeout", 60), seconds(s, "--send-timeout", 60), seconds(s, "--drain-timeout", 5)),
                s.findOption("--stats").getValue(), s.findOption("--log-level").getValue());
    }

    public String usage() {
        return new CommandLine(spec()).getUsageMessage();
    }

    /**
     * Parses the arguments, starts the server, prints {@code listening on HOST:PORT} and blocks
     * until it is shut down. Exits the JVM with 2 on a usage error, 1 if the server cannot
     * start (the reason in words), else 0 after a graceful shutdown, 1 after one cut short.
     */
    public void run(String[] args, ServerFactory factory) {
        System.exit(runWithoutExit(args, factory, System.out, System.err, GracefulShutdown.SYSTEM));
    }

    int runWithoutExit(String[] args, ServerFactory factory, PrintStream out, PrintStream err) {
        return runWithoutExit(args, factory, out, err, GracefulShutdown.SYSTEM);
    }

    int runWithoutExit(String[] args, ServerFactory factory, PrintStream out, PrintStream err, GracefulShutdown.Signals signals) {
        CommandLine cl = new CommandLine(spec()).setOut(new java.io.PrintWriter(out, true));
        Options o;
        try {
            o = options(cl, args);
            if (o == null) {   // --help or --version
                if (cl.isUsageHelpRequested()) cl.usage(out); else cl.printVersionHelp(out);
                return 0;
            }
        } catch (ParameterException | UsageException e) {
            err.println(program + ": " + e.getMessage());
            err.print(cl.getUsageMessage());
            return 2;
        }
        Log.level(o.logLevel());
        System.Logger log = Log.logger(program);
        EchoServer server = null;
        try {
            server = factory.create(o);
            server.start();
        } catch (Exception e) {
            err.println(program + ": cannot start: " + StartError.inWords(e, o.host(), o.port()));
            if (server != null) StartError.closeQuietly(server);
            return 1;
        }
        StatsReporter stats = null;
        if (o.stats() && server instanceof Stats.Source source) stats = StatsReporter.start(program, source.stats(), log);
        else if (o.stats()) log.log(Level.WARNING, server + " keeps no statistics: --stats shows nothing");
        out.println("listening on " + o.host() + ":" + server.port());
        out.flush();
        try {
            return new GracefulShutdown(server, o.timeouts().drain(), log).await(signals);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } finally {
            if (stats != null) stats.close();
        }
    }

    private Object mode(String v) {
        for (String m : modes) if (m.equalsIgnoreCase(v)) return m;
        throw new TypeConversionException("unknown mode '" + v + "' (expected one of " + String.join(", ", modes) + ")");
    }

    private static Object ipv4(String v) {
        try {
            if (InetAddress.getByName(v) instanceof Inet4Address) return v;
        } catch (UnknownHostException e) {
            throw new TypeConversionException("unknown host '" + v + "'");
        }
        throw new TypeConversionException("'" + v + "' is not an IPv4 address (the FFM servers speak IPv4 only)");
    }

    private static Object seconds(String v) {
        return atLeast("a timeout", v, 0, Integer.MAX_VALUE);
    }

    private static long seconds(CommandSpec s, String name, long dflt) {
        OptionSpec o = s.findOption(name);
        return o == null ? dflt : ((Integer) o.getValue()).longValue();
    }

    private static Integer atLeast(String what, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException e) {
            // said below
        }
        throw new TypeConversionException(what + " needs a whole number from " + min + (max < Integer.MAX_VALUE ? " to " + max : " up") + ", got '" + v + "'");
    }
}
