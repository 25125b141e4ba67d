package c10k.day01;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Counts this process's open descriptors that a server can leak: internet sockets, pipes,
 * and the kernel objects behind {@code anon_inode} (epoll instances, eventfds).
 *
 * <p>Left out on purpose, because the JDK opens them once, lazily, and keeps them, which is
 * not a leak of the server's: regular files (jar files are opened the first time a class is
 * loaded from them), and Unix sockets (the first time a socket is closed while another
 * thread is blocked on it, the JDK makes a half-closed Unix socketpair and keeps one end for
 * good; it {@code dup2}s that end over the socket's fd before the real close, so the blocked
 * thread wakes up and the fd number cannot be reused meanwhile: day 6 tells why that
 * matters).
 */
public final class Fds {

    private static final Path PROC_FD = Path.of("/proc/self/fd");

    private Fds() {
    }

    public static boolean supported() {
        return Files.isDirectory(PROC_FD);
    }

    /** The descriptors a server could leak, as "fd -> target" strings. */
    public static List<String> leakable() {
        List<String> out = new ArrayList<>();
        java.util.Set<String> unix = unixSocketInodes();
        try (Stream<Path> fds = Files.list(PROC_FD)) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    boolean internetSocket = target.startsWith("socket:[")
                            && !unix.contains(target.substring(8, target.length() - 1));
                    if (internetSocket || target.startsWith("pipe:") || target.startsWith("anon_inode:")) {
                        out.add(fd.getFileName() + " -> " + target);
                    }
                } catch (IOException e) {
                    // closed while we listed it (the directory stream's own fd, for one)
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + PROC_FD, e);
        }
        return out;
    }

    /** Adds to "socket:[inode]" what kind of socket it is, from /proc/self/net. */
    static String describe(String fd) {
        int open = fd.indexOf("socket:[");
        if (open < 0) return fd;
        String inode = fd.substring(open + 8, fd.length() - 1);
        for (String table : List.of("tcp", "tcp6", "udp", "udp6", "unix", "netlink")) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/net", table))) {
                    String[] cols = line.trim().split("\\s+");
                    if (List.of(cols).contains(inode)) return fd + " (" + table + ": " + line.trim() + ")";
                }
            } catch (IOException e) {
                // table not there on this kernel
            }
        }
        return fd;
    }

    /**
     * The descriptor count to compare against after a test, taken once the JDK has made the
     * descriptors it makes once per process and keeps: the first virtual thread that blocks
     * on a socket starts the JDK's pollers, each with an epoll fd of its own.
     */
    public static synchronized int baseline() {
        if (!warmedUp) {
            warmUpVirtualThreadPoller();
            warmedUp = true;
        }
        return count();
    }

    private static boolean warmedUp;

    private static void warmUpVirtualThreadPoller() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket listener = new ServerSocket(0, 1, loopback);
             Socket client = new Socket(loopback, listener.getLocalPort());
             Socket accepted = listener.accept()) {
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    accepted.getInputStream().read();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            // A parked virtual thread is WAITING: its socket is now registered with a poller.
            await("a virtual thread parked in read()", Duration.ofSeconds(10), () -> reader.getState() == Thread.State.WAITING);
            client.getOutputStream().write('x');
            reader.join();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("JDK warm-up failed", e);
        }
    }

    private static java.util.Set<String> unixSocketInodes() {
        java.util.Set<String> inodes = new java.util.HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/net/unix"))) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length >= 7) inodes.add(cols[6]);
            }
        } catch (IOException e) {
            // no /proc/self/net/unix: count them all
        }
        return inodes;
    }

    public static int count() {
        return leakable().size();
    }

    /**
     * Bounded polling for a condition that another thread will make true: returns as soon as
     * it holds, fails after {@code limit}. Used where a server has no hook to wait on, such
     * as the kernel finishing a close.
     */
    public static void await(String what, Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for: " + what);
            LockSupport.parkNanos(200_000);   // poll gently: another thread is making it true
        }
    }

    /** Waits until the leakable descriptors are back to {@code baseline}, or fails listing them. */
    public static void awaitNoLeak(int baseline) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (count() > baseline) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("descriptors leaked: " + count() + " open, " + baseline
                        + " before the server started: " + leakable().stream().map(Fds::describe).toList());
            }
            LockSupport.parkNanos(200_000);
        }
    }
}
