package io.sparkner.config;

import com.fasterxml.jackson.annotation.JsonAutoDetect.Visibility;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyName;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one reader of configuration files: JSON or YAML (by extension, {@link ConfigFormat}) bound by
 * Jackson onto a record or POJO whose defaults are its field initializers, with
 *
 * <ul>
 *   <li>every key checked against the class before binding, and every problem of a file reported at
 *       once ({@link ConfigError}): an unknown key with its full path and a did-you-mean ({@code
 *       conf.json: unknown key "zero_optimization.stgae" (did you mean
 *       "zero_optimization.stage"?)}), a wrong type as {@code conf.json: "a.b.c" must be an
 *       integer, got the string "x"};
 *   <li>lenient scalars where YAML or a command line needs them: a number may be a string ({@code
 *       "5e-5"}, which YAML 1.1 reads as a string), an integer may be an integral double ({@code
 *       2e8}), a boolean may be the string true/false, a list of strings may be one string;
 *   <li>the keys the file actually gave ({@link Bound#explicitKeys()}, dotted paths, aliases under
 *       their main name) and the notes of {@link Ignored} keys;
 *   <li>{@link Setting} properties that also take {@code "auto"};
 *   <li>{@code --set key.path=value} applied as an update of the bound tree ({@link #update}).
 * </ul>
 *
 * <p>Property names are the snake_case of the Java field or record component names ({@code
 * perDeviceTrainBatchSize} is {@code per_device_train_batch_size}); {@code @JsonAlias} gives an
 * older name (both at once are an error); enum values are their lower-case names (or their
 * {@code @JsonProperty}), matched case-insensitively; null leaves a boxed property null and is an
 * error for a primitive one. A class implementing {@link Validated} is validated after binding.
 *
 * <p>Instances are immutable and thread-safe; {@link #allowUnknownKeys}, {@link #autoHint} and
 * {@link #outOfScope} return new readers.
 */
public final class ConfigReader<T> {

  /**
   * A bound configuration.
   *
   * @param value the bound object
   * @param source where it came from: the file's name, {@code "... + --set"} after {@link #update}
   * @param tree the checked tree it was bound from (main names, scalars normalized)
   * @param explicitKeys the dotted paths of every key given, sections included ({@code
   *     zero_optimization}, {@code zero_optimization.stage}), aliases under their main name, {@link
   *     Ignored} keys left out
   * @param notes {@code "key (reason)"} for each {@link Ignored} key given
   */
  public record Bound<T>(
      T value, String source, ObjectNode tree, Set<String> explicitKeys, List<String> notes) {
    public Bound {
      explicitKeys = Collections.unmodifiableSet(new TreeSet<>(explicitKeys));
      notes = List.copyOf(notes);
    }

    /** Whether the configuration gave the key at {@code path} (dotted, main name). */
    public boolean isExplicit(String path) {
      return explicitKeys.contains(path);
    }
  }

  private static final String AUTO = "auto";
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private static final ObjectMapper JSON = strict(new ObjectMapper());
  private static final ObjectMapper YAML = strict(new YAMLMapper(new YAMLFactory()));

  /** Binds checked trees: snake_case names, fields (not getters) as properties. */
  private static final ObjectMapper BINDER =
      JsonMapper.builder()
          .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .visibility(PropertyAccessor.ALL, Visibility.NONE)
          .visibility(PropertyAccessor.FIELD, Visibility.ANY)
          .visibility(PropertyAccessor.CREATOR, Visibility.ANY)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
          .addModule(module())
          .build();

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static SimpleModule module() {
    SimpleModule m = new SimpleModule("sparkner-config");
    m.addDeserializer(Setting.class, new SettingDeserializer(null));
    m.addSerializer((Class) Enum.class, new EnumSerializer());
    return m;
  }

  private static final Map<JavaType, Props> PROPS = new ConcurrentHashMap<>();

  private final JavaType type;
  private final boolean allowUnknownKeys;
  private final String autoHint;
  private final Map<String, String> outOfScope;
  private final boolean strictIntegers;
  private final boolean allProblemsAtOnce;

  private ConfigReader(
      JavaType type, boolean allowUnknownKeys, String autoHint, Map<String, String> outOfScope) {
    this(type, allowUnknownKeys, autoHint, outOfScope, false, false);
  }

  private ConfigReader(
      JavaType type,
      boolean allowUnknownKeys,
      String autoHint,
      Map<String, String> outOfScope,
      boolean strictIntegers,
      boolean allProblemsAtOnce) {
    this.type = type;
    this.allowUnknownKeys = allowUnknownKeys;
    this.autoHint = autoHint;
    this.outOfScope = Collections.unmodifiableMap(new LinkedHashMap<>(outOfScope));
    this.strictIntegers = strictIntegers;
    this.allProblemsAtOnce = allProblemsAtOnce;
  }

  /** A reader binding onto {@code type} (a record or a class with a no-argument constructor). */
  public static <T> ConfigReader<T> of(Class<T> type) {
    return new ConfigReader<>(BINDER.constructType(type), false, null, Map.of());
  }

  /**
   * Unknown keys are kept in the tree and ignored instead of refused (for files other tools write,
   * such as a Hugging Face config.json).
   */
  public ConfigReader<T> allowUnknownKeys() {
    return new ConfigReader<>(type, true, autoHint, outOfScope, strictIntegers, allProblemsAtOnce);
  }

  /**
   * The string {@code "auto"} where a property is not a {@link Setting} (a string property too) is
   * refused as {@code "a.b" cannot be "auto"} followed by {@code hint} (instead of a type error).
   */
  public ConfigReader<T> autoHint(String hint) {
    return new ConfigReader<>(
        type, allowUnknownKeys, hint, outOfScope, strictIntegers, allProblemsAtOnce);
  }

  /**
   * An unknown key whose dotted path starts with {@code pathPrefix} is refused as {@code "path":
   * reason} instead of with a did-you-mean (a known feature that is deliberately not supported).
   */
  public ConfigReader<T> outOfScope(String pathPrefix, String reason) {
    Map<String, String> m = new LinkedHashMap<>(outOfScope);
    m.put(pathPrefix, reason);
    return new ConfigReader<>(
        type, allowUnknownKeys, autoHint, m, strictIntegers, allProblemsAtOnce);
  }

  /**
   * An integer or a boolean must be one in the file: the string {@code "20"} is refused as {@code
   * "a.b" must be an integer, got the string "20"} (a number may still be a string, as YAML 1.1
   * reads {@code 5e-3}).
   */
  public ConfigReader<T> strictIntegers() {
    return new ConfigReader<>(
        type, allowUnknownKeys, autoHint, outOfScope, true, allProblemsAtOnce);
  }

  /**
   * Validation runs even when keys were refused or had the wrong type, on what did bind (a refused
   * value stays at its default), so that every problem of a file is reported at once.
   */
  public ConfigReader<T> allProblemsAtOnce() {
    return new ConfigReader<>(type, allowUnknownKeys, autoHint, outOfScope, strictIntegers, true);
  }

  // ------------------------------------------------------------------ reading

  /** Reads a local file; its file name is the source that prefixes every message. */
  public Bound<T> read(Path file) {
    String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
    ConfigFormat format = ConfigFormat.of(name);
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return read(new StringReader(text), name, format);
  }

  /** Reads text whose format is given by the extension of {@code source}. */
  public Bound<T> read(String text, String source) {
    return read(new StringReader(text), source, ConfigFormat.of(source));
  }

  /** Reads from a reader; the format is given by the extension of {@code source}. */
  public Bound<T> read(Reader reader, String source) {
    return read(reader, source, ConfigFormat.of(source));
  }

  /** Reads in the given format; {@code source} prefixes every message. */
  public Bound<T> read(Reader reader, String source, ConfigFormat format) {
    return bind(readTree(reader, source, format), source);
  }

  /**
   * Checks, binds and validates a tree (null or missing: an empty document, all defaults).
   *
   * @throws ConfigError with every problem found
   */
  public Bound<T> bind(JsonNode tree, String source) {
    if (tree == null || tree.isMissingNode() || tree.isNull()) {
      tree = NODES.objectNode();
    }
    if (!tree.isObject()) {
      throw new ConfigError(
          source
              + ": the configuration must be a mapping of option names to"
              + " values, not "
              + describe(tree));
    }
    Walk w = new Walk(source);
    ObjectNode checked = (ObjectNode) w.check(tree, type, "");
    if (!allProblemsAtOnce) {
      ConfigError.throwIfAny(w.errors);
    }
    T value = convert(checked, source);
    List<String> errors = new ArrayList<>(w.errors);
    errors.addAll(problems(value, source));
    ConfigError.throwIfAny(errors);
    return new Bound<>(value, source, checked, w.explicit, w.notes);
  }

  /**
   * {@code base} with {@code key.path=value} assignments (the command line's {@code --set}) applied
   * to its tree, then bound again. A value is read as JSON when it is JSON ({@code 3e-5}, {@code
   * true}, {@code null}, {@code ["mlflow"]}, {@code {"stage": 1}}) and as a plain string otherwise
   * ({@code constant_with_warmup}). Problems name the assignment ({@code --set seed=abc: "seed"
   * must be an integer, got the string "abc"}); validation problems are prefixed {@code --set}. The
   * keys set become explicit; the source becomes {@code "<source> + --set"}.
   */
  public Bound<T> update(Bound<T> base, Collection<String> assignments) {
    if (assignments.isEmpty()) {
      return base;
    }
    ObjectNode tree = base.tree().deepCopy();
    List<String> errors = new ArrayList<>();
    Set<String> explicit = new LinkedHashSet<>(base.explicitKeys());
    List<String> notes = new ArrayList<>(base.notes());
    for (String assignment : assignments) {
      String where = "--set " + assignment;
      int eq = assignment.indexOf('=');
      if (eq <= 0) {
        errors.add(where + ": expected key=value");
        continue;
      }
      String key = assignment.substring(0, eq).trim();
      JsonNode value = parseValue(assignment.substring(eq + 1).trim());
      ObjectNode one = NODES.objectNode();
      ObjectNode at = one;
      String[] parts = key.split("\\.", -1);
      for (int i = 0; i < parts.length - 1; i++) {
        at = at.putObject(parts[i]);
      }
      at.set(parts[parts.length - 1], value);
      Walk w = new Walk(where);
      w.notes.addAll(notes);
      JsonNode checked = w.check(one, type, "");
      if (w.errors.isEmpty()) {
        merge(tree, (ObjectNode) checked);
        explicit.addAll(w.explicit);
        notes = w.notes;
      }
      errors.addAll(w.errors);
    }
    ConfigError.throwIfAny(errors);
    T value = convert(tree, "--set");
    validate(value, "--set");
    return new Bound<>(value, base.source() + " + --set", tree, explicit, notes);
  }

  private static void merge(ObjectNode into, ObjectNode from) {
    for (Iterator<Map.Entry<String, JsonNode>> it = from.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode old = into.get(e.getKey());
      if (old != null && old.isObject() && e.getValue().isObject()) {
        merge((ObjectNode) old, (ObjectNode) e.getValue());
      } else {
        into.set(e.getKey(), e.getValue());
      }
    }
  }

  /** An override's value: JSON when it parses as JSON, else the text itself. */
  public static JsonNode parseValue(String text) {
    if (text.isEmpty()) {
      return TextNode.valueOf("");
    }
    try {
      JsonNode n = JSON.readTree(text);
      if (n != null && !n.isMissingNode()) {
        return n;
      }
    } catch (JsonProcessingException e) {
      // not JSON: a plain string such as constant_with_warmup
    }
    return TextNode.valueOf(text);
  }

  private T convert(ObjectNode checked, String source) {
    try {
      return BINDER.treeToValue(checked, type);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      // the check accepts only what binds; this is a bug in a configuration class
      throw new IllegalStateException(source + ": cannot bind " + type + ": " + e.getMessage(), e);
    }
  }

  private static void validate(Object value, String source) {
    ConfigError.throwIfAny(problems(value, source));
  }

  private static List<String> problems(Object value, String source) {
    List<String> errors = new ArrayList<>();
    if (value instanceof Validated v) {
      List<String> problems = new ArrayList<>();
      v.validate(problems);
      for (String p : problems) {
        errors.add(source + ": " + p);
      }
    }
    return errors;
  }

  /**
   * A bound object as an ordered map of its configuration names (for logs, metrics and equality):
   * declaration order, enums by their configuration names, {@link Ignored} keys left out.
   */
  public static Map<String, Object> toMap(Object value) {
    ObjectNode tree = BINDER.valueToTree(value);
    for (Prop p : props(BINDER.constructType(value.getClass())).byKey().values()) {
      if (p.ignored() != null) {
        tree.remove(p.name());
      }
    }
    return BINDER.convertValue(tree, new TypeReference<LinkedHashMap<String, Object>>() {});
  }

  // ------------------------------------------------------------------ parsing

  private static ObjectMapper strict(ObjectMapper m) {
    m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    return m;
  }

  /** Parses text whose format is given by the extension of {@code source}. */
  public static JsonNode readTree(String text, String source) {
    return readTree(new StringReader(text), source, ConfigFormat.of(source));
  }

  /**
   * Parses JSON or YAML (duplicate keys refused); a syntax error is {@code source: not valid JSON:
   * ... (line L, column C)}. An empty YAML document is a missing node.
   */
  public static JsonNode readTree(Reader reader, String source, ConfigFormat format) {
    ObjectMapper m = format == ConfigFormat.YAML ? YAML : JSON;
    try (Reader r = reader) {
      JsonNode n = m.readTree(r);
      return n == null ? NODES.missingNode() : n;
    } catch (JsonParseException e) {
      throw new ConfigError(
          source + ": not valid " + format + ": " + e.getOriginalMessage() + location(e));
    } catch (JsonProcessingException e) {
      throw new ConfigError(source + ": not valid " + format + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + source + ": " + e.getMessage(), e);
    }
  }

  private static String location(JsonParseException e) {
    return e.getLocation() == null
        ? ""
        : " (line "
            + e.getLocation().getLineNr()
            + ", column "
            + e.getLocation().getColumnNr()
            + ")";
  }

  // ------------------------------------------------------------------ the check

  /** A property as the binder sees it. */
  private record Prop(
      String name, JavaType type, List<String> aliases, String ignored, boolean nonNull) {}

  /** The properties of a class: by name and alias, and the names to suggest from. */
  private record Props(Map<String, Prop> byKey, List<String> known) {}

  private static Props props(JavaType t) {
    return PROPS.computeIfAbsent(t, ConfigReader::introspect);
  }

  private static Props introspect(JavaType t) {
    BeanDescription bd = BINDER.getDeserializationConfig().introspect(t);
    Map<String, Prop> byKey = new LinkedHashMap<>();
    List<String> known = new ArrayList<>();
    for (BeanPropertyDefinition d : bd.findProperties()) {
      if (!d.couldDeserialize()) {
        continue;
      }
      Set<String> aliases = new LinkedHashSet<>();
      String ignored = null;
      boolean nonNull = d.getPrimaryType().isPrimitive();
      for (AnnotatedMember m :
          new AnnotatedMember[] {d.getField(), d.getConstructorParameter(), d.getSetter()}) {
        if (m == null) {
          continue;
        }
        List<PropertyName> names =
            BINDER.getDeserializationConfig().getAnnotationIntrospector().findPropertyAliases(m);
        for (PropertyName a : names == null ? List.<PropertyName>of() : names) {
          aliases.add(a.getSimpleName());
        }
        if (m.getAnnotation(Ignored.class) != null) {
          ignored = m.getAnnotation(Ignored.class).value();
        }
        JsonSetter setter = m.getAnnotation(JsonSetter.class);
        nonNull |= setter != null && setter.nulls() == Nulls.FAIL;
      }
      Prop p = new Prop(d.getName(), d.getPrimaryType(), List.copyOf(aliases), ignored, nonNull);
      byKey.put(p.name, p);
      known.add(p.name);
      for (String a : aliases) {
        byKey.put(a, p);
        known.add(a);
      }
    }
    return new Props(byKey, List.copyOf(known));
  }

  /** One pass over a tree: the checked copy, the problems, the keys given, the notes. */
  private final class Walk {
    final String where;
    final List<String> errors = new ArrayList<>();
    final Set<String> explicit = new LinkedHashSet<>();
    List<String> notes = new ArrayList<>();

    Walk(String where) {
      this.where = where;
    }

    void problem(String path, String text) {
      errors.add(where + ": \"" + path + "\" " + text);
    }

    /** The checked (normalized) value, or null after a problem. */
    JsonNode check(JsonNode n, JavaType t, String path) {
      if (t.getRawClass() == Setting.class) {
        if (n.isNull() || (n.isTextual() && AUTO.equals(n.textValue()))) {
          return n;
        }
        return value(n, t.containedTypeOrUnknown(0), path, " or \"auto\"");
      }
      return value(n, t, path, "");
    }

    JsonNode value(JsonNode n, JavaType t, String path, String orAuto) {
      Class<?> raw = t.getRawClass();
      if (raw == Object.class || JsonNode.class.isAssignableFrom(raw)) {
        return n;
      }
      if (n.isNull()) {
        if (raw.isPrimitive()) {
          problem(path, "must be " + expected(t) + ", not null" + orAuto);
          return null;
        }
        return n;
      }
      if (autoHint != null && n.isTextual() && AUTO.equals(n.textValue())) {
        errors.add(where + ": \"" + path + "\" cannot be \"auto\"" + autoHint);
        return null;
      }
      if (strictIntegers && n.isTextual() && (isInteger(raw) || isBoolean(raw))) {
        problem(path, "must be " + expected(t) + ", got " + describe(n) + orAuto);
        return null;
      }
      String[] problem = new String[1];
      JsonNode out = scalar(n, t, problem);
      if (problem[0] != null) {
        problem(path, problem[0] + orAuto);
        return null;
      }
      if (out != null) {
        return out;
      }
      if (t.isCollectionLikeType() || t.isArrayType()) {
        return list(n, t, path, orAuto);
      }
      if (t.isMapLikeType()) {
        if (!n.isObject()) {
          problem(path, "must be an object, got " + describe(n) + orAuto);
          return null;
        }
        ObjectNode o = NODES.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          JsonNode v = check(e.getValue(), t.getContentType(), join(path, e.getKey()));
          if (v != null) {
            o.set(e.getKey(), v);
          }
        }
        return o;
      }
      if (isTuple(raw)) {
        return tuple(n, raw, path, orAuto);
      }
      if (!n.isObject()) {
        problem(path, "must be an object, got " + describe(n) + orAuto);
        return null;
      }
      return object((ObjectNode) n, t, path);
    }

    JsonNode list(JsonNode n, JavaType t, String path, String orAuto) {
      JavaType element = t.getContentType();
      if (!n.isArray()) {
        if (element.getRawClass() == String.class && n.isTextual()) {
          return NODES.arrayNode().add(n);
        }
        problem(path, "must be " + expected(t) + ", got " + describe(n) + orAuto);
        return null;
      }
      ArrayNode a = NODES.arrayNode();
      for (int i = 0; i < n.size(); i++) {
        JsonNode v = check(n.get(i), element, path + "[" + i + "]");
        a.add(v == null ? NODES.nullNode() : v);
      }
      return a;
    }

    JsonNode tuple(JsonNode n, Class<?> raw, String path, String orAuto) {
      RecordComponent[] parts = raw.getRecordComponents();
      if (n.isArray() && n.size() == parts.length) {
        Walk inner = new Walk(where);
        ArrayNode a = NODES.arrayNode();
        for (int i = 0; i < parts.length; i++) {
          a.add(inner.check(n.get(i), BINDER.constructType(parts[i].getGenericType()), path));
        }
        if (inner.errors.isEmpty()) {
          return a;
        }
      }
      problem(
          path, "must be " + expected(BINDER.constructType(raw)) + orAuto + ", got " + describe(n));
      return null;
    }

    ObjectNode object(ObjectNode n, JavaType t, String path) {
      Props ps = props(t);
      ObjectNode out = NODES.objectNode();
      Map<String, String> given = new HashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String key = e.getKey();
        Prop p = ps.byKey().get(key);
        if (p == null) {
          unknown(key, path, ps, out, e.getValue());
          continue;
        }
        String at = join(path, p.name());
        String other = given.put(p.name(), key);
        if (other != null) {
          String alias = key.equals(p.name()) ? other : key;
          errors.add(
              where
                  + ": give \""
                  + at
                  + "\" or its older name \""
                  + join(path, alias)
                  + "\", not both");
          continue;
        }
        if (p.ignored() == null) {
          explicit.add(at);
        } else if (!e.getValue().isNull()) {
          note(at + " (" + p.ignored() + ")");
        }
        JsonNode v;
        if (p.nonNull() && e.getValue().isNull()) {
          problem(at, "must be " + expected(p.type()) + ", not null");
          v = null;
        } else {
          v = check(e.getValue(), p.type(), at);
        }
        if (v != null) {
          out.set(p.name(), v);
        }
      }
      return out;
    }

    void unknown(String key, String path, Props ps, ObjectNode out, JsonNode value) {
      String at = join(path, key);
      if (allowUnknownKeys) {
        out.set(key, value);
        return;
      }
      for (Map.Entry<String, String> o : outOfScope.entrySet()) {
        if (at.startsWith(o.getKey())) {
          errors.add(where + ": \"" + at + "\": " + o.getValue());
          return;
        }
      }
      String hint = suggestion(key, ps.known(), path.isEmpty() ? "" : path + ".");
      if (hint.isEmpty() && ps.known().size() <= KNOWN_LISTED) {
        hint = " (known here: " + String.join(", ", ps.known()) + ")";
      }
      errors.add(where + ": unknown key \"" + at + "\"" + hint);
    }

    void note(String note) {
      if (!notes.contains(note)) {
        notes.add(note);
      }
    }
  }

  /** A section with at most this many keys lists them when an unknown key is near none of them. */
  private static final int KNOWN_LISTED = 12;

  private static String join(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private static boolean isTuple(Class<?> raw) {
    JsonFormat f = raw.getAnnotation(JsonFormat.class);
    return raw.isRecord() && f != null && f.shape() == JsonFormat.Shape.ARRAY;
  }

  private static boolean isInteger(Class<?> c) {
    return c == int.class
        || c == Integer.class
        || c == long.class
        || c == Long.class
        || c == short.class
        || c == Short.class;
  }

  private static boolean isNumber(Class<?> c) {
    return c == double.class || c == Double.class || c == float.class || c == Float.class;
  }

  private static boolean isBoolean(Class<?> c) {
    return c == boolean.class || c == Boolean.class;
  }

  /**
   * A scalar checked and normalized, or null when {@code t} is not a scalar type; a problem (the
   * text after the key) goes to {@code problem[0]}.
   */
  private static JsonNode scalar(JsonNode n, JavaType t, String[] problem) {
    Class<?> c = t.getRawClass();
    if (isNumber(c)) {
      Double d = number(n);
      if (d == null) {
        problem[0] = "must be a number, got " + describe(n);
        return null;
      }
      return NODES.numberNode(d);
    }
    if (isInteger(c)) {
      if (n.isIntegralNumber() && !n.canConvertToLong()) {
        problem[0] = "is out of range (" + n.asText() + ")";
        return null;
      }
      Double d = n.isIntegralNumber() ? null : number(n);
      if (!n.isIntegralNumber() && (d == null || d != Math.rint(d) || Math.abs(d) > 9.0e15)) {
        problem[0] = "must be an integer, got " + describe(n);
        return null;
      }
      long l = n.isIntegralNumber() ? n.longValue() : d.longValue();
      long min =
          c == short.class || c == Short.class
              ? Short.MIN_VALUE
              : c == int.class || c == Integer.class ? Integer.MIN_VALUE : Long.MIN_VALUE;
      long max =
          c == short.class || c == Short.class
              ? Short.MAX_VALUE
              : c == int.class || c == Integer.class ? Integer.MAX_VALUE : Long.MAX_VALUE;
      if (l < min || l > max) {
        problem[0] = "is out of range (" + l + ")";
        return null;
      }
      return NODES.numberNode(l);
    }
    if (isBoolean(c)) {
      if (n.isBoolean()) {
        return n;
      }
      String s = n.isTextual() ? n.textValue().trim().toLowerCase(Locale.ROOT) : "";
      if (s.equals("true") || s.equals("false")) {
        return NODES.booleanNode(Boolean.parseBoolean(s));
      }
      problem[0] = "must be true or false, got " + describe(n);
      return null;
    }
    if (c == String.class) {
      if (n.isTextual()) {
        return n;
      }
      problem[0] = "must be a string, got " + describe(n);
      return null;
    }
    if (c.isEnum()) {
      Map<String, String> names = enumNames(c);
      String s = n.isTextual() ? n.textValue().trim() : null;
      for (Map.Entry<String, String> e : names.entrySet()) {
        if (e.getKey().equalsIgnoreCase(s)) {
          return TextNode.valueOf(e.getValue());
        }
      }
      problem[0] =
          "must be one of "
              + String.join(", ", names.keySet())
              + " (got "
              + (s != null ? "\"" + s + "\"" : describe(n))
              + ")";
      return null;
    }
    return null;
  }

  /** A number, or a string holding a finite one; else null. */
  private static Double number(JsonNode n) {
    if (n.isNumber()) {
      return n.doubleValue();
    }
    if (n.isTextual()) {
      try {
        double d = Double.parseDouble(n.textValue().trim());
        if (Double.isFinite(d)) {
          return d;
        }
      } catch (NumberFormatException e) {
        // not a number
      }
    }
    return null;
  }

  /** Configuration name → the name Jackson binds, in declaration order. */
  private static Map<String, String> enumNames(Class<?> c) {
    Map<String, String> names = new LinkedHashMap<>();
    for (Object constant : c.getEnumConstants()) {
      String name = ((Enum<?>) constant).name();
      String json = name;
      try {
        Field f = c.getField(name);
        com.fasterxml.jackson.annotation.JsonProperty p =
            f.getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
        if (p != null && !p.value().isEmpty()) {
          json = p.value();
        }
      } catch (NoSuchFieldException e) {
        throw new IllegalStateException(e);
      }
      names.put(json.equals(name) ? name.toLowerCase(Locale.ROOT) : json, json);
    }
    return names;
  }

  /** What a value of type {@code t} must be, as the messages say it: "an integer". */
  static String expected(JavaType t) {
    Class<?> c = t.getRawClass();
    if (c == Setting.class) {
      return expected(t.containedTypeOrUnknown(0)) + " or \"auto\"";
    }
    if (isNumber(c)) {
      return "a number";
    }
    if (isInteger(c)) {
      return "an integer";
    }
    if (isBoolean(c)) {
      return "true or false";
    }
    if (c == String.class) {
      return "a string";
    }
    if (c.isEnum()) {
      return "one of " + String.join(", ", enumNames(c).keySet());
    }
    if (t.isCollectionLikeType() || t.isArrayType()) {
      JavaType e = t.getContentType();
      return e.getRawClass() == String.class
          ? "a string or a list of strings"
          : "a list of " + plural(e);
    }
    if (isTuple(c)) {
      RecordComponent[] parts = c.getRecordComponents();
      Set<String> kinds = new LinkedHashSet<>();
      for (RecordComponent rc : parts) {
        kinds.add(plural(BINDER.constructType(rc.getGenericType())));
      }
      return "a list of "
          + count(parts.length)
          + " "
          + (kinds.size() == 1 ? kinds.iterator().next() : "values");
    }
    return "an object";
  }

  private static String plural(JavaType t) {
    Class<?> c = t.getRawClass();
    return isNumber(c)
        ? "numbers"
        : isInteger(c)
            ? "integers"
            : isBoolean(c) ? "booleans" : c == String.class ? "strings" : "objects";
  }

  private static String count(int n) {
    String[] words = {
      "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"
    };
    return n < words.length ? words[n] : Integer.toString(n);
  }

  /** A value as an error message shows it: {@code the string "x"}, 12.5, true, a list. */
  public static String describe(JsonNode n) {
    if (n.isTextual()) {
      return "the string \"" + n.textValue() + "\"";
    }
    if (n.isObject()) {
      return "an object";
    }
    if (n.isArray()) {
      return "a list";
    }
    if (n.isBoolean() || n.isNumber()) {
      return n.asText();
    }
    return n.getNodeType().toString().toLowerCase(Locale.ROOT);
  }

  // ------------------------------------------------------------------ messages

  /**
   * {@code " (did you mean "prefix + k"?)"} for the known key nearest to {@code key} by edit
   * distance (at most max(2, length / 3) edits), or "".
   */
  public static String suggestion(String key, Collection<String> known, String prefix) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = editDistance(key.toLowerCase(Locale.ROOT), k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    int allowed = Math.max(2, key.length() / 3);
    return best != null && bestDistance <= allowed
        ? " (did you mean \"" + prefix + best + "\"?)"
        : "";
  }

  /** Optimal string alignment distance: insertions, deletions, substitutions, transpositions. */
  static int editDistance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1
            && j > 1
            && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }

  /** A number as a person writes it: 12, 0.01, 0.00005, 200000000. */
  public static String fmt(double d) {
    if (!Double.isFinite(d)) {
      return Double.toString(d);
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    return BigDecimal.valueOf(d).stripTrailingZeros().toString();
  }

  // ------------------------------------------------------------------ Setting binding

  /** Writes an enum under its configuration name (as the reader reads it). */
  private static final class EnumSerializer extends StdSerializer<Enum<?>> {
    private static final long serialVersionUID = 1L;

    EnumSerializer() {
      super(Enum.class, false);
    }

    @Override
    public void serialize(Enum<?> v, JsonGenerator g, SerializerProvider p) throws IOException {
      for (Map.Entry<String, String> e : enumNames(v.getDeclaringClass()).entrySet()) {
        if (e.getValue().equals(v.name()) || e.getKey().equalsIgnoreCase(v.name())) {
          g.writeString(e.getKey());
          return;
        }
      }
      g.writeString(v.name());
    }
  }

  /** Binds {@code "auto"}, null/absent and a value of the setting's type. */
  private static final class SettingDeserializer extends StdDeserializer<Setting<?>>
      implements ContextualDeserializer {
    private static final long serialVersionUID = 1L;

    private final JavaType valueType;

    SettingDeserializer(JavaType valueType) {
      super(Setting.class);
      this.valueType = valueType;
    }

    @Override
    public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty p) {
      JavaType t = p != null ? p.getType() : ctxt.getContextualType();
      return new SettingDeserializer(t == null ? null : t.containedTypeOrUnknown(0));
    }

    @Override
    public Setting<?> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() == JsonToken.VALUE_STRING && AUTO.equals(p.getText())) {
        return Setting.auto();
      }
      return Setting.of(ctxt.readValue(p, valueType));
    }

    @Override
    public Setting<?> getNullValue(DeserializationContext ctxt) {
      return Setting.absent();
    }

    @Override
    public Object getAbsentValue(DeserializationContext ctxt) {
      return Setting.absent();
    }
  }
}
