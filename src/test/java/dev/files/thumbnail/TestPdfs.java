package dev.files.thumbnail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.pdfbox.cos.COSName;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDFormContentStream;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.PDResources;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.common.PDStream;
import org.apache.pdfbox.pdmodel.graphics.color.PDDeviceGray;
import org.apache.pdfbox.pdmodel.graphics.form.PDFormXObject;
import org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject;

/** Hostile PDFs made by the tests with PDFBox: small files that cost a renderer much work or memory. */
public final class TestPdfs {

  private TestPdfs() {
  }

  /**
   * One US Letter page drawing form {@code levels}, where form k draws form k - 1 twice and form 0
   * fills a small square: 2^levels squares from a file of a few KB.
   */
  static byte[] nestedForms(int levels) throws IOException {
    try (PDDocument doc = new PDDocument()) {
      PDPage page = new PDPage(PDRectangle.LETTER);
      doc.addPage(page);
      PDFormXObject previous = null;
      for (int k = 0; k <= levels; k++) {
        PDFormXObject form = new PDFormXObject(doc);
        form.setBBox(PDRectangle.LETTER);
        form.setResources(new PDResources());
        try (PDFormContentStream content = new PDFormContentStream(form)) {
          if (previous == null) {
            content.addRect(10, 10, 5, 5);
            content.fill();
          } else {
            content.drawForm(previous);
            content.drawForm(previous);
          }
        }
        previous = form;
      }
      try (PDPageContentStream content = new PDPageContentStream(doc, page)) {
        content.drawForm(previous);
      }
      return save(doc);
    }
  }

  /** One page whose content stream (Flate-compressed) is {@code operators} path and fill operators. */
  public static byte[] manyOperators(int operators) throws IOException {
    return manyOperators(operators, false);
  }

  /**
   * One page whose content stream holds {@code operators} operators ({@code re} and {@code f} pairs);
   * with {@code wholePage} each pair fills the whole page, else a 2 x 2 point square.
   */
  public static byte[] manyOperators(int operators, boolean wholePage) throws IOException {
    try (PDDocument doc = new PDDocument()) {
      PDPage page = new PDPage(PDRectangle.LETTER);
      doc.addPage(page);
      PDStream stream = new PDStream(doc);
      try (OutputStream out = stream.createOutputStream(COSName.FLATE_DECODE)) {
        byte[] op = (wholePage ? "0 0 612 792 re f\n" : "1 1 2 2 re f\n").getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < operators / 2; i++) {
          out.write(op);
        }
      }
      page.setContents(stream);
      return save(doc);
    }
  }

  /** One page showing a {@code side} x {@code side} 8-bit grey Flate image of zeros (a few hundred KB). */
  static byte[] bigFlateImage(int side) throws IOException {
    try (PDDocument doc = new PDDocument()) {
      PDPage page = new PDPage(PDRectangle.LETTER);
      doc.addPage(page);
      byte[] encoded = TestImages.deflate((long) side * side, (byte) 0);
      PDImageXObject image = new PDImageXObject(doc, new ByteArrayInputStream(encoded), COSName.FLATE_DECODE,
          side, side, 8, PDDeviceGray.INSTANCE);
      try (PDPageContentStream content = new PDPageContentStream(doc, page)) {
        content.drawImage(image, 0, 0, 612, 792);
      }
      return save(doc);
    }
  }

  private static byte[] save(PDDocument doc) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    doc.save(bytes);
    return bytes.toByteArray();
  }
}
