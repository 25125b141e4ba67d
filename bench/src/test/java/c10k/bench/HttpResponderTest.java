package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.day01.EchoServer;
import c10k.day01.ServerTestBase;
import c10k.day01.TestClient;
import c10k.day05.SharedEpollServer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(value = OS.LINUX, disabledReason = "day 5's engine is epoll")
class HttpResponderTest extends ServerTestBase {

    private static final String GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    private static final String OK = "HTTP/1.1 200 OK\r\nServer: c10k\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n";

    @Override
    protected EchoServer newServer() {
        return new SharedEpollServer("127.0.0.1", 0, 2, new HttpResponder());
    }

    @Test
    void keepsTheConnectionAliveAndCountsTheBodyRight() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            for (int i = 0; i < 3; i++) {
                c.send(GET);
                assertThat(c.readString(OK.length())).isEqualTo(OK);
            }
            assertThat(OK).contains("Content-Length: " + HttpResponder.BODY.length + "\r\n");
        }
    }

    @Test
    void answersPipelinedRequestsInOrder() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            c.send(GET.repeat(50));
            assertThat(c.readString(OK.length() * 50)).isEqualTo(OK.repeat(50));
        }
    }

    @Test
    void aMalformedRequestLineGets400AndClose() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            c.send("HELLO\r\n\r\n");
            String answer = new String(c.readToEnd(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 400 Bad Request\r\n").contains("Connection: close");
        }
    }

    @Test
    void oversizedHeadersGet431AndClose() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            c.send("GET / HTTP/1.1\r\n" + ("X-Filler: " + "y".repeat(100) + "\r\n").repeat(100) + "\r\n");
            String answer = new String(c.readToEnd(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
        }
    }

    @Test
    void connectionCloseIsHonoured() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            c.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + GET);
            String answer = new String(c.readToEnd(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 200 OK\r\n").contains("Connection: close\r\n").endsWith("Hello, world!\n");
            assertThat(answer.indexOf("HTTP/1.1", 1)).as("the pipelined second request is not answered").isEqualTo(-1);
        }
    }

    @Test
    void aRequestWithABodyIsRefusedRatherThanMisread() throws Exception {
        try (TestClient c = new TestClient(server.port())) {
            c.send("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
            assertThat(new String(c.readToEnd(), StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 400 ");
        }
    }
}
