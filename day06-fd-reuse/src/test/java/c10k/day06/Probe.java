package c10k.day06;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/** What day 6's tests look at from outside the server: /proc/self/fd, and waits on the server's own state. */
final class Probe {

    static final Duration PATIENCE = Duration.ofSeconds(60);

    private Probe() {
    }

    /** What fd {@code n} names now, as {@code ls -l /proc/PID/fd} shows it ("socket:[123]", a path). */
    static String link(int n) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + n)).toString();
        } catch (IOException e) {
            return "(not open)";
        }
    }

    /** The highest fd number open in this process now. */
    static int highestOpenFd() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.mapToInt(p -> Integer.parseInt(p.getFileName().toString())).max().orElse(2);
        }
    }

    /** The fd number under which this process has {@code file} open. */
    static int fdOf(Path file) throws IOException {
        String target = file.toRealPath().toString();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> link(Integer.parseInt(p.getFileName().toString())).equals(target))
                    .mapToInt(p -> Integer.parseInt(p.getFileName().toString())).findFirst()
                    .orElseThrow(() -> new AssertionError(file + " is not open"));
        }
    }

    /** Waits until every slot is free again: the last client's placeholder is back. */
    static void awaitAllFree(PinnedServer s) {
        c10k.day01.Fds.await("every slot free", PATIENCE, () -> s.freeSlots() == s.slotCount());
    }
}
