package c10k.bench;

import c10k.day01.harness.ServerCli;
import java.net.InetSocketAddress;

/** The Netty peer as a program, started by the benchmark in a JVM of its own. */
public final class NettyMain {
    public static void main(String[] args) {
        ServerCli.named("netty", "Netty's native epoll (or io_uring) transport doing the same line echo.", 9010)
                .modes("epoll", "io_uring")
                .threads(1)
                .run(args, o -> new NettyEchoServer(new InetSocketAddress(o.host(), o.port()), o.threads(),
                        o.mode().equalsIgnoreCase("io_uring") ? NettyEchoServer.Transport.IO_URING : NettyEchoServer.Transport.EPOLL));
    }
}
