package c10k.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads the socket options a server really set on its accepted sockets, from outside the
 * server: finds one of its established connections in {@code /proc/PID/net/tcp}, maps the
 * socket's inode to the server's fd through {@code /proc/PID/fd}, copies that fd into this
 * process with {@code pidfd_getfd(2)} (Linux 5.6; the same permission as ptrace, which root
 * has) and calls {@code getsockopt} on the copy. The copy shares the open file description, so
 * what it reads is the server's socket; closing the copy leaves the server's fd alone.
 *
 * <p>A client-side getsockopt would only show the load generator's own options, which is
 * why this looks at the server's end.
 */
final class SocketProbe {

    private static final long SYS_PIDFD_OPEN = 434, SYS_PIDFD_GETFD = 438;   // x86-64 and aarch64 alike
    private static final int IPPROTO_TCP = 6, TCP_NODELAY = 1, SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8;

    private static final Linker LINKER = Linker.nativeLinker();
    /** long syscall(long number, ...): the arguments passed as longs, which is what the kernel's registers hold. */
    private static final MethodHandle SYSCALL3 = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    /** int getsockopt(int fd, int level, int name, void *value, socklen_t *length) */
    private static final MethodHandle GETSOCKOPT = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("getsockopt"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    /** int close(int fd) */
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("close"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private SocketProbe() {
    }

    /**
     * The options of one established server-side socket on {@code port} in process {@code pid}
     * (or any of its descendants, for nginx's workers), as "TCP_NODELAY on, SO_SNDBUF ..., SO_RCVBUF ...",
     * or a sentence saying why it could not be read.
     */
    static String accepted(long pid, int port) {
        try {
            List<Long> pids = new java.util.ArrayList<>(List.of(pid));
            ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
            Set<Long> inodes = established(pid, port);
            if (inodes.isEmpty()) return "no established connection to read options from";
            for (long p : pids) {
                Integer fd = fdOf(p, inodes);
                if (fd != null) return options(p, fd);
            }
            // io_uring's registered (fixed) files are not in the fd table: nothing to copy from outside
            return "not readable: the established socket has no fd in the server's table (an io_uring fixed file?)";
        } catch (Throwable t) {
            return "could not read (" + t.getMessage() + ")";
        }
    }

    /**
     * Waits (up to {@code millis}) until the server on {@code port} holds no established
     * connection, so that closing 10,000 idle ones is not charged to the next run.
     */
    static void awaitNoConnections(long pid, int port, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < deadline) {
            try {
                // CLOSE_WAIT (08): the client has closed, the server has not yet; that is the work to wait for
                if (sockets(pid, port, Set.of("01", "08")).isEmpty()) return;
            } catch (IOException | RuntimeException e) {
                return;   // cannot tell: do not hold the run up
            }
            Thread.sleep(50);
        }
    }

    /** Inodes of sockets in state ESTABLISHED (01) whose local port is {@code port}. */
    private static Set<Long> established(long pid, int port) throws IOException {
        return sockets(pid, port, Set.of("01"));
    }

    /**
     * Inodes of the TCP sockets in one of {@code states} (hex, as /proc/net/tcp writes them) whose
     * local port is {@code port}: the server's ends, since the clients' local ports are their own.
     */
    private static Set<Long> sockets(long pid, int port, Set<String> states) throws IOException {
        Set<Long> inodes = new HashSet<>();
        for (String file : List.of("tcp", "tcp6")) {
            Path p = Path.of("/proc", Long.toString(pid), "net", file);
            if (!Files.exists(p)) continue;
            for (String line : Files.readAllLines(p)) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 10 || !states.contains(f[3])) continue;
                String local = f[1];
                int localPort = Integer.parseInt(local.substring(local.indexOf(':') + 1), 16);
                if (localPort == port) inodes.add(Long.parseLong(f[9]));
            }
        }
        return inodes;
    }

    private static Integer fdOf(long pid, Set<Long> inodes) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (IOException gone) {
                    continue;
                }
                if (target.startsWith("socket:[") && inodes.contains(Long.parseLong(target.substring(8, target.length() - 1)))) {
                    return Integer.parseInt(fd.getFileName().toString());
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static String options(long pid, int targetFd) throws Throwable {
        int pidfd = (int) (long) SYSCALL3.invokeExact(SYS_PIDFD_OPEN, pid, 0L, 0L);
        if (pidfd < 0) return "pidfd_open failed";
        try {
            int fd = (int) (long) SYSCALL3.invokeExact(SYS_PIDFD_GETFD, (long) pidfd, (long) targetFd, 0L);
            if (fd < 0) return "pidfd_getfd failed (needs ptrace permission)";
            try (Arena arena = Arena.ofConfined()) {
                return String.format(Locale.ROOT, "TCP_NODELAY %s, SO_SNDBUF %,d, SO_RCVBUF %,d",
                        get(arena, fd, IPPROTO_TCP, TCP_NODELAY) != 0 ? "on" : "off",
                        get(arena, fd, SOL_SOCKET, SO_SNDBUF), get(arena, fd, SOL_SOCKET, SO_RCVBUF));
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } finally {
            int ignored = (int) CLOSE.invokeExact(pidfd);
        }
    }

    private static int get(Arena arena, int fd, int level, int name) throws Throwable {
        MemorySegment value = arena.allocate(JAVA_INT);
        MemorySegment length = arena.allocateFrom(JAVA_INT, 4);
        int rc = (int) GETSOCKOPT.invokeExact(fd, level, name, value, length);
        if (rc < 0) throw new IOException("getsockopt failed");
        return value.get(JAVA_INT, 0);
    }
}
