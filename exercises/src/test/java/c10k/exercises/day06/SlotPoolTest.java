package c10k.exercises.day06;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.exercises.Hints;
import c10k.exercises.day06.SlotPool.Slot;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@Hints({
        "Which free number should a new client get so that a late worker's answer has the longest time to land before the number is reused? How does a late worker tell this client from the last one on the same number? Re-read day 6's \"Step 1: a fixed number per slot, with dup3\" and \"Step 2: the FIFO\".",
        "acquire: take from the front of the free queue; under the slot's lock, a new generation and open. release: under the slot's lock, refuse one not open, mark it closed, close its number; then put it at the back of the queue."})
@DisplayName("1. SlotPool: fixed numbers, handed out FIFO, a new generation for each client")
class SlotPoolTest {

    private final List<Integer> closed = new ArrayList<>();

    private SlotPool pool(int base, int size) {
        return new SlotPool(base, size, fd -> {
            synchronized (closed) {
                closed.add(fd);
            }
        });
    }

    @Test
    void handsOutTheNumbersInOrderEachOpenWithAFirstGeneration() {
        SlotPool pool = pool(1000, 3);
        List<Integer> fds = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Slot s = pool.acquire();
            assertThat(s).as("acquire number %d of a pool of 3 free slots", i + 1).isNotNull();
            fds.add(s.fd());
            assertThat(s.isOpen()).as("an acquired slot holds a client: open").isTrue();
            assertThat(s.generation()).as("a slot's first client: generation 1 (it starts at 0, acquire bumps it)").isEqualTo(1);
        }
        assertThat(fds).as("free slots come from the front of the queue, which starts in order").containsExactly(1000, 1001, 1002);
        assertThat(pool.freeCount()).isZero();
    }

    @Test
    void anExhaustedPoolSaysNull() {
        SlotPool pool = pool(1000, 2);
        pool.acquire();
        pool.acquire();
        assertThat(pool.acquire())
                .as("every slot holds a client: return null (the server answers \"ERR server full\" and closes)."
                        + " Never hand out a slot in use: two clients on one number")
                .isNull();
    }

    @Test
    void aFreedSlotGoesToTheBackOfTheQueue() {
        SlotPool pool = pool(1000, 3);
        Slot alice = pool.acquire();
        pool.acquire();
        pool.release(alice);
        assertThat(pool.acquire().fd())
                .as("Alice's slot (1000) was just freed, 1002 has been free longer. Handing out 1000 again is"
                        + " what accept does with the lowest free number, and a worker late with Alice's answer"
                        + " writes it to the new client. Freed slots go to the BACK, handed out from the FRONT")
                .isEqualTo(1002);
        assertThat(pool.acquire().fd()).as("then, and only then, Alice's number again").isEqualTo(1000);
    }

    @Test
    void everyClientOfASlotGetsANewGeneration() {
        SlotPool pool = pool(1000, 1);
        List<Integer> generations = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Slot s = pool.acquire();
            assertThat(s).as("a pool of 1, released each time: the same slot every time").isNotNull();
            assertThat(s.fd()).isEqualTo(1000);
            generations.add(s.generation());
            pool.release(s);
        }
        assertThat(generations)
                .as("five clients, one after another, on one slot (one number): the number cannot tell them"
                        + " apart, the generation must. Bump it on every acquire")
                .containsExactly(1, 2, 3, 4, 5);
    }

    @Test
    void releaseClosesTheNumberOnceAndRefusesASecondRelease() {
        SlotPool pool = pool(1000, 2);
        Slot s = pool.acquire();
        pool.release(s);
        assertThat(closed).as("release closes the slot's number (close.accept(fd)), once").containsExactly(1000);
        assertThat(s.isOpen()).as("released: not open").isFalse();
        assertThatThrownBy(() -> pool.release(s))
                .as("a second release would queue the slot twice, and two clients would get one number: refuse"
                        + " it with IllegalStateException")
                .isInstanceOf(IllegalStateException.class);
        assertThat(pool.freeCount()).as("the slot is in the free queue once").isEqualTo(2);
    }

    @Test
    void releaseWaitsForAWorkerInMidWrite() throws Exception {
        SlotPool pool = pool(1000, 1);
        Slot s = pool.acquire();
        CompletableFuture<Void> worker = new CompletableFuture<>();
        CompletableFuture<Void> wroteEverything = new CompletableFuture<>();
        // A worker holds the slot's lock, as it does while writing an answer (exercise 2).
        Thread.ofPlatform().start(() -> {
            s.lock.lock();
            try {
                worker.complete(null);
                wroteEverything.get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // the test ended
            } finally {
                s.lock.unlock();
            }
        });
        worker.get(5, TimeUnit.SECONDS);
        CompletableFuture<Void> release = CompletableFuture.runAsync(() -> pool.release(s));
        try {
            release.get(300, TimeUnit.MILLISECONDS);
            throw new AssertionError("release closed the slot's number while a worker held the slot's lock, in mid-write:"
                    + " the rest of its answer goes to whoever gets the number next. Take slot.lock in release");
        } catch (TimeoutException expected) {
            assertThat(closed).as("nothing closed while the worker writes").isEmpty();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;   // the skeleton's TODO
            throw e;
        } finally {
            wroteEverything.complete(null);
        }
        release.get(5, TimeUnit.SECONDS);
        assertThat(closed).as("the worker let go: now release closes the number").containsExactly(1000);
    }
}
