package c10k.day01;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * For a day's own lesson tests: starts a fresh server before each test and, after it,
 * closes the server and checks that no descriptor was left behind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class ServerTestBase {

    protected EchoServer server;
    private int fdsBefore;

    protected abstract EchoServer newServer() throws Exception;

    @BeforeEach
    void startServer() throws Exception {
        fdsBefore = Fds.baseline();
        server = newServer();
        server.start();
    }

    @AfterEach
    void closeServerAndCheckForLeaks() {
        server.close();
        Fds.awaitNoLeak(fdsBefore);
    }
}
