package c10k.day05;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoContract;
import c10k.day01.EchoServer;
import c10k.day01.TestClient;
import c10k.day03.EventLoopLessons;
import c10k.day03.EventLoopServer;
import c10k.day04.EventLoop;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** Day 5's loops, both ways of spreading: the shared echo contract and the event-loop lessons. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
class LoopsServerTest {

    static LoopsServer server(int threads, LoopsServer.Spread spread) {
        return new LoopsServer("127.0.0.1", 0, threads, spread);
    }

    @Nested
    class AcceptorContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(4, LoopsServer.Spread.ACCEPTOR);
        }
    }

    @Nested
    class ReuseportContract extends EchoContract {
        @Override
        protected EchoServer newServer() {
            return server(4, LoopsServer.Spread.REUSEPORT);
        }
    }

    @Nested
    class AcceptorLessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return server(4, LoopsServer.Spread.ACCEPTOR);
        }
    }

    @Nested
    class ReuseportLessons extends EventLoopLessons {
        @Override
        protected EventLoopServer newServer() {
            return server(4, LoopsServer.Spread.REUSEPORT);
        }
    }

    /**
     * The weakness of loops: a connection never leaves the thread it landed on. With round
     * robin over two loops, clients 0 and 2 both land on loop 0; while they stream, loop 0 does
     * all the work and loop 1, holding two idle clients, never even wakes up. A pool or a
     * shared epoll fd would have put the second hot client on the idle thread.
     */
    @Test
    void aHotConnectionStaysOnItsLoopWhileAnotherLoopIdles() throws Exception {
        try (LoopsServer s = server(2, LoopsServer.Spread.ACCEPTOR)) {
            s.start();
            TestClient[] c = new TestClient[4];
            for (int i = 0; i < 4; i++) {
                c[i] = new TestClient(s.port());
                assertThat(c[i].roundTrip("hello " + i + "\n")).isEqualTo("hello " + i + "\n");
                assertThat(s.loops().get(i % 2).connectionCount()).isEqualTo(i / 2 + 1);   // round robin: 0, 1, 0, 1
            }
            EventLoop busy = s.loops().get(0), idle = s.loops().get(1);
            long busyBefore = busy.wakeups(), idleBefore = idle.wakeups();
            long[] cpuBefore = LoopsCpu.cpuNanos(busy.name, idle.name);
            // Clients 0 and 2 (both on loop 0) stream 4 MiB each, one after the other.
            String line = "x".repeat(1023) + "\n";
            for (int i : new int[] {0, 2}) {
                for (int round = 0; round < 64; round++) {
                    StringBuilder burst = new StringBuilder();
                    for (int k = 0; k < 64; k++) burst.append(line);
                    c[i].send(burst.toString());
                    assertThat(c[i].readString(burst.length())).isEqualTo(burst.toString());
                }
            }
            long[] cpuAfter = LoopsCpu.cpuNanos(busy.name, idle.name);
            System.out.printf("hot clients on loop 0: loop 0 woke %d times and used %.0f ms of CPU, loop 1 woke %d times and used %.0f ms%n",
                    busy.wakeups() - busyBefore, (cpuAfter[0] - cpuBefore[0]) / 1e6, idle.wakeups() - idleBefore, (cpuAfter[1] - cpuBefore[1]) / 1e6);
            assertThat(busy.wakeups() - busyBefore).isPositive();       // all the work: 8 MiB in and out
            assertThat(idle.wakeups()).isEqualTo(idleBefore);   // nothing reached loop 1: its clients said nothing
            for (TestClient t : c) t.close();
        }
    }
}
