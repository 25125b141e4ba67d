package c10k.day01.harness;

import c10k.day01.harness.ServerCli;
import c10k.day01.harness.ServerCommand;
import c10k.day01.harness.SharedOptions;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The picocli command behind a {@link ServerCli}: the {@link SharedOptions} mixins, and among
 * them the options a day declares ({@code --mode}, {@code --threads}, its own), which are built
 * from code because their names, defaults and modes differ from day to day. A picocli spec
 * keeps the values it parsed, so every parse gets a command of its own ({@link #commandLine}).
 */
final class ServerCommand {

    /** A day's option as declared; the help adds its default, and its modes if it is limited to some. */
    private record DayOption(String name, String label, String dflt, String help, ITypeConverter<Object> value) {
    }

    private final String program;
    private final String summary;
    private final int defaultPort;
    private final List<DayOption> declared = new ArrayList<>();
    private final Map<String, List<String>> onlyIn = new HashMap<>();
    private List<String> timeouts = List.of();

    ServerCommand(String program, String summary, int defaultPort) {
        this.program = program;
        this.summary = summary;
        this.defaultPort = defaultPort;
    }

    void declare(String name, String label, String dflt, String help, ITypeConverter<Object> value) {
        declared.add(new DayOption(name, label, dflt, help, value));
    }

    void only(String option, List<String> modes) {
        onlyIn.put(option, modes);
    }

    void timeouts(List<String> names) {
        timeouts = names;
    }

    CommandLine commandLine() {
        CommandSpec spec = CommandSpec.create().name(program).version(program + ", from the C10K workbook, on Java " + Runtime.version());
        spec.usageMessage().description(summary).sortOptions(false);
        spec.addMixin("shared", CommandSpec.forAnnotatedObject(new SharedOptions(defaultPort)));
        int order = SharedOptions.DAY_OPTIONS;
        for (DayOption o : declared) {
            String where = onlyIn.containsKey(o.name()) ? "; only with --mode " + String.join(" or ", onlyIn.get(o.name())) : "";
            spec.addOption(OptionSpec.builder(o.name()).paramLabel(o.label()).type(Object.class).converters(o.value()).order(order++)
                    .defaultValue(o.dflt()).description(o.help() + where + " (default " + o.dflt() + ")").build());
        }
        spec.addMixin("timeouts", new SharedOptions.TimeoutSeconds().mixin(timeouts));
        return new CommandLine(spec).setCaseInsensitiveEnumValuesAllowed(true);
    }

    String program() {
        return program;
    }

    /**
     * What {@code args} ask for, or null for {@code --help} and {@code --version}. A mistake, an
     * option given with a mode it does not apply to included, throws picocli's ParameterException.
     */
    ServerCli.Options parse(CommandLine cl, String... args) {
        ParseResult given = cl.parseArgs(args);
        if (cl.isUsageHelpRequested() || cl.isVersionHelpRequested()) return null;
        CommandSpec s = cl.getCommandSpec();
        String mode = s.findOption("--mode") == null ? null : s.findOption("--mode").getValue();
        for (var only : onlyIn.entrySet()) {
            if (given.hasMatchedOption(only.getKey()) && !only.getValue().contains(mode)) {
                throw new ParameterException(cl, only.getKey() + " does not apply to --mode " + mode + " (only to " + String.join(", ", only.getValue()) + ")");
            }
        }
        Map<String, String> own = new HashMap<>();
        for (DayOption o : declared) own.put(o.name(), String.valueOf(s.findOption(o.name()).<Object>getValue()));
        SharedOptions shared = (SharedOptions) cl.getMixins().get("shared");
        int threads = s.findOption("--threads") == null ? -1 : s.findOption("--threads").getValue();
        return new ServerCli.Options(shared.host, shared.port, threads, mode, Map.copyOf(own),
                ((SharedOptions.TimeoutSeconds) cl.getMixins().get("timeouts")).timeouts(), shared.stats, shared.logLevel);
    }
}
