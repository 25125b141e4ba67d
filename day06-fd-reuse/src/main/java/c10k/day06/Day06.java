///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES *.java
//SOURCES ../../../../../../day05-threadpool-epoll/src/main/java/c10k/day05/*.java

package c10k.day06;

import c10k.day01.ServerCli;
import c10k.day05.Handlers;

/** {@code ./jbang day06 --threads N --pool SIZE --fd-base B}: workers that write, made safe. */
public final class Day06 {
    public static void main(String[] args) {
        ServerCli.named("day06", "An epoll server whose workers write their own answers; connections pinned to fixed fd numbers.", 9006)
                .modes("pinned", "unpinned")
                .threads(4)
                .intOption("--pool", "SIZE", 10_000, "connection slots, one fixed fd number each")
                .intOption("--fd-base", "B", 1_024, "the first pinned fd number")
                .run(args, o -> {
                    FdReuseServer server = o.mode().equals("unpinned")
                            ? FdReuseServer.unpinned(o.host(), o.port(), o.threads(), Handlers.ECHO)
                            : FdReuseServer.pinned(o.host(), o.port(), o.threads(), Handlers.ECHO,
                                    o.intOption("--pool"), o.intOption("--fd-base"));
                    return new LoggingStart(server);
                });
    }

    /** Reports the open-files limit once the server has checked its range. */
    private record LoggingStart(FdReuseServer server) implements c10k.day01.EchoServer {
        @Override
        public void start() throws java.io.IOException {
            server.start();
            if (server.openFilesLimit() != null) {
                System.err.println("day06: open-files limit: soft " + server.openFilesLimit().soft()
                        + ", hard " + server.openFilesLimit().hard() + " (soft raised to hard)");
            }
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
