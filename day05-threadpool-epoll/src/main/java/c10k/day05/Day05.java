///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day04-epoll-et/src/main/java/c10k/day04/*.java

package c10k.day05;

import c10k.day01.ServerCli;

/** {@code ./jbang day05 --mode reactor|shared --threads N}: epoll plus a fixed set of threads. */
public final class Day05 {
    public static void main(String[] args) {
        ServerCli.named("day05", "An edge-triggered epoll line-echo server with a fixed set of threads: "
                        + "one I/O thread and a worker pool (reactor), or N threads on one epoll fd (shared).", 9005)
                .modes("reactor", "shared")
                .threads(4)
                .timeouts()
                .run(args, o -> o.mode().equals("shared")
                        ? new SharedEpollServer(o.host(), o.port(), o.threads(), Handlers.ECHO)
                        : new ReactorServer(o.host(), o.port(), o.threads(), Handlers.ECHO));
    }
}
