package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.ChildServer;
import c10k.day01.TestClient;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * 10,000 clients on one server thread. The server runs in a child JVM: both ends of 10,000
 * connections in one process would need 20,000 descriptors, this machine's whole limit.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
public class ManyConnectionsTest {

    static final int CONNECTIONS = 10_000;

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"et", "lt"})
    void oneThreadHoldsTenThousandConnectionsThatAllStillEcho(String mode) throws Exception {
        try (ChildServer server = ChildServer.start("c10k.day04.Day04", 0, "--mode", mode)) {
            holdAndEcho(server.port(), CONNECTIONS);
            assertThat(server.stop()).contains("epoll_wait wake-ups");
        }
    }

    /** Connects {@code count} clients, then has every one of them echo a line. Shared with days 5 and 6. */
    public static void holdAndEcho(int port, int count) throws IOException {
        List<TestClient> clients = new ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) clients.add(new TestClient(port));
            // All connected at once; now every one talks.
            for (int i = 0; i < count; i++) clients.get(i).send("client " + i + "\n");
            for (int i = 0; i < count; i++) assertThat(clients.get(i).readLine()).isEqualTo("client " + i + "\n");
        } finally {
            for (TestClient c : clients) c.close();
        }
    }
}
