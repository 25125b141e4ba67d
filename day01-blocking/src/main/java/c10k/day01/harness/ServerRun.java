package c10k.day01.harness;

import c10k.day01.EchoServer;

import c10k.day01.harness.GracefulShutdown;
import c10k.day01.harness.Log;
import c10k.day01.harness.ServerCli;
import c10k.day01.harness.ServerCommand;
import c10k.day01.harness.ServerRun;
import c10k.day01.harness.StartError;
import c10k.day01.harness.Stats;
import c10k.day01.harness.StatsReporter;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.System.Logger.Level;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * A server's run from its arguments to its exit status, as {@link ServerCli#run} promises. A
 * mistake on the command line is one line and the usage on stderr, exit 2; {@code --help} and
 * {@code --version} print to stdout, exit 0. Otherwise the server is built and started, or the
 * reason it cannot start is said in words ({@link StartError}, exit 1); {@code listening on HOST:PORT} goes to stdout once it is ready (scripts and the tour
 * wait for that line); {@code --stats} gets its reporter ({@link StatsReporter}); and the run
 * lasts until a signal has shut the server down ({@link GracefulShutdown}: exit 0, or 1 if a
 * second signal cut the drain short).
 */
final class ServerRun {

    private ServerRun() {
    }

    static int run(ServerCommand command, String[] args, ServerCli.ServerFactory factory, PrintStream out, PrintStream err,
                   GracefulShutdown.Signals signals) {
        CommandLine cl = command.commandLine().setOut(new PrintWriter(out, true));
        ServerCli.Options o;
        try {
            o = command.parse(cl, args);
        } catch (ParameterException e) {
            err.println(command.program() + ": " + e.getMessage());
            err.print(cl.getUsageMessage());
            return 2;
        }
        if (o != null) return serve(command.program(), o, factory, out, err, signals);
        CommandLine.printHelpIfRequested(cl.getParseResult());
        return 0;
    }

    private static int serve(String program, ServerCli.Options o, ServerCli.ServerFactory factory, PrintStream out, PrintStream err,
                   GracefulShutdown.Signals signals) {
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
        // The handlers go in before the line is printed: a script may send SIGTERM as soon as it reads it.
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
