///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES sys/*.java
//SOURCES shell/*.java
//SOURCES ../../../../../../day01-blocking/src/main/java/c10k/day01/*.java
//SOURCES ../../../../../../day01-blocking/src/main/java/c10k/day01/harness/*.java

package c10k.day03;

import c10k.day01.harness.ServerCli;
import c10k.day03.shell.LoopServer;
import java.net.InetSocketAddress;

/** {@code ./jbang day03 --mode selector|poll}: one thread, many clients. */
public final class Day03 {
    public static void main(String[] args) {
        ServerCli.named("day03", "A single-threaded line-echo server: java.nio's Selector, or poll(2) through FFM.", 9003)
                .modes("selector", "poll")
                .timeouts()
                .run(args, o -> switch (o.mode()) {
                    case "poll" -> new PollEchoServer(o.host(), o.port()).timeouts(o.timeouts()).onFatal(LoopServer::exitOnFatal);
                    default -> new SelectorEchoServer(new InetSocketAddress(o.host(), o.port())).timeouts(o.timeouts())
                            .onFatal(LoopServer::exitOnFatal);
                });
    }
}
