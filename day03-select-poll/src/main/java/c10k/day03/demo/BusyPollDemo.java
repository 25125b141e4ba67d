///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS info.picocli:picocli:4.7.7
//SOURCES ../sys/*.java
//SOURCES ../../../../../../../day01-blocking/src/main/java/c10k/day01/*.java
//SOURCES ../../../../../../../day01-blocking/src/main/java/c10k/day01/harness/*.java

package c10k.day03.demo;

import c10k.day03.sys.Poll;
import c10k.day03.sys.Sockets;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * The polling loop of the source notes, next to poll(2): two ways to wait for the one line
 * that arrives on one of many idle non-blocking sockets.
 *
 * <p>{@link #busyPoll} asks every socket in turn, {@code recv} after {@code recv}, until one
 * has a whole line. A non-blocking {@code recv} on an idle socket returns at once with
 * {@code EAGAIN} ({@link Sockets#WOULD_BLOCK}), so the loop never sleeps: it burns a whole core
 * while nothing happens, and the number of fruitless calls grows with the waiting time times
 * the number of sockets. {@link #poll} hands the same list to the kernel once and sleeps until
 * one is ready: one call per wake-up, then one {@code recv} on the socket that is ready.
 *
 * <p>The counts are the lesson, and a test can count them; the clock is only for the reader:
 * {@code ./jbang day03-select-poll/src/main/java/c10k/day03/demo/BusyPollDemo.java} waits one second
 * for one line over 1,000 idle sockets each way and prints the calls and the CPU time spent.
 */
public final class BusyPollDemo {

    /** What one wait for one line cost. {@code fruitless}: recv calls that returned EAGAIN. */
    public record Cost(long recvCalls, long fruitless, long pollCalls, long sweeps, byte[] line) {
        @Override
        public String toString() {
            return "recv calls " + recvCalls + " (" + fruitless + " fruitless), poll calls " + pollCalls + ", sweeps " + sweeps;
        }
    }

    private BusyPollDemo() {
    }

    /**
     * Spins over {@code fds} (connected, non-blocking) with {@code recv} until one of them has
     * delivered a complete line; returns the line and the count of calls. {@code afterSweep}
     * gets the number of finished sweeps over all the fds (a test's hook: this loop has no other
     * way to say it is still waiting).
     */
    public static Cost busyPoll(int[] fds, LongConsumer afterSweep) throws SyscallException {
        Lines lines = new Lines(fds);
        long sweeps = 0;
        while (true) {
            for (int i = 0; i < fds.length; i++) {
                byte[] line = lines.recv(i);
                if (line != null) return new Cost(lines.recvCalls, lines.fruitless, 0, sweeps, line);
            }
            afterSweep.accept(++sweeps);
        }
    }

    /**
     * Waits in poll(2) for any of {@code fds} to be readable and reads only those that are,
     * until one has delivered a complete line. {@code beforePoll} gets the number of the poll
     * call about to be made (1 for the first).
     */
    public static Cost poll(int[] fds, LongConsumer beforePoll) throws SyscallException {
        Lines lines = new Lines(fds);
        long pollCalls = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(Poll.POLLFD, fds.length);
            for (int i = 0; i < fds.length; i++) Poll.set(set, i, fds[i], Poll.POLLIN);
            while (true) {
                beforePoll.accept(++pollCalls);
                if (Poll.poll(set, fds.length, -1) == 0) continue;   // EINTR: ask again
                for (int i = 0; i < fds.length; i++) {
                    if (Poll.revents(set, i) == 0) continue;
                    byte[] line = lines.recv(i);
                    if (line != null) return new Cost(lines.recvCalls, lines.fruitless, pollCalls, 0, line);
                }
            }
        }
    }

    /**
     * Each socket's bytes so far (a line may come in several pieces: TCP is a byte stream), and
     * the count of {@code recv} calls both loops are judged by.
     */
    private static final class Lines {
        final int[] fds;
        final byte[] buf = new byte[4096];
        final byte[][] partial;
        long recvCalls, fruitless;

        Lines(int[] fds) {
            this.fds = fds;
            partial = new byte[fds.length][0];
        }

        /** One {@code recv} on socket i: its line if that completed one, else null (nothing yet, or part of one). */
        byte[] recv(int i) throws SyscallException {
            recvCalls++;
            int n = Sockets.recv(fds[i], buf, 0, buf.length);
            if (n == Sockets.WOULD_BLOCK) {
                fruitless++;
                return null;
            }
            if (n == 0) throw new IllegalStateException("fd " + fds[i] + " closed before sending a line");
            byte[] sofar = Arrays.copyOf(partial[i], partial[i].length + n);
            System.arraycopy(buf, 0, sofar, partial[i].length, n);
            partial[i] = sofar;
            for (int k = 0; k < sofar.length; k++) {
                if (sofar[k] == '\n') return Arrays.copyOf(sofar, k + 1);
            }
            return null;
        }
    }

    /** Both loops wait a second for one line among 1,000 idle sockets (or the count given). */
    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        int listener = Sockets.listen("127.0.0.1", 0, 4096);
        List<SocketChannel> clients = new ArrayList<>();
        int[] fds = new int[count];
        try {
            int port = Sockets.localPort(listener);
            for (int i = 0; i < count; i++) {
                clients.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
                int fd;
                do fd = Sockets.accept(listener); while (fd == Sockets.WOULD_BLOCK);
                fds[i] = fd;
            }
            for (String how : List.of("busy-polling recv", "poll(2)")) {
                SocketChannel writer = clients.get(count - 1);
                Thread.ofPlatform().start(() -> {
                    try {
                        Thread.sleep(1000);   // a demonstration, not a test: the clock is the point here
                        writer.write(ByteBuffer.wrap("hello\n".getBytes(StandardCharsets.US_ASCII)));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                long cpuBefore = cpu.getCurrentThreadCpuTime();
                long wallBefore = System.nanoTime();
                Cost cost = how.startsWith("busy") ? busyPoll(fds, s -> { }) : poll(fds, c -> { });
                long cpuMs = (cpu.getCurrentThreadCpuTime() - cpuBefore) / 1_000_000;
                long wallMs = (System.nanoTime() - wallBefore) / 1_000_000;
                System.out.printf("%-18s over %,d idle sockets: %,d recv calls (%,d fruitless), %,d poll calls; CPU %,d ms of %,d ms waited%n",
                        how, count, cost.recvCalls(), cost.fruitless(), cost.pollCalls(), cpuMs, wallMs);
            }
        } finally {
            for (int fd : fds) if (fd > 0) Sockets.close(fd);
            for (SocketChannel c : clients) c.close();
            Sockets.close(listener);
        }
    }
}
