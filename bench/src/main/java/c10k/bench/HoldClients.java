package c10k.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The hold's clients: {@code bench/c/hold_client.c}, compiled with {@code cc -O2}, one process
 * per open-files limit's worth of connections. Why C and not the bench's Java {@code LoadGen
 * --hold}: measured holding 15,000 connections, a LoadGen JVM grew by about 1,500 bytes per
 * connection (430 of them heap: a SocketChannel and its buffers) on top of 19 MB, where the C
 * client holds 8 bytes per connection in a process of about 0.2 MB; at a million connections
 * that is 2.5 GB of clients against 20 MB, which would be read as the server's or the kernel's.
 */
final class HoldClients {

    private HoldClients() {
    }

    /** Compiles the client into {@code into}; says in words why not when it cannot. */
    static Path compile(Path into) throws IOException, InterruptedException {
        String cc = HttpBench.which("cc");
        if (cc == null) throw new IOException("no C compiler (cc) on PATH; apt-get install -y gcc gives one");
        Path source = null;
        for (Path dir = Path.of("").toAbsolutePath(); dir != null && source == null; dir = dir.getParent()) {
            for (Path candidate : new Path[] {dir.resolve("bench/c/hold_client.c"), dir.resolve("c/hold_client.c")}) {
                if (Files.isRegularFile(candidate)) source = candidate;
            }
        }
        if (source == null) throw new IOException("bench/c/hold_client.c not found from " + Path.of("").toAbsolutePath());
        Path binary = into.resolve("hold_client");
        Process p = new ProcessBuilder(cc, "-O2", "-o", binary.toString(), source.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("cc -O2 failed: " + out.strip());
        return binary;
    }

    /** One client process; its figures as it last printed them. */
    static final class Client {
        final Process process;
        volatile long connected, echoed, failed, heldCount;
        private volatile boolean held;
        private final BlockingQueue<Long> echoedAgain = new ArrayBlockingQueue<>(4);

        private Client(Process process) {
            this.process = process;
            Thread.ofPlatform().daemon(true).name("hold-client-" + process.pid()).start(this::readLines);
        }

        static Client start(Path binary, int port, long first, long count, int perSource, int inFlight) throws IOException {
            Process p = new ProcessBuilder(binary.toString(), "--port", "" + port, "--first", "" + first, "--connections", "" + count,
                    "--per-source", "" + perSource, "--in-flight", "" + inFlight)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            return new Client(p);
        }

        /** "progress C E F", "held H E F", "echoed N F" (hold_client.c). */
        private void readLines() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
                String line;
                while ((line = in.readLine()) != null) {
                    String[] w = line.split(" ");
                    switch (w[0]) {
                        case "progress" -> {
                            connected = Long.parseLong(w[1]);
                            echoed = Long.parseLong(w[2]);
                            failed = Long.parseLong(w[3]);
                        }
                        case "held" -> {
                            heldCount = Long.parseLong(w[1]);
                            connected = heldCount;
                            echoed = Long.parseLong(w[2]);
                            failed = Long.parseLong(w[3]);
                            held = true;
                        }
                        case "echoed" -> echoedAgain.offer(Long.parseLong(w[1]));
                        default -> { }
                    }
                }
            } catch (IOException | RuntimeException gone) {
                // the client ended; alive() says so
            }
            echoedAgain.offer(0L);
        }

        boolean held() {
            return held;
        }

        boolean alive() {
            return process.isAlive();
        }

        ProcessHandle handle() {
            return process.toHandle();
        }

        void command(String line) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            in.flush();
        }

        /** How many came back exact after an "echo" command (0 if the client ended). */
        long awaitEchoed() throws InterruptedException {
            return echoedAgain.take();
        }

        /** The end of its stdin: it closes every connection (RST) and exits. */
        void close() {
            try {
                process.getOutputStream().close();
            } catch (IOException ignored) {
                // already gone
            }
        }

        void await(int seconds) {
            try {
                if (!process.waitFor(seconds, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
