package c10k.day01.harness;

import c10k.day01.harness.OptionValues;
import c10k.day01.harness.SharedOptions;
import c10k.day01.harness.Timeouts;

import java.lang.System.Logger.Level;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * The options every server has, as a picocli mixin: each is a field that picocli fills, and its
 * default is the field's initial value, which the help shows as {@code ${DEFAULT-VALUE}}. Only
 * {@code --port}'s default differs by server ({@code 90NN}), so it comes in the constructor.
 *
 * <p>{@code order} places them in the help around the options a day declares through
 * {@link ServerCli} (numbered from {@link #DAY_OPTIONS}): where to listen first, then the day's
 * own, then the timeouts, then how much the server says, then help and version.
 */
final class SharedOptions {

    /** The help's place of a day's first own option; the rest follow in the order declared. */
    static final int DAY_OPTIONS = 10;

    @Option(names = "--host", paramLabel = "HOST", order = 1, converter = OptionValues.Host.class,
            description = "IPv4 address to listen on (the FFM servers of days 3 to 6 speak IPv4 only) (default ${DEFAULT-VALUE})")
    String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "PORT", order = 2, converter = OptionValues.Port.class,
            description = "TCP port; 0 picks a free one (default ${DEFAULT-VALUE})")
    int port;

    // An enum: picocli converts it, in any case (ServerCommand allows that), and names the values on a mistake.
    @Option(names = "--log-level", paramLabel = "LEVEL", order = 90,
            description = "ERROR, WARNING, INFO, or DEBUG (each connection) or TRACE (default ${DEFAULT-VALUE})")
    Level logLevel = Level.INFO;

    @Option(names = "--stats", order = 91, description = "log a line of live figures every second (and the JFR event c10k.ServerStats)")
    boolean stats;

    @Option(names = {"-h", "--help"}, usageHelp = true, order = 98, description = "Show this help message and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, order = 99, description = "Print version information and exit.")
    boolean version;

    SharedOptions(int defaultPort) {
        this.port = defaultPort;
    }

    /**
     * The three timeouts of {@link Timeouts}, in seconds, as a mixin of their own: a day has all
     * three, some (day 2's blocking writes cannot time out, so it has no {@code --send-timeout})
     * or none (day 1). Those it does not have are taken out of the mixin, so picocli refuses them
     * as unknown, and their fields keep the defaults.
     */
    static final class TimeoutSeconds {
        static final List<String> ALL = List.of("--idle-timeout", "--send-timeout", "--drain-timeout");

        @Option(names = "--idle-timeout", paramLabel = "SECONDS", order = 80, converter = OptionValues.Seconds.class,
                description = "close a connection that sends no complete line for this long; 0: never (default ${DEFAULT-VALUE})")
        int idle = (int) Timeouts.DEFAULTS.idle().toSeconds();

        @Option(names = "--send-timeout", paramLabel = "SECONDS", order = 81, converter = OptionValues.Seconds.class,
                description = "close a connection whose answers make no progress for this long; 0: never (default ${DEFAULT-VALUE})")
        int send = (int) Timeouts.DEFAULTS.send().toSeconds();

        @Option(names = "--drain-timeout", paramLabel = "SECONDS", order = 82, converter = OptionValues.Seconds.class,
                description = "on shutdown or after an error line, wait this long for the client to close (default ${DEFAULT-VALUE})")
        int drain = (int) Timeouts.DEFAULTS.drain().toSeconds();

        /** The mixin with only the timeouts {@code declared}. */
        CommandSpec mixin(List<String> declared) {
            CommandSpec spec = CommandSpec.forAnnotatedObject(this);
            for (OptionSpec o : List.copyOf(spec.options())) {
                if (!declared.contains(o.longestName())) spec.remove(o);
            }
            return spec;
        }

        Timeouts timeouts() {
            return Timeouts.ofSeconds(idle, send, drain);
        }
    }
}
