///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES harness/*.java

package c10k.day01;

import c10k.day01.harness.ServerCli;

import java.net.InetSocketAddress;

/** {@code ./jbang day01}: the blocking echo server, one client at a time. */
public final class Day01 {
    public static void main(String[] args) {
        ServerCli.named("day01", "A blocking line-echo server that serves one client at a time.", 9001)
                .run(args, o -> new BlockingEchoServer(new InetSocketAddress(o.host(), o.port())));
    }
}
