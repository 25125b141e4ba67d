package c10k.day01;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Starts a fresh server before each test and, after it, closes the server and checks that no
 * descriptor was left behind. The echo contract and each day's lesson tests build on it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(NoFdLeak.class)
public abstract class ServerTestBase {

    protected EchoServer server;

    /** A new, not yet started server bound to 127.0.0.1 on port 0. */
    protected abstract EchoServer newServer() throws Exception;

    @BeforeEach
    void startServer() throws Exception {
        server = newServer();
        server.start();
    }

    @AfterEach
    void closeServerAndCheckForLeaks() {
        if (server == null) return;   // it never started: the test has failed already
        server.close();
    }
}
