package io.sparkner.storage;

import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;

/**
 * Keeps credentials out of everything sparkner prints or writes: console lines, log lines, error
 * messages, summaries and configuration dumps.
 *
 * <ul>
 *   <li>A configuration key is sensitive when its name contains {@code secret}, {@code key}, {@code
 *       token}, {@code password}, {@code credential} or {@code sas} (any case): {@code
 *       fs.s3a.secret.key}, {@code fs.s3a.session.token}, {@code fs.azure.account.key.ACCOUNT...},
 *       {@code fs.azure.sas.CONTAINER.ACCOUNT...}, {@code fs.azure.account.oauth2.client.secret}.
 *       Its value is shown as {@value #MASK}. (A superset of Hadoop's own {@code
 *       hadoop.security.sensitive-config-keys}.)
 *   <li>User info is stripped from URIs: {@code s3a://AKIA...:secret@bucket/x} becomes {@code
 *       s3a://bucket/x}. Azure's {@code wasbs://container@account...} and {@code
 *       abfss://filesystem@account...} keep their user part, which names a container, not a
 *       credential, unless it carries a password ({@code user:password@}).
 *   <li>Query parameters that carry secrets ({@code sig=} of an Azure SAS, and any sensitive name)
 *       are masked.
 * </ul>
 */
public final class Redaction {
  public static final String MASK = "*****";

  private static final String WORDS = "secret|key|token|password|credential|sas";
  private static final Pattern SENSITIVE = Pattern.compile("(?i)" + WORDS);

  /**
   * The same rule for Spark's {@code spark.redaction.regex} (its default misses {@code
   * fs.azure.account.key.*}).
   */
  public static final String SPARK_REDACTION_REGEX = "(?i)" + WORDS;

  /** {@code scheme://userinfo@}: the user info runs from {@code //} to the first {@code @}. */
  private static final Pattern USER_INFO =
      Pattern.compile("\\b([A-Za-z][A-Za-z0-9+.-]*)://([^\\s@\"'<>]*?)@");

  /**
   * {@code name=value} (configuration assignments, query strings) with a sensitive name, or Azure's
   * {@code sig}.
   */
  private static final Pattern ASSIGNMENT =
      Pattern.compile(
          "((?:[A-Za-z0-9_.\\-]*(?i:"
              + WORDS
              + ")[A-Za-z0-9_.\\-]*|(?<=[?&])sig)=)([^\\s&,;'\"<>)\\]}]+)");

  /** {@code "name": "value"} in JSON with a sensitive name. */
  private static final Pattern JSON_PAIR =
      Pattern.compile("(\"[^\"]*(?i:" + WORDS + ")[^\"]*\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\"");

  /**
   * Values of sensitive keys shorter than this are not searched for in free text ("true", "128").
   */
  private static final int MIN_SECRET_LENGTH = 6;

  private static final Set<String> AZURE_SCHEMES = Set.of("wasb", "wasbs", "abfs", "abfss");

  private Redaction() {}

  /** Whether a configuration key names a credential. */
  public static boolean isSensitive(String key) {
    return key != null && SENSITIVE.matcher(key).find();
  }

  /** The value to show for {@code key}: {@value #MASK} for a sensitive key, else the value. */
  public static String value(String key, String value) {
    return value != null && isSensitive(key) ? MASK : value;
  }

  /** A URI or path as it may be shown: without credentials in its user info or query. */
  public static String uri(String uri) {
    return uri == null ? null : text(uri);
  }

  /**
   * Free text (an exception message, a log line, a JSON document) as it may be shown: user info
   * stripped from every URI in it, sensitive {@code name=value} and {@code "name": "value"} pairs
   * masked.
   */
  public static String text(String s) {
    if (s == null || s.isEmpty()) {
      return s;
    }
    String out = replace(USER_INFO, s, m -> m.group(1) + "://" + userInfo(m.group(1), m.group(2)));
    out = replace(ASSIGNMENT, out, m -> m.group(1) + MASK);
    return replace(JSON_PAIR, out, m -> m.group(1) + "\"" + MASK + "\"");
  }

  /**
   * {@link #text(String)}, and every value of a sensitive key of {@code conf} masked wherever it
   * appears (a secret quoted back by a library in its own words).
   */
  public static String text(String s, Configuration conf) {
    String out = text(s);
    if (out == null || conf == null) {
      return out;
    }
    for (Map.Entry<String, String> e : conf) {
      String v = e.getValue();
      if (isSensitive(e.getKey())
          && v != null
          && v.length() >= MIN_SECRET_LENGTH
          && out.contains(v)) {
        out = out.replace(v, MASK);
      }
    }
    return out;
  }

  /**
   * The settings under {@code prefix} (e.g. {@code fs.s3a.}) that the job set, sorted, sensitive
   * values masked; Hadoop's shipped defaults ({@code *-default.xml}) are left out.
   */
  public static SortedMap<String, String> settings(Configuration conf, String prefix) {
    SortedMap<String, String> out = new TreeMap<>();
    for (Map.Entry<String, String> e : conf) {
      String k = e.getKey();
      if (k.startsWith(prefix) && !isDefault(conf, k)) {
        out.put(k, value(k, text(e.getValue())));
      }
    }
    return out;
  }

  private static boolean isDefault(Configuration conf, String key) {
    String[] sources = conf.getPropertySources(key);
    if (sources == null || sources.length == 0) {
      return false;
    }
    for (String s : sources) {
      if (!s.endsWith("-default.xml")) {
        return false;
      }
    }
    return true;
  }

  /**
   * What is kept of a URI's user info: an Azure container name; never a password or an access key.
   */
  private static String userInfo(String scheme, String info) {
    int slash = info.indexOf('/');
    if (slash >= 0) {
      String head = info.substring(0, slash);
      // an '@' further along the path (hdfs://nn:8020/a@b), unless the head is KEY:secret with a
      // raw '/' in the secret (s3a://KEY:abc/def@bucket)
      return head.contains(":") && !head.matches(".*:\\d+") ? "" : info + "@";
    }
    if (info.contains(":")) {
      return ""; // user:password
    }
    return AZURE_SCHEMES.contains(scheme.toLowerCase(java.util.Locale.ROOT)) ? info + "@" : "";
  }

  private static String replace(
      Pattern p, String s, java.util.function.Function<Matcher, String> f) {
    Matcher m = p.matcher(s);
    if (!m.find()) {
      return s;
    }
    StringBuilder sb = new StringBuilder(s.length());
    do {
      m.appendReplacement(sb, Matcher.quoteReplacement(f.apply(m)));
    } while (m.find());
    m.appendTail(sb);
    return sb.toString();
  }
}
