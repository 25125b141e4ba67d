package c10k.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The hold's figures: snapshots of the machine (before the server, with the server and no
 * client, with every connection held) and the two tables made of them: what a connection cost,
 * and which limit the next step meets first.
 */
record HoldFigures(long n, long held, long echoedOnce, long echoedAgain, double connectSeconds, double echoSeconds, int workers,
                   int clients, int sources, HoldMachine machine, Snapshot before, Snapshot empty, Snapshot full) {

    /**
     * One reading. Slab and TCP memory are the whole machine's: other programs' changes fall on
     * them too, which is why they are read as differences over a million sockets, not over ten.
     */
    record Snapshot(long slab, long tcpMemPages, long tcpInUse, long socketsUsed, long memAvailable, long filesInUse,
                    long serverRss, long clientRss, long workerHeap, long worker1Fds, long largestWorkerFds, long listenOverflows,
                    java.util.Map<String, Long> caches) {

        static Snapshot take(ProcessHandle master, List<ProcessHandle> workers, List<ProcessHandle> clients) throws IOException {
            // The machine's figures first: listing /proc/PID/fd makes a proc inode and a dentry
            // for every fd listed (about 900 bytes of slab each), which would be charged to the sockets.
            long slab = HoldMachine.meminfo("Slab"), tcpMem = HoldMachine.sockstat("TCP:", "mem");
            long tcpInUse = HoldMachine.sockstat("TCP:", "inuse"), socketsUsed = HoldMachine.sockstat("sockets:", "used");
            long available = HoldMachine.meminfo("MemAvailable"), overflows = HoldMachine.tcpExt("ListenOverflows");
            long files = Long.parseLong(HoldMachine.sysctl("fs/file-nr").split("\\s+")[0]);
            java.util.Map<String, Long> caches = HoldMachine.slabCaches(SOCKET_CACHES);
            long serverRss = master == null ? 0 : ServerProcess.rssOf(master);
            long clientRss = 0;
            for (ProcessHandle c : clients) clientRss += ServerProcess.rssOf(c);
            long largest = 0;
            for (ProcessHandle w : workers) largest = Math.max(largest, fds(w));
            long heap = 0, fds1 = 0;
            if (!workers.isEmpty()) {
                heap = heapAfterGc(workers.getFirst());
                fds1 = fds(workers.getFirst());
            }
            return new Snapshot(slab, tcpMem, tcpInUse, socketsUsed, available, files, serverRss, clientRss, heap, fds1, largest, overflows, caches);
        }
    }

    /**
     * The slab caches a socket's objects live in: its struct tcp_sock, its inode (a socket is a
     * file), its dentry, its struct file, and its epoll registration.
     */
    static final List<String> SOCKET_CACHES = List.of("TCP", "sock_inode_cache", "dentry", "filp", "eventpoll_epi");

    String table() {
        long sockets = full.tcpInUse - before.tcpInUse;
        double slabPerSocket = (full.slab - empty.slab) / (double) Math.max(1, sockets);
        double tcpPerSocket = (full.tcpMemPages - empty.tcpMemPages) * HoldMachine.PAGE / (double) Math.max(1, sockets);
        double rssPerConn = (full.serverRss - empty.serverRss) / (double) Math.max(1, held);
        long worker1Conns = full.worker1Fds - empty.worker1Fds;
        double heapPerConn = (full.workerHeap - empty.workerHeap) / (double) Math.max(1, worker1Conns);
        List<String[]> rows = new ArrayList<>();
        rows.add(row("connections held", "%,d of %,d", held, n));
        rows.add(row("echoed when opened / again while all held", "%,d / %,d", echoedOnce, echoedAgain));
        rows.add(row("time to connect (and echo once) / to echo again", "%.1f s / %.1f s", connectSeconds, echoSeconds));
        rows.add(row("worker processes (day 5, one loop each)", "%d, the fullest with %,d open files of %,d", workers, full.largestWorkerFds,
                machine.openFilesPerProcess()));
        rows.add(row("client processes (hold_client.c) / source addresses", "%d / %d", clients, sources));
        rows.add(row("server, user space: resident (all workers) per connection", "%,.0f B (%,.0f MiB for the master and workers before the first client)",
                rssPerConn, empty.serverRss / 1048576.0));
        rows.add(row("server, user space: heap per connection (worker 1, after a full GC)", "%,.0f B (%,d connections)", heapPerConn, worker1Conns));
        rows.add(row("clients, resident, all processes", "%,.1f MiB", full.clientRss / 1048576.0));
        rows.add(row("kernel: sockets (TCP in use, both ends)", "%,d", sockets));
        rows.add(row("kernel: slab per socket (/proc/meminfo Slab)", "%,.0f B (%,.0f MiB in all)", slabPerSocket, (full.slab - empty.slab) / 1048576.0));
        if (!full.caches.isEmpty()) {
            StringBuilder b = new StringBuilder();
            for (String cache : SOCKET_CACHES) {
                long grew = full.caches.getOrDefault(cache, 0L) - empty.caches.getOrDefault(cache, 0L);
                b.append(b.isEmpty() ? "" : ", ").append(fmt("%s %,.0f", cache, grew / (double) Math.max(1, sockets)));
            }
            rows.add(row("kernel: of which, per socket, in bytes (/proc/slabinfo)", "%s", b));
        }
        rows.add(row("kernel: TCP buffer memory per socket (sockstat TCP mem)", "%,.0f B (%,d pages in all)", tcpPerSocket,
                full.tcpMemPages - empty.tcpMemPages));
        rows.add(row("accept queues that overflowed (TcpExt ListenOverflows, whole machine)", "%,d", full.listenOverflows - empty.listenOverflows));
        rows.add(row("memory available: before / while held", "%.1f GiB / %.1f GiB", before.memAvailable / 1073741824.0,
                full.memAvailable / 1073741824.0));
        return markdown(List.of("what", "measured"), rows);
    }

    /**
     * Each limit the next step (twice as many connections) could meet, with what one connection
     * takes of it as measured, and how many connections it allows; the first to run out is said.
     */
    String ceilings() {
        long next = 2 * n;
        // What a connection takes, counted where it is held: the kernel's slab for two sockets,
        // the workers' and clients' growth, and its share of a worker JVM's fixed cost. Not the
        // drop of MemAvailable: that counts reclaimable slab (a socket's inode and dentry) as
        // available, and an open socket's cannot be reclaimed.
        long sockets = Math.max(1, full.tcpInUse - before.tcpInUse);
        double perConnection = 2.0 * (full.slab - empty.slab) / sockets
                + (double) (full.serverRss - empty.serverRss + full.clientRss) / Math.max(1, held);
        double jvmShare = empty.serverRss / (double) workers / Math.max(1, n / workers);
        long memRoom = (long) (before.memAvailable / (perConnection + jvmShare));
        long fileRoom = (machine.fileMax() - before.filesInUse) / 2;
        long tcpPages = full.tcpMemPages - empty.tcpMemPages;
        long watchRoom = machine.epollWatches() / 2;
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"open files per process (RLIMIT_NOFILE)", fmt("%,d", machine.openFilesPerProcess()),
                fmt("%,d in the fullest worker", full.largestWorkerFds),
                fmt("no ceiling: more processes (%d workers, %d clients at %,d)", hx(next, machine.openFilesPerProcess()), cx(next), next)});
        rows.add(new String[] {"ephemeral ports per address pair (ip_local_port_range)", fmt("%,d", machine.portsPerPair()),
                fmt("%,d per source address", Math.min(n, machine.perSource())),
                fmt("no ceiling: more source addresses (%d at %,d; 127/8 has 16 million)", (next + machine.perSource() - 1) / machine.perSource(), next)});
        rows.add(new String[] {"open files on the machine (fs.file-max)", fmt("%,d", machine.fileMax()), fmt("%,d", full.filesInUse),
                fmt("%,d connections (2 files each)", fileRoom)});
        rows.add(new String[] {"memory (MemAvailable before the hold)", fmt("%.1f GiB", before.memAvailable / 1073741824.0),
                fmt("%,.0f B per connection (both sockets, both programs) + %,.0f B of a worker JVM", perConnection, jvmShare),
                fmt("%,d connections", memRoom)});
        rows.add(new String[] {"TCP buffer memory (tcp_mem, pages)", fmt("%,d / %,d / %,d", machine.tcpMemPages()[0], machine.tcpMemPages()[1],
                machine.tcpMemPages()[2]), fmt("%,d pages while all are idle", full.tcpMemPages),
                tcpPages <= held / 100 ? fmt("not by idle connections; about %,d lines in flight at once", machine.tcpMemPages()[2] / 2)
                        : fmt("%,d connections", machine.tcpMemPages()[2] * held / tcpPages)});
        rows.add(new String[] {"epoll registrations (fs.epoll.max_user_watches)", fmt("%,d", machine.epollWatches()), fmt("%,d", 2 * held),
                fmt("%,d connections", watchRoom)});
        long first = Math.min(fileRoom, Math.min(memRoom, watchRoom));
        String which = first == fileRoom ? "fs.file-max" : first == memRoom ? "memory" : "fs.epoll.max_user_watches";
        String verdict = first >= next
                ? fmt("At the next step, %,d connections, nothing above runs out; the first limit is %s, at about %,d.%n", next, which, first)
                : fmt("At the next step, %,d connections, %s runs out first: it allows about %,d%s.%n", next, which, first,
                        first == fileRoom ? " (to a process without CAP_SYS_ADMIN: the kernel lets root past fs.file-max)" : "");
        return markdown(List.of("limit", "on this machine", "in use now", "allows"), rows) + "\n" + verdict;
    }

    private int hx(long connections, long openFiles) {
        return c10k.day05.Master.workersFor(connections, openFiles);
    }

    private long cx(long connections) {
        return (connections + machine.perClient() - 1) / machine.perClient();
    }

    /** Sockets whose local or remote port is {@code port}, from /proc/net/tcp: what the hold left behind. */
    static long socketsOnPort(int port) {
        String hex = String.format(Locale.ROOT, ":%04X ", port);
        try (Stream<String> lines = Files.lines(Path.of("/proc/net/tcp"))) {
            return lines.skip(1).filter(l -> {
                String[] w = l.trim().split("\\s+");
                return (w[1] + " ").endsWith(hex) || (w[2] + " ").endsWith(hex);
            }).count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static long fds(ProcessHandle p) {
        try (Stream<Path> s = Files.list(Path.of("/proc", "" + p.pid(), "fd"))) {
            return s.count();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Heap in use after a full collection, through jcmd (GC.run, then GC.heap_info: the generations' "used"). */
    private static long heapAfterGc(ProcessHandle worker) {
        try {
            jcmd(worker, "GC.run");
            long used = 0;
            for (String line : jcmd(worker, "GC.heap_info").lines().toList()) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("used (\\d+)K").matcher(line);
                if (line.contains(" total ") && !line.contains(" space ") && m.find()) used += Long.parseLong(m.group(1)) * 1024;
            }
            return used;
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    private static String jcmd(ProcessHandle p, String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(ServerProcess.javaBin()).resolveSibling("jcmd");
        Process j = new ProcessBuilder(jcmd.toString(), "" + p.pid(), command).redirectErrorStream(true).start();
        String out = new String(j.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        j.waitFor();
        return out;
    }

    private static String[] row(String what, String format, Object... args) {
        return new String[] {what, fmt(format, args)};
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    private static String markdown(List<String> head, List<String[]> rows) {
        StringBuilder b = new StringBuilder("| " + String.join(" | ", head) + " |\n|");
        for (int i = 0; i < head.size(); i++) b.append(i == 0 ? "---|" : "---:|");
        b.append('\n');
        for (String[] r : rows) b.append("| ").append(String.join(" | ", r)).append(" |\n");
        return b.toString();
    }
}
