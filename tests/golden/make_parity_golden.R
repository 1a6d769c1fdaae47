# Golden values for issue 9's parity items (R survey 4.1.1):
#   tables.json  svytable(~row + col, design, Ntotal = ) -- weighted counts without variance,
#                with no Ntotal, one total, and per-stratum totals; on a stratified design, a
#                design with a single-PSU stratum (no variance, so no lonely-PSU rule is
#                needed), a domain (subset) and a replicate design (whose default Ntotal is
#                the sum of the sampling weights: a table with missing values is rescaled).
#
# Run from the repository root (make golden, after make_golden.R, whose CSVs it reads).
# Each case: {"name", "data", "design": {weights, strata, psu, fpc, replicate}, "subset":
# {column, min} | null, "variables", "ntotal": null | number | {stratum: total},
# "cells": [{<variable>: label, ..., "count"}]} with 17 significant digits.
suppressPackageStartupMessages(library(survey))
source(file.path("tests", "golden", "json_writer.R"))  # num, str_json, vec, obj, arr

read_data <- function(name) {
  read.csv(file.path("tests", "golden", "data", paste0(name, ".csv")), stringsAsFactors = TRUE,
           na.strings = "")
}
strat <- read_data("apistrat")
clus1 <- read_data("apiclus1")
out_dir <- file.path("tests", "golden", "parity")
dir.create(out_dir, showWarnings = FALSE)

spec_json <- function(weights = NULL, strata = NULL, psu = NULL, fpc = NULL, replicate = NULL) {
  f <- list()
  if (!is.null(weights)) f$weights <- weights
  if (!is.null(strata)) f$strata <- strata
  if (!is.null(psu)) f$psu <- psu
  if (!is.null(fpc)) f$fpc <- fpc
  if (!is.null(replicate)) f$replicate <- replicate
  do.call(obj, f)
}

# ------------------------------------------------------------------------------ svytable
d_strat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat)
s_strat <- spec_json(weights = "pw", strata = "stype", fpc = "fpc")
d_lonely <- svydesign(id = ~dnum, strata = ~cstrat, weights = ~pw, data = clus1)  # D: 1 PSU
s_lonely <- spec_json(weights = "pw", strata = "cstrat", psu = "dnum")
d_clus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1)
d_jk1 <- as.svrepdesign(d_clus1, type = "JK1")
s_jk1 <- spec_json(weights = "pw", psu = "dnum", fpc = "fpc", replicate = "JK1")

table_rows <- character(0)
table_case <- function(name, data, spec, design, vars, ntotal = NULL, subset = NULL) {
  f <- as.formula(paste("~", paste(vars, collapse = " + ")))
  dd <- if (is.null(subset)) design else design[design$variables[[subset$column]] >= subset$min, ]
  tbl <- if (is.null(ntotal)) svytable(f, dd) else svytable(f, dd, Ntotal = ntotal)
  long <- if (is.null(dim(tbl))) {  # a one-way table rescaled by stratum: a named vector
    setNames(data.frame(names(tbl), as.vector(tbl), stringsAsFactors = FALSE), c(vars, "Freq"))
  } else as.data.frame(tbl, stringsAsFactors = FALSE)
  cells <- vapply(seq_len(nrow(long)), function(i) {
    fields <- lapply(vars, function(v) as.character(long[[v]][i]))
    names(fields) <- vars
    do.call(obj, c(fields, list(count = long$Freq[i])))
  }, "")
  nt <- if (is.null(ntotal)) "null" else if (is.data.frame(ntotal)) {
    do.call(obj, setNames(as.list(ntotal[[2]]), as.character(ntotal[[1]])))
  } else num(ntotal)
  sub <- if (is.null(subset)) "null" else obj(column = subset$column, min = subset$min)
  table_rows <<- c(table_rows, paste0(
    "{\"name\": ", str_json(name), ", \"data\": ", str_json(data), ", \"design\": ", spec,
    ", \"subset\": ", sub, ", \"variables\": [", paste(vapply(vars, str_json, ""), collapse = ", "),
    "], \"ntotal\": ", nt, ", \"cells\": ", arr(cells), "}"))
}

n_strat <- data.frame(stype = c("E", "H", "M"), N = c(4421, 755, 1018))
table_case("strat_stype_awards", "apistrat", s_strat, d_strat, c("stype", "awards"))
table_case("strat_awards", "apistrat", s_strat, d_strat, "awards")
table_case("strat_awards_ntotal", "apistrat", s_strat, d_strat, c("awards", "yr.rnd"),
           ntotal = 10000)
table_case("strat_awards_ntotal_strata", "apistrat", s_strat, d_strat, c("awards", "yr.rnd"),
           ntotal = n_strat)
table_case("strat_domain", "apistrat", s_strat, d_strat, c("awards", "yr.rnd"),
           subset = list(column = "api00", min = 700))
table_case("strat_domain_ntotal_strata", "apistrat", s_strat, d_strat, "awards",
           ntotal = n_strat, subset = list(column = "api00", min = 700))
n_lonely <- data.frame(cstrat = c("A", "B", "C", "D"), N = c(300, 250, 200, 100))
table_case("lonely_stype_band", "apiclus1", s_lonely, d_lonely, c("stype", "avg.ed_band"))
table_case("lonely_ntotal", "apiclus1", s_lonely, d_lonely, c("stype", "avg.ed_band"),
           ntotal = 6194)
table_case("lonely_ntotal_strata", "apiclus1", s_lonely, d_lonely, c("stype", "avg.ed_band"),
           ntotal = n_lonely)
table_case("jk1_stype", "apiclus1", s_jk1, d_jk1, c("stype", "awards"))
table_case("jk1_band_missing", "apiclus1", s_jk1, d_jk1, "avg.ed_band")  # rescaled: NA rows
table_case("jk1_ntotal", "apiclus1", s_jk1, d_jk1, c("stype", "awards"), ntotal = 6194)
table_case("jk1_domain", "apiclus1", s_jk1, d_jk1, "avg.ed_band",
           subset = list(column = "api00", min = 650))

path <- file.path(out_dir, "tables.json")
writeLines(paste0("{\"cases\": ", arr(table_rows), "\n}"), path)
cat(path, length(table_rows), "cases\n")

# ------------------------------------------------------------------- deff = "replace"
# svymean / svytotal / svyratio (and svymean of a factor: shares) with deff = "replace":
# the variance over that of simple random sampling WITH replacement. Domains as svyby
# runs them (the design subset to the domain). deff.json: cases {name, data, design,
# call: {stat, variable, denominator, by}, rows: [{by, level, estimate, se, deff}]}.
deff_rows <- character(0)
deff_case <- function(name, data, spec, design, stat, variable, by = NULL, denominator = NULL) {
  groups <- if (is.null(by)) list(NULL) else as.list(levels(factor(design$variables[[by]])))
  rows <- character(0)
  for (g in groups) {
    dd <- if (is.null(g)) design else design[design$variables[[by]] == g, ]
    f <- as.formula(paste("~", variable))
    est <- switch(stat,
                  mean = svymean(f, dd, deff = "replace", na.rm = TRUE),
                  total = svytotal(f, dd, deff = "replace", na.rm = TRUE),
                  ratio = svyratio(f, as.formula(paste("~", denominator)), dd, deff = "replace",
                                   na.rm = TRUE))
    cf <- as.vector(coef(est)); se <- as.vector(SE(est)); de <- as.vector(deff(est))
    levs <- if (is.factor(dd$variables[[variable]])) levels(dd$variables[[variable]]) else NA
    for (i in seq_along(cf)) {
      byv <- if (is.null(g)) "{}" else paste0("{", str_json(by), ": ", str_json(g), "}")
      lev <- if (is.na(levs[i])) "null" else str_json(levs[i])
      rows <- c(rows, paste0("{\"by\": ", byv, ", \"level\": ", lev, ", \"estimate\": ",
                             num(cf[i]), ", \"se\": ", num(se[i]), ", \"deff\": ", num(de[i]), "}"))
    }
  }
  call <- obj(stat = stat, variable = variable)
  call <- sub("}$", paste0(", \"denominator\": ", if (is.null(denominator)) "null" else
    str_json(denominator), ", \"by\": ", if (is.null(by)) "null" else str_json(by), "}"), call)
  deff_rows <<- c(deff_rows, paste0("{\"name\": ", str_json(name), ", \"data\": ", str_json(data),
                                    ", \"design\": ", spec, ", \"subset\": null, \"call\": ", call,
                                    ", \"rows\": ", arr(rows), "}"))
}
d_clus1_str <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1)
s_clus1 <- spec_json(weights = "pw", psu = "dnum", fpc = "fpc")
d_strat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat)
s_strat_nofpc <- spec_json(weights = "pw", strata = "stype")
deff_case("strat_mean_api00", "apistrat", s_strat, d_strat, "mean", "api00")
deff_case("strat_mean_api00_by", "apistrat", s_strat, d_strat, "mean", "api00", by = "stype")
deff_case("strat_total_enroll", "apistrat", s_strat, d_strat, "total", "enroll")
deff_case("strat_total_enroll_by", "apistrat", s_strat, d_strat, "total", "enroll", by = "awards")
deff_case("strat_share_awards", "apistrat", s_strat, d_strat, "mean", "awards")
deff_case("strat_share_awards_by", "apistrat", s_strat, d_strat, "mean", "awards", by = "stype")
deff_case("strat_ratio", "apistrat", s_strat, d_strat, "ratio", "api00", denominator = "api99")
deff_case("strat_ratio_by", "apistrat", s_strat, d_strat, "ratio", "api00", by = "awards",
          denominator = "api99")
deff_case("strat_nofpc_mean", "apistrat", s_strat_nofpc, d_strat_nofpc, "mean", "api00")
deff_case("clus1_mean_api00", "apiclus1", s_clus1, d_clus1_str, "mean", "api00")
deff_case("clus1_share_stype", "apiclus1", s_clus1, d_clus1_str, "mean", "stype")
deff_case("clus1_total_enroll_by", "apiclus1", s_clus1, d_clus1_str, "total", "enroll",
          by = "stype")
deff_case("jk1_mean_api00", "apiclus1", s_jk1, d_jk1, "mean", "api00")
deff_case("jk1_total_enroll", "apiclus1", s_jk1, d_jk1, "total", "enroll")
deff_case("jk1_share_stype", "apiclus1", s_jk1, d_jk1, "mean", "stype")

path <- file.path(out_dir, "deff.json")
writeLines(paste0("{\"cases\": ", arr(deff_rows), "\n}"), path)
cat(path, length(deff_rows), "cases\n")

# ------------------------------------------------------------ survey.adjust.domain.lonely
# options(survey.adjust.domain.lonely = TRUE) under every lonely-PSU rule: a domain with
# rows in one PSU of a stratum that has several (apiclus1 grouped into 3 strata of 5
# districts, nest = TRUE: high schools (H) sit in one district of stratum A; apistrat's
# schools above 850 include a single H school). Domains as svyby runs them (the design
# subset to the domain); Wald CIs on the domain's degf. domain_lonely.json: cases {name,
# data, design: {..., lonely_psu, adjust_domain_lonely}, subset, call, rows: [{by, level,
# estimate, se, ci_low, ci_high, df}]}.
lonely_rows <- character(0)
lonely_case <- function(name, data, spec, design, stat, variable, by, rule, subset = NULL) {
  old <- options(survey.lonely.psu = rule, survey.adjust.domain.lonely = TRUE)
  on.exit(options(old))
  base <- if (is.null(subset)) design else design[design$variables[[subset$column]] >=
                                                    subset$min, ]
  rows <- character(0)
  for (g in levels(factor(base$variables[[by]]))) {
    dd <- base[base$variables[[by]] == g, ]
    f <- as.formula(paste("~", variable))
    est <- suppressWarnings(switch(stat, mean = svymean(f, dd, na.rm = TRUE),
                                   total = svytotal(f, dd, na.rm = TRUE)))
    dfv <- degf(dd)
    ci <- confint(est, df = dfv)
    cf <- as.vector(coef(est)); se <- as.vector(SE(est))
    levs <- if (is.factor(dd$variables[[variable]])) levels(dd$variables[[variable]]) else NA
    for (i in seq_along(cf)) {
      lev <- if (is.na(levs[i])) "null" else str_json(levs[i])
      rows <- c(rows, paste0("{\"by\": {", str_json(by), ": ", str_json(g), "}, \"level\": ", lev,
                             ", \"estimate\": ", num(cf[i]), ", \"se\": ", num(se[i]),
                             ", \"ci_low\": ", num(ci[i, 1]), ", \"ci_high\": ", num(ci[i, 2]),
                             ", \"df\": ", num(dfv), "}"))
    }
  }
  spec <- sub("}$", paste0(", \"lonely_psu\": ", str_json(rule),
                           ", \"adjust_domain_lonely\": true}"), spec)
  sub_json <- if (is.null(subset)) "null" else obj(column = subset$column, min = subset$min)
  lonely_rows <<- c(lonely_rows, paste0(
    "{\"name\": ", str_json(name), ", \"data\": ", str_json(data), ", \"design\": ", spec,
    ", \"subset\": ", sub_json, ", \"call\": ", obj(stat = stat, variable = variable, by = by),
    ", \"rows\": ", arr(rows), "}"))
}
d_c3 <- svydesign(id = ~psu_in, strata = ~cstrat3, weights = ~pw, nest = TRUE, data = clus1)
s_c3 <- sub("}$", ", \"nest\": true}", spec_json(weights = "pw", strata = "cstrat3",
                                              psu = "psu_in"))
d_c3_fpc <- svydesign(id = ~psu_in, strata = ~cstrat3, weights = ~pw, fpc = ~fpc, nest = TRUE,
                      data = clus1)
s_c3_fpc <- sub("}$", ", \"nest\": true}", spec_json(weights = "pw", strata = "cstrat3",
                                                  psu = "psu_in", fpc = "fpc"))
for (rule in c("adjust", "average", "remove", "certainty", "fail")) {
  lonely_case(paste0("c3_", rule, "_mean_api00"), "apiclus1", s_c3, d_c3, "mean", "api00",
              "stype", rule)
  lonely_case(paste0("c3_", rule, "_total_enroll"), "apiclus1", s_c3, d_c3, "total", "enroll",
              "stype", rule)
  lonely_case(paste0("c3_", rule, "_share_schwide"), "apiclus1", s_c3, d_c3, "mean", "sch.wide",
              "stype", rule)
  lonely_case(paste0("c3_fpc_", rule, "_total_enroll"), "apiclus1", s_c3_fpc, d_c3_fpc, "total",
              "enroll", "stype", rule)
  lonely_case(paste0("strat_", rule, "_mean_api00_top"), "apistrat", s_strat, d_strat, "mean",
              "api00", "stype", rule, subset = list(column = "api00", min = 850))
}
lonely_case("c3_fpc_adjust_mean_api00", "apiclus1", s_c3_fpc, d_c3_fpc, "mean", "api00", "stype",
            "adjust")
path <- file.path(out_dir, "domain_lonely.json")
writeLines(paste0("{\"cases\": ", arr(lonely_rows), "\n}"), path)
cat(path, length(lonely_rows), "cases\n")

# ------------------------------------------------------------------------------ quantiles
# svyquantile at the lower boundary (survey 4.1.1's woodruffCI: a CDF limit below 0 gives
# NaN, a limit between 0 and the first value's weight share the step rules' second value;
# oldsvyquantile's yleft = min(x) fallback is not what 4.1.1's svyquantile does) and with
# interval.type = "score" (ffullerCI). Domains as svyby runs them. quantile.json: cases
# {name, data, design, subset, call: {variable, probs, ci, rule, by}, rows: [{by, prob,
# estimate, se, ci_low, ci_high, df}]} (null = R's NaN).
quant_rows <- character(0)
quant_case <- function(name, data, spec, design, variable, probs, ci, rule = "math", by = NULL) {
  groups <- if (is.null(by)) list(NULL) else as.list(levels(factor(design$variables[[by]])))
  rows <- character(0)
  for (g in groups) {
    dd <- if (is.null(g)) design else design[design$variables[[by]] == g, ]
    q <- svyquantile(as.formula(paste("~", variable)), dd, quantiles = probs, ci = TRUE,
                     interval.type = ci, qrule = rule, na.rm = TRUE)[[1]]
    byv <- if (is.null(g)) "{}" else paste0("{", str_json(by), ": ", str_json(g), "}")
    for (i in seq_along(probs)) {
      rows <- c(rows, paste0("{\"by\": ", byv, ", \"prob\": ", num(probs[i]),
                             ", \"estimate\": ", num(q[i, 1]), ", \"se\": ", num(q[i, 4]),
                             ", \"ci_low\": ", num(q[i, 2]), ", \"ci_high\": ", num(q[i, 3]),
                             ", \"df\": ", num(degf(dd)), "}"))
    }
  }
  call <- paste0("{\"variable\": ", str_json(variable), ", \"probs\": ", vec(probs),
                 ", \"ci\": ", str_json(ci), ", \"rule\": ", str_json(rule), ", \"by\": ",
                 if (is.null(by)) "null" else str_json(by), "}")
  quant_rows <<- c(quant_rows, paste0(
    "{\"name\": ", str_json(name), ", \"data\": ", str_json(data), ", \"design\": ", spec,
    ", \"subset\": null, \"call\": ", call, ", \"rows\": ", arr(rows), "}"))
}
low_probs <- c(0.001, 0.005, 0.01, 0.02, 0.03, 0.05)
quant_case("strat_boundary_mean", "apistrat", s_strat, d_strat, "api00", low_probs, "mean")
quant_case("strat_boundary_beta", "apistrat", s_strat, d_strat, "api00", low_probs, "beta")
quant_case("strat_boundary_by", "apistrat", s_strat, d_strat, "api00", c(0.01, 0.05, 0.1),
           "mean", by = "stype")
quant_case("clus1_boundary_school", "apiclus1", s_clus1, d_clus1_str, "api00",
           c(0.002, 0.01, 0.03), "mean", rule = "school")
score_probs <- c(0.05, 0.1, 0.25, 0.5, 0.75, 0.9)
quant_case("strat_score", "apistrat", s_strat, d_strat, "api00", score_probs, "score")
quant_case("strat_score_by", "apistrat", s_strat, d_strat, "api00", c(0.25, 0.5, 0.75),
           "score", by = "stype")
quant_case("strat_score_hf7", "apistrat", s_strat, d_strat, "enroll", c(0.25, 0.5, 0.75),
           "score", rule = "hf7")
quant_case("clus1_score", "apiclus1", s_clus1, d_clus1_str, "api00", score_probs, "score")
quant_case("clus1_score_by", "apiclus1", s_clus1, d_clus1_str, "enroll", c(0.25, 0.5),
           "score", by = "stype")
quant_case("clus1_score_missing", "apiclus1", s_clus1, d_clus1_str, "avg.ed", c(0.25, 0.5),
           "score")
old <- options(survey.lonely.psu = "adjust")
quant_case("lonely_adjust_score", "apiclus1", sub("}$", ", \"lonely_psu\": \"adjust\"}", s_lonely),
           d_lonely, "api00", c(0.25, 0.5, 0.75), "score")
options(old)
path <- file.path(out_dir, "quantile.json")
writeLines(paste0("{\"cases\": ", arr(quant_rows), "\n}"), path)
cat(path, length(quant_rows), "cases\n")
