package io.sparkner.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * Reads report.html with the JDK's XML parser (it must be well-formed XHTML) and finds its parts.
 */
public final class ReportXml {
  private ReportXml() {}

  public static Document parse(Path html) throws IOException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
      DocumentBuilder b = f.newDocumentBuilder();
      b.setErrorHandler(null);
      return b.parse(html.toFile());
    } catch (ParserConfigurationException | SAXException e) {
      throw new AssertionError(html + " is not well-formed XHTML: " + e.getMessage(), e);
    }
  }

  /** The element with this id attribute; fails when there is none or more than one. */
  public static Element byId(Document doc, String id) {
    List<Element> found = new ArrayList<>();
    NodeList all = doc.getElementsByTagName("*");
    for (int i = 0; i < all.getLength(); i++) {
      Element e = (Element) all.item(i);
      if (id.equals(e.getAttribute("id"))) {
        found.add(e);
      }
    }
    if (found.size() != 1) {
      throw new AssertionError(found.size() + " elements with id " + id);
    }
    return found.get(0);
  }

  /** Direct child elements with this local name. */
  public static List<Element> children(Element parent, String localName) {
    List<Element> out = new ArrayList<>();
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && localName.equals(e.getLocalName())) {
        out.add(e);
      }
    }
    return out;
  }

  /** Descendant elements with this local name. */
  public static List<Element> descendants(Element parent, String localName) {
    List<Element> out = new ArrayList<>();
    NodeList l = parent.getElementsByTagNameNS("*", localName);
    for (int i = 0; i < l.getLength(); i++) {
      out.add((Element) l.item(i));
    }
    return out;
  }

  /** The table row whose data-key is {@code key}. */
  public static Element row(Element table, String key) {
    for (Element tr : children(table, "tr")) {
      if (key.equals(tr.getAttribute("data-key"))) {
        return tr;
      }
    }
    throw new AssertionError("no row " + key + " in table " + table.getAttribute("id"));
  }

  /** The text of the row's cell with this data-field. */
  public static String cell(Element tr, String field) {
    for (Element td : children(tr, "td")) {
      if (field.equals(td.getAttribute("data-field"))) {
        return td.getTextContent();
      }
    }
    throw new AssertionError("no cell " + field + " in row " + tr.getAttribute("data-key"));
  }
}
