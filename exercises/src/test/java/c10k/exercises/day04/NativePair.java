package c10k.exercises.day04;

import c10k.day01.TestClient;
import c10k.day03.sys.Sockets;
import c10k.exercises.Expect;
import java.util.concurrent.locks.LockSupport;

/** One TCP connection made with day 3's FFM sockets: the server end a raw non-blocking fd, the client a TestClient. */
final class NativePair implements AutoCloseable {

    final TestClient client;
    final int fd;

    NativePair() throws Exception {
        int listenFd = Sockets.listen("127.0.0.1", 0, 16);
        try {
            client = Expect.client(Sockets.localPort(listenFd));
            int accepted = Sockets.WOULD_BLOCK;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (accepted == Sockets.WOULD_BLOCK && System.nanoTime() < deadline) {
                accepted = Sockets.accept(listenFd);   // connect() returned: the kernel has (or is about to have) it queued
                if (accepted == Sockets.WOULD_BLOCK) LockSupport.parkNanos(100_000);
            }
            if (accepted < 0) throw new IllegalStateException("the test could not accept its own connection");
            fd = accepted;
        } finally {
            Sockets.close(listenFd);
        }
    }

    @Override
    public void close() throws Exception {
        Sockets.close(fd);
        client.close();
    }
}
