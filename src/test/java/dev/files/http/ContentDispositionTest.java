package dev.files.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The download's {@code Content-Disposition} (docs/api.md): the ASCII fallback keeps only letters,
 * digits, space and {@code . _ - ( )}, so that a crafted name cannot smuggle a parameter into it.
 */
class ContentDispositionTest {

  @Test
  void aNameCarryingAFilenameStarParameterCannotPlaceItInTheFallback() {
    String name = "report\";filename*=UTF-8''evil.html";

    String header = ContentDisposition.attachment(name);

    assertThat(ContentDisposition.asciiFallback(name)).isEqualTo("report__filename__UTF-8__evil.html");
    assertThat(header).isEqualTo("attachment; filename=\"report__filename__UTF-8__evil.html\"; "
        + "filename*=UTF-8''report%22%3Bfilename%2A%3DUTF-8%27%27evil.html");
    assertThat(header.split("filename\\*=", -1)).hasSize(2); // one filename* parameter, the real one
    assertThat(HeaderParams.decodeExtValue(header.substring(header.indexOf("filename*=") + 10))).isEqualTo(name);
  }

  @Test
  void lettersDigitsSpaceAndFiveMarksAreKeptEverythingElseBecomesUnderscore() {
    assertThat(ContentDisposition.asciiFallback("Q3 report (final) v1.2_b-c.pdf")).isEqualTo("Q3 report (final) v1.2_b-c.pdf");
    assertThat(ContentDisposition.asciiFallback("a;b=c*d'e\"f\\g/h%i,j!k")).isEqualTo("a_b_c_d_e_f_g_h_i_j_k");
    assertThat(ContentDisposition.asciiFallback("résumé été.pdf")).isEqualTo("r_sum_ _t_.pdf");
    assertThat(ContentDisposition.asciiFallback("😀.png")).isEqualTo("_.png"); // one per code point
  }
}
