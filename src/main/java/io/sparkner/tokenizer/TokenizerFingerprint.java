package io.sparkner.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * What makes two {@code tokenizer.json} files produce the same ids and offsets: SHA-256 over the
 * canonical JSON (keys sorted, no whitespace) of the parts that decide them — {@code normalizer},
 * {@code pre_tokenizer}, {@code model}, {@code added_tokens}, {@code post_processor}. Truncation,
 * padding, decoder and version are left out, so a file re-saved by {@code transformers} with other
 * padding settings or formatting keeps its fingerprint, while another vocabulary does not.
 */
public final class TokenizerFingerprint {
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
  private static final List<String> PARTS =
      List.of("normalizer", "pre_tokenizer", "model", "added_tokens", "post_processor");

  private TokenizerFingerprint() {}

  /** The fingerprint of a tokenizer.json's content, as 64 hex digits. */
  public static String of(String tokenizerJson, String source) {
    try {
      JsonNode root = JSON.readTree(tokenizerJson);
      if (root == null || !root.has("model")) {
        throw new IllegalArgumentException(
            source + " is not a Hugging Face tokenizer.json (no \"model\")");
      }
      ObjectNode parts = JSON.createObjectNode();
      for (String p : PARTS) {
        parts.set(p, root.path(p).isMissingNode() ? JSON.nullNode() : root.get(p));
      }
      // ORDER_MAP_ENTRIES_BY_KEYS sorts Maps only: convert the tree to nested Maps to sort every
      // level
      Object canonical = JSON.treeToValue(parts, Object.class);
      byte[] bytes = JSON.writeValueAsString(canonical).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tokenizer " + source + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
