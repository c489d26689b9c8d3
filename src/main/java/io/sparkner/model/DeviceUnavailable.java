package io.sparkner.model;

/**
 * The device a task must run on cannot be used: Spark assigned it a GPU but the libtorch this JVM
 * loaded cannot drive one, or {@code --device gpu} and there is no GPU. A configuration error, the
 * same on every retry (an {@link IllegalArgumentException}, so the driver does not run the job again).
 */
public final class DeviceUnavailable extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public DeviceUnavailable(String message) {
    super(message);
  }
}
