package c10k.exercises;

import java.util.Comparator;
import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.ClassOrdererContext;
import org.junit.jupiter.api.ClassDescriptor;

/**
 * Runs the exercises day by day, and within a day by number (their display names start with
 * it: "1. LineSplitter: ..."), so that {@code ./jbang check} reports them in the order a
 * learner does them.
 */
public final class ExerciseOrder implements ClassOrderer {

    @Override
    public void orderClasses(ClassOrdererContext context) {
        context.getClassDescriptors().sort(Comparator
                .comparing((ClassDescriptor d) -> d.getTestClass().getPackageName())
                .thenComparing(ClassDescriptor::getDisplayName));
    }
}
