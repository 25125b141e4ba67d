package c10k.exercises.day05;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.exercises.FdLeakCheck;
import c10k.exercises.Hints;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@Hints({
        "Which sequence numbers are in flight, and which one must leave next? What must happen to what you kept for a response once it has left, when request number capacity + 1 comes?",
        "Re-read day 5's \"Reactor: order, when workers finish out of order\": the ring it calls the other design is this exercise.",
        "Play the tests' story by hand with capacity 3: reserve 0 to 2, complete 2, then 0, then release; then reserve 3 and 4. Where does each seq live, when is its place free again, and is an empty response still a response?"})
@DisplayName("1. ResponseOrder: responses leave in request order, whichever worker finishes first")
class ResponseOrderTest {

    /** The real-socket test opens a listener and a connection: every fd is closed when it ends. */
    @RegisterExtension
    final FdLeakCheck fds = new FdLeakCheck("ResponseOrder holds responses, not sockets, and the test closes its"
            + " own: did your code open a descriptor, and leave it open?");

    private final List<String> sent = new ArrayList<>();

    private static byte[] response(long seq) {
        return ("r" + seq).getBytes(StandardCharsets.US_ASCII);
    }

    private int release(ResponseOrder order) {
        return order.release(b -> sent.add(new String(b, StandardCharsets.US_ASCII)));
    }

    private static List<String> responses(long from, long to) {
        List<String> list = new ArrayList<>();
        for (long s = from; s < to; s++) list.add("r" + s);
        return list;
    }

    @Test
    void inOrderCompletionsGoOutAtOnce() {
        ResponseOrder order = new ResponseOrder(16);
        for (int i = 0; i < 3; i++) order.reserve();
        order.complete(0, response(0));
        assertThat(release(order)).as("response 0 is the next expected: release it now").isEqualTo(1);
        order.complete(1, response(1));
        order.complete(2, response(2));
        release(order);
        assertThat(sent).as("every response, once, in order").containsExactly("r0", "r1", "r2");
        assertThat(order.inFlight()).as("all released: nothing in flight").isZero();
    }

    @Test
    void aLaterResponseWaitsForTheEarlierOne() {
        ResponseOrder order = new ResponseOrder(16);
        for (int i = 0; i < 3; i++) order.reserve();
        order.complete(2, response(2));
        order.complete(1, response(1));
        release(order);
        assertThat(sent)
                .as("responses 1 and 2 finished while 0 is still with a worker. Sending them now gives the"
                        + " client the answer to request 1 where it expects the answer to 0: release only while"
                        + " the NEXT expected seq (nextToSend) is present")
                .isEmpty();
        order.complete(0, response(0));
        assertThat(release(order)).as("0 arrived: 0, 1 and 2 are all next in turn").isEqualTo(3);
        assertThat(sent).containsExactly("r0", "r1", "r2");
    }

    @Test
    void aGapHoldsEverythingBehindIt() {
        ResponseOrder order = new ResponseOrder(16);
        for (int i = 0; i < 6; i++) order.reserve();
        for (int seq : new int[] {0, 1, 3, 4, 5}) order.complete(seq, response(seq));
        release(order);
        assertThat(sent)
                .as("0 and 1 are ready, 2 is not: send 0 and 1, and hold 3, 4, 5 behind the gap")
                .containsExactly("r0", "r1");
        order.complete(2, response(2));
        release(order);
        assertThat(sent).as("the gap filled: everything behind it goes, in order").isEqualTo(responses(0, 6));
    }

    @Test
    void theWindowIsReusedWithoutResendingOldResponses() {
        ResponseOrder order = new ResponseOrder(4);
        for (int i = 0; i < 4; i++) order.reserve();
        order.complete(1, response(1));
        order.complete(0, response(0));
        release(order);
        order.reserve();   // seq 4: the slot r0 had
        order.reserve();   // seq 5: the slot r1 had
        order.complete(3, response(3));
        order.complete(2, response(2));
        release(order);
        assertThat(sent)
                .as("seqs 4 and 5 are still with their workers, yet more went out: a response already sent"
                        + " was sent again, as the answer to a request still being served. Each response leaves"
                        + " exactly once")
                .containsExactly("r0", "r1", "r2", "r3");
        order.complete(5, response(5));
        order.complete(4, response(4));
        release(order);
        // The window reused many more times, each batch completed in reverse.
        for (long base = 6; base < 6 + 4 * 250; base += 4) {
            for (int i = 0; i < 4; i++) order.reserve();
            for (long s = base + 3; s >= base; s--) order.complete(s, response(s));
            release(order);
        }
        assertThat(sent).as("250 batches of 4 in a window of 4, each finished backwards").isEqualTo(responses(0, 1006));
    }

    @Test
    void randomPermutationsComeOutInOrder() {
        Random random = new Random(5);
        for (int capacity : new int[] {1, 2, 8, 64}) {
            sent.clear();
            ResponseOrder order = new ResponseOrder(capacity);
            List<Long> withWorkers = new ArrayList<>();
            long reserved = 0;
            long total = 3_000;
            while (sent.size() < total) {
                boolean canRead = reserved < total && order.inFlight() < capacity;
                if (canRead && (withWorkers.isEmpty() || random.nextInt(3) > 0)) {
                    withWorkers.add(order.reserve());
                    reserved++;
                    continue;
                }
                long seq = withWorkers.remove(random.nextInt(withWorkers.size()));
                order.complete(seq, response(seq));
                int before = sent.size();
                release(order);
                long next = order.nextToSend();
                assertThat(sent.size())
                        .as("capacity %d, after seq %d came back: released up to seq %d", capacity, seq, next - 1)
                        .isEqualTo((int) next);
                assertThat(sent.subList(before, sent.size()))
                        .as("capacity %d: responses must leave strictly by seq", capacity)
                        .isEqualTo(responses(before, next));
                assertThat(withWorkers.contains(next) || next == reserved)
                        .as("capacity %d: seq %d is ready but was not released: release everything that is next"
                                + " in order, not just one", capacity, next)
                        .isTrue();
            }
            assertThat(sent).as("capacity %d: all %d responses, in order", capacity, total).isEqualTo(responses(0, total));
        }
    }

    @Test
    void refusesWhatIsNotInFlight() {
        ResponseOrder order = new ResponseOrder(8);
        order.reserve();
        order.reserve();
        order.complete(0, response(0));
        release(order);
        assertThatThrownBy(() -> order.complete(0, response(0)))
                .as("seq 0 was released already: a second response for it has no place in the order")
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> order.complete(9, response(9)))
                .as("seq 9 was never reserved (only 0 and 1 were): refuse it")
                .isInstanceOf(IllegalArgumentException.class);
        order.complete(1, response(1));
        assertThatThrownBy(() -> order.complete(1, response(1)))
                .as("a second response for seq 1 would replace the first: refuse it")
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void refusesAFullWindowUntilAResponseLeaves() {
        ResponseOrder order = new ResponseOrder(4);
        for (int i = 0; i < 4; i++) assertThat(order.reserve()).as("sequence numbers, in order").isEqualTo(i);
        assertThat(order.inFlight()).isEqualTo(4);
        assertThatThrownBy(order::reserve)
                .as("4 requests in flight with capacity 4, and a fifth was accepted: the window is the connection's"
                        + " bound, and the loop's only cue to stop reading from a client that pipelines without end")
                .isInstanceOf(IllegalStateException.class);
        order.complete(1, response(1));
        assertThat(release(order)).as("seq 0 is still with its worker: nothing leaves").isZero();
        assertThatThrownBy(order::reserve)
                .as("a response filed but not sent still holds its place in the window")
                .isInstanceOf(IllegalStateException.class);
        order.complete(0, response(0));
        assertThat(release(order)).isEqualTo(2);
        assertThat(order.reserve()).as("two left: room for the next request").isEqualTo(4);
        assertThat(order.nextToSend()).isEqualTo(2);
    }

    @Test
    @Hints({"Does your code assume something about capacity that the contract does not promise?", "",
            "With capacity 3, where do seqs 0, 1, 2 wait, and where do 3 and 4 go once 0 and 1 have left? Check that no two"
            + " numbers in flight ever share a place."})
    void aWindowOfAnySizeKeepsItsOrder() {
        for (int capacity : new int[] {3, 5, 6}) {
            sent.clear();
            ResponseOrder order = new ResponseOrder(capacity);
            long next = 0;
            for (int batch = 0; batch < 40; batch++) {
                // Reserve up to a full window, complete it backwards, release: every batch starts
                // at another offset, as a capacity that does not divide the batches would.
                int n = 1 + batch % capacity;
                for (int i = 0; i < n; i++) order.reserve();
                for (long s = next + n - 1; s >= next; s--) order.complete(s, response(s));
                assertThat(release(order)).as("capacity %d: the %d responses of seqs %d to %d were all filed", capacity, n,
                        next, next + n - 1).isEqualTo(n);
                next += n;
            }
            assertThat(sent).as("capacity %d: every response, once, in order", capacity).isEqualTo(responses(0, next));
        }
    }

    @Test
    @Hints({"What does your code take as the sign that a response is not back yet? Can a real response look like that?", "",
            "A request may need no answer; its response is an empty array, and the client's next answer still waits for it"
            + " to take its turn. Give release's caller every filed response, in its place, and count it."})
    void anEmptyResponseTakesItsTurn() {
        ResponseOrder order = new ResponseOrder(4);
        for (int i = 0; i < 3; i++) order.reserve();
        order.complete(2, response(2));
        order.complete(1, new byte[0]);
        assertThat(release(order)).as("seq 0 is still with its worker: nothing leaves").isZero();
        order.complete(0, response(0));
        assertThat(release(order))
                .as("seqs 0, 1 (an empty response) and 2 were all filed: release hands over and counts each of them")
                .isEqualTo(3);
        assertThat(sent)
                .as("an empty response is a response: it leaves in its place, once, and does not hold back the one after it")
                .containsExactly("r0", "", "r2");
        assertThat(order.inFlight()).as("nothing is in flight any more").isZero();
        assertThat(order.nextToSend()).isEqualTo(3);
    }

    /**
     * The reactor in miniature, over a real socket: the test thread is the loop (it reads
     * pipelined lines, gives each a seq, and sends what your ResponseOrder releases); a worker per
     * request answers it, and the test decides in which order the workers finish (a fixed
     * shuffle), so answers surely come back out of order.
     */
    @Test
    void pipelinedRequestsOverARealSocketComeBackInOrder() throws Exception {
        int n = 40;
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket listener = new ServerSocket(0, 8, loopback);
             Socket client = new Socket(loopback, listener.getLocalPort());
             Socket server = listener.accept();
             ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            client.setSoTimeout(2_000);
            server.setSoTimeout(2_000);
            StringBuilder requests = new StringBuilder();
            for (int i = 0; i < n; i++) requests.append("request ").append(i).append('\n');
            client.getOutputStream().write(requests.toString().getBytes(StandardCharsets.US_ASCII));   // pipelined

            record Done(long seq, byte[] response) {
            }
            BlockingQueue<Done> done = new LinkedBlockingQueue<>();
            CountDownLatch[] mayFinish = new CountDownLatch[n];
            try {
                ResponseOrder order = new ResponseOrder(64);
                BufferedReader in = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.US_ASCII));
                for (int i = 0; i < n; i++) {
                    String line = in.readLine();
                    long seq = order.reserve();
                    CountDownLatch go = mayFinish[i] = new CountDownLatch(1);
                    workers.execute(() -> {
                        try {
                            go.await();                   // the test says when this worker is done
                        } catch (InterruptedException e) {
                            return;
                        }
                        done.add(new Done(seq, (line + "\n").getBytes(StandardCharsets.US_ASCII)));
                    });
                }
                List<Integer> finishOrder = new ArrayList<>();
                for (int i = 0; i < n; i++) finishOrder.add(i);
                Collections.shuffle(finishOrder, new Random(5));
                assertThat(finishOrder.getFirst()).as("the shuffle starts with a late request").isNotZero();
                int released = 0;
                for (int next : finishOrder) {
                    mayFinish[next].countDown();
                    Done d = done.poll(2, TimeUnit.SECONDS);
                    assertThat(d).as("a worker's answer (the test's own workers: this should not happen)").isNotNull();
                    order.complete(d.seq(), d.response());
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    released += order.release(out::writeBytes);
                    server.getOutputStream().write(out.toByteArray());
                }
                assertThat(released).as("every response released once").isEqualTo(n);
                BufferedReader answers = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII));
                for (int i = 0; i < n; i++) {
                    assertThat(answers.readLine())
                            .as("answer number %d on the wire: the client matches answers to requests by position,"
                                    + " so it must be the answer to request %d, whichever worker finished first", i, i)
                            .isEqualTo("request " + i);
                }
            } finally {
                // Never leave a worker waiting: closing the executor waits for every one.
                for (CountDownLatch go : mayFinish) if (go != null) go.countDown();
            }
        }
    }
}
