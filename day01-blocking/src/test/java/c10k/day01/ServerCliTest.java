package c10k.day01;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ServerCliTest {

    private final ServerCli cli = ServerCli.named("dayXX", "A test server.", 9099)
            .modes("alpha", "beta").threads(4).intOption("--pool", "SIZE", 100, "connections in the pool");

    @Test
    void defaultsListenOnLoopbackOnly() throws Exception {
        ServerCli.Options o = cli.parse();
        assertThat(o.host()).isEqualTo("127.0.0.1");
        assertThat(o.port()).isEqualTo(9099);
        assertThat(o.threads()).isEqualTo(4);
        assertThat(o.mode()).isEqualTo("alpha");
        assertThat(o.intOption("--pool")).isEqualTo(100);
    }

    @Test
    void parsesBothSpellings() throws Exception {
        ServerCli.Options o = cli.parse("--port", "0", "--mode=beta", "--threads=8", "--host", "127.0.0.2", "--pool", "7");
        assertThat(o).extracting(ServerCli.Options::port, ServerCli.Options::mode, ServerCli.Options::threads, ServerCli.Options::host)
                .containsExactly(0, "beta", 8, "127.0.0.2");
        assertThat(o.intOption("--pool")).isEqualTo(7);
    }

    @Test
    void rejectsWhatItDoesNotKnow() {
        assertThatThrownBy(() -> cli.parse("--bogus")).hasMessageContaining("unknown option '--bogus'");
        assertThatThrownBy(() -> cli.parse("--mode", "gamma")).hasMessageContaining("unknown mode 'gamma'");
        assertThatThrownBy(() -> cli.parse("--port", "70000")).hasMessageContaining("bad port");
        assertThatThrownBy(() -> cli.parse("--threads", "0")).hasMessageContaining("positive");
        assertThatThrownBy(() -> cli.parse("--port")).hasMessageContaining("needs a value");
        assertThatThrownBy(() -> ServerCli.named("day01", "x", 9001).parse("--mode", "a"))
                .hasMessageContaining("has no --mode");
    }

    @Test
    void aBadOptionPrintsOneLineAndTheUsageAndExitsWith2() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = cli.runWithoutExit(new String[] {"--nope"}, o -> { throw new AssertionError("not started"); },
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isEqualTo(2);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("dayXX: unknown option '--nope'\nusage: dayXX");
    }

    @Test
    void helpGoesToStdoutAndExitsWith0() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = cli.runWithoutExit(new String[] {"--help"}, o -> { throw new AssertionError("not started"); },
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--mode MODE", "alpha|beta", "--pool SIZE", "--threads N");
    }
}
