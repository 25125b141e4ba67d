///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES *.java
//SOURCES ../../../../../../day01-blocking/src/main/java/c10k/day01/*.java
//SOURCES ../../../../../../day01-blocking/src/main/java/c10k/day01/harness/*.java

package c10k.day02;

import c10k.day01.harness.ServerCli;
import java.net.InetSocketAddress;

/** {@code ./jbang day02 --mode virtual|platform|pool [--threads N] [--idle-timeout S]}. */
public final class Day02 {
    public static void main(String[] args) {
        ServerCli.named("day02", "A line-echo server with a thread per client, or a fixed pool of blocking workers.", 9002)
                .modes("virtual", "platform", "pool")
                .threads(4)
                .only("--threads", "pool")
                // No --send-timeout: a blocking write in java.net.Socket cannot time out.
                .timeouts("--idle-timeout", "--drain-timeout")
                .run(args, o -> {
                    InetSocketAddress address = new InetSocketAddress(o.host(), o.port());
                    return switch (o.mode()) {
                        case "platform" -> new ThreadPerClientServer(address, ThreadPerClientServer.Kind.PLATFORM, o.timeouts());
                        case "virtual" -> new ThreadPerClientServer(address, ThreadPerClientServer.Kind.VIRTUAL, o.timeouts());
                        default -> new PooledServer(address, o.threads(), o.timeouts());
                    };
                });
    }
}
