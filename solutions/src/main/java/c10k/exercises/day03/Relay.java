package c10k.exercises.day03;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * Day 3, exercise 3: a TCP relay in a selector loop. A client connects; the loop opens a
 * connection to an upstream server and from then on passes bytes both ways. Day 3's server
 * reads and writes one socket; here every byte read from one socket is written to the other,
 * so what each key watches depends on the state of the other side. The lessons of exercises 1
 * and 2 apply, to two sockets and two directions at once; this class stands alone (it does not
 * use {@link WritePath} or {@link Backpressure}).
 *
 * <p>The solution: one small state per direction (the bytes it holds, whether its source has
 * ended, whether that end was passed on), and both keys' interest computed from both
 * directions after every event, whichever key it came on. See the skeleton for the contract.
 *
 * <p><b>Check</b>: {@code ./jbang check day03}. Tests: {@code RelayTest}.
 */
public final class Relay {

    /** Bytes on their way from one socket to the other. */
    private static final class Direction {
        final SocketChannel from;
        final SocketChannel to;
        /** Write mode: [0, position) is held, read from {@code from} and not yet written to {@code to}. */
        final ByteBuffer held;
        /** {@code from} sent its FIN: read returned -1. */
        boolean ended;
        /** That FIN was passed on: {@code to} is shut down for output. */
        boolean finSent;

        Direction(SocketChannel from, SocketChannel to, int bound) {
            this.from = from;
            this.to = to;
            this.held = ByteBuffer.allocate(bound);   // the bound is the buffer: it cannot grow
        }

        /**
         * Read the source only while there is room: a full direction leaves the peer's bytes in
         * the kernel, whose window then closes and stops the sender. And never after its FIN:
         * a socket at end of stream is readable for ever, and a level-triggered wait would spin.
         */
        boolean wantsRead() {
            return !ended && held.hasRemaining();
        }

        /** OP_WRITE only while bytes wait: a socket with room in its send buffer is always writable. */
        boolean wantsWrite() {
            return held.position() > 0;
        }

        void read() throws IOException {
            if (!wantsRead()) return;
            if (from.read(held) < 0) ended = true;
        }

        /** Sends what the kernel takes now; the FIN only once every byte before it is written. */
        void write() throws IOException {
            if (held.position() > 0) {
                to.write(held.flip());
                held.compact();
            }
            // shutdown(2) queues the FIN behind what the socket already holds, so it may go now,
            // but not while bytes are still here: those would be written after it, and fail.
            if (ended && !finSent && held.position() == 0) {
                to.shutdownOutput();
                finSent = true;
            }
        }
    }

    private final SelectionKey client;
    private final SelectionKey upstream;
    private final Direction up;
    private final Direction down;
    private boolean closed;

    /**
     * @param client   the client's key (registered, watching nothing yet)
     * @param upstream the upstream's key (registered, watching nothing yet)
     * @param bound    the most bytes the relay may hold for one direction
     */
    public Relay(SelectionKey client, SelectionKey upstream, int bound) {
        this.client = client;
        this.upstream = upstream;
        SocketChannel c = (SocketChannel) client.channel();
        SocketChannel u = (SocketChannel) upstream.channel();
        this.up = new Direction(c, u, bound);
        this.down = new Direction(u, c, bound);
        updateInterest();
    }

    /** The selector reported {@code key} (the client's or the upstream's) ready. */
    public void onReady(SelectionKey key) {
        if (closed) return;
        Direction in = key == client ? up : down;     // the direction this socket is the source of
        Direction out = key == client ? down : up;    // the direction it is the destination of
        try {
            if (key.isWritable()) out.write();
            if (key.isReadable()) {
                in.read();
                in.write();                           // send first: the other socket most likely has room
            }
            if (up.finSent && down.finSent) {
                close();                              // both ways over, every byte delivered
                return;
            }
            updateInterest();
        } catch (IOException e) {
            close();   // a reset or a broken pipe on either side ends the pair: neither half is any use alone
        }
    }

    /**
     * Each key's interest comes from both directions: reading a socket depends on its outgoing
     * direction's room, writing it on its incoming direction's bytes. An event on one key can
     * change what the other must watch (writing to the upstream frees room to read the client).
     */
    private void updateInterest() {
        client.interestOps((up.wantsRead() ? SelectionKey.OP_READ : 0) | (down.wantsWrite() ? SelectionKey.OP_WRITE : 0));
        upstream.interestOps((down.wantsRead() ? SelectionKey.OP_READ : 0) | (up.wantsWrite() ? SelectionKey.OP_WRITE : 0));
    }

    private void close() {
        closed = true;
        closeQuietly(up.from);
        closeQuietly(up.to);
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();   // also cancels its key
        } catch (IOException ignored) {
            // close(2) frees the descriptor even when it reports an error: nothing to retry
        }
    }
}
