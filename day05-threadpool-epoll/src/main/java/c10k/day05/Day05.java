///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day04-epoll-et/src/main/java/c10k/day04/*.java

package c10k.day05;

import c10k.day01.EchoServer;
import c10k.day01.harness.ServerCli;
import java.util.ArrayList;
import java.util.List;

/** {@code ./jbang day05 --mode reactor|shared|loops|loops-reuseport --threads N [--processes P] [--connections N]}: epoll plus a fixed set of threads. */
public final class Day05 {
    public static void main(String[] args) {
        MasterPipe.watchIfWorker();
        ServerCli.named("day05", "An edge-triggered epoll line-echo server with a fixed set of threads: "
                        + "one I/O thread and a worker pool (reactor), or N threads on one epoll fd (shared), or N independent loops (loops, loops-reuseport).", 9005)
                .modes("reactor", "shared", "loops", "loops-reuseport")
                .threads(4)
                .intOption("--processes", "P", 1, "loops only: P worker processes, each a loops-reuseport server on the same port")
                .only("--processes", "loops", "loops-reuseport")
                .intOption("--connections", "N", 1, "loops only: room for N connections: at least as many worker processes as "
                        + "the open-files limit asks (about 90%% of it each)")
                .only("--connections", "loops", "loops-reuseport")
                .timeouts()
                .run(args, o -> switch (o.mode()) {
                    case "shared" -> new SharedEpollServer(o.host(), o.port(), o.threads(), Handlers.ECHO).timeouts(o.timeouts());
                    case "loops", "loops-reuseport" -> loops(o);
                    default -> new ReactorServer(o.host(), o.port(), o.threads(), Handlers.ECHO).timeouts(o.timeouts());
                });
    }

    /** {@code --mode loops} (an acceptor hands fds out), {@code loops-reuseport}, and with {@code --processes}, a master. */
    static EchoServer loops(ServerCli.Options o) {
        // One process may hold no more connections than its open-files limit (RLIMIT_NOFILE, the
        // same for every worker: they inherit ours), so N connections ask for N / limit workers.
        long openFiles = ((com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getMaxFileDescriptorCount();
        int processes = Math.max(o.intOption("--processes"), Master.workersFor(o.intOption("--connections"), openFiles));
        if (processes > 1) {
            // Each worker is this command's loops-reuseport server; the master only starts, restarts and stops them.
            List<String> worker = new ArrayList<>(List.of("--mode", "loops-reuseport", "--threads", "" + o.threads(),
                    "--log-level", o.logLevel().name(), "--idle-timeout", "" + o.timeouts().idle().toSeconds(),
                    "--send-timeout", "" + o.timeouts().send().toSeconds(), "--drain-timeout", "" + o.timeouts().drain().toSeconds()));
            if (o.stats()) worker.add("--stats");
            return new Master(o.host(), o.port(), processes, worker);
        }
        return new LoopsServer(o.host(), o.port(), o.threads(),
                o.mode().equals("loops") ? LoopsServer.Spread.ACCEPTOR : LoopsServer.Spread.REUSEPORT).timeouts(o.timeouts());
    }
}
