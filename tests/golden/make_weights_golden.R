# Golden weights for steppe's weighting core (cpp/include/steppe/calibrate.hpp)
# against R's `survey`: postStratify, rake, calibrate (linear / raking / logit,
# bounded, trimmed) and trimWeights.
#
# Run from the repository root:   Rscript tests/golden/make_weights_golden.R
#
# Writes tests/golden/weights.json.  Each case carries its own inputs (design
# weights, 0-based category codes, a row-major model matrix, totals) so the C++
# test needs no data files, and R's resulting weights(design) per row.
#
# Format:
#   poststratify: [{name, weights, vars: [[code per row]...], levels: [n levels per var],
#                   pop_levels: [[code per population cell]...], pop_counts, expected}]
#   rake:         [{name, weights, margins: [[code per row]...], levels, totals:
#                   [[count per level]...], maxit, epsilon, expected, margin_weights:
#                   [[weight per row after margin i in the last iteration]...],
#                   converged, passes}]
#   calibrate:    [{name, weights, matrix (row-major), columns, column_names, totals,
#                   calfun, lower, upper, maxit, epsilon, trim_lower, trim_upper,
#                   cell_vars (codes of the categorical auxiliaries, when all are
#                   categorical, else []), expected, r_iter, converged}]
#   trim:         [{name, weights, lower, upper, strict, expected (null where R fails),
#                   r_error}]
# Infinite bounds are written as null. Numbers carry 15 significant digits (jsonlite).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(warn = 1, stringsAsFactors = FALSE)

GOLDEN <- file.path("tests", "golden")
stopifnot(file.exists(file.path(GOLDEN, "make_weights_golden.R")))  # run from the repo root

data(api)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)

codes <- function(x) as.integer(factor(x)) - 1L  # 0-based, levels in sorted order
num <- function(x) ifelse(is.finite(x), x, NA)   # Inf -> null in JSON

# Runs expr, returning list(value, warned): R warns where steppe reports a flag.
with_warning <- function(expr) {
  warned <- FALSE
  value <- withCallingHandlers(expr, warning = function(w) {
    warned <<- TRUE
    invokeRestart("muffleWarning")
  })
  list(value = value, warned = warned)
}

# ---------------------------------------------------------------------------------
# postStratify
# ---------------------------------------------------------------------------------
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))

ps_case <- function(name, design, vars, population) {
  d <- postStratify(design, as.formula(paste("~", paste(vars, collapse = "+"))), population)
  dat <- design$variables
  list(
    name = name,
    weights = unname(weights(design)),
    vars = lapply(vars, function(v) codes(dat[[v]])),
    levels = I(sapply(vars, function(v) nlevels(factor(dat[[v]])), USE.NAMES = FALSE)),
    pop_levels = lapply(vars, function(v) match(population[[v]], levels(factor(dat[[v]]))) - 1L),
    pop_counts = population$Freq,
    expected = unname(weights(d))
  )
}

pop.stype.sw <- as.data.frame(xtabs(~stype + sch.wide, apipop))
poststratify <- list(
  ps_case("apistrat_stype", dstrat, "stype", pop.types),
  ps_case("apiclus1_stype", dclus1, "stype", pop.types),
  ps_case("apiclus1_stype_schwide", dclus1, c("stype", "sch.wide"), pop.stype.sw)
)

# ---------------------------------------------------------------------------------
# rake
# ---------------------------------------------------------------------------------
# Passes R made: the smallest maxit with which rake() does not warn.
rake_passes <- function(design, f, p, control) {
  for (k in seq_len(control$maxit)) {
    ctl <- control
    ctl$maxit <- k
    if (!with_warning(rake(design, f, p, control = ctl))$warned) return(k)
  }
  NA
}

# margins: named list column -> population data.frame(column, Freq); a margin over
# several columns is given as one combined column (the interaction), as steppe does.
rake_case <- function(name, design, margins, control = list(maxit = 10, epsilon = 1)) {
  dat <- design$variables
  f <- lapply(names(margins), function(v) as.formula(paste("~", v)))
  p <- unname(margins)
  r <- with_warning(rake(design, f, p, control = control))
  strata <- r$value$postStrata[[1]]
  list(
    name = name,
    weights = unname(weights(design)),
    margins = lapply(names(margins), function(v) codes(dat[[v]])),
    levels = I(sapply(names(margins), function(v) nlevels(factor(dat[[v]])), USE.NAMES = FALSE)),
    totals = lapply(names(margins), function(v) {
      pm <- margins[[v]]
      unname(pm$Freq[match(levels(factor(dat[[v]])), pm[[v]])])
    }),
    maxit = control$maxit,
    epsilon = control$epsilon,
    expected = unname(weights(r$value)),
    margin_weights = lapply(strata, function(s) unname(attr(s, "weights"))),
    converged = !r$warned,
    passes = if (r$warned) control$maxit else rake_passes(design, f, p, control)
  )
}

pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop_of <- function(v) {
  t <- as.data.frame(table(apipop[[v]]), stringsAsFactors = FALSE)
  names(t) <- c(v, "Freq")
  t
}
# Combined margins for R's example rake(dclus1, list(~stype+sch.wide, ~stype+comp.imp)).
combine <- function(df, a, b) paste(df[[a]], df[[b]], sep = ".")
dclus1c <- update(dclus1, st.sw = combine(apiclus1, "stype", "sch.wide"),
                  st.ci = combine(apiclus1, "stype", "comp.imp"))
pop_combined <- function(a, b, name) {
  t <- as.data.frame(table(combine(apipop, a, b)), stringsAsFactors = FALSE)
  names(t) <- c(name, "Freq")
  t
}

three <- list(stype = pop_of("stype"), sch.wide = pop_of("sch.wide"),
              comp.imp = pop_of("comp.imp"))
rake_cases <- list(
  rake_case("apiclus1_stype_schwide", dclus1, list(stype = pop.types, sch.wide = pop.schwide)),
  rake_case("apistrat_three_default", dstrat, three),
  rake_case("apistrat_three_tight", dstrat, three, list(maxit = 100, epsilon = 1e-12)),
  rake_case("apistrat_three_not_converged", dstrat, three, list(maxit = 2, epsilon = 1e-12)),
  rake_case("apiclus1_combined_margins", dclus1c,
            list(st.sw = pop_combined("stype", "sch.wide", "st.sw"),
                 st.ci = pop_combined("stype", "comp.imp", "st.ci")))
)

# ---------------------------------------------------------------------------------
# calibrate
# ---------------------------------------------------------------------------------
pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)

# R's iteration count for grake(): the smallest maxit with which it does not warn.
cal_iter <- function(args) {
  if (identical(args$calfun, "linear") && all(is.infinite(args$bounds))) return(1L)
  for (k in seq_len(args$maxit)) {
    a <- args
    a$maxit <- k
    a$force <- TRUE
    if (!with_warning(do.call(calibrate, a))$warned) return(k)
  }
  NA
}

cal_case <- function(name, design, formula, population, calfun = "linear",
                     bounds = c(-Inf, Inf), trim = NULL, maxit = 50, epsilon = 1e-7,
                     categorical = character(0)) {
  args <- list(design = design, formula = formula, population = population,
               calfun = calfun, bounds = bounds, maxit = maxit, epsilon = epsilon,
               force = TRUE)
  if (!is.null(trim)) args$trim <- trim
  r <- with_warning(suppressMessages(do.call(calibrate, args)))
  mm <- model.matrix(formula, model.frame(formula, model.frame(design)))
  dat <- design$variables
  list(
    name = name,
    weights = unname(weights(design)),
    matrix = as.vector(t(unname(mm))),
    columns = ncol(mm),
    column_names = colnames(mm),
    totals = I(unname(population)),
    calfun = calfun,
    lower = num(bounds[1]),
    upper = num(bounds[2]),
    maxit = maxit,
    epsilon = epsilon,
    trim_lower = if (is.null(trim)) NA else trim[1],
    trim_upper = if (is.null(trim)) NA else trim[2],
    cell_vars = lapply(categorical, function(v) codes(dat[[v]])),
    expected = unname(weights(r$value)),
    r_iter = if (is.null(trim)) cal_iter(args) else NA,
    converged = !r$warned
  )
}

api99 <- c(pop.totals, api99 = 3914069)
schwide <- c(pop.totals, sch.wideYes = 5122)
calibrate_cases <- list(
  cal_case("linear_stype", dclus1, ~stype, pop.totals, categorical = "stype"),
  cal_case("linear_stype_schwide", dclus1, ~stype + sch.wide, schwide,
           categorical = c("stype", "sch.wide")),
  cal_case("linear_stype_api99", dclus1, ~stype + api99, api99),
  cal_case("linear_bounded_api99", dclus1, ~stype + api99, api99, bounds = c(0.6, 1.6)),
  cal_case("linear_bounded_schwide", dclus1, ~stype + sch.wide, schwide, bounds = c(0.8, 1.2),
           categorical = c("stype", "sch.wide")),
  cal_case("raking_api99", dclus1, ~stype + api99, api99, calfun = "raking"),
  cal_case("raking_schwide", dclus1, ~stype + sch.wide, schwide, calfun = "raking",
           categorical = c("stype", "sch.wide")),
  cal_case("raking_bounded_api99", dclus1, ~stype + api99, api99, calfun = "raking",
           bounds = c(0.5, 2)),
  cal_case("logit_api99", dclus1, ~stype + api99, api99, calfun = "logit",
           bounds = c(0.5, 2.5)),
  cal_case("logit_schwide", dclus1, ~stype + sch.wide, schwide, calfun = "logit",
           bounds = c(0.7, 1.7), categorical = c("stype", "sch.wide")),
  cal_case("logit_apistrat_api99", dstrat, ~stype + api99, api99, calfun = "logit",
           bounds = c(0.5, 2)),
  cal_case("linear_trimmed_api99", dclus1, ~stype + api99, api99, bounds = c(0.5, 2),
           trim = c(2 / 3, 3 / 2))
)

# ---------------------------------------------------------------------------------
# trimWeights
# ---------------------------------------------------------------------------------
dclus1g <- calibrate(dclus1, ~stype + api99, api99)
# R fails (r_error, expected null) where strict trimming cannot settle: bounds
# that cannot hold the weights' total make trimWeights recurse until R's stack
# runs out; steppe reports NotEstimable.
trim_case <- function(name, design, lower = -Inf, upper = Inf, strict = FALSE) {
  r <- tryCatch(unname(weights(trimWeights(design, lower = lower, upper = upper,
                                           strict = strict))),
                error = function(e) NULL)
  list(
    name = name,
    weights = unname(weights(design)),
    lower = num(lower),
    upper = num(upper),
    strict = strict,
    expected = if (is.null(r)) NA else r,
    r_error = is.null(r)
  )
}
trim_cases <- list(
  trim_case("dclus1g_20_45", dclus1g, lower = 20, upper = 45),
  trim_case("dclus1g_20_45_strict", dclus1g, lower = 20, upper = 45, strict = TRUE),
  trim_case("dclus1g_upper_40", dclus1g, upper = 40),
  trim_case("apistrat_upper_40_strict", dstrat, upper = 40, strict = TRUE),
  trim_case("apistrat_lower_20", dstrat, lower = 20),
  trim_case("apistrat_untouched", dstrat, lower = 1, upper = 100),
  # Every weight outside the bounds (E above, H and M below): each is set to its
  # bound and nothing is shared, so the total changes (R's sum(!outside) is 0).
  trim_case("apistrat_all_outside", dstrat, lower = 30, upper = 40),
  trim_case("apistrat_all_outside_strict", dstrat, lower = 30, upper = 40, strict = TRUE),
  trim_case("apistrat_all_above_strict", dstrat, upper = 10, strict = TRUE),
  # 200 weights of at most 25 cannot hold apistrat's total of 6194.
  trim_case("apistrat_strict_unsettled", dstrat, upper = 25, strict = TRUE)
)

out <- list(
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  poststratify = poststratify,
  rake = rake_cases,
  calibrate = calibrate_cases,
  trim = trim_cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           file.path(GOLDEN, "weights.json"))
cat("wrote", file.path(GOLDEN, "weights.json"), "\n")
