package io.sparkner.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SortedMap;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

class RedactionTest {
  @Test
  void sensitiveKeysByName() {
    for (String k :
        new String[] {
          "fs.s3a.access.key",
          "fs.s3a.secret.key",
          "fs.s3a.session.token",
          "fs.s3a.bucket.b.secret.key",
          "fs.azure.account.key.acct.dfs.core.windows.net",
          "fs.azure.sas.container.acct.blob.core.windows.net",
          "fs.azure.account.oauth2.client.secret",
          "ssl.server.keystore.password",
          "hadoop.security.credential.provider.path",
          "MY_TOKEN",
          "Password"
        }) {
      assertTrue(Redaction.isSensitive(k), k);
      assertEquals(Redaction.MASK, Redaction.value(k, "v"));
    }
    for (String k :
        new String[] {
          "fs.s3a.endpoint", "fs.s3a.path.style.access", "spark.master", "fs.defaultFS"
        }) {
      assertFalse(Redaction.isSensitive(k), k);
      assertEquals("v", Redaction.value(k, "v"));
    }
  }

  @Test
  void userInfoIsStrippedFromUris() {
    assertEquals(
        "s3a://bucket/data/x.json", Redaction.uri("s3a://AKIAX:abc+def@bucket/data/x.json"));
    assertEquals(
        "s3a://bucket/x", Redaction.uri("s3a://AKIAX:abc/def@bucket/x"), "a raw '/' in the secret");
    assertEquals("s3a://bucket/x", Redaction.uri("s3a://AKIAONLY@bucket/x"), "an access key alone");
    assertEquals("hdfs://nn:8020/x", Redaction.uri("hdfs://alice:pw@nn:8020/x"));
    // Azure's user part is the container or file system, not a credential
    assertEquals(
        "abfss://data@acct.dfs.core.windows.net/x",
        Redaction.uri("abfss://data@acct.dfs.core.windows.net/x"));
    assertEquals(
        "wasbs://c@acct.blob.core.windows.net/x",
        Redaction.uri("wasbs://c@acct.blob.core.windows.net/x"));
    assertEquals(
        "wasbs://acct.blob.core.windows.net/x",
        Redaction.uri("wasbs://c:pw@acct.blob.core.windows.net/x"));
    // an '@' further along a path is not user info
    assertEquals("hdfs://nn:8020/a@b", Redaction.uri("hdfs://nn:8020/a@b"));
    assertEquals("s3a://bucket/team@corp/x", Redaction.uri("s3a://bucket/team@corp/x"));
    assertEquals("file:/tmp/x", Redaction.uri("file:/tmp/x"));
  }

  @Test
  void sasSignaturesAndSensitiveQueryParametersAreMasked() {
    String sas =
        "https://acct.blob.core.windows.net/c/x?sv=2022-11-02&ss=b&sig=Zm9vYmFy%2B%3D&se=2030";
    String shown = Redaction.uri(sas);
    assertFalse(shown.contains("Zm9vYmFy"), shown);
    assertTrue(
        shown.contains("sig=" + Redaction.MASK)
            && shown.contains("sv=2022-11-02")
            && shown.contains("se=2030"),
        shown);
  }

  @Test
  void freeTextAssignmentsJsonAndUrisAreMasked() {
    String msg =
        "bad value fs.s3a.secret.key=abc/def+ghi for s3a://K:S@bucket/x, spark.master=local";
    String shown = Redaction.text(msg);
    assertEquals(
        "bad value fs.s3a.secret.key=" + Redaction.MASK + " for s3a://bucket/x, spark.master=local",
        shown);
    assertEquals(
        "{\"fs.azure.account.key.a\": \"" + Redaction.MASK + "\", \"n\": \"v\"}",
        Redaction.text("{\"fs.azure.account.key.a\": \"c2VjcmV0\\\"x\", \"n\": \"v\"}"));
    // ordinary messages are left alone
    String plain = "unknown key 'learning_rte' (did you mean learning_rate?) at conf.json";
    assertEquals(plain, Redaction.text(plain));
  }

  @Test
  void secretValuesOfTheConfigurationAreMaskedWhereverTheyAppear() {
    Configuration conf = new Configuration(false);
    conf.set("fs.s3a.secret.key", "wJalrXUtnFEMI/K7MDENG");
    conf.set("fs.s3a.bucket.b.access.key", "AKIAIOSFODNN7EXAMPLE");
    conf.set("fs.s3a.encryption.key.enabled", "true"); // short values are not hunted in text
    String shown =
        Redaction.text(
            "the SDK said: key AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG is true", conf);
    assertEquals("the SDK said: key ***** / ***** is true", shown);
  }

  @Test
  void settingsDumpLeavesOutDefaultsAndMasksCredentials() {
    Configuration conf = new Configuration(); // with core-default.xml: many fs.s3a.* defaults
    conf.set("fs.s3a.endpoint", "http://127.0.0.1:9000");
    conf.set("fs.s3a.access.key", "AKIAIOSFODNN7EXAMPLE");
    conf.set("fs.s3a.secret.key", "wJalrXUtnFEMI/K7MDENG");
    SortedMap<String, String> s = Redaction.settings(conf, "fs.s3a.");
    assertEquals("http://127.0.0.1:9000", s.get("fs.s3a.endpoint"));
    assertEquals(Redaction.MASK, s.get("fs.s3a.access.key"));
    assertEquals(Redaction.MASK, s.get("fs.s3a.secret.key"));
    assertFalse(s.containsKey("fs.s3a.connection.maximum"), "a shipped default: " + s);
    assertFalse(s.toString().contains("wJalr") || s.toString().contains("AKIAIOSF"), s.toString());
  }
}
