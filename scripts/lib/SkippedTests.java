import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;

/**
 * Prints why each skipped test was skipped, one line each, from Surefire's XML reports: for scripts/test,
 * after Maven, since Surefire's console says only "Skipped: 2" (the assumption's message is in the XML).
 * Usage: java scripts/lib/SkippedTests.java REPORT.xml... ; prints
 * {@code skipped: <class>.<test>: <message>} for each {@code <testcase>} with a {@code <skipped>} element,
 * the first line of its message or, when it has none, of its stack trace, without the exception's name
 * (or "no reason given"). Exit status 0; a report that does not parse is named on
 * one line and passed over.
 */
public final class SkippedTests {
  public static void main(String[] args) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    List<String> lines = new ArrayList<>();
    for (String report : args) {
      NodeList cases;
      try {
        cases = factory.newDocumentBuilder().parse(new File(report)).getElementsByTagName("testcase");
      } catch (Exception e) {
        System.out.println("skipped: cannot read " + report + ": " + e.getMessage());
        continue;
      }
      for (int i = 0; i < cases.getLength(); i++) {
        Element test = (Element) cases.item(i);
        NodeList skipped = test.getElementsByTagName("skipped");
        if (skipped.getLength() == 0) {
          continue;
        }
        String className = test.getAttribute("classname");
        Element skip = (Element) skipped.item(0);
        // the message attribute, or else the first line of the stack trace, without the exception's name
        String message = skip.getAttribute("message").strip();
        if (message.isEmpty()) {
          message = skip.getTextContent().strip();
        }
        message = message.lines().findFirst().orElse("").strip()
            .replaceFirst("^[\\w.$]+(Exception|Error): ", "").replaceFirst("^Assumption failed: ", "");
        message = message.isEmpty() ? "no reason given" : message;
        lines.add("skipped: " + className.substring(className.lastIndexOf('.') + 1) + "." + test.getAttribute("name")
            + ": " + message);
      }
    }
    lines.stream().sorted().forEach(System.out::println);
  }
}
