package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.ChildServer;
import c10k.day01.Fds;
import c10k.day01.FirstWakeUpBurst;
import c10k.day01.TestClient;
import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Running out of descriptors (EMFILE), in a server started under {@code ulimit -n 256}: it
 * refuses the clients it cannot hold, keeps serving the ones it has, does not spin, and
 * accepts again as soon as descriptors free up.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OutOfFdsTest {

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"et", "lt"})
    void refusesWhatItCannotHoldAndKeepsServing(String mode) throws Exception {
        List<TestClient> held = new ArrayList<>();
        int refused = 0;
        try (ChildServer server = ChildServer.start("c10k.day04.Day04", 256, "--mode", mode)) {
            // Connect until the server must refuse, and a few more past that point.
            for (int i = 0; i < 400 && refused < 20; i++) {
                TestClient c = new TestClient(server.port());
                c.send("hello " + i + "\n");
                String answer = c.readLine();
                if (answer.equals("ERR server full\n")) {
                    assertThat(c.endsStream()).isTrue();
                    c.close();
                    refused++;
                } else {
                    assertThat(answer).isEqualTo("hello " + i + "\n");
                    held.add(c);
                }
            }
            assertThat(refused).as("the limit was reached").isEqualTo(20);
            assertThat(held.size()).as("it held clients up to its limit").isGreaterThan(100);

            for (int i = 0; i < held.size(); i++) {
                assertThat(held.get(i).roundTrip("still there " + i + "\n")).isEqualTo("still there " + i + "\n");
            }

            // Free some descriptors: new clients are accepted again (the server sees the closes
            // a moment later, so a few of the first attempts may still be refused).
            for (int i = 0; i < 10; i++) held.removeLast().close();
            boolean servedAgain = false;
            for (int attempt = 0; attempt < 200 && !servedAgain; attempt++) {
                try (TestClient c = new TestClient(server.port())) {
                    servedAgain = c.roundTrip("back\n").equals("back\n");
                }
            }
            assertThat(servedAgain).as("accepting again once fds are free").isTrue();

            String log = server.stop();
            Matcher m = Pattern.compile("(\\d+) epoll_wait wake-ups, (\\d+) clients refused").matcher(log);
            assertThat(m.find()).as(log).isTrue();
            long wakeups = Long.parseLong(m.group(1));
            // A loop that spins on a listener it cannot drain wakes up millions of times; one
            // that refuses with its spare fd wakes a few times per client.
            assertThat(wakeups).as("no busy loop").isLessThan(20_000);
            assertThat(Long.parseLong(m.group(2))).isGreaterThanOrEqualTo(refused);
        } finally {
            for (TestClient c : held) c.close();
        }
    }

    /** Out of fds at its very first wake-up: {@link FirstWakeUpBurst}. */
    @ParameterizedTest(name = "{0} --mode {1}")
    @CsvSource({"c10k.day03.Day03, poll", "c10k.day04.Day04, et", "c10k.day04.Day04, lt"})
    void survivesRunningOutOfFdsAtItsFirstWakeUp(String mainClass, String mode) throws Exception {
        FirstWakeUpBurst.survives(mainClass, "--mode", mode);
    }

    /**
     * A shutdown while no file can be opened: the machine out of files (ENFILE), which our own
     * closes do not end, so even once every connection is closed a class loaded for the first
     * time cannot be read from its file. The server is loaded here by a class loader of its own,
     * which stops reading class files once the server has served a client, as such a machine
     * would. The shutdown must need nothing new. Red when its closing figures
     * ({@code Stats.Snapshot}) are first loaded at the end: NoClassDefFoundError, and the
     * closing line lost (first seen in a run under a lowered fs.file-max).
     */
    @Test
    void shutsDownWithoutLoadingAClass() throws Exception {
        int fdsBefore = Fds.baseline();
        try (NoFilesLater loader = new NoFilesLater()) {
            Class<?> type = loader.loadClass(EpollEchoServer.class.getName());
            Object et = loader.loadClass(EpollEchoServer.Mode.class.getName()).getEnumConstants()[0];
            Object server = type.getConstructor(String.class, int.class, et.getClass()).newInstance("127.0.0.1", 0, et);
            try {
                type.getMethod("start").invoke(server);
                try (TestClient c = new TestClient((int) type.getMethod("port").invoke(server))) {
                    assertThat(c.roundTrip("hello\n")).isEqualTo("hello\n");
                    loader.noMoreFiles = true;
                    type.getMethod("shutdownGracefully", Duration.class).invoke(server, Duration.ZERO);
                    assertThat(c.endsStream()).isTrue();
                }
            } catch (InvocationTargetException e) {
                throw new AssertionError("the shutdown needed a class file", e.getCause());
            } finally {
                loader.noMoreFiles = false;
                type.getMethod("close").invoke(server);
            }
        }
        Fds.awaitNoLeak(fdsBefore);
    }

    /** Loads the book's classes itself (the JDK's from the parent), until told that no file can be opened. */
    private static final class NoFilesLater extends URLClassLoader {
        volatile boolean noMoreFiles;

        NoFilesLater() throws MalformedURLException {
            super(classPath(), ClassLoader.getPlatformClassLoader());
        }

        private static URL[] classPath() throws MalformedURLException {
            List<URL> urls = new ArrayList<>();
            for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) urls.add(new File(entry).toURI().toURL());
            return urls.toArray(URL[]::new);
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            if (noMoreFiles) throw new ClassNotFoundException(name + ": no file can be opened");
            return super.findClass(name);
        }
    }

    /** The same burst, then a line over the limit while no fd is free: {@link FirstWakeUpBurst#survivesAnOversizedLine}. */
    @Test
    void answersAnOversizedLineWhileOutOfFds() throws Exception {
        FirstWakeUpBurst.survivesAnOversizedLine("c10k.day04.Day04", "--mode", "et");
    }
}
