package c10k.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The hold side of nginx's memory row, in a process of its own as {@code LoadGen --hold} is for
 * the echo servers: opens N connections, sends one keep-alive {@code GET /} on each and reads
 * its whole answer, prints {@code HELD connections=N echoed=M} (M: answers with status 200),
 * then holds them all, idle, until its stdin closes.
 */
public final class HttpHold {

    private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    public static void main(String[] args) throws Exception {
        int port = 0, connections = 100;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--connections" -> connections = Integer.parseInt(args[++i]);
                case "--hold", "--line-size" -> {
                    if (args[i].equals("--line-size")) i++;   // accepted for LoadGen's command line; unused
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<SocketChannel> channels = new ArrayList<>(connections);
        for (int i = 0; i < connections; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.connect(new InetSocketAddress("127.0.0.1", port));
            channels.add(ch);
        }
        for (SocketChannel ch : channels) ch.write(ByteBuffer.wrap(REQUEST));
        int ok = 0;
        for (SocketChannel ch : channels) if (readAnswer(ch)) ok++;
        System.out.println("HELD connections=" + channels.size() + " echoed=" + ok);
        System.out.flush();
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        while (commands.readLine() != null) {
            // hold until the caller closes our stdin
        }
        for (SocketChannel ch : channels) ch.close();
    }

    /** Reads one response (headers, then Content-Length bytes of body); true for a 200. */
    private static boolean readAnswer(SocketChannel ch) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(4096);
        while (true) {
            if (ch.read(in) < 0) return false;
            String text = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            if (end < 0) continue;
            int length = 0;
            for (String line : text.substring(0, end).split("\r\n")) {
                if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) length = Integer.parseInt(line.substring(15).trim());
            }
            while (in.position() < end + 4 + length) {
                if (ch.read(in) < 0) return false;
            }
            return text.startsWith("HTTP/1.1 200");
        }
    }
}
