# Golden values for quantiles on replicate-weight designs: R survey's svyquantile on
# as.svrepdesign(...) (Woodruff intervals with replicate variances of the CDF).
# Run from the repository root (make golden). Writes tests/golden/replicate/quantile.json.
# survey 4.1.1's svyquantile.svyrep.design calls woodruffCI without its interval.type,
# so its Woodruff interval is always the Wald ("mean") one; steppe accepts ci="mean" and
# interval.type = "quantile" (repCI: the quantile under every replicate's weights, R
# warns that jackknife replicates may not give valid SEs for quantiles).
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
clus1 <- read.csv("tests/golden/data/apiclus1.csv", stringsAsFactors = TRUE, na.strings = "")
strat <- read.csv("tests/golden/data/apistrat.csv", stringsAsFactors = TRUE, na.strings = "")
cases <- list()
add <- function(name, data_name, des, type, variable, probs, ci, rule, by = NULL) {
  doms <- if (is.null(by)) list(NULL) else as.list(levels(des$variables[[by]]))
  rows <- list()
  for (g in doms) {
    dd <- if (is.null(g)) des else des[des$variables[[by]] == g, ]
    q <- svyquantile(reformulate(variable), dd, quantiles = probs, interval.type = ci,
                     qrule = rule, ci = TRUE)[[1]]
    for (i in seq_along(probs)) {
      rows[[length(rows) + 1]] <- list(by = g, level = probs[i], estimate = unname(q[i, 1]),
                                       se = unname(q[i, 4]), ci_low = unname(q[i, 2]),
                                       ci_high = unname(q[i, 3]))
    }
  }
  cases[[length(cases) + 1]] <<- list(name = name, data = data_name, type = type,
                                      variable = variable, probs = I(probs), ci = ci,
                                      rule = rule, by = by, rows = rows)
}
jk1 <- suppressWarnings(as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc,
                                                 data = clus1), type = "JK1"))
jkn <- as.svrepdesign(svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                                data = strat), type = "JKn")
suppressWarnings({
  add("apiclus1_jk1_api00", "apiclus1", jk1, "JK1", "api00", c(0.25, 0.5), "mean", "math")
  add("apiclus1_jk1_api00_by_stype", "apiclus1", jk1, "JK1", "api00", c(0.5, 0.75), "mean",
      "school", by = "stype")
  add("apistrat_jkn_enroll_hf7", "apistrat", jkn, "JKn", "enroll", c(0.1, 0.5, 0.9),
      "mean", "hf7")
  add("apiclus1_jk1_api00_replicate_quantiles", "apiclus1", jk1, "JK1", "api00",
      c(0.25, 0.5), "quantile", "math")
  add("apistrat_jkn_enroll_by_awards_replicate_quantiles_hf7", "apistrat", jkn, "JKn",
      "enroll", c(0.1, 0.5, 0.9), "quantile", "hf7", by = "awards")
})
dir.create("tests/golden/replicate", showWarnings = FALSE)
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = TRUE), "tests/golden/replicate/quantile.json")
cat("tests/golden/replicate/quantile.json", length(cases), "cases\n")
