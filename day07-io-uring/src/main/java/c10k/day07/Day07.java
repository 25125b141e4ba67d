///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES sys/*.java
//SOURCES ../../../../../../day03-select-poll/src/main/java/c10k/day03/*.java
//SOURCES ../../../../../../day03-select-poll/src/main/java/c10k/day03/sys/*.java

package c10k.day07;

import c10k.day01.harness.ServerCli;

/** {@code ./jbang day07 --mode basic|multishot --threads N}: io_uring through FFM, one ring per thread. */
public final class Day07 {
    public static void main(String[] args) {
        ServerCli.named("day07", "A line-echo server on io_uring(7) through FFM: completions instead of readiness,"
                        + " one ring per thread.", 9007)
                .modes("basic", "multishot")
                .threads(1)
                .timeouts()
                .run(args, o -> new IoUringEchoServer(o.host(), o.port(),
                        o.mode().equalsIgnoreCase("multishot") ? IoUringEchoServer.Mode.MULTISHOT : IoUringEchoServer.Mode.BASIC,
                        o.threads(), o.timeouts()));
    }
}
