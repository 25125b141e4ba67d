package c10k.day01;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

/**
 * Out of fds at a loop's very first wake-up, for any day's command line: the server runs from
 * class folders under {@code ulimit -n 64}, is stopped, 100 clients queue a line each, and it
 * is continued. Its first accept batch fills the fd table before the loop has run its timers
 * or read anything even once; on a class path of folders whatever the loop loads for the first
 * time from then on needs an fd to open its class file, and a NoClassDefFoundError would end
 * the loop and every client. The stopped loop's epoll_wait may instead return EINTR at SIGCONT
 * (signal(7)) and run a pass before it sees the burst, which hides the fault; so a few rounds.
 * Day 2's threads race the acceptor the same way. It lives with day 1's tests so that every
 * day's tests can use it (with {@link ChildServer}).
 */
public final class FirstWakeUpBurst {

    private FirstWakeUpBurst() {
    }

    /** Fails unless the server answers the first of the burst, serves again once the burst is gone, and never gave up its loop. */
    public static void survives(String mainClass, String... args) throws Exception {
        burst(mainClass, false, args);
    }

    /**
     * As {@link #survives}, and the first client of the burst, answered, then sends a line over
     * the limit while the fd table is still full: the error path's first run (its error line is
     * a class of its own) must answer it, not end the loop or the thread that serves it.
     */
    public static void survivesAnOversizedLine(String mainClass, String... args) throws Exception {
        burst(mainClass, true, args);
    }

    private static void burst(String mainClass, boolean oversized, String... args) throws Exception {
        for (int round = 0; round < 4; round++) {
            List<TestClient> burst = new ArrayList<>();
            try (ChildServer server = ChildServer.startFromClassFolders(mainClass, 64, args)) {
                server.signal("STOP");
                try {
                    for (int i = 0; i < 100; i++) burst.add(new TestClient(server.port()).send("hello " + i + "\n"));
                } finally {
                    server.signal("CONT");
                }
                // The first in the queue was accepted first: it holds an fd and gets its line back.
                assertThat(burst.getFirst().readLine()).as("round " + round).isEqualTo("hello 0\n");
                if (oversized) {
                    TestClient first = burst.getFirst().send("x".repeat(Protocol.MAX_LINE) + "\n");
                    assertThat(first.readLine()).as("round " + round).isEqualTo("ERR line too long\n");
                }

                for (TestClient c : burst) c.close();
                burst.clear();
                boolean servedAgain = false;
                for (int attempt = 0; attempt < 200 && !servedAgain; attempt++) {
                    try (TestClient c = new TestClient(server.port())) {
                        servedAgain = c.roundTrip("back\n").equals("back\n");
                    }
                }
                assertThat(servedAgain).as("accepting again once fds are free").isTrue();
                assertThat(server.stop()).doesNotContain("cannot go on").doesNotContain("NoClassDefFoundError")
                        .doesNotContain("ExceptionInInitializerError");
            } finally {
                for (TestClient c : burst) c.close();
            }
        }
    }
}
