package c10k.day01;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * The command line every server in the book shares, parsed by picocli: {@code --host},
 * {@code --port}, and where a day has them {@code --mode}, {@code --threads}, the timeouts and
 * options of its own; then {@code --stats}, {@code --log-level}, {@code --help} (every option
 * with its default), {@code --version}. A bad option: one line, the usage, exit 2.
 *
 * <p>{@link #run} prints exactly one line, {@code listening on HOST:PORT}, to stdout once the
 * server is ready (scripts and the tour wait for it), logs to stderr ({@link Log}), says why in
 * words if the server cannot start ({@link StartError}, exit 1), reports {@code --stats}
 * ({@link StatsReporter}), and on Ctrl-C or SIGTERM shuts the server down gracefully, or at
 * once on a second signal ({@link GracefulShutdown}).
 */
public final class ServerCli {

    /** What the command line asked for; options a server does not declare keep their defaults. */
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

    /** One option as declared; the help shows {@code dflt}, and where it applies if not everywhere. */
    private record Option(String name, String label, String dflt, String help, CommandLine.ITypeConverter<Object> value) {
    }

    private final String program;
    private final String summary;
    private final List<Option> declared = new ArrayList<>();
    private final List<String> extras = new ArrayList<>();
    private final Map<String, List<String>> onlyIn = new HashMap<>();
    private List<String> modes = List.of();

    private ServerCli(String program, String summary, int defaultPort) {
        this.program = program;
        this.summary = summary;
        declare("--host", "HOST", "127.0.0.1", "IPv4 address to listen on (the FFM servers of days 3 to 6 speak IPv4 only)", OptionValues::ipv4);
        declare("--port", "PORT", "" + defaultPort, "TCP port; 0 picks a free one", v -> OptionValues.atLeast("--port", v, 0, 65_535));
    }

    /** @param program the name shown in usage and in log lines, e.g. {@code day01} */
    public static ServerCli named(String program, String summary, int defaultPort) {
        return new ServerCli(program, summary, defaultPort);
    }

    /** Declares {@code --mode}; the first mode listed is the default. Any case is accepted. */
    public ServerCli modes(String... modes) {
        this.modes = List.of(modes);
        return declare("--mode", "MODE", modes[0], "one of " + String.join(", ", modes) + " (any case)", v -> OptionValues.mode(this.modes, v));
    }

    /** Declares {@code --threads} with its default. */
    public ServerCli threads(int defaultThreads) {
        return declare("--threads", "N", "" + defaultThreads, "threads serving connections", v -> OptionValues.atLeast("--threads", v, 1, 1 << 16));
    }

    /** Declares a day's own integer option (at least 1), e.g. {@code --pool SIZE}. */
    public ServerCli intOption(String name, String argName, int defaultValue, String help) {
        extras.add(name);
        return declare(name, argName, "" + defaultValue, help, v -> OptionValues.atLeast(name, v, 1, Integer.MAX_VALUE));
    }

    /** Declares the timeouts the server uses, in seconds: all three, or those named. */
    public ServerCli timeouts(String... which) {
        List<String> names = which.length > 0 ? List.of(which) : List.of("--idle-timeout", "--send-timeout", "--drain-timeout");
        if (names.contains("--idle-timeout")) declare("--idle-timeout", "SECONDS", "" + Timeouts.DEFAULTS.idle().toSeconds(), "close a connection that sends no complete line for this long; 0: never", OptionValues::seconds);
        if (names.contains("--send-timeout")) declare("--send-timeout", "SECONDS", "" + Timeouts.DEFAULTS.send().toSeconds(), "close a connection whose answers make no progress for this long; 0: never", OptionValues::seconds);
        if (names.contains("--drain-timeout")) declare("--drain-timeout", "SECONDS", "" + Timeouts.DEFAULTS.drain().toSeconds(), "on shutdown or after an error line, wait this long for the client to close", OptionValues::seconds);
        return this;
    }

    /** Says that {@code option} applies only to these modes: given with another mode, it is refused. */
    public ServerCli only(String option, String... modes) {
        onlyIn.put(option, List.of(modes));
        return this;
    }

    private ServerCli declare(String name, String label, String dflt, String help, CommandLine.ITypeConverter<Object> value) {
        declared.add(new Option(name, label, dflt, help, value));
        return this;
    }

    private CommandLine commandLine() {
        CommandSpec spec = CommandSpec.create().name(program).version(program + ", from the C10K workbook, on Java " + Runtime.version());
        spec.usageMessage().description(summary).sortOptions(false);
        List<Option> all = new ArrayList<>(declared);
        all.add(new Option("--log-level", "LEVEL", "INFO", "ERROR, WARNING, INFO, or DEBUG (each connection) or TRACE", v -> Level.valueOf(v.toUpperCase(Locale.ROOT))));
        for (Option o : all) {
            String where = onlyIn.containsKey(o.name()) ? "; only with --mode " + String.join(" or ", onlyIn.get(o.name())) : "";
            spec.addOption(OptionSpec.builder(o.name()).paramLabel(o.label()).type(Object.class).converters(o.value())
                    .defaultValue(o.dflt()).description(o.help() + where + " (default " + o.dflt() + ")").build());
        }
        spec.addOption(OptionSpec.builder("--stats").type(boolean.class).defaultValue("false")
                .description("log a line of live figures every second (and the JFR event c10k.ServerStats)").build());
        return new CommandLine(spec.mixinStandardHelpOptions(true));
    }

    public Options parse(String... args) throws UsageException {
        try {
            return parse(commandLine(), args);
        } catch (ParameterException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The options, or null for {@code --help} and {@code --version}. */
    private Options parse(CommandLine cl, String... args) throws UsageException {
        var given = cl.parseArgs(args);
        if (cl.isUsageHelpRequested() || cl.isVersionHelpRequested()) return null;
        CommandSpec s = cl.getCommandSpec();
        String mode = modes.isEmpty() ? null : s.findOption("--mode").getValue();
        for (var only : onlyIn.entrySet()) {
            if (given.hasMatchedOption(only.getKey()) && !only.getValue().contains(mode)) {
                throw new UsageException(only.getKey() + " does not apply to --mode " + mode + " (only to " + String.join(", ", only.getValue()) + ")");
            }
        }
        Map<String, String> extra = new HashMap<>();
        for (String e : extras) extra.put(e, s.findOption(e).getValue().toString());
        Timeouts t = new Timeouts(seconds(s, "--idle-timeout", Timeouts.DEFAULTS.idle()), seconds(s, "--send-timeout", Timeouts.DEFAULTS.send()),
                seconds(s, "--drain-timeout", Timeouts.DEFAULTS.drain()));
        int threads = s.findOption("--threads") == null ? -1 : s.findOption("--threads").getValue();
        return new Options(s.findOption("--host").getValue(), s.findOption("--port").getValue(), threads, mode, Map.copyOf(extra),
                t, s.findOption("--stats").getValue(), s.findOption("--log-level").getValue());
    }

    private static Duration seconds(CommandSpec s, String name, Duration undeclared) {
        OptionSpec o = s.findOption(name);
        return o == null ? undeclared : Duration.ofSeconds((Integer) o.getValue());
    }

    public String usage() {
        return commandLine().getUsageMessage();
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
        CommandLine cl = commandLine().setOut(new PrintWriter(out, true));
        Options o;
        try {
            if ((o = parse(cl, args)) == null) {
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
        StatsReporter stats = o.stats() && server instanceof Stats.Source s ? StatsReporter.start(program, s.stats(), log) : null;
        if (o.stats() && stats == null) log.log(Level.WARNING, server + " keeps no statistics: --stats shows nothing");
        GracefulShutdown shutdown = new GracefulShutdown(server, o.timeouts().drain(), log).install(signals);
        out.println("listening on " + o.host() + ":" + server.port());
        out.flush();
        try (stats) {
            return shutdown.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
