package c10k.day01.harness;

import c10k.day01.EchoServer;

import c10k.day01.harness.StartError;

import java.util.Locale;

/**
 * Why a server could not start, in words its user can act on, rather than a system call's
 * name and an errno. The three a learner meets first: the port is taken (an earlier run still
 * going), the address is not one of this machine's (a typo, or another machine's address), and
 * a port below 1024 without privileges.
 *
 * <p>Both the JDK's {@link java.net.BindException} (days 1 to 3) and day 3's
 * {@code SyscallException} (the FFM servers) carry strerror(3)'s words ("Address already in
 * use", "cannot assign requested address"), so they are recognised by those, whatever the
 * exception's type; day 1 cannot name day 3's classes.
 */
final class StartError {

    private StartError() {
    }

    static String inWords(Throwable e, String host, int port) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("address already in use")) {   // EADDRINUSE
                return "port " + port + " is in use: is another server running? --port 0 picks a free one";
            }
            if (m.contains("cannot assign requested address")) {   // EADDRNOTAVAIL
                return "address " + host + " is not on this machine (`ip -4 addr` lists its addresses; 127.0.0.1 always is)";
            }
            if (m.contains("permission denied") && port < 1024) {   // EACCES
                return "port " + port + " needs privileges, as every port below 1024 does: pick one from 1024 up";
            }
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /** Releases what a server that failed to start may already hold. */
    static void closeQuietly(EchoServer server) {
        try {
            server.close();
        } catch (RuntimeException ignored) {
            // it never started; nothing more to release
        }
    }
}
