package c10k.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The C floor ({@code bench/c/echo_floor.c}): compiled with {@code cc -O2} into the run's scratch
 * folder when the machine has a C compiler, so every table can say how close the Java servers
 * come to what the kernel allows here. Without {@code cc}, or without the source (the bench run
 * from elsewhere than the repository), the floor is skipped and the report says why.
 */
final class Floor {

    static final class Unavailable extends Exception {
        Unavailable(String why) {
            super(why);
        }
    }

    private Floor() {
    }

    static Path compile(Path scratch) throws Unavailable, IOException, InterruptedException {
        String cc = HttpBench.which("cc");
        if (cc == null) throw new Unavailable("no C compiler (cc) on PATH; apt-get install -y gcc gives one");
        Path source = source();
        if (source == null) throw new Unavailable("bench/c/echo_floor.c not found from " + Path.of("").toAbsolutePath());
        Path binary = scratch.resolve("echo_floor");
        Process p = new ProcessBuilder(cc, "-O2", "-o", binary.toString(), source.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new Unavailable("cc -O2 failed: " + out.strip());
        return binary;
    }

    /** bench/c/echo_floor.c, looked for from the working directory up. */
    private static Path source() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            for (Path candidate : new Path[] {dir.resolve("bench/c/echo_floor.c"), dir.resolve("c/echo_floor.c")}) {
                if (Files.isRegularFile(candidate)) return candidate;
            }
        }
        return null;
    }
}
