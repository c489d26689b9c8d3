package io.sparkner.eval.report;

import java.io.StringWriter;
import java.io.UncheckedIOException;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Well-formed XHTML (and inline SVG) through the JDK's own StAX writer ({@code newDefaultFactory}:
 * not whichever implementation the classpath brings, so the page is the same everywhere), which
 * escapes every text and attribute value: report text such as a corpus sentence with {@code
 * <script>} or {@code &} comes out as text, never as markup. Elements are closed explicitly ({@code
 * <td></td>}, not {@code <td/>}, which an HTML parser would read as an open tag); only SVG shapes
 * and HTML void elements use {@link #empty}. The result parses with an XML parser and renders as
 * HTML5.
 */
final class Markup {
  static final String XHTML = "http://www.w3.org/1999/xhtml";
  static final String SVG = "http://www.w3.org/2000/svg";

  private final StringWriter out = new StringWriter();
  private final XMLStreamWriter w;

  Markup() {
    try {
      w = XMLOutputFactory.newDefaultFactory().createXMLStreamWriter(out);
    } catch (XMLStreamException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code <!DOCTYPE html>}. */
  Markup doctype() {
    return run(() -> w.writeDTD("<!DOCTYPE html>\n"));
  }

  /** Opens {@code tag} with attributes given as name, value pairs (a null value is left out). */
  Markup start(String tag, String... attributes) {
    return run(
        () -> {
          w.writeStartElement(tag);
          attributes(attributes);
        });
  }

  /** Opens {@code tag} as the root of a namespace ({@code html}, {@code svg}). */
  Markup startRoot(String tag, String namespace, String... attributes) {
    return run(
        () -> {
          w.writeStartElement(tag);
          w.writeDefaultNamespace(namespace);
          attributes(attributes);
        });
  }

  /** An element without content: SVG shapes and HTML void elements ({@code meta}). */
  Markup empty(String tag, String... attributes) {
    return run(
        () -> {
          w.writeEmptyElement(tag);
          attributes(attributes);
        });
  }

  Markup text(String text) {
    return run(() -> w.writeCharacters(text == null ? "" : text));
  }

  Markup end() {
    return run(w::writeEndElement);
  }

  /** {@code <tag attributes>text</tag>}. */
  Markup element(String tag, String text, String... attributes) {
    return start(tag, attributes).text(text).end();
  }

  private void attributes(String[] pairs) throws XMLStreamException {
    if (pairs.length % 2 != 0) {
      throw new IllegalArgumentException("attributes come in name, value pairs");
    }
    for (int i = 0; i < pairs.length; i += 2) {
      if (pairs[i + 1] != null) {
        w.writeAttribute(pairs[i], pairs[i + 1]);
      }
    }
  }

  /** The document; every element must have been closed. */
  String finish() {
    run(
        () -> {
          w.writeEndDocument();
          w.flush();
        });
    return out.toString() + "\n";
  }

  private interface XmlStep {
    void run() throws XMLStreamException;
  }

  private Markup run(XmlStep step) {
    try {
      step.run();
    } catch (XMLStreamException e) {
      throw new UncheckedIOException(
          new java.io.IOException("cannot write the HTML report: " + e.getMessage(), e));
    }
    return this;
  }
}
