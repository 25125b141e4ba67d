///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day05-threadpool-epoll/src/main/java/c10k/day05/*.java

package c10k.day06;

import c10k.day01.harness.ServerCli;
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
                    return server.timeouts(o.timeouts());
                });
    }
}
