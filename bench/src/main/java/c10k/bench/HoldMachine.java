package c10k.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the machine allows, read from /proc before a hold starts, and what a number of held
 * connections will ask of it. Loopback doubles everything the kernel holds: a connection is two
 * sockets here (the client's and the server's), two open files, two epoll registrations.
 *
 * @param openFilesPerProcess RLIMIT_NOFILE (each worker and each client process has it)
 * @param fileMax             fs.file-max: open files on the whole machine
 * @param filesInUse          the first field of fs.file-nr: open files now, everyone's
 * @param portLow             net.ipv4.ip_local_port_range, low end
 * @param portHigh            … high end: a source address has this many ports to one server address and port
 * @param memAvailable        MemAvailable, bytes
 * @param tcpMemPages         net.ipv4.tcp_mem: low, pressure, high, in pages
 * @param epollWatches        fs.epoll.max_user_watches (per user; every process of ours is one user)
 * @param conntrackMax        nf_conntrack_max, or -1 when loopback traffic is not tracked
 * @param processes           RLIMIT_NPROC: processes and threads of this user
 */
record HoldMachine(long openFilesPerProcess, long fileMax, long filesInUse, int portLow, int portHigh, long memAvailable,
                   long[] tcpMemPages, long epollWatches, long conntrackMax, long processes) {

    static final long PAGE = 4096;
    /** Kernel memory per socket, to plan with before it is measured (slab and buffers; measured here at 4.3 to 5.1 KB). */
    static final long KERNEL_PER_SOCKET = 5_200;
    /** A worker JVM with the hold's small heap, before its connections, and a few hundred bytes per connection on top. */
    static final long WORKER_BASE = 70L << 20, SERVER_PER_CONNECTION = 600;
    /** Threads a worker JVM runs (one loop, the collector, the compiler, the JDK's own). */
    static final int THREADS_PER_WORKER = 24;

    int portsPerPair() {
        return portHigh - portLow + 1;
    }

    /**
     * Connections one source address is given: 90% of half its ports. connect(2) tries the even
     * ports of the range first and turns to the odd ones only after it has looked at every even
     * one (Linux 4.6 on: odd ports are left to bind(2)), so past half the range each connect
     * scans some 14,000 ports: holding 19,000 connections from one address took 4 s of kernel
     * time here, and 0.7 s from two.
     */
    int perSource() {
        return Math.max(1, portsPerPair() / 2 * 9 / 10);
    }

    /** Connections one hold client process is given: its open-files limit, less its epoll fd and stdio. */
    long perClient() {
        return Math.max(1, openFilesPerProcess - 16);
    }

    static HoldMachine read() throws IOException {
        long nofile = ((com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getMaxFileDescriptorCount();
        String[] range = sysctl("net/ipv4/ip_local_port_range").split("\\s+");
        String[] tcpMem = sysctl("net/ipv4/tcp_mem").split("\\s+");
        long conntrack = -1;
        Path count = Path.of("/proc/sys/net/netfilter/nf_conntrack_count");
        // Conntrack only costs an entry per connection when some rule made the kernel track; an empty table says it does not.
        if (Files.exists(count) && Long.parseLong(sysctl("net/netfilter/nf_conntrack_count")) > 0) {
            conntrack = Long.parseLong(sysctl("net/netfilter/nf_conntrack_max"));
        }
        return new HoldMachine(nofile, Long.parseLong(sysctl("fs/file-max")), Long.parseLong(sysctl("fs/file-nr").split("\\s+")[0]),
                Integer.parseInt(range[0]), Integer.parseInt(range[1]), meminfo("MemAvailable"),
                new long[] {Long.parseLong(tcpMem[0]), Long.parseLong(tcpMem[1]), Long.parseLong(tcpMem[2])},
                Long.parseLong(sysctl("fs/epoll/max_user_watches")), conntrack, limit("Max processes"));
    }

    /**
     * What stands in the way of holding {@code n} connections, each in words with what to raise;
     * empty when nothing does. Said before anything starts, instead of failing half-way.
     */
    List<String> problems(long n, int workers, int clients) {
        List<String> out = new ArrayList<>();
        long files = 2 * n + (workers + clients) * 64L;
        if (filesInUse + files > fileMax) {
            out.add(String.format(Locale.ROOT, "%,d connections need about %,d open files on this machine (both ends are here) and "
                    + "fs.file-max is %,d with %,d in use: at most %,d connections fit; raise it (sysctl -w fs.file-max=%d) or hold fewer",
                    n, files, fileMax, filesInUse, (fileMax - filesInUse - (workers + clients) * 64L) / 2, (filesInUse + files) * 5 / 4));
        }
        long memory = 2 * n * KERNEL_PER_SOCKET + n * SERVER_PER_CONNECTION + workers * WORKER_BASE + clients * (4L << 20);
        if (memory > memAvailable * 9 / 10) {
            out.add(String.format(Locale.ROOT, "%,d connections need about %.1f GiB (%,d B of kernel memory per socket, two sockets each, "
                    + "and %d worker JVMs) and %.1f GiB are available: hold fewer, or free memory",
                    n, memory / (double) (1L << 30), KERNEL_PER_SOCKET, workers, memAvailable / (double) (1L << 30)));
        }
        if (2 * n > epollWatches) {
            out.add(String.format(Locale.ROOT, "%,d connections need %,d epoll registrations (server and clients) and "
                    + "fs.epoll.max_user_watches is %,d: raise it (sysctl -w fs.epoll.max_user_watches=%d)", n, 2 * n, epollWatches, 2 * n * 5 / 4));
        }
        if (conntrackMax >= 0 && n > conntrackMax) {
            out.add(String.format(Locale.ROOT, "the kernel tracks loopback connections (nf_conntrack) and nf_conntrack_max is %,d: "
                    + "%,d connections would be dropped past it; raise it or stop tracking loopback", conntrackMax, n));
        }
        long threads = workers * (long) THREADS_PER_WORKER + clients + 64;
        if (threads > processes) {
            out.add(String.format(Locale.ROOT, "%d worker JVMs and %d clients run about %,d threads and this user may run %,d "
                    + "(ulimit -u): raise it", workers, clients, threads, processes));
        }
        if (openFilesPerProcess < 1_024) {
            out.add("the open-files limit is " + openFilesPerProcess + " per process: raise it (ulimit -n 20000) so that a worker holds thousands");
        }
        if (portsPerPair() < 1_000) {
            out.add("net.ipv4.ip_local_port_range gives " + portsPerPair() + " ports: widen it, or many source addresses are needed");
        }
        return out;
    }

    /** A file under /proc/sys, read line by line: Files.readString trusts the size a /proc file reports, and may stop short. */
    static String sysctl(String name) throws IOException {
        return String.join(" ", Files.readAllLines(Path.of("/proc/sys", name))).trim();
    }

    /** A line of /proc/meminfo, in bytes. */
    static long meminfo(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        throw new IOException("no " + field + " in /proc/meminfo");
    }

    /** A field of a line of /proc/net/sockstat, e.g. ("TCP:", "mem"), ("sockets:", "used"). */
    static long sockstat(String line, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/net/sockstat"))) {
            if (!l.startsWith(line)) continue;
            String[] w = l.split("\\s+");
            for (int i = 1; i + 1 < w.length; i++) if (w[i].equals(field)) return Long.parseLong(w[i + 1]);
        }
        throw new IOException("no " + line + " " + field + " in /proc/net/sockstat");
    }

    /** A counter of /proc/net/netstat's TcpExt lines (a line of names, then a line of values), e.g. ListenOverflows. */
    static long tcpExt(String name) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (!lines.get(i).startsWith("TcpExt:")) continue;
            List<String> names = List.of(lines.get(i).split("\\s+"));
            String[] values = lines.get(i + 1).split("\\s+");
            int at = names.indexOf(name);
            return at > 0 ? Long.parseLong(values[at]) : 0;
        }
        return 0;
    }

    /** Bytes in use in each named slab cache (active objects times object size), from /proc/slabinfo; empty where it cannot be read (not root). */
    static java.util.Map<String, Long> slabCaches(List<String> names) {
        java.util.Map<String, Long> out = new java.util.LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/slabinfo"))) {
                String[] w = line.split("\\s+");
                if (w.length > 3 && names.contains(w[0])) out.put(w[0], Long.parseLong(w[1]) * Long.parseLong(w[3]));
            }
        } catch (IOException | RuntimeException e) {
            out.clear();
        }
        return out;
    }

    /** A soft limit of this process from /proc/self/limits; unlimited as Long.MAX_VALUE. */
    static long limit(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith(name)) {
                String soft = line.substring(name.length()).trim().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        return Long.MAX_VALUE;
    }
}
