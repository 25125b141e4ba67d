package c10k.exercises.day05;

import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Day 5, exercise 3: find the bug. One connection's way out in a reactor whose workers, to save
 * the loop a hop, send an answer themselves when nothing of that connection waits to be sent,
 * and otherwise hand it back to the loop: as a tutorial wrote it.
 *
 * <p><b>The symptom</b>: a server built on this class passes every test with clients that read
 * at once. With a slow reader, now and then a client's answers arrive out of order, or a line
 * arrives cut in two with another answer in the middle. Nothing is logged, nothing throws. The
 * tests reproduce it, deterministically: a scripted kernel that takes only part of a send, and
 * hooks that play the other thread (the loop, or a worker) at the instant they choose.
 *
 * <p><b>Find and fix the bug</b>: the class must keep this contract, whatever the threads'
 * timing and however little the kernel takes:
 * <ul>
 *   <li>the client reads every answer exactly once, whole, in the order of the {@code reply}
 *       calls;
 *   <li>the loop never waits for a worker, and a worker never waits for the loop or for the
 *       socket: either may be descheduled at any instant, with a send half done, and the other
 *       goes on; once the kernel answers {@code EAGAIN}, the socket is the loop's to watch;
 *   <li>no answer is left behind: what a worker does not send, the loop is woken for, and sends;
 *   <li>the hop stays saved: an answer for a connection with nothing else to send, and nobody
 *       sending, leaves from the worker's own send, with no wake-up of the loop.
 * </ul>
 * What the caller promises: {@code reply} is called by one worker at a time per connection, in
 * answer order (the reactor's one batch per connection), and {@code flush} only by the loop
 * thread; the loop stops reading a connection whose answers wait, so no more than
 * {@link #MAX_WAITING} answers ever wait. {@link Socket}, {@link Answers} and the two queues
 * stay, and stay in use (the tests' hooks are in them); what you add, and where, is yours.
 * Before you change a line, find the instant where two threads write one fd, and say it in a
 * comment: that sentence is the lesson.
 *
 * <p><b>What the tests try</b>: an idle connection; a kernel that takes part of an answer, or
 * nothing; the next answer while the rest of the one before waits, wherever it waits; the
 * loop's turn played at each step of a worker's reply, and a worker's reply played at each step
 * of the loop's turn, in another thread, under several kernels; then a real socket with a slow
 * reader.
 *
 * <p><b>Why</b>: {@code send} on a non-blocking socket may take part of a buffer. If another
 * thread sends before the rest goes out, the peer reads half an answer, another answer, then the
 * other half; and a client matches answers to requests by position. One writer per fd is a rule
 * about every instant, not about most of them.
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day05-threadpool-epoll/README.md">day 5's
 * chapter</a>:
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#why-one-reader-and-one-writer-per-fd">"Why
 * one reader and one writer per fd"</a> and
 * <a href="../../../../../../../day05-threadpool-epoll/README.md#reactor-getting-answers-back">"Reactor:
 * getting answers back"</a>. The day's {@code ReactorServer} never lets a worker send; this class
 * does, when it may, and that "when" is the exercise.
 *
 * <p><b>Check</b>: {@code ./jbang check day05}. Tests: {@code DirectReplyTest}.
 */
public final class DirectReply {

    /** Answers that may wait per connection, at most (the caller's backpressure keeps to it). */
    public static final int MAX_WAITING = 16;

    /** The connection's socket, non-blocking (given). */
    public interface Socket {
        /** Takes what fits of {@code buf[off, off + len)} and says how much: 0 is {@code EAGAIN}. Never blocks. */
        int send(byte[] buf, int off, int len);
    }

    /** Wakes the loop: the reactor's eventfd write (given). The loop then calls {@link #flush}. */
    public interface Wakeup {
        void wakeup();
    }

    private final Socket socket;
    private final Wakeup loop;
    /** Answers handed back by workers, oldest first: workers add, the loop takes. */
    final Answers handedBack;
    /** What the loop has to send, oldest first; its head may be partly sent. */
    final Answers outbox;
    /** Bytes of the outbox's head already sent (loop thread only). */
    private int headSent;
    /**
     * Answers handed back and not yet wholly sent: raised by a worker before it hands one back,
     * lowered by the loop only once the kernel has taken an answer's last byte. Zero means
     * nothing of this connection waits anywhere, and nobody is sending it.
     */
    private final AtomicInteger unsent = new AtomicInteger();

    public DirectReply(Socket socket, Wakeup loop) {
        this(socket, loop, new Answers(), new Answers());
    }

    /** For the tests: queues that can play another thread's move at the worst moment. */
    DirectReply(Socket socket, Wakeup loop, Answers handedBack, Answers outbox) {
        this.socket = socket;
        this.loop = loop;
        this.handedBack = handedBack;
        this.outbox = outbox;
    }

    /**
     * A thread-safe FIFO of answers, bounded by {@link #MAX_WAITING} (given, not part of the
     * exercise). It only adds a hook that runs just before each operation, where a test plays
     * what another thread could do in that instant.
     */
    static class Answers {
        private final ArrayBlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(MAX_WAITING);

        boolean isEmpty() {
            before("isEmpty");
            return queue.isEmpty();
        }

        void add(byte[] answer) {
            before("add");
            if (!queue.offer(answer)) throw new IllegalStateException("more than " + MAX_WAITING + " answers wait");
        }

        byte[] peek() {
            before("peek");
            return queue.peek();
        }

        byte[] poll() {
            before("poll");
            return queue.poll();
        }

        /** Runs just before each operation; does nothing unless a test says otherwise. */
        void before(String operation) {
        }
    }

    /** Worker thread: the answers of one batch, ready to go. Returns at once. */
    public void reply(byte[] answer) {
        // The bug was here: "the outbox is empty" is not "nothing waits". The rest of the answer
        // before may still sit in handedBack, not yet moved by the loop, or be in the loop's
        // hands between the two queues; the worker then sent the next answer before it, and a
        // line arrived cut around another. Two writers on one fd, for one instant. Only one who
        // knows nothing is pending anywhere may send: a count kept by both sides says so.
        // Replies of one connection come one at a time, so once the count is 0 nobody raises it
        // but this worker: the check cannot go stale before the send.
        if (unsent.get() == 0) {                            // nothing waits, the loop sends nothing: no hop
            int n = socket.send(answer, 0, answer.length);
            if (n == answer.length) return;
            answer = Arrays.copyOfRange(answer, n, answer.length);   // EAGAIN: the rest is the loop's, with the socket
        }
        unsent.incrementAndGet();                           // before the loop can see it, so it is never lowered below
        handedBack.add(answer);
        loop.wakeup();
    }

    /**
     * Loop thread, when woken or when {@code EPOLLOUT} comes: sends what waits, until the kernel
     * takes no more. True: bytes still wait, watch {@code EPOLLOUT}; false: nothing waits.
     */
    public boolean flush() {
        for (byte[] a = handedBack.poll(); a != null; a = handedBack.poll()) outbox.add(a);
        for (byte[] head = outbox.peek(); head != null; head = outbox.peek()) {
            int n = socket.send(head, headSent, head.length - headSent);
            if (n == 0) return true;                        // EAGAIN: EPOLLOUT says when there is room
            headSent += n;
            if (headSent == head.length) {
                outbox.poll();
                headSent = 0;
                unsent.decrementAndGet();                   // its last byte is with the kernel: a worker may send now
            }
        }
        return false;
    }
}
