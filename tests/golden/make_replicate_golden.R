# Golden file for steppe's replicate-weight designs against R's `survey` package.
#
# Run from the repository root:   Rscript tests/golden/make_replicate_golden.R
# (after make_golden.R, whose CSVs it reads: apiclus1, apistrat, scd, scd_lonely).
#
# Writes
#   tests/golden/data/rep_<name>.csv   R's replicate weights of one design, one column per
#                                      replicate (rep1, rep2, ...), rows as the data set's
#                                      rows, as multipliers of the sampling weights
#                                      (R's combined.weights = FALSE), printed with 17
#                                      significant digits so they read back exactly
#   tests/golden/replicate/replicate.json
#                                      {"designs": {...}, "cases": [...], "weights": [...],
#                                       "hadamard": [...]}
#
# designs: name -> how to build the design in steppe, one or more "builds" each:
#   {"kind": "to_replicate", "data", "filter", "design": {svydesign spec as make_golden.R},
#    "type", "fay_rho", "mse"}          -> sp.Design(...).to_replicate(type, ...)
#   {"kind": "columns", "data", "filter", "weights", "replicate_csv", "type", "rho",
#    "scale", "rscales", "mse", "combined_weights"}
#                                       -> sp.ReplicateDesign(data + rep columns, ...)
#   Every build of a design must reproduce R's numbers for every case on that design.
# cases: {name, design, call: {stat, variable, denominator, by, subset, ci, level, df},
#         rows: [{by, level, estimate, se, ci_low, ci_high, deff, df, n}]}
#   as make_golden.R: domains are des[rows, ] of the replicate design (R's `[` drops the
#   rows and recomputes degf = qr rank of the remaining analysis weights - 1), estimates
#   with na.rm = TRUE, deff = TRUE, Wald intervals confint(m, df = degf(domain)), and
#   proportion intervals svyciprop(~I(v == "lev"), domain, method, df = degf(domain)).
#   Fields R gives as NA / NaN / Inf are null.
# weights: {name, data, filter, design, type, fay_rho, replicate_csv, scale, rscales,
#           degf, col_sums, col_index_sums}: R's as.svrepdesign replicate weights; the test
#   checks to_replicate() gives the same multipliers (exported CSV, or for the poll the
#   column sums of the analysis weights and of row number x analysis weight), scale,
#   rscales and degf.
# hadamard: {n, nrow, ncol, checksum} for survey::hadamard(n), n = 1..300 where R does not
#   use its stored 28 x 28 / 36 x 36 matrices, checksum = sum_ij H_ij * ((i * 131 + j * 17)
#   %% 1009) (1-based), plus "stored" = the n that do (steppe refuses those).
#
# Bootstrap: R's bootweights draws with R's RNG, so steppe's to_replicate("bootstrap")
# cannot give R's replicates; the bootstrap case exports R's own replicates (set.seed) and
# checks ReplicateDesign on them.
#
# Logit intervals: on a replicate design svyciprop fits svyglm to every replicate, so
# its logit interval uses the replicates' variance of logit(p_r), not the delta-method
# se of p (the gap between the two is reported). glm stops its IRLS at a relative
# deviance change of 1e-8, which leaves the replicate coefficients off by up to ~1e-7;
# rows carry R's interval and the converged one (ci_low_exact/ci_high_exact):
# expit(logit(p) -/+ t sqrt(svrVar(logit(p_r)))).
# Likelihood intervals are not recorded: on replicate designs survey 4.1.1's
# summary.svyglm takes the dispersion from svyvar() of the Pearson residuals, which there
# comes out about n times too large (e.g. 144 for apiclus1's 144 elementary schools), so
# the profile never reaches its cut-off and svyciprop returns NA; steppe refuses it.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE, warn = 1,
        stringsAsFactors = FALSE)

GOLDEN <- file.path("tests", "golden")
DATA_DIR <- file.path(GOLDEN, "data")
POLL_CSV <- file.path("python", "steppe", "datasets", "data", "kz_poll_simulated.csv")
stopifnot(file.exists(file.path(GOLDEN, "make_replicate_golden.R")))  # run from repo root

read_data <- function(path) {
  read.csv(path, stringsAsFactors = TRUE, na.strings = "", check.names = FALSE)
}
load_data <- function(name) {
  read_data(if (name == "kz_poll_simulated") POLL_CSV else
              file.path(DATA_DIR, paste0(name, ".csv")))
}
apply_filter <- function(data, filter) {
  if (is.null(filter)) return(data)
  keep <- data[[filter$column]] == filter$equals
  droplevels(data[keep & !is.na(keep), , drop = FALSE])
}

bq <- function(v) paste0("`", v, "`")
source(file.path(GOLDEN, "weighting_steps.R"))  # pop_of, *_step, apply_weighting

spec <- function(weights = NULL, strata = NULL, psu = NULL, fpc = NULL, nest = FALSE,
                 lonely_psu = "fail") {
  list(weights = weights, strata = strata, psu = psu, fpc = fpc, psu2 = NULL, fpc2 = NULL,
       nest = nest, lonely_psu = lonely_psu)
}

build_design <- function(s, data) {
  ids <- if (is.null(s$psu)) ~1 else reformulate(bq(s$psu))
  strata <- if (is.null(s$strata)) NULL else reformulate(bq(s$strata))
  weights <- if (is.null(s$weights)) NULL else reformulate(bq(s$weights))
  fpc <- if (is.null(s$fpc)) NULL else reformulate(bq(s$fpc))
  svydesign(ids = ids, strata = strata, weights = weights, fpc = fpc, nest = s$nest,
            data = data)
}

# Multipliers of the sampling weights, rows x replicates (R's repweights, expanded).
multipliers <- function(rdes) {
  rw <- rdes$repweights
  m <- if (inherits(rw, "repweights_compressed")) rw$weights[rw$index, , drop = FALSE] else
    as.matrix(rw)
  if (isTRUE(rdes$combined.weights)) m <- m / rdes$pweights
  unname(m)
}

export_reps <- function(mult, name) {
  colnames(mult) <- paste0("rep", seq_len(ncol(mult)))
  out <- as.data.frame(lapply(as.data.frame(mult), function(x) sprintf("%.17g", x)))
  path <- file.path(DATA_DIR, paste0("rep_", name, ".csv"))
  write.csv(out, path, row.names = FALSE, quote = FALSE)
  back <- as.matrix(read.csv(path))
  stopifnot(all(unname(back) == unname(mult)))  # exact round trip
  paste0("rep_", name)
}

DESIGNS <- list()   # name -> list(r = svyrep.design, data = data frame, builds = list)
CASES <- list()
WEIGHTS <- list()

add_design <- function(name, rdes, data, builds) {
  DESIGNS[[name]] <<- list(r = rdes, data = data, builds = builds)
}

to_rep_build <- function(dataset, s, type, fay_rho = 0, mse = FALSE, filter = NULL) {
  list(kind = "to_replicate", data = dataset, filter = filter, design = s, type = type,
       fay_rho = fay_rho, mse = mse)
}

columns_build <- function(dataset, weights, replicate_csv, rdes, filter = NULL) {
  list(kind = "columns", data = dataset, filter = filter, weights = weights,
       replicate_csv = replicate_csv, type = rdes$type,
       rho = if (rdes$type == "Fay") rdes$rho else NULL,
       scale = rdes$scale, rscales = I(rdes$rscales), mse = isTRUE(rdes$mse),
       combined_weights = FALSE)
}

# record R's as.svrepdesign weights for the to_replicate check
add_weights <- function(name, dataset, s, type, rdes, replicate_csv = NULL, fay_rho = 0,
                        filter = NULL) {
  aw <- weights(rdes, "analysis")
  WEIGHTS[[length(WEIGHTS) + 1]] <<- list(
    name = name, data = dataset, filter = filter, design = s, type = type,
    fay_rho = fay_rho, replicate_csv = replicate_csv, r_type = rdes$type,
    scale = rdes$scale, rscales = I(rdes$rscales), degf = degf(rdes),
    col_sums = I(unname(colSums(aw))),
    col_index_sums = I(unname(colSums(aw * seq_len(nrow(aw))))))
}

# ---------------------------------------------------------------------------------------
# Estimates on a domain design dd (a replicate design) -> rows
# ---------------------------------------------------------------------------------------
diag_or <- function(x) if (is.matrix(x)) diag(x) else as.vector(x)
num <- function(x) { x <- unname(as.numeric(x)); if (length(x) == 0 || !is.finite(x)) NA else x }

row <- function(level, estimate, se, ci, deff) {
  list(level = if (is.null(level)) NA_character_ else level, estimate = num(estimate),
       se = num(se), ci_low = num(ci[1]), ci_high = num(ci[2]), deff = num(deff))
}

svystat_rows <- function(fun, var, dd, level, dfv) {
  m <- fun(reformulate(bq(var)), dd, na.rm = TRUE, deff = TRUE)
  ci <- confint(m, df = dfv, level = level)
  de <- diag_or(deff(m))
  levs <- if (is.factor(dd$variables[[var]])) levels(dd$variables[[var]]) else NULL
  lapply(seq_along(coef(m)), function(i) {
    row(if (is.null(levs)) NULL else levs[i], coef(m)[i], SE(m)[i], ci[i, ], de[i])
  })
}

LOGIT_GAP <- 0
# The converged logit interval: the replicate logits' svrVar on the link scale.
logit_exact <- function(f, dd, p, level, dfv) {
  m <- svymean(f, dd, return.replicates = TRUE)
  lr <- qlogis(as.vector(m$replicates))
  v <- survey:::svrVar(lr, dd$scale, dd$rscales, mse = dd$mse, coef = qlogis(p))
  plogis(qlogis(p) + c(-1, 1) * qt(1 - (1 - level) / 2, dfv) * sqrt(as.numeric(v)))
}
prop_rows <- function(var, dd, ci, level, dfv) {
  m <- svymean(reformulate(bq(var)), dd, na.rm = TRUE, deff = TRUE)
  levs <- levels(dd$variables[[var]])
  de <- diag_or(deff(m))
  counts <- table(factor(dd$variables[[var]], levels = levs))
  lapply(seq_along(levs), function(i) {
    lev <- levs[i]
    p <- unname(coef(m)[i])
    if (counts[[lev]] == 0 || counts[[lev]] == sum(counts)) {
      return(row(lev, p, SE(m)[i], c(NA, NA), de[i]))
    }
    f <- as.formula(sprintf("~I(%s == \"%s\")", bq(var), lev))
    cp <- svyciprop(f, dd, method = ci, level = level, df = dfv)
    # (glm-based methods report expit of the fitted coefficient: off by the IRLS tolerance)
    stopifnot(abs(unname(cp) - p) <= (if (ci == "logit") 1e-6 else 1e-12) * p)
    # logit on a replicate design (not recorded): compare with the closed form
    cl <- suppressWarnings(svyciprop(f, dd, method = "logit", level = level, df = dfv))
    q <- qt(1 - (1 - level) / 2, dfv)
    cf <- plogis(qlogis(p) + c(-1, 1) * q * SE(m)[i] / (p * (1 - p)))
    LOGIT_GAP <<- max(LOGIT_GAP, abs(cf - attr(cl, "ci")) / cf)
    out <- row(lev, p, SE(m)[i], attr(cp, "ci"), de[i])
    if (ci == "logit") {
      fm <- as.formula(sprintf("~as.numeric(%s == \"%s\")", bq(var), lev))
      ex <- logit_exact(fm, dd, p, level, dfv)
      out$ci_low_exact <- num(ex[1])
      out$ci_high_exact <- num(ex[2])
    }
    out
  })
}

# svyratio.svyrep.design(deff = TRUE) fails in survey 4.1.1 ("incorrect number of
# dimensions": it indexes the ratio as a matrix before it is one), so ratio rows on
# replicate designs carry no deff.
ratio_rows <- function(numr, den, dd, level, dfv) {
  r <- svyratio(reformulate(bq(numr)), reformulate(bq(den)), dd, na.rm = TRUE)
  list(row(NULL, coef(r), SE(r), confint(r, df = dfv, level = level)[1, ], NA))
}

subset_rows <- function(data, sub) {
  if (is.null(sub)) return(rep(TRUE, nrow(data)))
  x <- data[[sub$column]]
  r <- if (!is.null(sub$equals)) x == sub$equals else x %in% sub[["in"]]
  r & !is.na(r)
}

domain_rows <- function(data, by, in_sub) {
  if (length(by) == 0) return(list(list(by = setNames(list(), character(0)), rows = in_sub)))
  keys <- unique(data[in_sub, by, drop = FALSE])
  keys <- keys[do.call(order, unname(as.list(keys))), , drop = FALSE]
  lapply(seq_len(nrow(keys)), function(i) {
    rows <- in_sub
    vals <- list()
    for (b in by) {
      v <- keys[[b]][i]
      rows <- rows & !is.na(data[[b]]) & data[[b]] == v
      vals[[b]] <- if (is.factor(v)) as.character(v) else v
    }
    list(by = vals, rows = rows)
  })
}

call_spec <- function(stat, variable, denominator = NULL, by = NULL, subset = NULL,
                      ci = NULL, level = 0.95) {
  list(stat = stat, variable = variable, denominator = denominator,
       by = if (is.null(by)) NULL else I(by), subset = subset, ci = ci, level = level,
       df = "design")
}

NA_REPLICATES <- character(0)
make_case <- function(name, design, cl) {
  des <- DESIGNS[[design]]$r
  data <- DESIGNS[[design]]$data
  vars <- c(cl$variable, cl$denominator)
  in_sub <- subset_rows(data, cl$subset)
  out <- list()
  withCallingHandlers({
    for (dom in domain_rows(data, as.character(cl$by), in_sub)) {
      ok <- dom$rows & complete.cases(data[, vars, drop = FALSE])
      dd <- des[ok, ]
      dfv <- degf(dd)
      rows <- switch(cl$stat,
        mean = svystat_rows(svymean, cl$variable, dd, cl$level, dfv),
        total = svystat_rows(svytotal, cl$variable, dd, cl$level, dfv),
        proportion = prop_rows(cl$variable, dd, cl$ci, cl$level, dfv),
        ratio = ratio_rows(cl$variable, cl$denominator, dd, cl$level, dfv))
      for (r in rows) {
        out[[length(out) + 1]] <- c(list(by = dom$by), r, list(df = dfv, n = sum(ok)))
      }
    }
  }, warning = function(w) {
    if (grepl("replicates gave NA", conditionMessage(w))) {
      NA_REPLICATES <<- union(NA_REPLICATES, name)
      invokeRestart("muffleWarning")
    }
  })
  case <- list(name = name, design = design, call = cl, rows = out)
  if (identical(cl$ci, "logit")) {
    case$alt_fields <- list(ci_low = "ci_low_exact", ci_high = "ci_high_exact")
  }
  CASES[[length(CASES) + 1]] <<- case
}

# ---------------------------------------------------------------------------------------
# (a) apiclus1: one-stage cluster sample of 15 districts, fpc; JK1.
# ---------------------------------------------------------------------------------------
clus1 <- load_data("apiclus1")
s_c1 <- spec(weights = "pw", psu = "dnum", fpc = "fpc")
r_c1 <- as.svrepdesign(build_design(s_c1, clus1), type = "JK1")
csv_c1 <- export_reps(multipliers(r_c1), "apiclus1_jk1")
add_design("apiclus1_jk1", r_c1, clus1,
           list(to_rep_build("apiclus1", s_c1, "JK1"),
                columns_build("apiclus1", "pw", csv_c1, r_c1)))
add_weights("apiclus1_jk1", "apiclus1", s_c1, "JK1", r_c1, csv_c1)
# auto = JK1 for an unstratified design
add_weights("apiclus1_auto", "apiclus1", s_c1, "auto",
            as.svrepdesign(build_design(s_c1, clus1)), csv_c1)
s_c1_nofpc <- spec(weights = "pw", psu = "dnum")
r_c1_nofpc <- as.svrepdesign(build_design(s_c1_nofpc, clus1), type = "JK1", mse = TRUE)
add_design("apiclus1_jk1_nofpc_mse", r_c1_nofpc, clus1,
           list(to_rep_build("apiclus1", s_c1_nofpc, "JK1", mse = TRUE)))
add_weights("apiclus1_jk1_nofpc", "apiclus1", s_c1_nofpc, "JK1", r_c1_nofpc)

# Weighting a replicate design: R's postStratify / rake / calibrate re-weight every
# replicate column with the same totals (rake: the full sample's number of passes);
# builds carry the steps, applied in steppe after building the replicate design.
weighted_builds <- function(builds, steps) lapply(builds, function(b) c(b, list(weighting = steps)))
add_weighted <- function(name, base, steps) {
  rdes <- DESIGNS[[base]]$r
  for (st in steps) rdes <- apply_weighting(rdes, st)
  add_design(name, rdes, DESIGNS[[base]]$data, weighted_builds(DESIGNS[[base]]$builds, steps))
}
add_weighted("apiclus1_jk1_ps", "apiclus1_jk1",
             list(poststratify_step("stype", pop_of("stype"))))
add_weighted("apiclus1_jk1_rake", "apiclus1_jk1",
             list(rake_step(c("stype", "sch.wide"), list(pop_of("stype"), pop_of("sch.wide")))))
add_weighted("apiclus1_jk1_cal_linear", "apiclus1_jk1",
             list(calibrate_step(list(stype = pop_of("stype"), api99 = sum(apipop$api99)))))
add_weighted("apiclus1_jk1_cal_raking", "apiclus1_jk1",
             list(calibrate_step(list(stype = pop_of("stype"), sch.wide = pop_of("sch.wide")),
                                 method = "raking", bounds = c(0.5, 2))))
for (nm in c("apiclus1_jk1_ps", "apiclus1_jk1_rake", "apiclus1_jk1_cal_linear",
             "apiclus1_jk1_cal_raking")) {
  make_case(paste0(nm, "_mean_api00"), nm, call_spec("mean", "api00"))
  make_case(paste0(nm, "_total_enroll_by_stype"), nm, call_spec("total", "enroll", by = "stype"))
  make_case(paste0(nm, "_mean_api00_by_awards"), nm, call_spec("mean", "api00", by = "awards"))
  make_case(paste0(nm, "_proportion_awards_xlogit"), nm,
            call_spec("proportion", "awards", ci = "xlogit"))
}

make_case("apiclus1_jk1_mean_api00", "apiclus1_jk1", call_spec("mean", "api00"))
make_case("apiclus1_jk1_total_enroll", "apiclus1_jk1", call_spec("total", "enroll"))
make_case("apiclus1_jk1_mean_api00_by_stype", "apiclus1_jk1",
          call_spec("mean", "api00", by = "stype"))
make_case("apiclus1_jk1_total_enroll_by_stype_awards", "apiclus1_jk1",
          call_spec("total", "enroll", by = c("stype", "awards")))
make_case("apiclus1_jk1_mean_avg.ed_missing", "apiclus1_jk1", call_spec("mean", "avg.ed"))
make_case("apiclus1_jk1_ratio_api00_api99_by_sch.wide", "apiclus1_jk1",
          call_spec("ratio", "api00", denominator = "api99", by = "sch.wide"))
make_case("apiclus1_jk1_mean_awards", "apiclus1_jk1", call_spec("mean", "awards"))
make_case("apiclus1_jk1_total_stype", "apiclus1_jk1", call_spec("total", "stype"))
for (m in c("mean", "xlogit", "beta", "asin", "logit")) {
  make_case(paste0("apiclus1_jk1_proportion_awards_by_stype_", m), "apiclus1_jk1",
            call_spec("proportion", "awards", by = "stype", ci = m))
}
make_case("apiclus1_jk1_subset_E_mean_api00_by_awards", "apiclus1_jk1",
          call_spec("mean", "api00", by = "awards", subset = list(column = "stype", equals = "E")))
# domains inside one PSU: the replicate deleting it has no rows -> NA, dropped by R
make_case("apiclus1_jk1_mean_api00_by_dnum_na_replicates", "apiclus1_jk1",
          call_spec("mean", "api00", by = "dnum"))
make_case("apiclus1_jk1_nofpc_mse_mean_api00_by_stype", "apiclus1_jk1_nofpc_mse",
          call_spec("mean", "api00", by = "stype"))
make_case("apiclus1_jk1_nofpc_mse_proportion_sch.wide_beta", "apiclus1_jk1_nofpc_mse",
          call_spec("proportion", "sch.wide", ci = "beta"))

# ---------------------------------------------------------------------------------------
# (b) apistrat: stratified (stype) SRS with fpc; JKn (one replicate per school).
# ---------------------------------------------------------------------------------------
strat <- load_data("apistrat")
s_st <- spec(weights = "pw", strata = "stype", fpc = "fpc")
r_st <- as.svrepdesign(build_design(s_st, strat), type = "JKn")
# (200 x 200 multipliers are not exported: the weight check uses column sums; JKn
# multipliers are checked exactly on scd_lonely below)
add_design("apistrat_jkn", r_st, strat, list(to_rep_build("apistrat", s_st, "JKn")))
add_weights("apistrat_jkn", "apistrat", s_st, "JKn", r_st)
add_weights("apistrat_auto", "apistrat", s_st, "auto",
            as.svrepdesign(build_design(s_st, strat)))
make_case("apistrat_jkn_mean_api00", "apistrat_jkn", call_spec("mean", "api00"))
make_case("apistrat_jkn_mean_api00_by_stype", "apistrat_jkn",
          call_spec("mean", "api00", by = "stype"))
make_case("apistrat_jkn_total_enroll_by_stype_awards", "apistrat_jkn",
          call_spec("total", "enroll", by = c("stype", "awards")))
make_case("apistrat_jkn_mean_acs.46_missing_by_stype", "apistrat_jkn",
          call_spec("mean", "acs.46", by = "stype"))
make_case("apistrat_jkn_ratio_api00_api99", "apistrat_jkn",
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apistrat_jkn_total_api00_band", "apistrat_jkn", call_spec("total", "api00_band"))
for (m in c("mean", "xlogit", "beta", "asin", "logit")) {
  make_case(paste0("apistrat_jkn_proportion_api00_band_by_stype_", m), "apistrat_jkn",
            call_spec("proportion", "api00_band", by = "stype", ci = m))
}
make_case("apistrat_jkn_subset_schwide_yes_mean_api00_by_stype_level90", "apistrat_jkn",
          call_spec("mean", "api00", by = "stype", level = 0.90,
                    subset = list(column = "sch.wide", equals = "Yes")))

# ---------------------------------------------------------------------------------------
# (c) scd: R's ?svrepdesign example, BRR weights from Levy and Lemeshow.
# (d) Fay (rho 0.3) and BRR from as.svrepdesign on scd's 3 ESA x 2 ambulance pairs (the
#     fpc of 5 stations is dropped by R, with a warning), and BRR on apistrat (strata of
#     100 / 50 / 50 schools split into pairs: 100 pairs, a 104 x 104 Hadamard matrix).
# ---------------------------------------------------------------------------------------
scd <- load_data("scd")
repweights <- 2 * cbind(c(1, 0, 1, 0, 1, 0), c(1, 0, 0, 1, 0, 1), c(0, 1, 1, 0, 0, 1),
                        c(0, 1, 0, 1, 1, 0))
r_scd <- suppressWarnings(svrepdesign(data = scd, type = "BRR", repweights = repweights,
                                      combined.weights = FALSE))
csv_scd <- export_reps(multipliers(r_scd), "scd_brr_levy")
add_design("scd_brr_levy", r_scd, scd, list(columns_build("scd", "w", csv_scd, r_scd)))
make_case("scd_brr_levy_mean_alive", "scd_brr_levy", call_spec("mean", "alive"))
make_case("scd_brr_levy_ratio_alive_arrests", "scd_brr_levy",
          call_spec("ratio", "alive", denominator = "arrests"))
make_case("scd_brr_levy_total_arrests", "scd_brr_levy", call_spec("total", "arrests"))

s_scd <- spec(weights = "w", strata = "ESA", psu = "ambulance", fpc = "fpc5", nest = TRUE)
r_scd_fay <- suppressWarnings(as.svrepdesign(build_design(s_scd, scd), type = "Fay",
                                             fay.rho = 0.3))
csv_fay <- export_reps(multipliers(r_scd_fay), "scd_fay")
add_design("scd_fay", r_scd_fay, scd,
           list(to_rep_build("scd", s_scd, "Fay", fay_rho = 0.3),
                columns_build("scd", "w", csv_fay, r_scd_fay)))
add_weights("scd_fay", "scd", s_scd, "Fay", r_scd_fay, csv_fay, fay_rho = 0.3)
make_case("scd_fay_mean_alive", "scd_fay", call_spec("mean", "alive"))
make_case("scd_fay_ratio_alive_arrests", "scd_fay",
          call_spec("ratio", "alive", denominator = "arrests"))
make_case("scd_fay_total_arrests", "scd_fay", call_spec("total", "arrests"))

r_scd_brr <- suppressWarnings(as.svrepdesign(build_design(s_scd, scd), type = "BRR"))
csv_brr <- export_reps(multipliers(r_scd_brr), "scd_brr")
add_design("scd_brr", r_scd_brr, scd,
           list(to_rep_build("scd", s_scd, "BRR"), columns_build("scd", "w", csv_brr, r_scd_brr)))
add_weights("scd_brr", "scd", s_scd, "BRR", r_scd_brr, csv_brr)
# BRR with fay.rho > 0 is Fay, as R
add_weights("scd_brr_rho", "scd", s_scd, "BRR",
            suppressWarnings(as.svrepdesign(build_design(s_scd, scd), type = "BRR",
                                            fay.rho = 0.3)), csv_fay, fay_rho = 0.3)
make_case("scd_brr_mean_alive", "scd_brr", call_spec("mean", "alive"))
make_case("scd_brr_ratio_alive_arrests", "scd_brr",
          call_spec("ratio", "alive", denominator = "arrests"))

s_st_nofpc <- spec(weights = "pw", strata = "stype")
r_st_brr <- as.svrepdesign(build_design(s_st_nofpc, strat), type = "BRR")
csv_st_brr <- export_reps(multipliers(r_st_brr), "apistrat_brr")
add_design("apistrat_brr", r_st_brr, strat,
           list(to_rep_build("apistrat", s_st_nofpc, "BRR"),
                columns_build("apistrat", "pw", csv_st_brr, r_st_brr)))
add_weights("apistrat_brr", "apistrat", s_st_nofpc, "BRR", r_st_brr, csv_st_brr)
r_st_fay <- as.svrepdesign(build_design(s_st_nofpc, strat), type = "Fay", fay.rho = 0.5)
add_weights("apistrat_fay", "apistrat", s_st_nofpc, "Fay", r_st_fay, fay_rho = 0.5)
make_case("apistrat_brr_mean_api00_by_stype", "apistrat_brr",
          call_spec("mean", "api00", by = "stype"))
for (m in c("xlogit", "logit")) {
  make_case(paste0("apistrat_brr_proportion_sch.wide_by_stype_", m), "apistrat_brr",
            call_spec("proportion", "sch.wide", by = "stype", ci = m))
}

# ---------------------------------------------------------------------------------------
# (e) bootstrap: R's own replicates (set.seed), analysed with ReplicateDesign.
# ---------------------------------------------------------------------------------------
set.seed(20240611)
r_boot <- as.svrepdesign(build_design(s_st, strat), type = "bootstrap", replicates = 60)
csv_boot <- export_reps(multipliers(r_boot), "apistrat_boot")
add_design("apistrat_boot", r_boot, strat, list(columns_build("apistrat", "pw", csv_boot, r_boot)))
make_case("apistrat_boot_mean_api00_by_stype", "apistrat_boot",
          call_spec("mean", "api00", by = "stype"))
make_case("apistrat_boot_total_enroll", "apistrat_boot", call_spec("total", "enroll"))
make_case("apistrat_boot_proportion_awards_by_stype_beta", "apistrat_boot",
          call_spec("proportion", "awards", by = "stype", ci = "beta"))
make_case("apistrat_boot_ratio_api00_api99_by_awards", "apistrat_boot",
          call_spec("ratio", "api00", denominator = "api99", by = "awards"))

# ---------------------------------------------------------------------------------------
# Lonely PSUs in JKn (scd_lonely: ESA 3 has one ambulance station): R's jknweights
# under survey.lonely.psu "adjust" (a replicate for the lonely stratum) and "average".
# ---------------------------------------------------------------------------------------
scd_l <- load_data("scd_lonely")
for (rule in c("adjust", "average", "remove")) {
  s_l <- spec(weights = "w", strata = "ESA", psu = "ambulance", nest = TRUE, lonely_psu = rule)
  old <- options(survey.lonely.psu = rule)
  r_l <- as.svrepdesign(build_design(s_l, scd_l), type = "JKn")
  nm <- paste0("scd_lonely_jkn_", rule)
  add_design(nm, r_l, scd_l, list(to_rep_build("scd_lonely", s_l, "JKn")))
  add_weights(nm, "scd_lonely", s_l, "JKn", r_l, export_reps(multipliers(r_l), nm))
  make_case(paste0(nm, "_mean_alive"), nm, call_spec("mean", "alive"))
  make_case(paste0(nm, "_total_arrests"), nm, call_spec("total", "arrests"))
  options(old)
}

# ---------------------------------------------------------------------------------------
# (f) the simulated poll, wave 2023-05 only (its own design), JKn: 102 replicates.
# ---------------------------------------------------------------------------------------
if (file.exists(POLL_CSV)) {
  wave <- list(column = "wave", equals = "2023-05")
  poll <- apply_filter(load_data("kz_poll_simulated"), wave)
  s_poll <- spec(weights = "weight", strata = "stratum", psu = "psu")
  r_poll <- as.svrepdesign(build_design(s_poll, poll), type = "JKn")
  add_design("poll_2023_05_jkn", r_poll, poll,
             list(to_rep_build("kz_poll_simulated", s_poll, "JKn", filter = wave)))
  add_weights("poll_2023_05_jkn", "kz_poll_simulated", s_poll, "JKn", r_poll, filter = wave)
  for (m in c("xlogit", "logit")) {
    make_case(paste0("poll_2023_05_jkn_proportion_attitude_by_age_group_", m),
              "poll_2023_05_jkn",
              call_spec("proportion", "attitude_to_russia", by = "age_group", ci = m))
  }
  make_case("poll_2023_05_jkn_mean_attitude_by_sex_age_group", "poll_2023_05_jkn",
            call_spec("mean", "attitude_to_russia", by = c("sex", "age_group")))
  make_case("poll_2023_05_jkn_mean_age_by_region", "poll_2023_05_jkn",
            call_spec("mean", "age", by = "region"))
  make_case("poll_2023_05_jkn_total_ethnicity_subset_urban", "poll_2023_05_jkn",
            call_spec("total", "ethnicity", subset = list(column = "urban_rural",
                                                          equals = "urban")))
} else {
  message("NOTE: ", POLL_CSV, " not found; poll cases not written")
}

# ---------------------------------------------------------------------------------------
# Hadamard matrices
# ---------------------------------------------------------------------------------------
uses_stored <- function(n) {
  # survey::hadamard's path: precooked or doubled stored 28 / 36 (not Sylvester 4 / 16)
  sz <- survey:::hadamard.sizes
  m <- n - (n %% 4)
  pre <- which(m < sz & m + 4 >= sz)
  if (length(pre)) return(min(pre) >= 3)
  sizes <- sz * 2^pmax(0, ceiling(log((n + 1) / sz, 2)))
  best <- which.min(sizes - n)
  if (sizes[best] - n > 4 && !is.null(survey:::paley(n, sizes[best]))) return(FALSE)
  best >= 3
}
HAD <- list()
stored <- integer(0)
for (n in 1:300) {
  if (uses_stored(n)) { stored <- c(stored, n); next }
  H <- hadamard(n)
  w <- outer(seq_len(nrow(H)), seq_len(ncol(H)), function(i, j) (i * 131 + j * 17) %% 1009)
  HAD[[length(HAD) + 1]] <- list(n = n, nrow = nrow(H), ncol = ncol(H), checksum = sum(H * w))
}

message(sprintf("logit interval on replicate designs vs closed form: largest gap %.3g",
                LOGIT_GAP))
message("cases with NA replicates (dropped by R): ", paste(NA_REPLICATES, collapse = ", "))

designs_json <- lapply(DESIGNS, function(d) d$builds)
out <- list(designs = designs_json, cases = CASES, weights = WEIGHTS,
            hadamard = list(matrices = HAD, stored = I(stored)),
            logit_gap = LOGIT_GAP, na_replicate_cases = I(NA_REPLICATES))
# Not tests/golden/replicate.json: test_golden.py reads every *.json directly in
# tests/golden as a list of linearisation cases (except its NOT_CASES).
dir.create(file.path(GOLDEN, "replicate"), showWarnings = FALSE)
path <- file.path(GOLDEN, "replicate", "replicate.json")
writeLines(toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA,
                  pretty = TRUE), path)
message(sprintf("%s: %d designs, %d cases, %d weight checks", path, length(DESIGNS),
                length(CASES), length(WEIGHTS)))
