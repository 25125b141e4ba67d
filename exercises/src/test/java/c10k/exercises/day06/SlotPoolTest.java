package c10k.exercises.day06;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.exercises.Hints;
import c10k.exercises.day06.SlotPool.Slot;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@Hints({
        "A client has just left slot 1000 while a worker still prepares its answer. Which client should get 1000 next, and when? What does the worker look at to know its client has gone, and what could another thread's open() get in the meantime?",
        "Re-read day 6's \"Step 1: a fixed number per slot, with dup3\" (what a slot owns for good), \"Step 2: the FIFO\" (when a freed number comes back)"
        + " and \"Step 4: a placeholder on every free number\" (what a number holds between two clients).",
        "Between the instant a client's socket stops being on its number and the instant something else is, another thread's open() or accept() may run: make that interval empty."})
@DisplayName("1. SlotPool: pinned numbers that no late worker and no other open() can mistake")
class SlotPoolTest {

    /** What the pool did to the numbers, in order: "placeholder 1000", "close 1000". */
    private final List<String> numbers = new ArrayList<>();

    private SlotPool pool(int base, int size) {
        return new SlotPool(base, size, new SlotPool.Numbers() {
            @Override
            public void putPlaceholder(int n) {
                record("placeholder " + n);
            }

            @Override
            public void close(int n) {
                record("close " + n);
            }
        });
    }

    private void record(String what) {
        synchronized (numbers) {
            numbers.add(what);
        }
    }

    private List<String> numbers() {
        synchronized (numbers) {
            return List.copyOf(numbers);
        }
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
            assertThat(s.generation())
                    .as("a slot's first client has the generation the slot had before any client: a worker could not"
                            + " tell it from no client at all")
                    .isNotZero();
        }
        assertThat(fds).as("a new pool hands its numbers out lowest first (the contract)").containsExactly(1000, 1001, 1002);
        assertThat(pool.freeCount()).as("three slots taken of three: none free").isZero();
        assertThat(numbers()).as("acquire leaves the numbers alone: the server dup3s the client onto it").isEmpty();
    }

    @Test
    void anExhaustedPoolSaysNull() {
        SlotPool pool = pool(1000, 2);
        pool.acquire();
        pool.acquire();
        assertThat(pool.acquire())
                .as("every slot holds a client, and acquire() did not say so with null (the server then answers"
                        + " \"ERR server full\"): two clients on one number")
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
                        + " writes it to the new client: reuse must come as late as it can (day 6, \"Step 2: the FIFO\")")
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
            assertThat(s.fd()).as("a pool of 1 has one number").isEqualTo(1000);
            generations.add(s.generation());
            pool.release(s);
        }
        assertThat(generations)
                .as("five clients, one after another, on one slot (one number): the number cannot tell them"
                        + " apart, and the generation did not either")
                .doesNotHaveDuplicates()
                .doesNotContain(0);
    }

    @Test
    void releasePutsThePlaceholderBackAndNeverClosesTheNumber() {
        SlotPool pool = pool(1000, 2);
        Slot s = pool.acquire();
        pool.release(s);
        assertThat(numbers())
                .as("after release the number must hold the placeholder, and must never have been free, not even for"
                        + " an instant: a free number may be handed to the next open, socket or accept anywhere in the"
                        + " process, and the slot's next client's dup3 then silently closes that file (day 6, \"Step 4:"
                        + " a placeholder on every free number\")")
                .containsExactly("placeholder 1000");
        assertThat(s.isOpen()).as("released: not open").isFalse();
    }

    @Test
    void aSecondReleaseIsRefused() {
        SlotPool pool = pool(1000, 2);
        Slot s = pool.acquire();
        pool.release(s);
        assertThatThrownBy(() -> pool.release(s))
                .as("a second release was accepted: the slot would be free twice, and two clients would get one"
                        + " number (the contract: IllegalStateException)")
                .isInstanceOf(IllegalStateException.class);
        assertThat(pool.freeCount()).as("the slot is in the free queue once").isEqualTo(2);
        assertThat(numbers()).as("and the refused release touches the number no more").containsExactly("placeholder 1000");
    }

    @Test
    void onlyClosingThePoolClosesTheNumbers() {
        SlotPool pool = pool(1000, 2);
        Slot s = pool.acquire();
        pool.release(s);
        pool.acquire();
        pool.close();   // given: the server stops
        assertThat(numbers())
                .as("while the server runs a number is only ever swapped; the given close() gives them back")
                .containsExactly("placeholder 1000", "close 1000", "close 1001");
    }

    @Test
    void releaseWaitsForAWorkerInMidWrite() throws Exception {
        SlotPool pool = pool(1000, 1);
        Slot s = pool.acquire();
        CountDownLatch workerHoldsTheLock = new CountDownLatch(1);
        CountDownLatch workerDone = new CountDownLatch(1);
        // A worker holds the slot's lock, as it does while it checks and writes an answer.
        Thread worker = Thread.ofPlatform().start(() -> {
            s.lock.lock();
            try {
                workerHoldsTheLock.countDown();
                workerDone.await();
            } catch (InterruptedException ignored) {
                // the test ended
            } finally {
                s.lock.unlock();
            }
        });
        try {
            assertThat(workerHoldsTheLock.await(5, TimeUnit.SECONDS)).as("the test's worker took the slot's lock").isTrue();
            CompletableFuture<Thread> releaser = new CompletableFuture<>();
            CompletableFuture<Void> release = CompletableFuture.runAsync(() -> {
                releaser.complete(Thread.currentThread());
                pool.release(s);
            }, r -> Thread.ofPlatform().start(r));
            Thread releasing = releaser.get(5, TimeUnit.SECONDS);
            // Either release finishes without the lock (wrong), or it waits for the worker: its
            // thread then sits in the lock's queue. No timing: wait for one or the other.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!release.isDone() && !s.lock.hasQueuedThread(releasing) && System.nanoTime() < deadline) {
                LockSupport.parkNanos(100_000);
            }
            if (release.isCompletedExceptionally()) {
                try {
                    release.join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof RuntimeException r) throw r;   // the skeleton's TODO
                    throw e;
                }
            }
            assertThat(release.isDone() || s.lock.hasQueuedThread(releasing))
                    .as("release neither returned nor waited for the slot's lock within 5 s: what is it waiting for?")
                    .isTrue();
            assertThat(release.isDone())
                    .as("release went ahead while a worker held the slot's lock, in mid-write: the placeholder"
                            + " replaced its client's socket under it, and the slot may go to the next client before"
                            + " the worker's check is done")
                    .isFalse();
            assertThat(numbers()).as("nothing done to the number while the worker writes").isEmpty();
            workerDone.countDown();
            release.get(5, TimeUnit.SECONDS);
            assertThat(numbers()).as("the worker let go: now release puts the placeholder back").containsExactly("placeholder 1000");
        } finally {
            workerDone.countDown();
            worker.join(5_000);
        }
    }

    @Test
    @Hints({
            "A worker late with the previous client's answer holds the slot's lock while it checks and writes. What may it see of a slot that is changing hands, if the loop does not wait for it?",
            "Re-read day 6's \"Step 3: the generation, checked under the slot's lock\": which of the loop's steps take the lock.",
            "A new client on the slot changes two things a worker looks at. Is there an order of those two writes, seen from a worker that does not wait, in which the old client's answer looks like the new one's?"})
    void acquireWaitsForAWorkerInMidWrite() throws Exception {
        SlotPool pool = pool(1000, 1);
        Slot s = pool.acquire();
        int alices = s.generation();
        pool.release(s);   // Alice left; a worker late with her answer now takes the slot's lock to check
        CountDownLatch workerHoldsTheLock = new CountDownLatch(1);
        CountDownLatch workerDone = new CountDownLatch(1);
        Thread worker = Thread.ofPlatform().start(() -> {
            s.lock.lock();
            try {
                workerHoldsTheLock.countDown();
                workerDone.await();
            } catch (InterruptedException ignored) {
                // the test ended
            } finally {
                s.lock.unlock();
            }
        });
        try {
            assertThat(workerHoldsTheLock.await(5, TimeUnit.SECONDS)).as("the test's worker took the slot's lock").isTrue();
            CompletableFuture<Thread> acquirer = new CompletableFuture<>();
            CompletableFuture<Slot> acquire = CompletableFuture.supplyAsync(() -> {
                acquirer.complete(Thread.currentThread());
                return pool.acquire();   // Bob connects
            }, r -> Thread.ofPlatform().start(r));
            Thread acquiring = acquirer.get(5, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!acquire.isDone() && !s.lock.hasQueuedThread(acquiring) && System.nanoTime() < deadline) {
                LockSupport.parkNanos(100_000);
            }
            if (acquire.isCompletedExceptionally()) {
                try {
                    acquire.join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof RuntimeException r) throw r;
                    throw e;
                }
            }
            assertThat(acquire.isDone() || s.lock.hasQueuedThread(acquiring))
                    .as("acquire neither returned nor waited for the slot's lock within 5 s: what is it waiting for?")
                    .isTrue();
            assertThat(acquire.isDone())
                    .as("acquire gave the slot to Bob while a worker late with Alice's answer held its lock, in"
                            + " mid-check: the slot changed hands under a worker that was told nothing could change"
                            + " while it held the lock, and it may see Bob's slot open with Alice's generation")
                    .isFalse();
            workerDone.countDown();
            Slot bobs = acquire.get(5, TimeUnit.SECONDS);
            assertThat(bobs).as("the worker let go: Bob gets the slot").isSameAs(s);
            assertThat(bobs.generation()).as("with a generation of his own").isNotEqualTo(alices);
        } finally {
            workerDone.countDown();
            worker.join(5_000);
        }
    }
}
