package dev.files.thumbnail;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.List;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.contentstream.operator.Operator;
import org.apache.pdfbox.cos.COSBase;
import org.apache.pdfbox.cos.COSName;
import org.apache.pdfbox.pdmodel.graphics.form.PDFormXObject;
import org.apache.pdfbox.pdmodel.graphics.form.PDTransparencyGroup;
import org.apache.pdfbox.pdmodel.graphics.image.PDImage;
import org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject;
import org.apache.pdfbox.rendering.PageDrawer;
import org.apache.pdfbox.rendering.PageDrawerParameters;
import org.apache.pdfbox.io.IOUtils;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.rendering.PDFRenderer;

/**
 * Renders the first page of a PDF with Apache PDFBox, in memory only, within a {@link Budget}:
 * every content-stream operator (of the page, its forms, patterns, Type 3 glyphs and annotation
 * appearances) is counted against {@link #MAX_OPERATORS} and checks the deadline; forms may nest
 * {@link #MAX_FORM_NESTING} deep; an image's decoded size is estimated before PDFBox decodes it
 * (PDFBox inflates an image stream whole, then subsamples) and checked against the memory budget.
 */
final class PdfPages {

  /**
   * The most operators page 1 may run (all streams together). A page of text has thousands, a
   * detailed drawing tens of thousands; PDFBox renders about 75,000 a second on a busy 2-core
   * machine (a million took 13 s), and a file of a few KB can ask for billions (forms that draw
   * each other).
   */
  static final int MAX_OPERATORS = 500_000;
  /** How deep form XObjects may nest (PDFBox itself stops at 50, which still lets 2^50 draws through). */
  static final int MAX_FORM_NESTING = 16;

  private PdfPages() {
  }

  /**
   * Renders page 1 on white so that it fits in {@code maxWidth} x {@code maxHeight} pixels, at
   * most one pixel per PDF point (72 dpi: a small page is not enlarged). The crop box and the page
   * rotation are honoured; embedded images are subsampled when that is enough for the scale.
   *
   * @param pdf the whole PDF file
   * @return an RGB image of at most {@code maxWidth} x {@code maxHeight}
   * @throws Refusal "error" for a password-protected PDF or one without pages; "none" over an
   *     operator, nesting or memory budget
   * @throws Budget.Stopped at the deadline
   * @throws IOException when PDFBox cannot parse the file
   */
  static BufferedImage renderFirstPage(byte[] pdf, int maxWidth, int maxHeight, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
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
        PDFRenderer renderer = new BudgetedRenderer(document, budget);
        renderer.setSubsamplingAllowed(true);
        budget.check();
        // one scale per axis so that the image is exactly the fitted size (PDFBox's own
        // renderImage rounds down, which can lose a row)
        renderer.renderPageToGraphics(0, g, size[0] / width, size[1] / height);
      } catch (OverBudget e) {
        if (e.refusal != null) {
          throw e.refusal;
        }
        throw e.stopped;
      } finally {
        g.dispose();
      }
      return image;
    } catch (InvalidPasswordException e) {
      throw Refusal.error("PDF is password-protected");
    }
  }

  /**
   * Carries a refusal or a stop out of PDFBox: unchecked, because PDFBox logs and skips an
   * IOException thrown while drawing a form or an image ({@code Do}) and goes on.
   */
  private static final class OverBudget extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient Refusal refusal;
    final transient Budget.Stopped stopped;

    OverBudget(Refusal refusal, Budget.Stopped stopped) {
      super(null, null, false, false);
      this.refusal = refusal;
      this.stopped = stopped;
    }
  }

  private static final class BudgetedRenderer extends PDFRenderer {
    private final Budget budget;

    BudgetedRenderer(PDDocument document, Budget budget) {
      super(document);
      this.budget = budget;
    }

    @Override
    protected PageDrawer createPageDrawer(PageDrawerParameters parameters) throws IOException {
      return new BudgetedDrawer(parameters, budget);
    }
  }

  private static final class BudgetedDrawer extends PageDrawer {
    private final Budget budget;
    private int operators;
    private int forms;

    BudgetedDrawer(PageDrawerParameters parameters, Budget budget) throws IOException {
      super(parameters);
      this.budget = budget;
    }

    @Override
    protected void processOperator(Operator operator, List<COSBase> operands) throws IOException {
      if (++operators > MAX_OPERATORS) {
        throw new OverBudget(Refusal.none("PDF page 1 has more than " + MAX_OPERATORS + " operators; not rendered"), null);
      }
      if ((operators & 63) == 0) {
        over();
      }
      super.processOperator(operator, operands);
    }

    private void over() {
      try {
        budget.check();
      } catch (Budget.Stopped e) {
        throw new OverBudget(null, e);
      }
    }

    @Override
    public void showForm(PDFormXObject form) throws IOException {
      nested(() -> super.showForm(form));
    }

    @Override
    public void showTransparencyGroup(PDTransparencyGroup form) throws IOException {
      nested(() -> super.showTransparencyGroup(form));
    }

    private void nested(Drawing drawing) throws IOException {
      if (++forms > MAX_FORM_NESTING) {
        throw new OverBudget(Refusal.none("PDF forms nest more than " + MAX_FORM_NESTING + " deep; not rendered"), null);
      }
      try {
        drawing.draw();
      } finally {
        forms--;
      }
    }

    @Override
    public void drawImage(PDImage image) throws IOException {
      over();
      if (image instanceof PDImageXObject x) {
        long bytes = decodedBytes(x, getSubsampling(x, getGraphicsState().getCurrentTransformationMatrix()
            .createAffineTransform()));
        PDImageXObject mask = x.getSoftMask();
        if (mask != null) {
          bytes += decodedBytes(mask, 1);
        }
        try {
          budget.reserve(bytes, "a " + x.getWidth() + "x" + x.getHeight() + " image in the PDF");
        } catch (Refusal r) {
          throw new OverBudget(r, null);
        }
      }
      super.drawImage(image);
    }

    /**
     * What PDFBox holds to draw an image, bytes: the stream decoded whole (a JPEG is decoded
     * subsampled already), then a raster of the subsampled size.
     */
    private static long decodedBytes(PDImageXObject x, int subsampling) throws IOException {
      long w = Math.max(1, x.getWidth());
      long h = Math.max(1, x.getHeight());
      int components;
      try {
        components = x.getColorSpace().getNumberOfComponents();
      } catch (IOException | RuntimeException e) {
        components = 4; // unknown: the most
      }
      long s = Math.max(1, subsampling);
      long raster = 4 * ((w + s - 1) / s) * ((h + s - 1) / s);
      List<COSName> filters = x.getStream().getFilters();
      boolean jpeg = !filters.isEmpty() && (COSName.DCT_DECODE.equals(filters.get(filters.size() - 1))
          || COSName.DCT_DECODE_ABBREVIATION.equals(filters.get(filters.size() - 1)));
      long decoded = jpeg ? raster : (w * h * components * Math.max(1, x.getBitsPerComponent()) + 7) / 8;
      return decoded + raster;
    }
  }

  @FunctionalInterface
  private interface Drawing {
    void draw() throws IOException;
  }
}
