package c10k.bench;

import c10k.day01.EchoServer;
import c10k.day01.Protocol;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The peer in the benchmark: the same line-echo job done the way a Java user would do it with
 * Netty's native epoll transport (edge-triggered, JNI), or its io_uring transport for day 7's
 * comparison. Idiomatic, not tuned against us, and with Netty's production settings:
 * {@code TCP_NODELAY} on accepted channels (Netty's default, set here explicitly so the report
 * can say so), {@code sun.misc.Unsafe} allowed on its JVM by the bench;
 * {@link LineBasedFrameDecoder} with the protocol's limit, write each frame back, flush once
 * per read batch, and backpressure through the default water marks (32 KiB / 64 KiB), pausing
 * auto-read while the channel is not writable.
 *
 * <p>{@link #close()} closes every connection itself before it stops the event loops: see there.
 */
public final class NettyEchoServer implements EchoServer {

    /** Netty's two native Linux transports. */
    public enum Transport { EPOLL, IO_URING }

    private final InetSocketAddress address;
    private final int threads;
    private final Transport transport;
    private EventLoopGroup group;
    private Channel listener;
    /** Every accepted connection still open; a closed channel leaves the group by itself. */
    private final ChannelGroup connections = new DefaultChannelGroup("netty echo connections", GlobalEventExecutor.INSTANCE);

    public NettyEchoServer(InetSocketAddress address, int threads) {
        this(address, threads, Transport.EPOLL);
    }

    public NettyEchoServer(InetSocketAddress address, int threads, Transport transport) {
        this.address = address;
        this.threads = threads;
        this.transport = transport;
    }

    @Override
    public void start() {
        IoHandlerFactory io = transport == Transport.IO_URING ? IoUringIoHandler.newFactory() : EpollIoHandler.newFactory();
        Class<? extends ServerChannel> channel = transport == Transport.IO_URING
                ? IoUringServerSocketChannel.class : EpollServerSocketChannel.class;
        group = new MultiThreadIoEventLoopGroup(threads, io);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(channel)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .handler(new Track(connections))
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // maxLength excludes the delimiter; the protocol's limit includes it.
                        ch.pipeline().addLast(new LineBasedFrameDecoder(Protocol.MAX_LINE - 1, false, true), ECHO);
                    }
                });
        listener = b.bind(address).syncUninterruptibly().channel();
    }

    private static final ChannelHandler ECHO = new Echo();

    /**
     * On the listener's pipeline, so it sees each accepted channel before the bootstrap hands
     * it to a child loop: a connection accepted just before {@link #close()} is tracked even if
     * its registration has not run yet.
     */
    private static final class Track extends ChannelInboundHandlerAdapter {
        private final ChannelGroup connections;

        Track(ChannelGroup connections) {
            this.connections = connections;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object accepted) {
            connections.add((Channel) accepted);
            ctx.fireChannelRead(accepted);
        }
    }

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());   // the frame, newline included, goes straight back
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            if (!ctx.channel().isWritable()) ctx.channel().config().setAutoRead(false);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                ByteBuf err = Unpooled.wrappedBuffer(Protocol.ERR_LINE_TOO_LONG);
                ctx.writeAndFlush(err).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.close();
            }
        }
    }

    @Override
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The connections accepted and not yet closed: what tests look at. */
    ChannelGroup connections() {
        return connections;
    }

    private boolean closed;

    /**
     * Stops accepting, closes every connection, then stops the loops and waits for their end.
     * Shutting the loops down is not enough to close the connections: Netty 4.2's loop closes
     * its channels only when it sees the shutdown right after its I/O step, and with a quiet
     * period of 0 its next check ends the loop at once. A shutdown that lands while the loop is
     * running its queued tasks ends it with its channels open: a socket whose client has left
     * then stays in CLOSE_WAIT, its FIN unread, for the life of the process. Closing the
     * connections ourselves first does not depend on when the loops look.
     */
    @Override
    public synchronized void close() {
        if (closed) return;   // EchoServer's contract: safe to call more than once
        closed = true;
        // The listener first, on its own loop: once that is done, every accepted channel has
        // gone through Track, so the group below holds them all.
        if (listener != null) listener.close().syncUninterruptibly();
        connections.close().awaitUninterruptibly();
        if (group != null) group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Override
    public String toString() {
        return "netty " + (transport == Transport.IO_URING ? "io_uring" : "epoll") + " x" + threads;
    }
}
