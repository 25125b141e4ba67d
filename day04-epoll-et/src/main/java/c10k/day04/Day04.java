///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day03-select-poll/src/main/java/c10k/day03/*.java
//SOURCES ../../../../../../day03-select-poll/src/main/java/c10k/day03/sys/*.java

package c10k.day04;

import c10k.day01.harness.ServerCli;

/** {@code ./jbang day04 --mode et|lt}: one thread on epoll, through FFM. */
public final class Day04 {
    public static void main(String[] args) {
        ServerCli.named("day04", "A single-threaded line-echo server on epoll(7), edge- or level-triggered, through FFM.", 9004)
                .modes("et", "lt")
                .timeouts()
                .run(args, o -> new EpollEchoServer(o.host(), o.port(),
                        o.mode().equals("lt") ? EpollEchoServer.Mode.LT : EpollEchoServer.Mode.ET).timeouts(o.timeouts()));
    }
}
