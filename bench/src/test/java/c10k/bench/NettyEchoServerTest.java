package c10k.bench;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The peer does the very job the book's servers do: same contract, same tests. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "Netty's native epoll transport")
class NettyEchoServerTest extends EchoContract {
    @Override
    protected EchoServer newServer() {
        return new NettyEchoServer(new InetSocketAddress("127.0.0.1", 0), 2);
    }
}
