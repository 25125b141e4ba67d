package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.Fds;
import c10k.day01.KernelView;
import c10k.day01.TestClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * A graceful shutdown that begins while a worker still holds a client's request. The loop
 * stops reading that client at once, but its answer is part of "what was read": a connection
 * is not finished while its batch is with the workers ({@code Conn.answersOutstanding}), so
 * the answer goes out first, then the FIN. Were it finished, the loop would send the FIN at
 * once and the answer, coming back later, would meet a closed sending side.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AnswerOutAtShutdownTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @Test
    void theAnswerAWorkerHoldsWhenTheShutdownBeginsIsSentBeforeTheFin() throws Exception {
        int fdsBefore = Fds.baseline();
        CountDownLatch held = new CountDownLatch(1), release = new CountDownLatch(1);
        ReactorServer server = new ReactorServer("127.0.0.1", 0, 1, line -> {
            held.countDown();
            release.await();                                  // the worker holds the request
            return line;
        });
        server.start();
        int port = server.port();
        Thread stopper = null;
        try (TestClient c = new TestClient(port)) {
            c.send("held by the worker\n");
            assertThat(held.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            stopper = Thread.ofPlatform().start(() -> server.shutdownGracefully(PATIENCE));
            // The listener is closed only once the loop has begun its stop, and that pass stops
            // every connection's reading before it takes any answer back: from here the order
            // the test is about is fixed, whenever the worker finishes.
            Fds.await("the listener closed", PATIENCE, () -> KernelView.rxQueue(port, 0) == -1);
            release.countDown();
            assertThat(new String(c.readToEnd(), StandardCharsets.US_ASCII))
                    .as("the held answer, then end of stream").isEqualTo("held by the worker\n");
        } finally {
            release.countDown();
            if (stopper != null) stopper.join();
            server.close();
        }
        Fds.awaitNoLeak(fdsBefore);
    }
}
