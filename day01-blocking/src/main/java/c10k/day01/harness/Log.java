package c10k.day01.harness;

import c10k.day01.harness.Log;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The book's logging: servers log through {@link System.Logger} (the JDK's own API, no
 * dependency), and this class makes every record one line on stderr:
 * <pre>
 * 22:47:39.123 WARNING day01: accept failed: Too many open files; retrying in 100 ms
 * 22:47:40.001 DEBUG   day01: client /127.0.0.1:51234 closed: line too long
 * </pre>
 *
 * <p>A server class takes its logger with {@code Log.logger("day01")}, which is
 * {@code System.getLogger("c10k.day01")} with this format installed first. Levels: ERROR and
 * WARNING for what an operator must see, INFO for the server's life (start, stop, the
 * {@code --stats} line), DEBUG for each connection's events, TRACE for more. Never a line per
 * request at INFO: a log line costs more than echoing the request did.
 *
 * <p>Why java.util.logging underneath: with no other logging library present,
 * {@code System.getLogger} is backed by it, and it can be configured from code. A
 * {@code System.LoggerFinder} service would need a {@code META-INF/services} file, which a
 * JBang script's {@code //SOURCES} does not carry.
 */
public final class Log {

    /** The parent of every book logger. Held here because java.util.logging keeps only weak
     *  references to its loggers: a configured logger nobody holds can lose its settings. */
    private static final Logger BOOK = Logger.getLogger("c10k");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    /** Where lines go; null means whatever {@code System.err} is at the time (the tour swaps it). */
    private static volatile PrintStream to;

    static {
        BOOK.setUseParentHandlers(false);   // not the JDK's default two-line console format
        BOOK.addHandler(new OneLine());
        BOOK.setLevel(Level.INFO);
    }

    private Log() {
    }

    /** The logger of one server or part of the book, e.g. {@code "day01"}. */
    public static System.Logger logger(String name) {
        return System.getLogger("c10k." + name);
    }

    /** Sets the level of every book logger ({@code --log-level}). */
    public static void level(System.Logger.Level level) {
        BOOK.setLevel(switch (level) {
            case ALL -> Level.ALL;
            case TRACE -> Level.FINER;
            case DEBUG -> Level.FINE;
            case INFO -> Level.INFO;
            case WARNING -> Level.WARNING;
            case ERROR -> Level.SEVERE;
            case OFF -> Level.OFF;
        });
    }

    /** Sends lines to {@code out} instead of stderr (tests); null goes back to stderr. */
    static void to(PrintStream out) {
        to = out;
    }

    private static final class OneLine extends Handler {
        /**
         * Read once, when logging is set up: the JDK loads its time-zone database lazily, from a
         * file, and a server out of descriptors (EMFILE, the very moment it has something to
         * log) could not open it.
         */
        private static final ZoneId ZONE = ZoneId.systemDefault();

        private final Formatter messages = new Formatter() {
            @Override
            public String format(LogRecord r) {
                return formatMessage(r);   // fills in {0}-style parameters, as System.Logger asks
            }
        };

        @Override
        public void publish(LogRecord r) {
            String name = r.getLoggerName() == null ? "" : r.getLoggerName().replaceFirst("^c10k\\.", "");
            String line = TIME.format(LocalTime.ofInstant(r.getInstant(), ZONE))
                    + " " + String.format("%-7s", level(r.getLevel())) + " " + name + ": " + messages.format(r)
                    + (r.getThrown() == null ? "" : ": " + r.getThrown());
            PrintStream out = to != null ? to : System.err;
            out.println(line);   // println is synchronized: lines from many threads never mix
        }

        private static String level(Level l) {
            int v = l.intValue();
            if (v >= Level.SEVERE.intValue()) return "ERROR";
            if (v >= Level.WARNING.intValue()) return "WARNING";
            if (v >= Level.INFO.intValue()) return "INFO";
            if (v >= Level.FINE.intValue()) return "DEBUG";
            return "TRACE";
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
