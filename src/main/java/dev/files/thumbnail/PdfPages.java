package dev.files.thumbnail;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.io.IOUtils;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.rendering.PDFRenderer;

/** Renders the first page of a PDF with Apache PDFBox, in memory only. */
final class PdfPages {

  private PdfPages() {
  }

  /**
   * Renders page 1 on white so that it fits in {@code maxWidth} x {@code maxHeight} pixels, at
   * most one pixel per PDF point (72 dpi: a small page is not enlarged). The crop box and the page
   * rotation are honoured; embedded images are subsampled when that is enough for the scale.
   *
   * @param pdf the whole PDF file
   * @return an RGB image of at most {@code maxWidth} x {@code maxHeight}
   * @throws Refusal "error" for a password-protected PDF or one without pages
   * @throws IOException when PDFBox cannot parse the file
   */
  static BufferedImage renderFirstPage(byte[] pdf, int maxWidth, int maxHeight)
      throws IOException, Refusal {
    try (PDDocument document = Loader.loadPDF(pdf, "", null, null,
        IOUtils.createMemoryOnlyStreamCache())) {
      if (document.getNumberOfPages() < 1) {
        throw Refusal.error("PDF has no pages");
      }
      PDPage page = document.getPage(0);
      PDRectangle box = page.getCropBox();
      boolean turned = page.getRotation() % 180 != 0;
      float width = turned ? box.getHeight() : box.getWidth();
      float height = turned ? box.getWidth() : box.getHeight();
      if (!(width > 0 && height > 0)) {
        throw Refusal.error("PDF page 1 has an empty crop box");
      }
      int[] size = Images.fit(Math.max(1, Math.round(width)), Math.max(1, Math.round(height)),
          maxWidth, maxHeight);
      BufferedImage image = new BufferedImage(size[0], size[1], BufferedImage.TYPE_INT_RGB);
      Graphics2D g = image.createGraphics();
      try {
        g.setBackground(Color.WHITE); // PDFBox clears the page area with the background colour
        g.clearRect(0, 0, size[0], size[1]);
        PDFRenderer renderer = new PDFRenderer(document);
        renderer.setSubsamplingAllowed(true);
        // one scale per axis so that the image is exactly the fitted size (PDFBox's own
        // renderImage rounds down, which can lose a row)
        renderer.renderPageToGraphics(0, g, size[0] / width, size[1] / height);
      } finally {
        g.dispose();
      }
      return image;
    } catch (InvalidPasswordException e) {
      throw Refusal.error("PDF is password-protected");
    }
  }
}
