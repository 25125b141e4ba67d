package c10k.day02;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.Fds;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class Day02Test {

    static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

    @Nested
    class PlatformThreadsContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.PLATFORM);
        }
    }

    @Nested
    class VirtualThreadsContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.VIRTUAL);
        }
    }

    @Nested
    class PoolContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return new PooledServer(ANY_PORT, 4);
        }
    }

    @Nested
    class APoolOfBlockingWorkers extends ServerTestBase {
        static final int WORKERS = 4;

        @Override
        protected EchoServer newServer() {
            return new PooledServer(ANY_PORT, WORKERS);
        }

        @Test
        void isStarvedByAsManyIdleClientsAsItHasWorkers() throws Exception {
            PooledServer pool = (PooledServer) server;
            List<TestClient> idle = new ArrayList<>();
            try {
                for (int i = 0; i < WORKERS; i++) {
                    TestClient c = new TestClient(pool.port());
                    idle.add(c);
                    // An answer proves a worker has taken this client; from now on the client
                    // says nothing, and its worker waits in read() for it.
                    assertThat(c.roundTrip("hello, then silence\n")).isEqualTo("hello, then silence\n");
                }
                assertThat(pool.busyWorkers()).isEqualTo(WORKERS);

                try (TestClient late = new TestClient(pool.port())) {
                    late.send("anyone there?\n");
                    Fds.await("the late client to be queued", Duration.ofSeconds(10), () -> pool.waitingConnections() == 1);
                    // Every worker asleep in read() on its idle client, as the kernel says, while
                    // the late client waits in the queue: nobody will take it (no waiting to see).
                    for (int i = 0; i < WORKERS; i++) {
                        String name = "day02-worker-" + i;
                        Fds.await(name + " asleep", Duration.ofSeconds(30), () -> c10k.day01.KernelView.allAsleep(name));
                    }
                    assertThat(pool.waitingConnections()).as("every worker is held by an idle client").isEqualTo(1);
                    assertThat(pool.workerThreads()).as("the pool does not grow").isEqualTo(WORKERS);

                    idle.removeFirst().close();   // one polite client leaves...
                    assertThat(late.readLine()).as("...and only then is the late one served").isEqualTo("anyone there?\n");
                }
            } finally {
                for (TestClient c : idle) c.close();
            }
        }
    }

    @Nested
    class VirtualThreads extends ServerTestBase {
        static final int IDLE_CLIENTS = 2_000;

        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.VIRTUAL);
        }

        @Test
        void holdThousandsOfIdleClientsAndStillServeTheNextOne() throws Exception {
            ThreadPerClientServer s = (ThreadPerClientServer) server;
            List<TestClient> idle = new ArrayList<>(IDLE_CLIENTS);
            try {
                for (int i = 0; i < IDLE_CLIENTS; i++) {
                    TestClient c = new TestClient(s.port());
                    idle.add(c);
                    c.send("idle " + i + "\n");
                }
                // Read the answers after all are connected, so the clients really are
                // connected at the same time.
                for (int i = 0; i < IDLE_CLIENTS; i++) assertThat(idle.get(i).readLine()).isEqualTo("idle " + i + "\n");
                assertThat(s.connectionCount()).isEqualTo(IDLE_CLIENTS);
                // 2,000 threads blocked in read(), and yet the process has a few dozen kernel
                // threads: the parked virtual threads wait on the JDK's poller, not in the kernel.
                assertThat(osThreads()).as("kernel threads in this JVM").isLessThan(IDLE_CLIENTS / 10);

                try (TestClient next = new TestClient(s.port())) {
                    assertThat(next.roundTrip("and me?\n")).isEqualTo("and me?\n");
                }
                // And every one of the thousands still echoes.
                for (int i = 0; i < IDLE_CLIENTS; i++) idle.get(i).send("again " + i + "\n");
                for (int i = 0; i < IDLE_CLIENTS; i++) assertThat(idle.get(i).readLine()).isEqualTo("again " + i + "\n");
            } finally {
                for (TestClient c : idle) c.close();
            }
        }
    }

    /** Threads of this process as the kernel counts them (the Threads: line of /proc/self/status). */
    static int osThreads() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("Threads:")) return Integer.parseInt(line.substring(8).trim());
        }
        throw new IllegalStateException("no Threads: line in /proc/self/status");
    }

    @Nested
    class PlatformThreads extends ServerTestBase {
        @Override
        protected EchoServer newServer() {
            return new ThreadPerClientServer(ANY_PORT, ThreadPerClientServer.Kind.PLATFORM);
        }

        @Test
        void giveEachIdleClientItsOwnThreadSoNobodyWaits() throws Exception {
            ThreadPerClientServer s = (ThreadPerClientServer) server;
            List<TestClient> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 200; i++) {
                    TestClient c = new TestClient(s.port());
                    idle.add(c);
                    assertThat(c.roundTrip("idle\n")).isEqualTo("idle\n");
                }
                try (TestClient next = new TestClient(s.port())) {
                    assertThat(next.roundTrip("served\n")).isEqualTo("served\n");
                }
                assertThat(osThreads()).as("one kernel thread per platform-thread client").isGreaterThan(200);
            } finally {
                for (TestClient c : idle) c.close();
            }
        }
    }
}
