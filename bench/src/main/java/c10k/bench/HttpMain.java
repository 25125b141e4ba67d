package c10k.bench;

import c10k.day01.harness.ServerCli;
import c10k.day05.SharedEpollServer;

/** The HTTP responder on the day 5 engine (shared design), started by the benchmark. */
public final class HttpMain {
    public static void main(String[] args) {
        ServerCli.named("http", "A minimal HTTP/1.1 keep-alive responder on day 5's shared epoll design.", 9080)
                .threads(1)
                .run(args, o -> new SharedEpollServer(o.host(), o.port(), o.threads(), new HttpResponder()));
    }
}
