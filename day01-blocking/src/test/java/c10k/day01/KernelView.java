package c10k.day01;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the kernel says about a server, for tests that must show that something does NOT
 * happen without waiting to see it not happen: a loop thread asleep in {@code epoll_wait}
 * (not runnable) with bytes still unread in its socket will not read them until an event
 * comes, and the kernel says both at once. Linux's {@code /proc} only.
 */
public final class KernelView {

    private KernelView() {
    }

    /** The calling thread's kernel id, from /proc/thread-self (a link to /proc/PID/task/TID). */
    public static String threadSelf() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The kernel ids of this process's threads named {@code name} (as the JVM names them for the
     * kernel, 15 characters at most): usually one, but an older server's thread of the same
     * name may not have ended yet. Where the server has a hook, a test asks the thread itself
     * ({@link #threadSelf}) instead.
     */
    public static java.util.List<String> threadsNamed(String name) {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        java.util.List<String> tids = new java.util.ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(task.resolve("comm")).trim().equals(comm)) tids.add(task.getFileName().toString());
                } catch (IOException ended) {
                    // that thread ended while we looked
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        if (tids.isEmpty()) throw new IllegalStateException("no thread named " + name);
        return tids;
    }

    /** Whether every thread named {@code name} sleeps (state S). */
    public static boolean allAsleep(String name) {
        for (String tid : threadsNamed(name)) if (!asleep(tid)) return false;
        return true;
    }

    /** Whether thread {@code tid} sleeps in the kernel (state S), whatever it waits for. */
    public static boolean asleep(String tid) {
        try {
            String stat = Files.readString(Path.of("/proc/self/task", tid, "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("S");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Whether thread {@code tid} of this process sleeps in epoll_wait: the call it is in
     * (epoll_wait 232, epoll_pwait 281, epoll_pwait2 441 on x86-64; epoll_pwait 22 on aarch64)
     * and its state, S (a woken thread is R until it runs).
     */
    public static boolean asleepInEpollWait(String tid) {
        try {
            String call = Files.readString(Path.of("/proc/self/task", tid, "syscall")).split(" ")[0].trim();
            boolean aarch64 = System.getProperty("os.arch").equals("aarch64");
            boolean inWait = aarch64 ? call.equals("22") || call.equals("441")
                    : call.equals("232") || call.equals("281") || call.equals("441");
            return inWait && asleep(tid);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The rx_queue of /proc/net/tcp (or tcp6) for the socket bound to {@code localPort} and
     * connected to {@code remotePort} (0 for a listener): the bytes received and not yet
     * read, or for a listener the connections waiting in its accept queue. -1 if not found.
     */
    public static long rxQueue(int localPort, int remotePort) {
        String local = String.format(":%04X", localPort), remote = String.format(":%04X", remotePort);
        // tcp6 too: a JDK socket is an IPv6 one even when bound to 127.0.0.1 (::ffff:127.0.0.1).
        for (String table : new String[] {"tcp", "tcp6"}) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/net", table))) {
                    String[] cols = line.trim().split("\\s+");
                    if (cols.length < 5 || !cols[1].endsWith(local) || !cols[2].endsWith(remote)) continue;
                    return Long.parseLong(cols[4].substring(cols[4].indexOf(':') + 1), 16);
                }
            } catch (IOException e) {
                // no IPv6 on this kernel
            }
        }
        return -1;
    }
}
