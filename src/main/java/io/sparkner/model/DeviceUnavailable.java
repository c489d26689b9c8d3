package io.sparkner.model;

/**
 * The device a task must run on cannot be used: Spark assigned it a GPU but the libtorch this JVM
 * loaded cannot drive one, or {@code --device gpu} and there is no GPU. A configuration error, the
 * same on every retry (an {@link IllegalArgumentException}, so the driver does not run the job
 * again).
 */
public final class DeviceUnavailable extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public DeviceUnavailable(String message) {
    super(message);
  }

  /**
   * The {@link DeviceUnavailable} behind a failure: a cause, or (when Spark aborted a barrier
   * stage, which keeps only the tasks' failure text) the line of the job's message that a task's
   * one wrote.
   */
  public static DeviceUnavailable in(Throwable failure) {
    java.util.Set<Throwable> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
      if (t instanceof DeviceUnavailable d) {
        return d;
      }
    }
    String marker = DeviceUnavailable.class.getName() + ": ";
    int depth = 0;
    for (Throwable t = failure; t != null && depth++ < 64; t = t.getCause()) {
      String m = t.getMessage();
      int at = m == null ? -1 : m.indexOf(marker);
      if (at >= 0) {
        int end = m.indexOf('\n', at);
        return new DeviceUnavailable(
            m.substring(at + marker.length(), end < 0 ? m.length() : end).trim());
      }
    }
    return null;
  }
}
