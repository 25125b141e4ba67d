package c10k.day01.harness;

import c10k.day01.EchoServer;

import c10k.day01.harness.GracefulShutdown;
import c10k.day01.harness.OptionValues;
import c10k.day01.harness.ServerCli;
import c10k.day01.harness.ServerCommand;
import c10k.day01.harness.ServerRun;
import c10k.day01.harness.SharedOptions;
import c10k.day01.harness.Timeouts;

import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;

/**
 * The command line every server in the book shares, parsed by picocli: {@code --host},
 * {@code --port}, and where a day has them {@code --mode}, {@code --threads}, the timeouts and
 * options of its own; then {@code --stats}, {@code --log-level}, {@code --help} (every option
 * with its default), {@code --version}. A bad option: one line, the usage, exit 2. The options
 * every server has are {@link SharedOptions}; a day declares the rest here, by name.
 *
 * <p>{@link #run} prints exactly one line, {@code listening on HOST:PORT}, to stdout once the
 * server is ready, logs to stderr ({@link Log}), says why in words if the server cannot start,
 * reports {@code --stats}, and on Ctrl-C or SIGTERM shuts the server down gracefully, or at
 * once on a second signal ({@link ServerRun}).
 */
public final class ServerCli {

    /** What the command line asked for; options a server does not declare keep their defaults. */
    public record Options(String host, int port, int threads, String mode, Map<String, String> extra,
                          Timeouts timeouts, boolean stats, Level logLevel) {
        /** An integer option declared with {@link ServerCli#intOption}. */
        public int intOption(String name) {
            return Integer.parseInt(extra.get(name));
        }
    }

    /** Builds a server from the parsed options; the server is not started yet. */
    @FunctionalInterface
    public interface ServerFactory {
        EchoServer create(Options options) throws Exception;
    }

    private final ServerCommand command;

    private ServerCli(ServerCommand command) {
        this.command = command;
    }

    /** @param program the name shown in usage and in log lines, e.g. {@code day01} */
    public static ServerCli named(String program, String summary, int defaultPort) {
        return new ServerCli(new ServerCommand(program, summary, defaultPort));
    }

    /** Declares {@code --mode}; the first mode listed is the default. Any case is accepted. */
    public ServerCli modes(String... modes) {
        command.declare("--mode", "MODE", modes[0], "one of " + String.join(", ", modes) + " (any case)", v -> OptionValues.mode(List.of(modes), v));
        return this;
    }

    /** Declares {@code --threads} with its default. */
    public ServerCli threads(int defaultThreads) {
        command.declare("--threads", "N", "" + defaultThreads, "threads serving connections", v -> OptionValues.atLeast("--threads", v, 1, 1 << 16));
        return this;
    }

    /** Declares a day's own integer option (at least 1), e.g. {@code --pool SIZE}. */
    public ServerCli intOption(String name, String argName, int defaultValue, String help) {
        command.declare(name, argName, "" + defaultValue, help, v -> OptionValues.atLeast(name, v, 1, Integer.MAX_VALUE));
        return this;
    }

    /** Declares the timeouts the server uses, in seconds: all three, or those named. */
    public ServerCli timeouts(String... which) {
        command.timeouts(which.length > 0 ? List.of(which) : SharedOptions.TimeoutSeconds.ALL);
        return this;
    }

    /** Says that {@code option} applies only to these modes: given with another mode, it is refused. */
    public ServerCli only(String option, String... modes) {
        command.only(option, List.of(modes));
        return this;
    }

    /** The options, or null for {@code --help} and {@code --version}; a mistake throws picocli's ParameterException. */
    public Options parse(String... args) {
        return command.parse(command.commandLine(), args);
    }

    public String usage() {
        return command.commandLine().getUsageMessage();
    }

    /**
     * Parses the arguments, starts the server, prints {@code listening on HOST:PORT} and blocks
     * until it is shut down. Exits the JVM with 2 on a usage error, 1 if the server cannot
     * start (the reason in words), else 0 after a graceful shutdown, 1 after one cut short.
     */
    public void run(String[] args, ServerFactory factory) {
        System.exit(runWithoutExit(args, factory, System.out, System.err, GracefulShutdown.SYSTEM));
    }

    int runWithoutExit(String[] args, ServerFactory factory, PrintStream out, PrintStream err, GracefulShutdown.Signals signals) {
        return ServerRun.run(command, args, factory, out, err, signals);
    }
}
