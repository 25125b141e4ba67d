package c10k.day03;

import c10k.day01.LineFramer;
import c10k.day01.Protocol;
import c10k.day01.harness.Stats;
import c10k.day03.sys.NonBlockingSocket;
import c10k.day03.sys.Sockets;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One client of a non-blocking server built on raw system calls: its socket (what recv and
 * send results mean is {@link NonBlockingSocket}'s), the framer that cuts its input into
 * lines, the outbox of what it is still owed, and the state that says what the event loop
 * should do with it next. The loop only learns what is ready and hands the connection its
 * turn, so any loop can drive this one tested implementation of the protocol; the loops differ
 * only in how they learn what is ready and who runs the answering.
 *
 * <p>The state, in the words of Build Your Own Redis: does it want to read
 * ({@link #wantsRead}), does it want to write ({@link #wantsWrite}), is it done
 * ({@link #settle}). Its life:
 * <pre>
 *   open ──(EOF, refused line, shutdown)──► input done ──(answers all sent)──► lingering ──(EOF, deadline)──► closed
 *     │                                                                     (write side shut down,
 *     └──(reset, EPIPE)──► broken ──────────────────────────────────────────  input read and dropped)
 * </pre>
 * Lingering is what keeps the last answer alive: closing a socket whose receive queue holds
 * unread bytes makes the kernel send RST instead of FIN (RFC 1122, 4.2.2.13), and a client
 * that receives RST may throw away answers it had not read yet, the error line above all. So
 * the sending side is shut down (FIN after the last answer) and the input is drained until the
 * peer closes too, or the loop's drain timer runs out (nginx's {@code lingering_close}).
 *
 * <p>Not thread-safe: one thread at a time handles a connection. The days after this one are
 * about making sure of that when there are many threads.
 */
public class NativeConnection extends NonBlockingSocket {

    /** Turns one line into its answer: {@link #ECHO}, the book's protocol, unless a server plugs in another. */
    @FunctionalInterface
    public interface Answerer {
        /**
         * Answers the line {@code buf[start, end)} (newline included) of {@code c} into {@code out}.
         * The bytes are valid only during the call.
         */
        void answer(NativeConnection c, ByteBuffer buf, int start, int end, Replies out) throws IOException;
    }

    /** The book's protocol: the answer is the line itself. */
    public static final Answerer ECHO = (c, buf, start, end, out) -> out.put(buf, start, end);

    /**
     * What one serving thread lends to every connection it handles: the read buffer, the
     * answers of one read, its counters. An idle connection owns none of it, which is what lets
     * one thread hold ten thousand of them in little memory.
     */
    public static final class LoopBuffers {
        public final byte[] in;
        public final ByteBuffer inView;
        public final Replies replies;
        public final Answerer answerer;
        public final Stats.Counters counters;
        /** The largest outbox this thread has seen; for backpressure tests and the benchmark. */
        public int largestOutbox;
        private NativeConnection current;
        private final LineFramer.LineSink collect;
        /** Made with the loop: out of fds, a class first used by a client or an oversized line could not be opened from a folder. */
        private final Object[] loadedEarly = {new NativeConnection(-1), Protocol.ERR_LINE_TOO_LONG};

        public LoopBuffers(int readSize, Answerer answerer, Stats.Counters counters) {
            in = new byte[readSize];
            inView = ByteBuffer.wrap(in);
            replies = new Replies(readSize + Protocol.MAX_LINE);
            this.answerer = answerer;
            this.counters = counters;
            collect = (buf, start, end) -> {
                NativeConnection c = current;
                if (c.inputDone) return;           // the answerer ended the conversation mid-read
                c.activity = true;
                counters.lines(1);
                answerer.answer(c, buf, start, end, replies);
            };
        }

        public LoopBuffers(int readSize) { this(readSize, ECHO, new Stats().newCounters()); }
    }

    /** The one timer of this connection (idle, send or drain, whichever clock runs now). */
    public final Deadlines.Timer timer = new Deadlines.Timer(this);
    /** The events the kernel watches for us, kept by the loop to skip needless epoll_ctl calls. */
    public int interest;
    /** Counted in the loop's paused-readers figure (kept by the loop, beside {@link #isReadPaused}). */
    public boolean countedAsPaused;

    private final LineFramer framer = new LineFramer();
    private final Outbox outbox = new Outbox();
    private boolean inputDone;        // no more requests are read: EOF, a refused line, shutdown
    private boolean readPaused;       // backpressure: the peer is not reading its answers
    private boolean lingering;        // our FIN is sent; input is read only to be dropped
    private boolean activity;         // a complete line arrived since the loop last looked
    private boolean resumed;          // reading was paused and may go on again
    private volatile boolean closed;  // read by workers, to drop answers nobody will receive

    public NativeConnection(int fd) {
        super(fd);
    }

    /** The loop should watch for readability: to read requests, or to drain a lingering close. */
    public boolean wantsRead() {
        return !isBroken() && !isPeerClosed() && (lingering || (!inputDone && !readPaused));
    }

    /** The loop should watch for writability: only while something waits, or it would be told "writable" forever. */
    public boolean wantsWrite() {
        return !outbox.isEmpty() && !isBroken();
    }

    public boolean isReadPaused() {
        return readPaused;
    }

    public boolean isInputDone() {
        return inputDone;
    }

    public boolean isLingering() {
        return lingering;
    }

    public boolean isClosed() {
        return closed;
    }

    public int outboxSize() {
        return outbox.size();
    }

    public boolean hasPendingOutput() {
        return !outbox.isEmpty();
    }

    /**
     * Whether lines of ours are being answered on another thread: then the connection is not
     * finished until the answers are back, and its framer is that thread's to feed, not ours to
     * clear. This class answers where it reads, so never; a subclass that hands reads to other
     * threads says when.
     */
    protected boolean answersOutstanding() {
        return false;
    }

    /**
     * Reads nothing more as requests: for a graceful shutdown (answer what was read, then close
     * gently) or a handler that asked to close after its reply. The unterminated tail is dropped.
     */
    public void stopReading() {
        if (inputDone) return;
        inputDone = true;
        if (!answersOutstanding()) framer.discardPartial();   // else another thread is feeding it
    }

    /** FIN: what is complete was answered; the unterminated tail is dropped (the protocol). */
    @Override
    protected void endOfStream() {
        stopReading();
    }

    /** True once since the last call: a complete line arrived (what resets the idle clock). */
    public boolean takeActivity() {
        boolean a = activity;
        activity = false;
        return a;
    }

    /** True once after reading was paused and may resume: an edge-triggered loop owes it a read. */
    public boolean takeResumed() {
        boolean r = resumed;
        resumed = false;
        return r;
    }

    /**
     * Reads and answers, at most {@code maxReads} times: 1 for a level-triggered loop (the
     * kernel will report the fd again if more is waiting), more for edge-triggered (the
     * kernel will NOT report again until new data arrives, so we must go on until
     * {@code EAGAIN}). Stops early at end of stream, on a refused line, or when the outbox
     * fills (backpressure). A lingering connection's input is read and dropped.
     *
     * @return {@code true} if it stopped only because {@code maxReads} ran out: the socket may
     *     still hold data, and an edge-triggered loop owes it another turn.
     */
    public boolean readAndAnswer(LoopBuffers b, int maxReads) {
        for (int reads = 0; reads < maxReads; reads++) {
            if (!wantsRead()) return false;
            int n = receive(b.in, 0, b.in.length, b.counters);
            if (n <= 0) return false;
            if (!lingering) {                         // a lingering close reads only to drop
                b.replies.clear();
                b.inView.clear().limit(n);
                boolean ok = frame(b.inView, b);
                if (!ok) {
                    b.replies.put(Protocol.ERR_LINE_TOO_LONG);   // after the answers to the lines before it
                    stopReading();
                }
                sendFirst(b.replies.array(), 0, b.replies.length(), b);
                if (inputDone || readPaused) return false;
            }
            if (drained()) return false;              // a short read: the socket is empty (see receive)
        }
        return true;
    }

    /** Cuts {@code in} into lines and answers each into {@code b.replies}; false if a line is too long. */
    private boolean frame(ByteBuffer in, LoopBuffers b) {
        b.current = this;
        try {
            return framer.feed(in, b.collect);
        } catch (IOException e) {
            throw new IllegalStateException("an answerer failed: " + e.getMessage(), e);
        } finally {
            b.current = null;
        }
    }

    /** The framer, for a subclass whose lines are framed on another thread (see {@link #answersOutstanding}). */
    protected final LineFramer framer() {
        return framer;
    }

    /**
     * Send first: try to write {@code bytes[from, to)} now, and queue only what the kernel
     * refused. If older bytes are still queued, the new ones go behind them, never ahead. Above
     * the outbox's high-water mark, reading pauses.
     */
    public void sendFirst(byte[] bytes, int from, int to, LoopBuffers b) {
        sendFirst(bytes, from, to, b.counters);
        if (outbox.size() > b.largestOutbox) b.largestOutbox = outbox.size();
    }

    public void sendFirst(byte[] bytes, int from, int to, Stats.Counters counters) {
        if (isBroken() || from == to) return;
        int sent = 0;
        if (outbox.isEmpty()) {
            sent = send(bytes, from, to - from, counters);
            if (isBroken()) return;
        }
        if (from + sent < to) outbox.append(bytes, from + sent, to);
        if (outbox.isFull()) readPaused = true;
    }

    /** The socket is writable: send what waits; resume reading once below the low-water mark. */
    public void flush(Stats.Counters counters) {
        while (!outbox.isEmpty() && !isBroken()) {
            int n = send(outbox.array(), outbox.start(), outbox.size(), counters);
            if (n <= 0) break;          // EAGAIN (or broken): wait for the next writable event
            outbox.consumed(n);
        }
        if (readPaused && outbox.hasRoom()) {
            readPaused = false;
            resumed = true;
        }
    }

    /**
     * After anything happened: starts the lingering close when it is due, and says whether the
     * loop should close the connection now (broken, or every answer out and the peer gone).
     */
    public boolean settle() {
        if (isBroken()) return true;
        if (!outbox.isEmpty() || answersOutstanding()) return false;
        if (isPeerClosed()) return true;
        if (inputDone && !lingering) {
            Sockets.shutdownWrite(fd);     // FIN after the last answer; the peer's input drains next
            lingering = true;
        }
        return false;
    }

    /**
     * Closes the fd; the caller has already removed it from epoll. A connection that ends
     * cleanly shuts down its sending side first, for the FIN-before-RST reason above.
     */
    public void close() {
        closed = true;
        if (!isBroken() && !lingering) Sockets.shutdownWrite(fd);
        timer.cancel();
        outbox.clear();
        if (!answersOutstanding()) framer.discardPartial();   // another thread may still be feeding it
        releaseFd();
    }

    /**
     * The last step of {@link #close}, once the FIN (if due) is out: {@code close(2)}. A subclass
     * that must never leave its number free, even for an instant, replaces the socket behind the
     * number instead ({@code dup3} of a placeholder onto it).
     */
    protected void releaseFd() {
        Sockets.close(fd);
    }
}
