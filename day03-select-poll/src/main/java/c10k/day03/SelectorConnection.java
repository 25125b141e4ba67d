package c10k.day03;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import c10k.day01.harness.Stats;
import c10k.day01.harness.Timeouts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * One client of {@link SelectorEchoServer} and its turns: what to do when the selector says
 * its channel is readable or writable, and what to ask the selector for next. The loop around
 * it (wait, accept, clocks, shutdown) is the server's; everything that decides what happens to
 * one client is here: read and frame, send first, backpressure, the lingering close.
 *
 * <p>Its life: open, then finishing (end of stream, error line, timeout or shutdown: nothing
 * more is read as requests, what is owed is flushed), then either closed at once (the peer
 * sent FIN and has every answer) or lingering (our FIN is out, input is read only to be
 * dropped) until the peer closes or the drain clock runs out. Loop thread only.
 */
final class SelectorConnection {

    private static final System.Logger LOG = c10k.day01.harness.Log.logger("day03.selector");
    /** One read's worth; it also bounds what one read can add to an outbox. */
    private static final int READ_BUFFER = 64 * 1024;

    /**
     * What the loop lends every connection during its turn: the buffers of one read, the three
     * clocks, the time of this turn, the figures. One per loop; idle connections hold none of it.
     */
    static final class Loop {
        // On the heap: the JDK reads into a cached per-thread direct buffer and copies from it.
        final ByteBuffer readBuffer = ByteBuffer.allocate(READ_BUFFER);
        /** Answers to one read: at most its bytes, plus a line start held back from earlier reads
         *  (under MAX_LINE), plus the error line. So it never overflows. */
        final ByteBuffer replies = ByteBuffer.allocate(READ_BUFFER + Protocol.MAX_LINE + Protocol.ERR_LINE_TOO_LONG.length);
        /** The {@code --stats} figures, counted by the loop thread and read by the reporter. */
        final Stats.Counters counters;
        int linesThisRead;
        /** Made once: a capturing lambda written inline would be allocated on every read. */
        final LineFramer.LineSink collect = (buf, start, end) -> {
            replies.put(replies.position(), buf, start, end - start).position(replies.position() + end - start);
            this.linesThisRead++;
        };

        // The three clocks of the protocol (Timers' idea, written for a JDK channel instead of
        // an fd): one fixed duration per list, so appending keeps each list in deadline order.
        final Deadlines idle, sendClock, drain;
        long now;
        int connections, readPaused, largestOutbox;

        Loop(Timeouts timeouts, Stats.Counters counters) {
            this.counters = counters;
            idle = new Deadlines("idle", timeouts.idle().toNanos());
            sendClock = new Deadlines("send", timeouts.send().toNanos());
            drain = new Deadlines("drain", timeouts.drain().toNanos());
        }

        long nanosUntilNext() {
            return Math.min(idle.nanosUntilNext(now), Math.min(sendClock.nanosUntilNext(now), drain.nanosUntilNext(now)));
        }

        /** Idle: stop reading and close gently (FIN, drain). Send or drain: the peer is not reading; close. */
        void expire() {
            Object due;
            while ((due = idle.pollExpired(now)) != null) { counters.timedOut(); ((SelectorConnection) due).finish(); }
            while ((due = sendClock.pollExpired(now)) != null) { counters.timedOut(); ((SelectorConnection) due).close(); }
            while ((due = drain.pollExpired(now)) != null) { counters.timedOut(); ((SelectorConnection) due).close(); }
        }
    }

    private final SocketChannel channel;
    private final Loop loop;
    private final LineFramer framer = new LineFramer();
    private final Outbox outbox = new Outbox();
    private final Deadlines.Timer timer = new Deadlines.Timer(this);
    private SelectionKey key;
    private ByteBuffer outView;     // over the outbox's array, so writes allocate nothing
    private boolean readPaused;     // backpressure: the peer is not reading its answers
    private boolean finishing;      // end of stream, error line, timeout or shutdown: read no more, flush
    private boolean peerClosed;     // end of stream: after the flush, close at once
    private boolean lingering;      // our FIN is out; input is read only to be dropped
    private boolean closed;

    SelectorConnection(SocketChannel channel, Loop loop) {
        this.channel = channel;
        this.loop = loop;
    }

    /** Watched for reads from now on; its idle clock starts. */
    void register(Selector selector) throws ClosedChannelException {
        key = channel.register(selector, SelectionKey.OP_READ, this);
        loop.connections++;
        loop.counters.accepted();
        loop.idle.restart(timer, loop.now);
    }

    /** The selector reported it: {@code ready} is the key's ready set. */
    void onReady(int ready) {
        // Write first: draining the outbox may let this read's answer go straight out. Test
        // both bits: an "else if" would lose the write readiness of a readable socket.
        if ((ready & SelectionKey.OP_WRITE) != 0) onWritable();
        if ((ready & SelectionKey.OP_READ) != 0 && !closed && lingering) drainInput();
        else if ((ready & SelectionKey.OP_READ) != 0 && !closed && !finishing && !readPaused) onReadable();
    }

    /**
     * One read per readiness event, however much is waiting: level-triggered readiness
     * reports the rest on the next round, so a flooding client gets one turn like the others.
     */
    private void onReadable() {
        ByteBuffer replies = loop.replies;
        int n;
        boolean ok = true;
        replies.clear();
        try {
            n = channel.read(loop.readBuffer.clear());   // non-blocking: takes what has arrived
            if (n > 0) {
                loop.counters.bytesIn(n);
                loop.linesThisRead = 0;
                ok = framer.feed(loop.readBuffer.flip(), loop.collect);   // lines go to replies
                loop.counters.lines(loop.linesThisRead);
            }
            // Only a complete line is activity: a peer dripping half a line still times out.
            if (replies.position() > 0 && timer.list() == loop.idle) loop.idle.restart(timer, loop.now);
        } catch (IOException e) {
            fail("read", e);   // typically ECONNRESET: this connection only
            return;
        }
        if (n == 0) return;       // spurious readiness: nothing after all
        if (n < 0) {
            // End of stream: drop the unterminated tail, send what is queued, then close.
            framer.discardPartial();
            finishing = true;
            peerClosed = true;
            afterIo();
            return;
        }
        if (!ok) {
            replies.put(Protocol.ERR_LINE_TOO_LONG);   // after the good lines before it
            finishing = true;
        }
        send(replies.flip());
    }

    /** Send first: write now, keep in the outbox only what the kernel did not take. */
    private void send(ByteBuffer data) {
        // While bytes wait in the outbox, new answers queue behind them: writing them now
        // would overtake the older ones and the peer would get answers out of order.
        if (outbox.isEmpty() && data.hasRemaining()) {
            try {
                loop.counters.bytesOut(channel.write(data));   // takes what fits in the socket's send buffer
            } catch (IOException e) {
                fail("write", e);      // EPIPE or ECONNRESET: the peer is gone
                return;
            }
        }
        if (data.hasRemaining()) {
            outbox.append(data, data.position(), data.limit());
            if (outbox.size() > loop.largestOutbox) loop.largestOutbox = outbox.size();
        }
        afterIo();
    }

    private void onWritable() {
        if (outbox.isEmpty()) return;
        if (outView == null || outView.array() != outbox.array()) outView = ByteBuffer.wrap(outbox.array());
        int n;
        try {
            n = channel.write(outView.clear().position(outbox.start()).limit(outbox.start() + outbox.size()));
        } catch (IOException e) {
            fail("write", e);
            return;
        }
        outbox.consumed(n);
        loop.counters.bytesOut(n);
        if (n > 0 && timer.list() == loop.sendClock) loop.sendClock.restart(timer, loop.now);   // progress
        if (outbox.isEmpty()) outView = null;   // never pin an array the outbox has let go
        afterIo();
    }

    /** After every read or write: close if done, apply backpressure, set the interest ops. */
    private void afterIo() {
        if (finishing && outbox.isEmpty() && !lingering) {
            if (peerClosed) {
                close();                  // it sent FIN and has every answer: nothing is unread
                return;
            }
            // Closing with unread input (after an error line) makes the kernel send RST, not
            // FIN (RFC 1122 4.2.2.13), and a client may then drop answers it had not read yet.
            // So the lingering close (nginx's lingering_close): FIN now, then read and drop
            // until the peer closes or the drain clock runs out.
            try {
                channel.shutdownOutput();
            } catch (IOException ignored) {
                close();                  // the peer is gone already
                return;
            }
            lingering = true;
            loop.drain.restart(timer, loop.now);
        }
        if (lingering) {
            key.interestOps(SelectionKey.OP_READ);
            return;
        }
        // Which clock runs: send while output waits, else idle (restarted only by a complete line).
        if (!outbox.isEmpty() && timer.list() != loop.sendClock) loop.sendClock.restart(timer, loop.now);
        else if (outbox.isEmpty() && timer.list() != loop.idle) loop.idle.restart(timer, loop.now);
        // Backpressure: the kernel's buffers fill and push back on a peer we stop reading.
        if (!finishing && !readPaused && outbox.isFull()) {
            readPaused = true;        // the peer is not reading: neither do we
            loop.readPaused++;
            loop.counters.paused(1);
        } else if (readPaused && outbox.hasRoom()) {
            readPaused = false;       // it caught up; the gap between the marks avoids flapping
            loop.readPaused--;
            loop.counters.paused(-1);
        }
        int ops = !finishing && !readPaused ? SelectionKey.OP_READ : 0;
        // A socket is writable whenever its send buffer has room, i.e. almost always: OP_WRITE
        // armed for good would make select return at once, forever (a busy loop). So it is
        // armed only while bytes wait (select(2): "ready for writing"; epoll(7) alike).
        if (!outbox.isEmpty()) ops |= SelectionKey.OP_WRITE;
        // Only recorded here (and only if changed): the loop's next select applies it with
        // epoll_ctl(EPOLL_CTL_MOD) before it waits.
        key.interestOps(ops);
    }

    /** A lingering connection: read and drop until the peer closes. */
    private void drainInput() {
        try {
            if (channel.read(loop.readBuffer.clear()) < 0) close();
        } catch (IOException e) {
            close();
        }
    }

    /**
     * Reads nothing more as requests and heads for a gentle close: the idle clock ran out, or
     * the server is shutting down. Complete lines were answered as they came; the partial tail
     * is dropped.
     */
    void finish() {
        if (closed || finishing) return;
        framer.discardPartial();
        finishing = true;
        afterIo();
    }

    private void fail(String op, IOException e) {
        LOG.log(System.Logger.Level.DEBUG, () -> op + " failed, closing that connection: " + e.getMessage());
        close();
    }

    void close() {
        if (closed) return;
        closed = true;
        timer.cancel();
        if (readPaused) {
            loop.readPaused--;
            loop.counters.paused(-1);
        }
        loop.connections--;
        loop.counters.closed();
        outbox.clear();
        outView = null;
        // This cancels the key. The JDK takes the fd out of the epoll set and only then really
        // closes it, at the next select: a closed fd number could otherwise be reused meanwhile.
        SelectorEchoServer.closeQuietly(channel);
    }
}
