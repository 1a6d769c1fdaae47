# Golden values for every quantile rule (R's qrule) under unequal weights: R survey's
# svyquantile on apistrat (stratified by stype, weights and fpc differing by stratum),
# the whole sample and each stype domain, Woodruff "mean" intervals at 95%.
# The goldens of make_golden.R try most rules on apiclus1, whose weights are all equal;
# unequal weights are where the rules' tie handling and shahvaish's plotting positions
# (not monotone there: R subtracts the raw w/2 from the cumulated w/mean(w), and approx()
# sorts the knots) matter.
#
# Run from the repository root (make golden, after make_golden.R, whose CSV it reads).
# Writes tests/golden/quantile/rules.json, read by tests/cpp/test_quantile.cpp:
#   {"data", "design", "variable", "probs",
#    "rows": [{rule, by ("" = the whole sample), level, estimate, se, ci_low, ci_high, df}]}
# with 17 significant digits; R's NA (no quantile at a limit of the CDF interval) is null.
suppressPackageStartupMessages(library(survey))
source(file.path("tests", "golden", "json_writer.R"))  # num, str_json, vec, obj, arr

strat <- read.csv("tests/golden/data/apistrat.csv", stringsAsFactors = TRUE, na.strings = "")
des <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat)
probs <- c(0.05, 0.25, 0.5, 0.75, 0.95)
rules <- c("math", "school", "shahvaish", paste0("hf", 1:9))

rows <- character(0)
for (rule in rules) {
  for (g in c("", levels(strat$stype))) {
    dd <- if (g == "") des else des[strat$stype == g, ]
    q <- suppressWarnings(svyquantile(~api00, dd, quantiles = probs, qrule = rule, ci = TRUE,
                                      interval.type = "mean"))[[1]]
    for (i in seq_along(probs)) {
      rows <- c(rows, obj(rule = rule, by = g, level = probs[i], estimate = q[i, 1],
                          se = q[i, 4], ci_low = q[i, 2], ci_high = q[i, 3], df = degf(dd)))
    }
  }
}
dir.create(file.path("tests", "golden", "quantile"), showWarnings = FALSE)
path <- file.path("tests", "golden", "quantile", "rules.json")
writeLines(paste0("{\"data\": \"apistrat\", \"design\": ", obj(weights = "pw", strata = "stype",
                                                            fpc = "fpc"),
                  ", \"variable\": \"api00\", \"probs\": ", vec(probs),
                  ",\n  \"rows\": ", arr(rows), "\n}"), path)
cat(path, length(rows), "rows\n")
