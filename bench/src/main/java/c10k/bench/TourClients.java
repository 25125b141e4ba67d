package c10k.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The tour's clients: plain blocking sockets, each call bounded by a timeout. */
final class TourClients {

    private TourClients() {
    }

    /** Connects {@code count} clients, one round trip each, and keeps them open. */
    static List<Socket> holdIdle(int port, int count) throws IOException {
        List<Socket> clients = new ArrayList<>(count);
        for (int i = 0; i < count; i++) clients.add(connect(port));
        for (Socket c : clients) c.getOutputStream().write("hi\n".getBytes(StandardCharsets.US_ASCII));
        for (Socket c : clients) readLine(c, 10_000);
        return clients;
    }

    /** Holds {@code count} clients at once, each echoes one line; returns how many did. */
    static int holdAndEcho(int port, int count) throws IOException {
        List<Socket> clients = new ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) clients.add(connect(port));
            for (int i = 0; i < count; i++) clients.get(i).getOutputStream().write(("client " + i + "\n").getBytes(StandardCharsets.US_ASCII));
            int ok = 0;
            for (int i = 0; i < count; i++) if (("client " + i).equals(readLine(clients.get(i), 10_000))) ok++;
            return ok;
        } finally {
            for (Socket c : clients) c.close();
        }
    }

    /** {@code clients} connections each send {@code bytes} of lines and read the echo back, concurrently. */
    static void stream(int port, int clients, int bytes) throws Exception {
        byte[] payload = new byte[bytes];
        for (int i = 0; i < bytes; i++) payload[i] = (byte) ((i % 64) == 63 ? '\n' : 'a' + i % 26);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try (Socket s = connect(port)) {
                    Thread writer = Thread.ofPlatform().start(() -> {
                        try {
                            OutputStream out = s.getOutputStream();
                            out.write(payload);
                            s.shutdownOutput();
                        } catch (IOException ignored) {
                            // reported by the reader's count
                        }
                    });
                    s.getInputStream().readAllBytes();
                    writer.join();
                } catch (Exception ignored) {
                    // the scene reports what the server counted
                }
            }));
        }
        for (Thread t : threads) t.join();
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setTcpNoDelay(true);
        return s;
    }

    /** One line (without its newline), or null if none arrives within {@code ms}. */
    static String readLine(Socket s, int ms) throws IOException {
        s.setSoTimeout(ms);
        StringBuilder line = new StringBuilder();
        try {
            int b;
            while ((b = s.getInputStream().read()) >= 0) {
                if (b == '\n') return line.toString();
                line.append((char) b);
            }
            return null;
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    static int threads(ServerProcess s) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(s.process.pid()), "status"))) {
            if (line.startsWith("Threads:")) return Integer.parseInt(line.replaceAll("\\D", ""));
        }
        return -1;
    }
}
