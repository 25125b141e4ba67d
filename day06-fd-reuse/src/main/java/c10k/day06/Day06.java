///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day05-threadpool-epoll/src/main/java/c10k/day05/*.java

package c10k.day06;

import c10k.day01.harness.Log;
import c10k.day01.harness.ServerCli;
import c10k.day01.harness.Stats;
import c10k.day05.Handlers;

/** {@code ./jbang day06 --threads N --pool SIZE --fd-base B}: workers that write, made safe. */
public final class Day06 {
    public static void main(String[] args) {
        ServerCli.named("day06", "An epoll server whose workers write their own answers; connections pinned to fixed fd numbers.", 9006)
                .modes("pinned", "unpinned")
                .threads(4)
                .intOption("--pool", "SIZE", 10_000, "connection slots, one fixed fd number each")
                .intOption("--fd-base", "B", 1_024, "the first pinned fd number")
                .only("--pool", "pinned")
                .only("--fd-base", "pinned")
                .timeouts()
                .run(args, o -> {
                    FdReuseServer server = o.mode().equals("unpinned")
                            ? FdReuseServer.unpinned(o.host(), o.port(), o.threads(), Handlers.ECHO)
                            : FdReuseServer.pinned(o.host(), o.port(), o.threads(), Handlers.ECHO,
                                    o.intOption("--pool"), o.intOption("--fd-base"));
                    server.timeouts(o.timeouts());
                    return new LoggingStart(server);
                });
    }

    /**
     * Reports the open-files limit once the server has checked its range; passes everything
     * else, the graceful shutdown and the statistics included, to the server.
     */
    private record LoggingStart(FdReuseServer server) implements c10k.day01.EchoServer, Stats.Source {
        @Override
        public void start() throws java.io.IOException {
            server.start();
            if (server.openFilesLimit() != null) {
                Log.logger("day06").log(System.Logger.Level.INFO, "open-files limit: soft " + server.openFilesLimit().soft()
                        + ", hard " + server.openFilesLimit().hard() + " (soft raised to hard)");
            }
        }

        @Override
        public void shutdownGracefully(java.time.Duration drain) {
            server.shutdownGracefully(drain);
        }

        @Override
        public Stats stats() {
            // (Object): compiles whether or not FdReuseServer keeps Stats yet.
            return ((Object) server) instanceof Stats.Source s ? s.stats() : new Stats();
        }

        @Override
        public String toString() {
            return server.toString();
        }

        @Override
        public int port() {
            return server.port();
        }

        @Override
        public void close() {
            server.close();
        }
    }
}
