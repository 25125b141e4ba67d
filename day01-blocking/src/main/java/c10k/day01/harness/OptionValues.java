package c10k.day01.harness;

import c10k.day01.harness.OptionValues;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** What {@link ServerCli}'s options accept: picocli prints these messages as the usage error. */
final class OptionValues {

    private OptionValues() {
    }

    static Object mode(List<String> modes, String v) {
        for (String m : modes) if (m.equalsIgnoreCase(v)) return m;
        throw new TypeConversionException("unknown mode '" + v + "' (expected one of " + String.join(", ", modes) + ")");
    }

    static String ipv4(String v) {
        try {
            if (InetAddress.getByName(v) instanceof Inet4Address) return v;
        } catch (UnknownHostException e) {
            throw new TypeConversionException("unknown host '" + v + "'");
        }
        throw new TypeConversionException("'" + v + "' is not an IPv4 address (the FFM servers speak IPv4 only)");
    }

    static Integer atLeast(String what, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException e) {
            // said below
        }
        throw new TypeConversionException(what + " needs a whole number from " + min + (max < Integer.MAX_VALUE ? " to " + max : " up") + ", got '" + v + "'");
    }

    // The same checks for the annotated options of SharedOptions: an annotation can only name a class.

    static final class Host implements ITypeConverter<String> {
        @Override
        public String convert(String v) {
            return ipv4(v);
        }
    }

    static final class Port implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String v) {
            return atLeast("--port", v, 0, 65_535);
        }
    }

    static final class Seconds implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String v) {
            return atLeast("a timeout", v, 0, Integer.MAX_VALUE);
        }
    }
}
