# Golden files for steppe's agreement with R's `survey` package.
#
# Run from the repository root:   Rscript tests/golden/make_golden.R   (or `make golden`)
#
# Writes
#   tests/golden/data/<dataset>.csv   R's example data sets (plus a few derived columns),
#                                     factors as strings, NA as empty
#   tests/golden/<dataset>.json       one list of cases per data set (format below)
#
# Every number is computed by R on the CSV as read back from disk (read.csv), so R and
# the Python test see exactly the same values.  Domain estimates follow svyby/subset:
# a domain is design[rows, ] (rows dropped, PSU counts per stratum kept from the full
# design), restricted to rows where the analysed variable(s) are non-missing, i.e. what
# svyby(..., na.rm = TRUE) computes.  We loop over the domains explicitly and check the
# loop against svyby() where the two are meant to agree (check_svyby()).
#
# Case format (see tests/python/test_golden.py):
#   {"name", "data", "design": {weights, strata, psu, fpc, psu2, fpc2, nest, lonely_psu},
#    "call": {stat, variable, denominator, by, subset, ci, level, df},
#    "expect_error": null | "lonely" | "invalid",
#    "rows": [{by, level, estimate, se, ci_low, ci_high, deff, df, n}]}
# plus, where they apply:
#   error_stratum / error_psu / error_stage / r_error   what R's error named (lonely PSU)
#   tol, tol_fields      a looser tolerance on the named fields (logit intervals, below)
#   alt_fields           {"ci_low": "ci_low_exact", ...}: a second accepted value per row
#                        (likelihood intervals, below)
# Row fields are null where R gives NA/NaN/Inf (e.g. deff of a level with p = 0); df is
# "inf" for df = Inf.  A level with p = 0 or 1 in a domain gets no proportion interval.
#
# R options kept at their defaults except survey.lonely.psu, which is set per case:
#   survey.adjust.domain.lonely = FALSE, survey.ultimate.cluster = FALSE.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

options(survey.lonely.psu = "fail",
        survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE,
        warn = 1, stringsAsFactors = FALSE)

GOLDEN <- file.path("tests", "golden")
DATA_DIR <- file.path(GOLDEN, "data")
POLL_CSV <- file.path("python", "steppe", "datasets", "data", "kz_poll_simulated.csv")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)
stopifnot(file.exists(file.path(GOLDEN, "make_golden.R")))  # run from the repo root

# ---------------------------------------------------------------------------------------
# Data: write a CSV and read it back, so R computes on what the test reads.
# ---------------------------------------------------------------------------------------

read_data <- function(path) {
  read.csv(path, stringsAsFactors = TRUE, na.strings = "", check.names = FALSE)
}

export_data <- function(df, name) {
  path <- file.path(DATA_DIR, paste0(name, ".csv"))
  # factors as strings, NA as empty; numbers as R prints them (15 significant digits)
  df[] <- lapply(df, function(x) if (is.factor(x)) as.character(x) else x)
  write.csv(df, path, row.names = FALSE, na = "")
  read_data(path)
}

# api* columns we keep (the name/cds text columns and the all-NA `flag` are dropped)
API_COLS <- c("stype", "snum", "dnum", "cnum", "api00", "api99", "target", "growth",
              "sch.wide", "comp.imp", "both", "awards", "meals", "ell", "yr.rnd",
              "mobility", "acs.k3", "acs.46", "acs.core", "pct.resp", "not.hsg", "hsg",
              "some.col", "col.grad", "grad.sch", "avg.ed", "full", "emer", "enroll",
              "api.stu", "pw", "fpc")

yes_no <- function(x) factor(ifelse(x, "Yes", "No"), levels = c("No", "Yes"))

# a 4-level factor of api00 (labels without commas or brackets)
api00_band <- function(api00) {
  cut(api00, c(-Inf, 600, 700, 800, Inf), right = FALSE,
      labels = c("lt600", "600-699", "700-799", "800+"))
}

# ---------------------------------------------------------------------------------------
# Designs: a spec (what the JSON stores and the test passes to sp.Design) -> svydesign
# ---------------------------------------------------------------------------------------

spec <- function(weights = NULL, strata = NULL, psu = NULL, fpc = NULL, psu2 = NULL,
                 fpc2 = NULL, nest = FALSE, lonely_psu = "fail", weighting = NULL) {
  list(weights = weights, strata = strata, psu = psu, fpc = fpc, psu2 = psu2,
       fpc2 = fpc2, nest = nest, lonely_psu = lonely_psu, weighting = weighting)
}

# Weighting steps (poststratify_step, rake_step, calibrate_step, trim_step,
# apply_weighting, pop_of): shared with make_replicate_golden.R.
source(file.path("tests", "golden", "weighting_steps.R"))

bq <- function(v) paste0("`", v, "`")

build_design <- function(s, data) {
  ids <- if (is.null(s$psu)) ~1 else reformulate(bq(c(s$psu, s$psu2)))
  # several strata columns = crossed strata (one stratum per observed combination)
  strata <- if (is.null(s$strata)) NULL else if (length(s$strata) == 1) {
    reformulate(bq(s$strata))
  } else {
    as.formula(paste0("~interaction(", paste(bq(s$strata), collapse = ", "), ", drop = TRUE)"))
  }
  weights <- if (is.null(s$weights)) NULL else reformulate(bq(s$weights))
  fpc <- if (is.null(s$fpc)) NULL else reformulate(bq(c(s$fpc, s$fpc2)))
  des <- svydesign(ids = ids, strata = strata, weights = weights, fpc = fpc, nest = s$nest,
                   data = data)
  for (step in s$weighting) des <- apply_weighting(des, step)
  des
}

# ---------------------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------------------

subset_rows <- function(data, sub) {
  if (is.null(sub)) return(rep(TRUE, nrow(data)))
  x <- data[[sub$column]]
  r <- if (!is.null(sub$equals)) x == sub$equals else x %in% sub[["in"]]
  r & !is.na(r)
}

# One entry per domain: the by values and the rows of the domain (before dropping
# missing values of the analysed variable).  Domains are the by combinations that occur
# among the subset's rows, as svyby.
domain_rows <- function(data, by, in_sub) {
  if (length(by) == 0) {
    return(list(list(by = setNames(list(), character(0)), rows = in_sub)))
  }
  keys <- unique(data[in_sub, by, drop = FALSE])
  if (anyNA(keys)) stop("missing values in by variables: ", paste(by, collapse = ", "))
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

df_value <- function(df, dd) {
  if (identical(df, "design")) degf(dd) else if (identical(df, "inf")) Inf else as.numeric(df)
}

df_json <- function(x) if (is.infinite(x)) "inf" else x

diag_or <- function(x) if (is.matrix(x)) diag(x) else as.vector(x)

# ---------------------------------------------------------------------------------------
# Estimates on one domain design dd -> list of rows (without by / n / df)
# ---------------------------------------------------------------------------------------

row <- function(level, estimate, se, ci, deff) {
  list(level = if (is.null(level)) NA_character_ else level,
       estimate = unname(estimate), se = unname(se),
       ci_low = unname(ci[1]), ci_high = unname(ci[2]), deff = unname(deff))
}

# svymean / svytotal of a numeric variable or of every level of a factor, Wald CIs
svystat_rows <- function(fun, var, dd, level, dfv) {
  m <- fun(reformulate(bq(var)), dd, na.rm = TRUE, deff = TRUE)
  ci <- confint(m, df = dfv, level = level)
  de <- diag_or(deff(m))
  levs <- if (is.factor(dd$variables[[var]])) levels(dd$variables[[var]]) else NULL
  stopifnot(is.null(levs) || length(levs) == length(coef(m)))
  lapply(seq_along(coef(m)), function(i) {
    row(if (is.null(levs)) NULL else levs[i], coef(m)[i], SE(m)[i], ci[i, ], de[i])
  })
}

# Closed form of svyciprop(method = "logit"): expit(logit(p) -/+ t * se / (p (1 - p)))
logit_closed_form <- function(p, se, level, dfv) {
  q <- qt(1 - (1 - level) / 2, dfv)
  plogis(qlogis(p) + c(-1, 1) * q * se / (p * (1 - p)))
}

# Proportion of every level of a factor: estimate/se/deff from svymean on the factor,
# interval from svyciprop(~I(var == level), method = ci).
#
# logit: svyciprop fits svyglm(quasibinomial) with glm's default convergence test
# (relative deviance change < 1e-8), which stops the IRLS iterations a step early often
# enough that the interval is off by up to ~1e-7 relative (checked: refitting with
# glm.control(epsilon = 1e-15) agrees with the closed form below to ~1e-15).  Rows
# carry R's interval and the converged fit's (ci_low_exact/ci_high_exact); the test
# accepts either to 1e-9 ("alt_fields").
CASE_LOGIT_GAP <- 0   # largest relative gap in the current case
LOGIT_EXACT <- 5e-10
prop_rows <- function(var, dd, ci, level, dfv) {
  m <- svymean(reformulate(bq(var)), dd, na.rm = TRUE, deff = TRUE)
  levs <- levels(dd$variables[[var]])
  stopifnot(length(levs) == length(coef(m)))
  de <- diag_or(deff(m))
  # rows of the domain: a calibrated design's domain keeps the others with weight 0
  counts <- table(factor(dd$variables[[var]][weights(dd) != 0], levels = levs))
  lapply(seq_along(levs), function(i) {
    lev <- levs[i]
    p <- unname(coef(m)[i])
    if (counts[[lev]] == 0 || counts[[lev]] == sum(counts)) {
      # p is 0 or 1 in this domain: svyciprop's glm-based methods do not give a
      # meaningful interval, so no interval is recorded (estimate/se still are).
      message("  note: level ", lev, " has p = ", p, "; no CI recorded")
      return(row(lev, p, SE(m)[i], c(NA, NA), de[i]))
    }
    f <- as.formula(sprintf("~I(%s == \"%s\")", bq(var), lev))
    cp <- svyciprop(f, dd, method = ci, level = level, df = dfv)
    interval <- attr(cp, "ci")
    if (ci %in% c("mean", "xlogit", "asin", "beta")) {
      stopifnot(abs(unname(cp) - p) <= 1e-12 * p)
    }
    r <- row(lev, p, SE(m)[i], interval, de[i])
    if (ci == "logit") {
      cf <- logit_closed_form(p, SE(m)[i], level, dfv)
      CASE_LOGIT_GAP <<- max(CASE_LOGIT_GAP, abs(cf - interval) / interval)
      # The same svyglm run to convergence (started at the MLE, tight epsilon):
      # a second accepted value, like the likelihood rows' exact roots.
      g <- eval(bquote(svyglm(.(f[[2]]) ~ 1, dd, family = quasibinomial,
                              start = .(qlogis(p)),
                              control = glm.control(epsilon = 1e-15, maxit = 100))))
      conv <- suppressMessages(as.numeric(plogis(confint(g, 1, level = level,
                                                         method = "Wald", ddf = dfv))))
      r$ci_low_exact <- conv[1]
      r$ci_high_exact <- conv[2]
    }
    r
  })
}

ratio_rows <- function(num, den, dd, level, dfv) {
  r <- svyratio(reformulate(bq(num)), reformulate(bq(den)), dd, na.rm = TRUE, deff = TRUE)
  list(row(NULL, coef(r), SE(r), confint(r, df = dfv, level = level)[1, ],
           attr(r, "deff")[1, 1]))
}

# ---------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------

CASES <- list()  # by dataset name

call_spec <- function(stat, variable, denominator = NULL, by = NULL, subset = NULL,
                      ci = NULL, level = 0.95, df = "design", probs = NULL, rule = NULL) {
  list(stat = stat, variable = variable, denominator = denominator,
       by = if (is.null(by)) NULL else I(by), subset = subset, ci = ci, level = level,
       df = df, probs = if (is.null(probs)) NULL else I(probs), rule = rule)
}

# svyquantile (survey 4.x): qrule and Woodruff interval.type; level = the probability.
quantile_rows <- function(var, dd, probs, ci, rule, level, dfv) {
  q <- svyquantile(reformulate(bq(var)), dd, quantiles = as.numeric(probs), alpha = 1 - level,
                   interval.type = ci, qrule = rule, ci = TRUE, df = dfv)[[1]]
  lapply(seq_along(probs), function(i) {
    list(level = as.numeric(probs)[i], estimate = unname(q[i, 1]), se = unname(q[i, 4]),
         ci_low = unname(q[i, 2]), ci_high = unname(q[i, 3]), deff = NA)
  })
}

with_lonely <- function(rule, expr) {
  old <- options(survey.lonely.psu = rule)
  on.exit(options(old))
  force(expr)
}

compute_rows <- function(des, data, cl) {
  vars <- c(cl$variable, cl$denominator)
  in_sub <- subset_rows(data, cl$subset)
  out <- list()
  for (dom in domain_rows(data, as.character(cl$by), in_sub)) {
    ok <- dom$rows & complete.cases(data[, vars, drop = FALSE])
    if (!any(ok)) stop("domain with no non-missing rows: ", toJSON(dom$by, auto_unbox = TRUE))
    dd <- des[ok, ]
    dfv <- df_value(cl$df, dd)
    rows <- switch(cl$stat,
      mean = svystat_rows(svymean, cl$variable, dd, cl$level, dfv),
      total = svystat_rows(svytotal, cl$variable, dd, cl$level, dfv),
      proportion = prop_rows(cl$variable, dd, cl$ci, cl$level, dfv),
      ratio = ratio_rows(cl$variable, cl$denominator, dd, cl$level, dfv),
      quantile = quantile_rows(cl$variable, dd, cl$probs, cl$ci, cl$rule, cl$level, dfv))
    for (r in rows) {
      out[[length(out) + 1]] <- c(list(by = dom$by), r, list(df = df_json(dfv), n = sum(ok)))
    }
  }
  out
}

# Cross-check the explicit domain loop against svyby() (estimate, se, deff), matching
# domains by their by values and levels by position.
check_svyby <- function(des, data, cl, rows) {
  if (is.null(cl$by) || !cl$stat %in% c("mean", "total", "proportion")) return(invisible())
  by <- as.character(cl$by)
  sub <- des[subset_rows(data, cl$subset), ]
  fun <- if (cl$stat == "total") svytotal else svymean
  b <- svyby(reformulate(bq(cl$variable)), reformulate(bq(by)), sub, fun,
             na.rm = TRUE, deff = TRUE, keep.var = TRUE)
  key <- function(vals) paste(sapply(vals, as.character), collapse = "\r")
  bkeys <- apply(as.data.frame(b)[, by, drop = FALSE], 1,
                 function(v) paste(trimws(v), collapse = "\r"))
  est <- matrix(coef(b), nrow = nrow(b))  # coef() of svyby is column-major
  se <- matrix(as.matrix(SE(b)), nrow = nrow(b))
  de <- matrix(as.matrix(deff(b)), nrow = nrow(b))
  rkeys <- sapply(rows, function(r) key(r$by))
  if (!setequal(unique(rkeys), bkeys) || length(rows) != length(est)) {
    stop("svyby and the domain loop give different domains for ", deparse(cl))
  }
  rel <- function(a, b) if (is.na(a) && is.na(b)) 0 else abs(a - b) / max(abs(a), abs(b), 1e-300)
  for (k in unique(rkeys)) {
    i <- match(k, bkeys)
    rs <- rows[rkeys == k]
    for (j in seq_along(rs)) {
      gap <- max(rel(rs[[j]]$estimate, est[i, j]), rel(rs[[j]]$se, se[i, j]),
                 rel(rs[[j]]$deff, de[i, j]))
      if (!(gap <= 1e-12)) stop("svyby disagrees with the domain loop for ", deparse(cl))
    }
  }
  invisible()
}

# Add one case; errors R raises are recorded as expected errors (lonely PSU under
# "fail" and non-nested clusters), anything else stops the script.
make_case <- function(name, dataset, data, s, cl, tol = NULL) {
  CASE_LOGIT_GAP <<- 0
  case <- list(name = name, data = dataset, design = s, call = cl,
               expect_error = NULL, rows = list())
  res <- tryCatch(with_lonely(s$lonely_psu, {
    des <- build_design(s, data)
    rows <- compute_rows(des, data, cl)
    check_svyby(des, data, cl, rows)
    rows
  }), error = function(e) e)
  if (inherits(res, "error")) {
    msg <- conditionMessage(res)
    if (grepl("has only one PSU at stage", msg)) {
      case$expect_error <- "lonely"
      stratum <- sub("^.*Stratum \\((.*)\\) has only one PSU at stage ([0-9]+).*$", "\\1", msg)
      case$error_stage <- as.integer(sub("^.*at stage ([0-9]+).*$", "\\1", msg))
      if (case$error_stage == 1) {
        case$error_stratum <- stratum  # the test wants it named in steppe's message
      } else {
        # at stage 2 R names an internal "<stratum>.<PSU>" label; the PSU is what a
        # user can find (the test wants it named in steppe's message)
        case$error_psu <- sub("^.*\\.", "", stratum)
      }
    } else if (grepl("not nested", msg)) {
      case$expect_error <- "invalid"
    } else {
      stop("case ", name, ": ", msg)
    }
    case$r_error <- msg
  } else {
    case$rows <- res
  }
  if (identical(cl$ci, "logit") && cl$stat == "proportion") {
    # R's glm stops a step early (relative deviance change < 1e-8), moving the
    # interval by up to ~1e-7 relative: the converged fit's interval is accepted too.
    if (CASE_LOGIT_GAP > LOGIT_EXACT) {
      message(sprintf("  %s: logit interval vs closed form %.2g", name, CASE_LOGIT_GAP))
    }
    case$alt_fields <- list(ci_low = "ci_low_exact", ci_high = "ci_high_exact")
  }
  if (!is.null(tol)) case$tol <- tol
  CASES[[dataset]][[length(CASES[[dataset]]) + 1]] <<- case
  invisible(case)
}

# all six interval methods for a proportion
CI_METHODS <- c("logit", "xlogit", "beta", "mean", "asin", "likelihood")

# ---------------------------------------------------------------------------------------
# Likelihood intervals: svyciprop(method = "likelihood") profiles the quasibinomial
# deviance of svyglm on a coarse grid (MASS-style profile: up to 9 steps of zmax/5
# standard errors each way), fits spline() through it and inverts by linear approx().
# Its interval is that interpolation, not the root of
#     (D(b) - D(b_hat)) / phi = lambda * q^2,   q = qt((1 - level) / 2, df),
#     lambda = cov.unscaled / naive.cov  (Rao-Scott design effect of the intercept),
# and is off from the root by up to ~1e-3 relative (a finer grid converges to the root:
# checked with MASSprofile_glm(maxsteps = 400, del = 0.01)).  So likelihood rows carry
# both: ci_low/ci_high = R's interval, and ci_low_exact/ci_high_exact = the root, solved
# here with uniroot on the deviance of the same svyglm refitted to full convergence.
# The test accepts agreement (to 1e-9) with either, per row ("alt_fields").
# ---------------------------------------------------------------------------------------

LIKELIHOOD_GAP <- 0
likelihood_exact <- function(var, lev, dd, level, dfv) {
  f <- as.formula(sprintf("I(%s == \"%s\") ~ 1", bq(var), lev))
  # Start IRLS at the exact MLE, logit(p_hat): glm's convergence test is on the
  # deviance, which is flat at the optimum, so an iterated fit leaves the last
  # iteration's weights (hence naive.cov and lambda) off by ~1e-8.
  p_hat <- unname(coef(svymean(reformulate(sprintf("I(%s == \"%s\")", bq(var), lev)), dd))[2])
  b_start <- qlogis(p_hat)
  m <- eval(bquote(svyglm(f, dd, family = quasibinomial, start = .(b_start),
                          control = glm.control(epsilon = 1e-15, maxit = 100))))
  lambda <- m$cov.unscaled[1, 1] / m$naive.cov[1, 1]
  q <- if (is.infinite(dfv)) qnorm((1 - level) / 2) else qt((1 - level) / 2, dfv)
  cut <- q^2 * lambda
  y <- as.numeric(model.response(model.frame(m)))
  w <- model.weights(model.frame(m))
  phi <- summary(m)$dispersion[1]
  dev <- function(b) sum(binomial()$dev.resids(y, plogis(b), w))
  b0 <- coef(m)[[1]]
  d0 <- dev(b0)
  g <- function(b) (dev(b) - d0) / phi - cut
  se <- sqrt(vcov(m)[1, 1])
  lo <- uniroot(g, c(b0 - 50 * se, b0), tol = 1e-14)$root
  hi <- uniroot(g, c(b0, b0 + 50 * se), tol = 1e-14)$root
  plogis(c(lo, hi))
}

add_likelihood_exact <- function(case, data) {
  des <- build_design(case$design, data)
  cl <- case$call
  in_sub <- subset_rows(data, cl$subset)
  for (i in seq_along(case$rows)) {
    r <- case$rows[[i]]
    ex <- c(NA, NA)
    if (!is.na(r$ci_low)) {
      rows <- in_sub & !is.na(data[[cl$variable]])
      for (b in names(r$by)) rows <- rows & data[[b]] == r$by[[b]]
      dd <- des[rows, ]
      ex <- likelihood_exact(cl$variable, r$level, dd, cl$level, df_value(cl$df, dd))
      gap <- max(abs(ex - c(r$ci_low, r$ci_high)) / ex)
      LIKELIHOOD_GAP <<- max(LIKELIHOOD_GAP, gap)
    }
    case$rows[[i]]$ci_low_exact <- ex[1]
    case$rows[[i]]$ci_high_exact <- ex[2]
  }
  case$alt_fields <- list(ci_low = "ci_low_exact", ci_high = "ci_high_exact")
  case
}

# ---------------------------------------------------------------------------------------
# apisrs: simple random sample of 200 of 6194 California schools.
# Exercises: no strata, psu = rows, fpc (weights derived from fpc, and given), no fpc,
# all six proportion intervals on a ~3.5% proportion, a factor with 60 of 200 missing
# (acs.k3_band), categorical mean/total, ratio, df / level variants.
# ---------------------------------------------------------------------------------------
data(api)
srs <- apisrs[, API_COLS]
srs$api00_band <- api00_band(srs$api00)
srs$api00_gt900 <- yes_no(srs$api00 > 900)  # 7 of 200
# a 3-level factor with 60 of 200 missing (acs.k3 is missing for most high schools)
srs$acs.k3_band <- cut(srs$acs.k3, c(-Inf, 18.5, 20.5, Inf), labels = c("le18", "19-20", "ge21"))
srs <- export_data(srs, "apisrs")

s_fpc <- spec(fpc = "fpc")                     # weights derived from fpc: 6194 / 200
s_fpc_w <- spec(weights = "pw", fpc = "fpc")
s_w <- spec(weights = "pw")                    # with replacement
make_case("apisrs_fpc_mean_api00", "apisrs", srs, s_fpc, call_spec("mean", "api00"))
make_case("apisrs_fpcw_mean_api00", "apisrs", srs, s_fpc_w, call_spec("mean", "api00"))
make_case("apisrs_nofpc_mean_api00", "apisrs", srs, s_w, call_spec("mean", "api00"))
make_case("apisrs_fpc_total_enroll", "apisrs", srs, s_fpc, call_spec("total", "enroll"))
make_case("apisrs_nofpc_total_enroll", "apisrs", srs, s_w, call_spec("total", "enroll"))
make_case("apisrs_fpc_mean_api00_by_stype", "apisrs", srs, s_fpc,
          call_spec("mean", "api00", by = "stype"))
make_case("apisrs_nofpc_mean_api00_by_stype_df_inf", "apisrs", srs, s_w,
          call_spec("mean", "api00", by = "stype", df = "inf"))
make_case("apisrs_fpc_total_api00_by_stype_awards", "apisrs", srs, s_fpc,
          call_spec("total", "api00", by = c("stype", "awards")))
make_case("apisrs_fpc_mean_avg.ed_missing", "apisrs", srs, s_fpc,
          call_spec("mean", "avg.ed"))
make_case("apisrs_fpc_mean_sch.wide", "apisrs", srs, s_fpc, call_spec("mean", "sch.wide"))
make_case("apisrs_fpc_total_sch.wide", "apisrs", srs, s_fpc, call_spec("total", "sch.wide"))
make_case("apisrs_fpc_mean_api00_band_level90", "apisrs", srs, s_fpc,
          call_spec("mean", "api00_band", level = 0.90))
make_case("apisrs_fpc_mean_acs.k3_band_missing", "apisrs", srs, s_fpc,
          call_spec("mean", "acs.k3_band"))
make_case("apisrs_fpc_proportion_acs.k3_band_missing_beta", "apisrs", srs, s_fpc,
          call_spec("proportion", "acs.k3_band", ci = "beta"))
make_case("apisrs_fpc_proportion_acs.k3_band_missing_by_awards_logit", "apisrs", srs, s_fpc,
          call_spec("proportion", "acs.k3_band", by = "awards", ci = "logit"))
for (m in CI_METHODS) {
  make_case(paste0("apisrs_fpc_proportion_api00_gt900_", m), "apisrs", srs, s_fpc,
            call_spec("proportion", "api00_gt900", ci = m))
}
make_case("apisrs_fpc_proportion_api00_gt900_logit_df_inf", "apisrs", srs, s_fpc,
          call_spec("proportion", "api00_gt900", ci = "logit", df = "inf"))
make_case("apisrs_fpc_proportion_api00_gt900_beta_df_inf", "apisrs", srs, s_fpc,
          call_spec("proportion", "api00_gt900", ci = "beta", df = "inf"))
make_case("apisrs_fpc_proportion_api00_band_by_stype_xlogit_level99", "apisrs", srs, s_fpc,
          call_spec("proportion", "api00_band", by = "stype", ci = "xlogit", level = 0.99))
make_case("apisrs_fpc_ratio_api00_api99", "apisrs", srs, s_fpc,
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apisrs_nofpc_ratio_api00_api99_by_stype_df20", "apisrs", srs, s_w,
          call_spec("ratio", "api00", denominator = "api99", by = "stype", df = 20))
make_case("apisrs_fpc_subset_awards_yes_mean_api00_by_stype", "apisrs", srs, s_fpc,
          call_spec("mean", "api00", by = "stype",
                    subset = list(column = "awards", equals = "Yes")))

# ---------------------------------------------------------------------------------------
# apistrat: stratified (by stype) simple random sample, 100 E + 50 M + 50 H, with fpc.
# Exercises: strata + fpc (weights given and derived), domains with one and two by
# variables, subset domains, a domain with only 2 non-missing rows (acs.46 in H),
# 4-level proportions by stratum with every interval method, crossed strata (two
# columns), and strongly varying weights (pw * exp(N(0, 1)), seed 20240501).
# ---------------------------------------------------------------------------------------
strat <- apistrat[, API_COLS]
strat$api00_band <- api00_band(strat$api00)
strat$api00_gt850 <- yes_no(strat$api00 > 850)  # 13 of 200
strat$meals_hi <- yes_no(strat$meals > 50)
set.seed(20240501)
strat$pw_var <- round(strat$pw * exp(rnorm(nrow(strat))), 6)
strat <- export_data(strat, "apistrat")

s_strat <- spec(weights = "pw", strata = "stype", fpc = "fpc")
s_strat_fpc <- spec(strata = "stype", fpc = "fpc")           # weights derived from fpc
s_strat_nofpc <- spec(weights = "pw", strata = "stype")
s_strat_var <- spec(weights = "pw_var", strata = "stype", fpc = "fpc")
s_strat_cross <- spec(weights = "pw", strata = c("stype", "sch.wide"))
make_case("apistrat_mean_api00", "apistrat", strat, s_strat, call_spec("mean", "api00"))
make_case("apistrat_fpcderived_mean_api00", "apistrat", strat, s_strat_fpc,
          call_spec("mean", "api00"))
make_case("apistrat_nofpc_mean_api00", "apistrat", strat, s_strat_nofpc,
          call_spec("mean", "api00"))
make_case("apistrat_mean_api00_by_stype", "apistrat", strat, s_strat,
          call_spec("mean", "api00", by = "stype"))
make_case("apistrat_total_enroll_by_stype", "apistrat", strat, s_strat,
          call_spec("total", "enroll", by = "stype"))
make_case("apistrat_mean_api00_by_stype_awards", "apistrat", strat, s_strat,
          call_spec("mean", "api00", by = c("stype", "awards")))
make_case("apistrat_mean_api00_by_awards_df_inf", "apistrat", strat, s_strat,
          call_spec("mean", "api00", by = "awards", df = "inf"))
make_case("apistrat_mean_acs.46_missing_by_stype", "apistrat", strat, s_strat,
          call_spec("mean", "acs.46", by = "stype"))
make_case("apistrat_total_acs.core_missing", "apistrat", strat, s_strat,
          call_spec("total", "acs.core"))
make_case("apistrat_subset_schwide_yes_mean_api00_by_stype", "apistrat", strat, s_strat,
          call_spec("mean", "api00", by = "stype",
                    subset = list(column = "sch.wide", equals = "Yes")))
make_case("apistrat_subset_stype_EM_total_enroll_by_awards", "apistrat", strat, s_strat,
          call_spec("total", "enroll", by = "awards",
                    subset = list(column = "stype", "in" = I(c("E", "M")))))
make_case("apistrat_mean_awards_by_stype", "apistrat", strat, s_strat,
          call_spec("mean", "awards", by = "stype"))
make_case("apistrat_total_api00_band_by_stype", "apistrat", strat, s_strat,
          call_spec("total", "api00_band", by = "stype"))
for (m in CI_METHODS) {
  make_case(paste0("apistrat_proportion_api00_band_by_stype_", m), "apistrat", strat,
            s_strat, call_spec("proportion", "api00_band", by = "stype", ci = m))
}
make_case("apistrat_proportion_sch.wide_by_stype_meals_hi_logit", "apistrat", strat, s_strat,
          call_spec("proportion", "sch.wide", by = c("stype", "meals_hi"), ci = "logit"))
make_case("apistrat_proportion_api00_gt850_beta_df10", "apistrat", strat, s_strat,
          call_spec("proportion", "api00_gt850", ci = "beta", df = 10))
make_case("apistrat_proportion_api00_gt850_logit_df10", "apistrat", strat, s_strat,
          call_spec("proportion", "api00_gt850", ci = "logit", df = 10))
make_case("apistrat_proportion_api00_gt850_asin_level90", "apistrat", strat, s_strat,
          call_spec("proportion", "api00_gt850", ci = "asin", level = 0.90))
make_case("apistrat_subset_awards_yes_proportion_api00_band_by_stype_beta", "apistrat",
          strat, s_strat, call_spec("proportion", "api00_band", by = "stype", ci = "beta",
                                    subset = list(column = "awards", equals = "Yes")))
make_case("apistrat_ratio_api00_api99", "apistrat", strat, s_strat,
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apistrat_ratio_api00_api99_by_stype", "apistrat", strat, s_strat,
          call_spec("ratio", "api00", denominator = "api99", by = "stype"))
make_case("apistrat_ratio_acs.46_api99_missing_by_awards", "apistrat", strat, s_strat,
          call_spec("ratio", "acs.46", denominator = "api99", by = "awards"))
# crossed strata: stype x sch.wide (6 strata), no fpc
make_case("apistrat_crossed_strata_mean_api00_by_stype", "apistrat", strat, s_strat_cross,
          call_spec("mean", "api00", by = "stype"))
make_case("apistrat_crossed_strata_proportion_awards_logit", "apistrat", strat, s_strat_cross,
          call_spec("proportion", "awards", ci = "logit"))
# strongly varying weights
make_case("apistrat_varw_mean_api00", "apistrat", strat, s_strat_var,
          call_spec("mean", "api00"))
make_case("apistrat_varw_total_enroll_by_stype", "apistrat", strat, s_strat_var,
          call_spec("total", "enroll", by = "stype"))
make_case("apistrat_varw_proportion_api00_band_by_stype_logit", "apistrat", strat,
          s_strat_var, call_spec("proportion", "api00_band", by = "stype", ci = "logit"))
make_case("apistrat_varw_proportion_api00_gt850_beta", "apistrat", strat, s_strat_var,
          call_spec("proportion", "api00_gt850", ci = "beta"))
make_case("apistrat_varw_proportion_api00_gt850_xlogit", "apistrat", strat, s_strat_var,
          call_spec("proportion", "api00_gt850", ci = "xlogit"))
make_case("apistrat_varw_ratio_api00_api99_by_awards", "apistrat", strat, s_strat_var,
          call_spec("ratio", "api00", denominator = "api99", by = "awards"))
make_case("apistrat_varw_subset_schwide_no_mean_awards_by_stype", "apistrat", strat,
          s_strat_var, call_spec("mean", "awards", by = "stype",
                                 subset = list(column = "sch.wide", equals = "No")))

# ---------------------------------------------------------------------------------------
# apiclus1: one-stage cluster sample of 15 school districts (dnum), all schools taken.
# Exercises: PSUs with many rows, with fpc (weights given and derived) and without,
# a ~0.5% proportion (1 school of 183 with api00 > 900) with every interval method,
# missing values (avg.ed), two by variables, subsets, ratio.
# Also two designs built on it by grouping the districts into strata:
#   cstrat  = A (5 districts), B (5), C (4), D (1: district 815)  -> a lonely PSU in D;
#             estimated under every lonely_psu rule; "fail" must raise.
#   cstrat3 = A, B, C of 5 districts each, with PSU ids psu_in = 1..5 repeated in each
#             stratum -> needs nest = TRUE (without it R refuses: not nested).
# ---------------------------------------------------------------------------------------
clus1 <- apiclus1[, API_COLS]
clus1$api00_gt900 <- yes_no(clus1$api00 > 900)  # 1 of 183
clus1$avg.ed_band <- cut(clus1$avg.ed, c(-Inf, 2.5, 3.2, Inf), labels = c("low", "mid", "high"))
districts <- sort(unique(clus1$dnum))           # 15 districts
clus1$cstrat <- c(rep("A", 5), rep("B", 5), rep("C", 4), "D")[match(clus1$dnum, districts)]
clus1$cstrat3 <- rep(c("A", "B", "C"), each = 5)[match(clus1$dnum, districts)]
clus1$psu_in <- rep(1:5, times = 3)[match(clus1$dnum, districts)]
clus1 <- export_data(clus1, "apiclus1")

s_c1 <- spec(weights = "pw", psu = "dnum", fpc = "fpc")
s_c1_fpc <- spec(psu = "dnum", fpc = "fpc")                # weights derived: 757 / 15
s_c1_nofpc <- spec(weights = "pw", psu = "dnum")
make_case("apiclus1_mean_api00", "apiclus1", clus1, s_c1, call_spec("mean", "api00"))
make_case("apiclus1_fpcderived_mean_api00", "apiclus1", clus1, s_c1_fpc,
          call_spec("mean", "api00"))
make_case("apiclus1_nofpc_mean_api00", "apiclus1", clus1, s_c1_nofpc,
          call_spec("mean", "api00"))
make_case("apiclus1_total_enroll", "apiclus1", clus1, s_c1, call_spec("total", "enroll"))
make_case("apiclus1_nofpc_total_enroll_by_stype", "apiclus1", clus1, s_c1_nofpc,
          call_spec("total", "enroll", by = "stype"))
make_case("apiclus1_mean_api00_by_stype", "apiclus1", clus1, s_c1,
          call_spec("mean", "api00", by = "stype"))
make_case("apiclus1_mean_api00_by_stype_awards", "apiclus1", clus1, s_c1,
          call_spec("mean", "api00", by = c("stype", "awards")))
make_case("apiclus1_mean_avg.ed_missing_by_stype", "apiclus1", clus1, s_c1,
          call_spec("mean", "avg.ed", by = "stype"))
make_case("apiclus1_nofpc_total_avg.ed_missing", "apiclus1", clus1, s_c1_nofpc,
          call_spec("total", "avg.ed"))
make_case("apiclus1_mean_sch.wide_by_stype", "apiclus1", clus1, s_c1,
          call_spec("mean", "sch.wide", by = "stype"))
make_case("apiclus1_total_stype", "apiclus1", clus1, s_c1, call_spec("total", "stype"))
make_case("apiclus1_proportion_stype_logit", "apiclus1", clus1, s_c1,
          call_spec("proportion", "stype", ci = "logit"))
make_case("apiclus1_nofpc_proportion_stype_beta", "apiclus1", clus1, s_c1_nofpc,
          call_spec("proportion", "stype", ci = "beta"))
make_case("apiclus1_proportion_avg.ed_band_missing_by_stype_logit", "apiclus1", clus1, s_c1,
          call_spec("proportion", "avg.ed_band", by = "stype", ci = "logit"))
for (m in CI_METHODS) {
  make_case(paste0("apiclus1_proportion_api00_gt900_", m), "apiclus1", clus1, s_c1,
            call_spec("proportion", "api00_gt900", ci = m))
}
make_case("apiclus1_proportion_api00_gt900_logit_df_inf", "apiclus1", clus1, s_c1,
          call_spec("proportion", "api00_gt900", ci = "logit", df = "inf"))
make_case("apiclus1_proportion_api00_gt900_beta_df_inf", "apiclus1", clus1, s_c1,
          call_spec("proportion", "api00_gt900", ci = "beta", df = "inf"))
make_case("apiclus1_subset_schwide_yes_proportion_awards_by_stype_beta", "apiclus1", clus1,
          s_c1, call_spec("proportion", "awards", by = "stype", ci = "beta",
                          subset = list(column = "sch.wide", equals = "Yes")))
make_case("apiclus1_subset_stype_E_mean_api00_by_awards", "apiclus1", clus1, s_c1,
          call_spec("mean", "api00", by = "awards",
                    subset = list(column = "stype", equals = "E")))
make_case("apiclus1_ratio_api00_api99", "apiclus1", clus1, s_c1,
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apiclus1_ratio_api00_api99_by_stype_df_inf", "apiclus1", clus1, s_c1,
          call_spec("ratio", "api00", denominator = "api99", by = "stype", df = "inf"))
make_case("apiclus1_nofpc_ratio_avg.ed_meals_missing", "apiclus1", clus1, s_c1_nofpc,
          call_spec("ratio", "avg.ed", denominator = "meals"))

# nested PSU ids: psu_in = 1..5 inside each of 3 strata
s_c1_nest <- spec(weights = "pw", strata = "cstrat3", psu = "psu_in", nest = TRUE)
s_c1_nonest <- spec(weights = "pw", strata = "cstrat3", psu = "psu_in", nest = FALSE)
s_c1_dnum3 <- spec(weights = "pw", strata = "cstrat3", psu = "dnum")  # same design, unique ids
make_case("apiclus1_nest_mean_api00_by_stype", "apiclus1", clus1, s_c1_nest,
          call_spec("mean", "api00", by = "stype"))
make_case("apiclus1_nest_same_as_unique_ids_mean_api00_by_stype", "apiclus1", clus1,
          s_c1_dnum3, call_spec("mean", "api00", by = "stype"))
make_case("apiclus1_nest_proportion_sch.wide_logit", "apiclus1", clus1, s_c1_nest,
          call_spec("proportion", "sch.wide", ci = "logit"))
make_case("apiclus1_nest_ratio_api00_api99", "apiclus1", clus1, s_c1_nest,
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apiclus1_not_nested_error", "apiclus1", clus1, s_c1_nonest,
          call_spec("mean", "api00"))

# lonely PSU: stratum D holds one district
for (rule in c("fail", "remove", "certainty", "adjust", "average")) {
  s_l <- spec(weights = "pw", strata = "cstrat", psu = "dnum", lonely_psu = rule)
  make_case(paste0("apiclus1_lonely_", rule, "_mean_api00"), "apiclus1", clus1, s_l,
            call_spec("mean", "api00"))
  make_case(paste0("apiclus1_lonely_", rule, "_total_enroll"), "apiclus1", clus1, s_l,
            call_spec("total", "enroll"))
  if (rule != "fail") {
    make_case(paste0("apiclus1_lonely_", rule, "_mean_api00_by_stype"), "apiclus1", clus1,
              s_l, call_spec("mean", "api00", by = "stype"))
    make_case(paste0("apiclus1_lonely_", rule, "_proportion_sch.wide_by_stype_logit"),
              "apiclus1", clus1, s_l,
              call_spec("proportion", "sch.wide", by = "stype", ci = "logit"))
    make_case(paste0("apiclus1_lonely_", rule, "_ratio_api00_api99"), "apiclus1", clus1,
              s_l, call_spec("ratio", "api00", denominator = "api99"))
    # domain without the lonely stratum's rows: "average" rescales by strata in the domain
    make_case(paste0("apiclus1_lonely_", rule, "_subset_awards_yes_mean_api00"), "apiclus1",
              clus1, s_l, call_spec("mean", "api00",
                                    subset = list(column = "awards", equals = "Yes")))
  }
}
# lonely PSU with nested ids as well (stratum D has psu_in 1 again)
s_c1_nest_l <- spec(weights = "pw", strata = "cstrat",
                    psu = "psu_in", nest = TRUE, lonely_psu = "adjust")
make_case("apiclus1_lonely_nest_adjust_mean_api00_by_stype", "apiclus1", clus1, s_c1_nest_l,
          call_spec("mean", "api00", by = "stype"))
s_c1_nest_l$lonely_psu <- "fail"
make_case("apiclus1_lonely_nest_fail_mean_api00", "apiclus1", clus1, s_c1_nest_l,
          call_spec("mean", "api00"))

# ---------------------------------------------------------------------------------------
# apiclus2: two-stage cluster sample: 40 districts (dnum), then up to 5 schools (snum)
# in each; fpc1 = districts in the population, fpc2 = schools in the district.
# Exercises: two-stage variance (weights derived from fpc1, fpc2, and given as pw), the
# stage-2 term; districts with a single sampled school all have fpc2 = 1 (all schools
# taken: a certainty unit at stage 2, contributing 0, not a lonely PSU); weights pw
# without fpc (with-replacement: first stage only); missing values (enroll, acs.k3).
# The variant fpc2_l sets fpc2 = 4 for district 15 (1 school sampled of 4): a lonely
# unit at stage 2, estimated under every lonely_psu rule but "average" (see below).
# ---------------------------------------------------------------------------------------
clus2 <- apiclus2[, c(API_COLS[API_COLS != "fpc"], "fpc1", "fpc2")]
clus2$fpc2_l <- ifelse(clus2$dnum == 15, 4, clus2$fpc2)
stopifnot(sum(clus2$dnum == 15) == 1)
clus2 <- export_data(clus2, "apiclus2")

s_c2 <- spec(psu = "dnum", psu2 = "snum", fpc = "fpc1", fpc2 = "fpc2")  # weights from fpc
s_c2_w <- spec(weights = "pw", psu = "dnum", psu2 = "snum", fpc = "fpc1", fpc2 = "fpc2")
s_c2_nofpc <- spec(weights = "pw", psu = "dnum", psu2 = "snum")
s_c2_stage1fpc <- spec(weights = "pw", psu = "dnum", fpc = "fpc1")     # one-stage view
for (v in list(list("fpc", s_c2), list("w", s_c2_w), list("nofpc", s_c2_nofpc))) {
  tag <- v[[1]]; s <- v[[2]]
  make_case(paste0("apiclus2_", tag, "_mean_api00"), "apiclus2", clus2, s,
            call_spec("mean", "api00"))
  make_case(paste0("apiclus2_", tag, "_total_enroll_missing"), "apiclus2", clus2, s,
            call_spec("total", "enroll"))
  make_case(paste0("apiclus2_", tag, "_mean_api00_by_stype"), "apiclus2", clus2, s,
            call_spec("mean", "api00", by = "stype"))
  make_case(paste0("apiclus2_", tag, "_proportion_awards_by_stype_logit"), "apiclus2",
            clus2, s, call_spec("proportion", "awards", by = "stype", ci = "logit"))
  make_case(paste0("apiclus2_", tag, "_ratio_api00_api99"), "apiclus2", clus2, s,
            call_spec("ratio", "api00", denominator = "api99"))
}
make_case("apiclus2_stage1fpc_mean_api00", "apiclus2", clus2, s_c2_stage1fpc,
          call_spec("mean", "api00"))
make_case("apiclus2_fpc_mean_acs.k3_missing_by_awards", "apiclus2", clus2, s_c2,
          call_spec("mean", "acs.k3", by = "awards"))
make_case("apiclus2_fpc_total_stype", "apiclus2", clus2, s_c2, call_spec("total", "stype"))
make_case("apiclus2_fpc_mean_sch.wide_by_stype_awards", "apiclus2", clus2, s_c2,
          call_spec("mean", "sch.wide", by = c("stype", "awards")))
for (m in CI_METHODS) {
  make_case(paste0("apiclus2_fpc_proportion_stype_", m), "apiclus2", clus2, s_c2,
            call_spec("proportion", "stype", ci = m))
}
make_case("apiclus2_fpc_proportion_stype_beta_df12_level90", "apiclus2", clus2, s_c2,
          call_spec("proportion", "stype", ci = "beta", df = 12, level = 0.90))
make_case("apiclus2_w_subset_stype_E_mean_api00_by_awards", "apiclus2", clus2, s_c2_w,
          call_spec("mean", "api00", by = "awards",
                    subset = list(column = "stype", equals = "E")))
make_case("apiclus2_fpc_subset_schwide_yes_ratio_api00_api99_by_stype", "apiclus2", clus2,
          s_c2, call_spec("ratio", "api00", denominator = "api99", by = "stype",
                          subset = list(column = "sch.wide", equals = "Yes")))
# (no "average" here: R's average of the other strata's variances is taken within the
# lonely unit's PSU, where there is no other stratum, so R's variance is NaN (0 * 1/0))
for (rule in c("fail", "remove", "certainty", "adjust")) {
  s_l <- spec(weights = "pw", psu = "dnum", psu2 = "snum", fpc = "fpc1", fpc2 = "fpc2_l",
              lonely_psu = rule)
  make_case(paste0("apiclus2_lonely2_", rule, "_mean_api00"), "apiclus2", clus2, s_l,
            call_spec("mean", "api00"))
  if (rule != "fail") {
    make_case(paste0("apiclus2_lonely2_", rule, "_mean_api00_by_stype"), "apiclus2", clus2,
              s_l, call_spec("mean", "api00", by = "stype"))
  }
}

# ---------------------------------------------------------------------------------------
# scd: survey of cardiac arrests: 3 strata (ESA) x 2 ambulance stations (PSU ids 1, 2
# reused in every stratum -> nest = TRUE), equal weights (column w = 1).
# Exercises: nest = TRUE on R's own example; without nest R refuses (not nested);
# fpc of 5 stations per stratum; scd_lonely drops the last row, so ESA 3 has one
# station: every lonely_psu rule, and "fail" must raise naming stratum 3.
# ---------------------------------------------------------------------------------------
data(scd)
scd_df <- scd
scd_df$w <- 1
scd_df$fpc5 <- 5
scd_df <- export_data(scd_df, "scd")
scd_l <- export_data(scd_df[-6, ], "scd_lonely")

s_scd <- spec(weights = "w", strata = "ESA", psu = "ambulance", nest = TRUE)
s_scd_fpc <- spec(weights = "w", strata = "ESA", psu = "ambulance", fpc = "fpc5", nest = TRUE)
s_scd_nonest <- spec(weights = "w", strata = "ESA", psu = "ambulance", nest = FALSE)
make_case("scd_nest_mean_alive", "scd", scd_df, s_scd, call_spec("mean", "alive"))
make_case("scd_nest_total_arrests", "scd", scd_df, s_scd, call_spec("total", "arrests"))
make_case("scd_nest_ratio_alive_arrests", "scd", scd_df, s_scd,
          call_spec("ratio", "alive", denominator = "arrests"))
make_case("scd_nest_fpc_ratio_alive_arrests", "scd", scd_df, s_scd_fpc,
          call_spec("ratio", "alive", denominator = "arrests"))
make_case("scd_nest_fpc_total_alive_df_inf", "scd", scd_df, s_scd_fpc,
          call_spec("total", "alive", df = "inf"))
make_case("scd_not_nested_error", "scd", scd_df, s_scd_nonest, call_spec("mean", "alive"))
for (rule in c("fail", "remove", "certainty", "adjust", "average")) {
  s_l <- spec(weights = "w", strata = "ESA", psu = "ambulance", nest = TRUE,
              lonely_psu = rule)
  make_case(paste0("scd_lonely_", rule, "_mean_alive"), "scd_lonely", scd_l, s_l,
            call_spec("mean", "alive"))
  make_case(paste0("scd_lonely_", rule, "_total_arrests"), "scd_lonely", scd_l, s_l,
            call_spec("total", "arrests"))
  make_case(paste0("scd_lonely_", rule, "_ratio_alive_arrests"), "scd_lonely", scd_l, s_l,
            call_spec("ratio", "alive", denominator = "arrests"))
}

# ---------------------------------------------------------------------------------------
# kz_poll_simulated: the simulated Kazakhstan poll shipped with steppe (not copied here).
# Design: strata = stratum, PSU = psu, weights = weight.  Exercises: a real-sized
# stratified cluster design, proportions of multi-level attitudes by age group within
# one wave (subset) with logit and beta intervals, and a breakdown by wave.
# ---------------------------------------------------------------------------------------
if (file.exists(POLL_CSV)) {
  poll <- read_data(POLL_CSV)
  waves <- sort(unique(as.character(poll$wave)))
  wave1 <- if ("2023-05" %in% waves) "2023-05" else tail(waves, 1)
  in_wave <- list(column = "wave", "in" = I(wave1))
  s_poll <- spec(weights = "weight", strata = "stratum", psu = "psu")
  for (m in c("logit", "beta", "xlogit")) {
    make_case(paste0("poll_subset_wave_proportion_attitude_by_age_group_", m),
              "kz_poll_simulated", poll, s_poll,
              call_spec("proportion", "attitude_to_russia", by = "age_group", ci = m,
                        subset = in_wave))
  }
  # side_supported was asked in the first two waves only (all missing in the third), so
  # the breakdown by wave is over the waves that asked it.
  asked <- sort(unique(as.character(poll$wave[!is.na(poll$side_supported)])))
  in_asked <- list(column = "wave", "in" = I(asked))
  make_case("poll_subset_asked_proportion_side_supported_by_wave_logit", "kz_poll_simulated",
            poll, s_poll, call_spec("proportion", "side_supported", by = "wave",
                                    ci = "logit", subset = in_asked))
  make_case("poll_subset_asked_proportion_side_supported_by_wave_beta", "kz_poll_simulated",
            poll, s_poll, call_spec("proportion", "side_supported", by = "wave",
                                    ci = "beta", subset = in_asked))
  make_case("poll_subset_asked_mean_side_supported_by_wave_df_inf", "kz_poll_simulated",
            poll, s_poll, call_spec("mean", "side_supported", by = "wave", df = "inf",
                                    subset = in_asked))
  # attitude_to_russia is missing outside wave1: without a subset it is the same domain
  make_case("poll_proportion_attitude_missing_outside_wave_likelihood", "kz_poll_simulated",
            poll, s_poll, call_spec("proportion", "attitude_to_russia", ci = "likelihood"))
  make_case("poll_subset_wave_mean_attitude_by_sex_age_group", "kz_poll_simulated", poll,
            s_poll, call_spec("mean", "attitude_to_russia", by = c("sex", "age_group"),
                              subset = in_wave))
  make_case("poll_total_ethnicity", "kz_poll_simulated", poll, s_poll,
            call_spec("total", "ethnicity"))
  make_case("poll_total_ethnicity_by_wave", "kz_poll_simulated", poll, s_poll,
            call_spec("total", "ethnicity", by = "wave"))
  make_case("poll_subset_wave_proportion_ethnicity_by_urban_rural_logit",
            "kz_poll_simulated", poll, s_poll,
            call_spec("proportion", "ethnicity", by = "urban_rural", ci = "logit",
                      subset = in_wave))
  make_case("poll_mean_age_by_wave_region", "kz_poll_simulated", poll, s_poll,
            call_spec("mean", "age", by = c("wave", "region")))
  make_case("poll_subset_wave_total_age_by_region_level90", "kz_poll_simulated", poll,
            s_poll, call_spec("total", "age", by = "region", subset = in_wave, level = 0.90))
} else {
  message("NOTE: ", POLL_CSV, " not found; poll cases not written")
}

# ---------------------------------------------------------------------------------------
# Weighted designs (issue 3): post-stratification; estimates then carry the
# post-stratification residuals in their variance (svyrecvar's postStrata).
# Population counts come from R's own apipop (all 6194 California schools).
# Domains of a calibrated design keep every row with weight 0 (R's `[`), so
# nrow() of a domain is the whole sample (this changes Korn-Graubard's df factor).
# ---------------------------------------------------------------------------------------
ps_stype <- poststratify_step("stype", pop_of("stype"))
ps_stype_awards <- poststratify_step(c("stype", "awards"), pop_of("stype", "awards"))
s_c1_ps <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(ps_stype))
s_c1_ps2 <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(ps_stype_awards))
s_strat_ps <- spec(weights = "pw", strata = "stype", fpc = "fpc",
                   weighting = list(poststratify_step("awards", pop_of("awards"))))
make_case("apiclus1_ps_mean_api00", "apiclus1", clus1, s_c1_ps, call_spec("mean", "api00"))
make_case("apiclus1_ps_total_enroll", "apiclus1", clus1, s_c1_ps, call_spec("total", "enroll"))
make_case("apiclus1_ps_mean_api00_by_sch.wide", "apiclus1", clus1, s_c1_ps,
          call_spec("mean", "api00", by = "sch.wide"))
make_case("apiclus1_ps_total_enroll_by_stype", "apiclus1", clus1, s_c1_ps,
          call_spec("total", "enroll", by = "stype"))
make_case("apiclus1_ps_ratio_api00_api99_by_sch.wide", "apiclus1", clus1, s_c1_ps,
          call_spec("ratio", "api00", denominator = "api99", by = "sch.wide"))
make_case("apiclus1_ps_mean_avg.ed_missing", "apiclus1", clus1, s_c1_ps,
          call_spec("mean", "avg.ed"))
for (m in c("logit", "beta", "mean", "xlogit")) {
  make_case(paste0("apiclus1_ps_proportion_awards_by_sch.wide_", m), "apiclus1", clus1, s_c1_ps,
            call_spec("proportion", "awards", by = "sch.wide", ci = m))
}
make_case("apiclus1_ps2_mean_api00_by_sch.wide", "apiclus1", clus1, s_c1_ps2,
          call_spec("mean", "api00", by = "sch.wide"))
make_case("apiclus1_ps2_subset_E_proportion_sch.wide", "apiclus1", clus1, s_c1_ps2,
          call_spec("proportion", "sch.wide", subset = list(column = "stype", equals = "E"),
                    ci = "logit"))
make_case("apistrat_ps_awards_mean_api00_by_stype", "apistrat", strat, s_strat_ps,
          call_spec("mean", "api00", by = "stype"))
make_case("apistrat_ps_awards_total_api00_band", "apistrat", strat, s_strat_ps,
          call_spec("total", "api00_band"))

# Raking (R's rake, then svyrecvar's iterated post-stratification residuals).
rk_c1 <- rake_step(c("stype", "sch.wide"), list(pop_of("stype"), pop_of("sch.wide")))
rk_c1_tight <- rake_step(c("stype", "sch.wide", "awards"),
                         list(pop_of("stype"), pop_of("sch.wide"), pop_of("awards")),
                         maxit = 50, epsilon = 1e-8)
s_c1_rk <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(rk_c1))
s_c1_rk3 <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(rk_c1_tight))
s_strat_rk <- spec(weights = "pw", strata = "stype", fpc = "fpc",
                   weighting = list(rake_step(c("sch.wide", "awards"),
                                              list(pop_of("sch.wide"), pop_of("awards")))))
make_case("apiclus1_rake_mean_api00", "apiclus1", clus1, s_c1_rk, call_spec("mean", "api00"))
make_case("apiclus1_rake_total_enroll", "apiclus1", clus1, s_c1_rk, call_spec("total", "enroll"))
make_case("apiclus1_rake_mean_api00_by_stype", "apiclus1", clus1, s_c1_rk,
          call_spec("mean", "api00", by = "stype"))
make_case("apiclus1_rake_proportion_awards_by_stype_logit", "apiclus1", clus1, s_c1_rk,
          call_spec("proportion", "awards", by = "stype", ci = "logit"))
make_case("apiclus1_rake_ratio_api00_api99", "apiclus1", clus1, s_c1_rk,
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apiclus1_rake3_mean_api00_by_sch.wide", "apiclus1", clus1, s_c1_rk3,
          call_spec("mean", "api00", by = "sch.wide"))
make_case("apiclus1_rake3_proportion_cstrat3_xlogit", "apiclus1", clus1, s_c1_rk3,
          call_spec("proportion", "cstrat3", ci = "xlogit"))
make_case("apistrat_rake_mean_api00_by_stype", "apistrat", strat, s_strat_rk,
          call_spec("mean", "api00", by = "stype"))
# Trimming (R's trimWeights): plain, strict, and after post-stratification.
s_strat_trim <- spec(weights = "pw_var", strata = "stype", fpc = "fpc",
                     weighting = list(trim_step(lower = 10, upper = 100)))
s_strat_trim_strict <- spec(weights = "pw_var", strata = "stype", fpc = "fpc",
                            weighting = list(trim_step(upper = 100, strict = TRUE)))
s_c1_ps_trim <- spec(weights = "pw", psu = "dnum", fpc = "fpc",
                     weighting = list(ps_stype_awards, trim_step(upper = 40)))
make_case("apistrat_trim_mean_api00_by_awards", "apistrat", strat, s_strat_trim,
          call_spec("mean", "api00", by = "awards"))
make_case("apistrat_trim_strict_total_enroll", "apistrat", strat, s_strat_trim_strict,
          call_spec("total", "enroll"))
make_case("apiclus1_ps_trim_mean_api00_by_sch.wide", "apiclus1", clus1, s_c1_ps_trim,
          call_spec("mean", "api00", by = "sch.wide"))
# Calibration (R's calibrate; variance from the GREG residuals).
api99_total <- sum(apipop$api99)
cal_lin <- calibrate_step(list(stype = pop_of("stype"), api99 = api99_total))
cal_rak <- calibrate_step(list(stype = pop_of("stype"), sch.wide = pop_of("sch.wide")),
                          method = "raking", bounds = c(0.5, 2))
cal_logit <- calibrate_step(list(stype = pop_of("stype"), api99 = api99_total),
                            method = "logit", bounds = c(0.5, 2.5))
s_c1_cal <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(cal_lin))
s_c1_calr <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(cal_rak))
s_c1_call <- spec(weights = "pw", psu = "dnum", fpc = "fpc", weighting = list(cal_logit))
make_case("apiclus1_cal_linear_mean_api00", "apiclus1", clus1, s_c1_cal, call_spec("mean", "api00"))
make_case("apiclus1_cal_linear_mean_api00_by_sch.wide", "apiclus1", clus1, s_c1_cal,
          call_spec("mean", "api00", by = "sch.wide"))
make_case("apiclus1_cal_linear_total_enroll_by_stype", "apiclus1", clus1, s_c1_cal,
          call_spec("total", "enroll", by = "stype"))
make_case("apiclus1_cal_linear_proportion_awards_beta", "apiclus1", clus1, s_c1_cal,
          call_spec("proportion", "awards", ci = "beta"))
make_case("apiclus1_cal_raking_mean_api00_by_awards", "apiclus1", clus1, s_c1_calr,
          call_spec("mean", "api00", by = "awards"))
make_case("apiclus1_cal_logit_ratio_api00_api99", "apiclus1", clus1, s_c1_call,
          call_spec("ratio", "api00", denominator = "api99"))
make_case("apiclus1_cal_logit_total_api00_subset_yes", "apiclus1", clus1, s_c1_call,
          call_spec("total", "api00", subset = list(column = "sch.wide", equals = "Yes")))
# The simulated poll, weighted from its design weights: margins are the weighted
# totals under its published (raked) weights, so every step has a real target.
if (exists("poll")) {
  pop_poll <- function(v) {
    tab <- as.data.frame(xtabs(reformulate(v, response = "weight"), poll))
    tab[[v]] <- as.character(tab[[v]])
    tab
  }
  s_poll_dw <- function(step) spec(weights = "design_weight", strata = "stratum", psu = "psu",
                                   weighting = list(step))
  rk_poll <- rake_step(c("region", "sex", "ethnicity"),
                       list(pop_poll("region"), pop_poll("sex"), pop_poll("ethnicity")))
  # (Calibrated domains keep every row with weight 0, and svyciprop does not drop
  #  missing values, so proportions here use variables without any.)
  make_case("poll_rake_proportion_language_by_age_group_beta", "kz_poll_simulated", poll,
            s_poll_dw(rk_poll), call_spec("proportion", "interview_language",
                                          by = "age_group", ci = "beta", subset = in_wave))
  make_case("poll_rake_mean_attitude_by_age_group", "kz_poll_simulated", poll,
            s_poll_dw(rk_poll), call_spec("mean", "attitude_to_russia", by = "age_group",
                                          subset = in_wave))
  make_case("poll_poststratify_sex_mean_side_by_wave", "kz_poll_simulated", poll,
            s_poll_dw(poststratify_step("sex", pop_poll("sex"))),
            call_spec("mean", "side_supported", by = "wave", subset = in_asked))
  make_case("poll_calibrate_sex_ethnicity_mean_age_by_wave", "kz_poll_simulated", poll,
            s_poll_dw(calibrate_step(list(sex = pop_poll("sex"),
                                          ethnicity = pop_poll("ethnicity")))),
            call_spec("mean", "age", by = "wave"))
  make_case("poll_trim_mean_age_by_region", "kz_poll_simulated", poll,
            s_poll_dw(trim_step(upper = 40000)), call_spec("mean", "age", by = "region"))
}

# Quantiles (svyquantile): qrules and Woodruff intervals, domains, weighting.
qs3 <- c(0.1, 0.25, 0.5, 0.75, 0.9)
make_case("apistrat_quantile_api00_math_mean", "apistrat", strat, s_strat,
          call_spec("quantile", "api00", probs = qs3, ci = "mean", rule = "math"))
make_case("apistrat_quantile_api00_by_stype_school_beta", "apistrat", strat, s_strat,
          call_spec("quantile", "api00", by = "stype", probs = c(0.25, 0.5), ci = "beta",
                    rule = "school"))
make_case("apistrat_quantile_enroll_hf7_xlogit", "apistrat", strat, s_strat,
          call_spec("quantile", "enroll", probs = qs3, ci = "xlogit", rule = "hf7"))
make_case("apistrat_quantile_api00_hf4_asin_level90", "apistrat", strat, s_strat,
          call_spec("quantile", "api00", probs = c(0.3, 0.6), ci = "asin", rule = "hf4",
                    level = 0.9))
make_case("apiclus1_quantile_api00_by_sch.wide_hf6", "apiclus1", clus1, s_c1,
          call_spec("quantile", "api00", by = "sch.wide", probs = c(0.5, 0.8), ci = "mean",
                    rule = "hf6"))
make_case("apiclus1_quantile_acs.k3_missing_shahvaish", "apiclus1", clus1, s_c1,
          call_spec("quantile", "acs.k3", probs = c(0.25, 0.5), ci = "mean", rule = "shahvaish"))
make_case("apiclus1_quantile_enroll_hf3_hf5_dfinf", "apiclus1", clus1, s_c1,
          call_spec("quantile", "enroll", probs = c(0.5), ci = "mean", rule = "hf3", df = "inf"))
make_case("apiclus1_quantile_enroll_hf5", "apiclus1", clus1, s_c1,
          call_spec("quantile", "enroll", probs = c(0.2, 0.5), ci = "mean", rule = "hf5"))
make_case("apiclus1_quantile_enroll_hf8_hf9", "apiclus1", clus1, s_c1,
          call_spec("quantile", "enroll", probs = c(0.5), ci = "mean", rule = "hf8"))
make_case("apiclus1_quantile_enroll_hf9", "apiclus1", clus1, s_c1,
          call_spec("quantile", "enroll", probs = c(0.5), ci = "mean", rule = "hf9"))
make_case("apiclus1_ps_quantile_api00_math", "apiclus1", clus1, s_c1_ps,
          call_spec("quantile", "api00", probs = c(0.5), ci = "mean", rule = "math"))
make_case("apistrat_rake_total_api00_band_subset_E", "apistrat", strat, s_strat_rk,
          call_spec("total", "api00_band", subset = list(column = "stype", equals = "E")))


# ---------------------------------------------------------------------------------------
# Checks on R's own intervals, then write the JSON files.
# ---------------------------------------------------------------------------------------

# likelihood: add the exact roots (see likelihood_exact above).
for (ds in names(CASES)) {
  data <- read_data(if (ds == "kz_poll_simulated") POLL_CSV else
                      file.path(DATA_DIR, paste0(ds, ".csv")))
  for (i in seq_along(CASES[[ds]])) {
    case <- CASES[[ds]][[i]]
    if (identical(case$call$ci, "likelihood") && is.null(case$expect_error)) {
      CASES[[ds]][[i]] <- with_lonely(case$design$lonely_psu, add_likelihood_exact(case, data))
    }
  }
}
message(sprintf("largest relative gap, R's likelihood CI vs exact root: %.3g", LIKELIHOOD_GAP))

all_names <- unlist(lapply(CASES, function(cs) sapply(cs, `[[`, "name")))
stopifnot(!anyDuplicated(all_names))

for (ds in names(CASES)) {
  path <- file.path(GOLDEN, paste0(ds, ".json"))
  writeLines(toJSON(CASES[[ds]], auto_unbox = TRUE, null = "null", na = "null",
                    digits = NA, pretty = TRUE), path)
  message(sprintf("%-40s %3d cases", path, length(CASES[[ds]])))
}
