# Golden file for chained and formula weighting (issue 9, item 3) against R's `survey`.
#
# Run from the repository root:   Rscript tests/golden/make_weighting_chain_golden.R
# (after make_golden.R, whose CSVs it reads: apiclus1, apistrat).
#
# Writes tests/golden/chain/weighting_chain.json:
#   {"cases": [{name, data, design: {svydesign spec as make_golden.R},
#               replicate: null | "JK1" (as.svrepdesign(type = ...) before weighting;
#                          steppe: Design(...).to_replicate(type)),
#               weighting: [step, ...] applied in order, warns: [R's warnings],
#               call: {stat, variable, denominator, by, level, df},
#               rows: [{by, level, estimate, se, ci_low, ci_high, deff, df, n}]}]}
# Steps (what the Python test hands to Design.poststratify / calibrate / rake / trim):
#   {"method": "poststratify", "columns", "population": records of the columns + Freq}
#   {"method": "calibrate", "formula": "~...", "population": {"names", "values"}
#        (R's model-matrix totals, named as model.matrix names them), "calfun", "bounds"}
#   {"method": "rake", "margins": [{"columns": [...], "population": records + Freq}],
#        "maxit", "epsilon"}
#   {"method": "trim", "lower", "upper", "strict"}
# Every step of a chain is R's own function on the design the step before returned
# (postStratify, calibrate, rake, trimWeights); R keeps each step's postStrata entry
# and svyrecvar takes their residuals in turn. Domains follow make_golden.R: dd =
# des[rows, ] with the analysed variable non-missing, Wald intervals with df = degf(dd).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE, survey.replicates.mse = FALSE, warn = 1,
        stringsAsFactors = FALSE)

GOLDEN <- file.path("tests", "golden")
stopifnot(file.exists(file.path(GOLDEN, "make_weighting_chain_golden.R")))  # repo root
OUT_DIR <- file.path(GOLDEN, "chain")
dir.create(OUT_DIR, showWarnings = FALSE)

data(api)
read_data <- function(name) {
  read.csv(file.path(GOLDEN, "data", paste0(name, ".csv")), stringsAsFactors = TRUE,
           na.strings = "", check.names = FALSE)
}
DATA <- list(apiclus1 = read_data("apiclus1"), apistrat = read_data("apistrat"))

bq <- function(v) paste0("`", v, "`")

# Population records (columns + Freq) from apipop, levels that occur.
pop_of <- function(...) {
  tab <- as.data.frame(xtabs(reformulate(c(...)), apipop))
  for (v in c(...)) tab[[v]] <- as.character(tab[[v]])
  tab[tab$Freq > 0, , drop = FALSE]
}
# R's model-matrix totals of a formula over apipop (column names as model.matrix).
totals_of <- function(formula) colSums(model.matrix(as.formula(formula), apipop))

ps_step <- function(columns) {
  list(method = "poststratify", columns = I(columns), population = do.call(pop_of, as.list(columns)))
}
cal_step <- function(formula, calfun = "linear", bounds = NULL, population = totals_of(formula)) {
  list(method = "calibrate", formula = formula,
       population = list(names = I(names(population)), values = I(unname(population))),
       calfun = calfun, bounds = if (is.null(bounds)) NULL else I(bounds))
}
rake_step <- function(margins, maxit = 10, epsilon = 1) {
  list(method = "rake",
       margins = lapply(margins, function(cols) {
         list(columns = I(cols), population = do.call(pop_of, as.list(cols)))
       }),
       maxit = maxit, epsilon = epsilon)
}
trim_step <- function(lower = NULL, upper = NULL, strict = FALSE) {
  list(method = "trim", lower = lower, upper = upper, strict = strict)
}

WARNINGS <- character(0)
apply_step <- function(des, step) {
  withCallingHandlers(switch(step$method,
    poststratify = postStratify(des, reformulate(bq(step$columns)), step$population),
    calibrate = {
      pop <- setNames(step$population$values, step$population$names)
      calibrate(des, as.formula(step$formula), pop, calfun = step$calfun,
                bounds = if (is.null(step$bounds)) c(-Inf, Inf) else as.numeric(step$bounds))
    },
    rake = rake(des,
                lapply(step$margins, function(m) reformulate(bq(m$columns))),
                lapply(step$margins, function(m) m$population),
                control = list(maxit = step$maxit, epsilon = step$epsilon)),
    trim = trimWeights(des, lower = if (is.null(step$lower)) -Inf else step$lower,
                       upper = if (is.null(step$upper)) Inf else step$upper,
                       strict = step$strict),
    stop("unknown step ", step$method)),
    warning = function(w) {
      WARNINGS <<- c(WARNINGS, trimws(conditionMessage(w)))
      invokeRestart("muffleWarning")
    })
}

SPECS <- list(
  apiclus1 = list(weights = "pw", psu = "dnum", fpc = "fpc"),
  apistrat = list(weights = "pw", strata = "stype", fpc = "fpc")
)
build <- function(data_name, replicate, steps) {
  s <- SPECS[[data_name]]
  des <- svydesign(ids = if (is.null(s$psu)) ~1 else reformulate(bq(s$psu)),
                   strata = if (is.null(s$strata)) NULL else reformulate(bq(s$strata)),
                   weights = reformulate(bq(s$weights)), fpc = reformulate(bq(s$fpc)),
                   data = DATA[[data_name]])
  if (!is.null(replicate)) des <- as.svrepdesign(des, type = replicate)
  for (st in steps) des <- apply_step(des, st)
  des
}

row <- function(by, level, est, se, ci, deff, dfv, n) {
  list(by = by, level = level, estimate = unname(est), se = unname(se),
       ci_low = unname(ci[1]), ci_high = unname(ci[2]), deff = unname(deff),
       df = if (is.infinite(dfv)) "inf" else dfv, n = n)
}

compute_rows <- function(des, data, cl) {
  vars <- c(cl$variable, cl$denominator)
  doms <- if (is.null(cl$by)) list(list(by = setNames(list(), character(0)),
                                        rows = rep(TRUE, nrow(data))))
          else lapply(sort(unique(as.character(data[[cl$by]]))), function(v) {
            list(by = setNames(list(v), cl$by), rows = as.character(data[[cl$by]]) == v)
          })
  out <- list()
  for (dom in doms) {
    ok <- dom$rows & complete.cases(data[, vars, drop = FALSE])
    dd <- des[ok, ]
    dfv <- degf(dd)
    if (cl$stat == "ratio") {
      r <- svyratio(reformulate(bq(cl$variable)), reformulate(bq(cl$denominator)), dd,
                    na.rm = TRUE, deff = TRUE)
      ci <- confint(r, df = dfv, level = cl$level)[1, ]
      out[[length(out) + 1]] <- row(dom$by, NA, coef(r), SE(r), ci, attr(r, "deff")[1, 1],
                                    dfv, sum(ok))
    } else {
      fun <- if (cl$stat == "mean") svymean else svytotal
      m <- fun(reformulate(bq(cl$variable)), dd, na.rm = TRUE, deff = TRUE)
      ci <- confint(m, df = dfv, level = cl$level)
      de <- deff(m)
      levs <- if (is.factor(data[[cl$variable]])) levels(data[[cl$variable]]) else NA
      for (i in seq_along(coef(m))) {
        out[[length(out) + 1]] <- row(dom$by, levs[i], coef(m)[i], SE(m)[i], ci[i, ],
                                      diag(as.matrix(de))[i], dfv, sum(ok))
      }
    }
  }
  out
}

call_spec <- function(stat, variable, denominator = NULL, by = NULL, level = 0.95) {
  list(stat = stat, variable = variable, denominator = denominator,
       by = if (is.null(by)) NULL else I(by), level = level, df = "design")
}
CALLS <- list(
  mean = call_spec("mean", "api00"),
  total = call_spec("total", "enroll"),
  by = call_spec("mean", "api00", by = "sch.wide"),
  ratio = call_spec("ratio", "api00", denominator = "api99"),
  prop = call_spec("mean", "awards", by = "stype")
)

CASES <- list()
chain_case <- function(name, data_name, steps, calls = names(CALLS), replicate = NULL,
                       warns = character(0)) {
  WARNINGS <<- character(0)
  des <- build(data_name, replicate, steps)
  got <- WARNINGS
  if (!identical(sort(got), sort(warns))) stop(name, ": warnings ", paste(got, collapse = "; "))
  for (cn in calls) {
    cl <- CALLS[[cn]]
    CASES[[length(CASES) + 1]] <<- list(
      name = paste0(name, "_", cn), data = data_name, design = SPECS[[data_name]],
      replicate = replicate, weighting = steps, warns = I(got), call = cl,
      rows = compute_rows(des, DATA[[data_name]], cl))
  }
}

# --- chains on apiclus1 (one-stage cluster sample) ----------------------------------
chain_case("clus1_ps_cal_trim", "apiclus1",
           list(ps_step("stype"), cal_step("~sch.wide + api99"), trim_step(upper = 45)))
chain_case("clus1_rake_cal", "apiclus1",
           list(rake_step(list("stype", "sch.wide")), cal_step("~api99 + enroll")),
           calls = c("mean", "by", "ratio", "prop"))
chain_case("clus1_cal_ps", "apiclus1",
           list(cal_step("~api99"), ps_step("stype")))
chain_case("clus1_ps_rake_trim", "apiclus1",
           list(ps_step("awards"), rake_step(list("stype", "sch.wide")),
                trim_step(lower = 20, upper = 50)))
# --- joint margins in rake ---------------------------------------------------------
chain_case("clus1_rake_joint", "apiclus1",
           list(rake_step(list(c("stype", "sch.wide"), "awards"))))
chain_case("strat_rake_joint", "apistrat",
           list(rake_step(list(c("sch.wide", "awards"), "stype"))),
           calls = c("mean", "by", "ratio"))
# --- formula calibration: an interaction and a numeric auxiliary --------------------
chain_case("clus1_formula_linear", "apiclus1", list(cal_step("~stype*sch.wide + api99")))
chain_case("clus1_formula_raking", "apiclus1",
           list(cal_step("~stype*sch.wide + api99", calfun = "raking", bounds = c(0.2, 5))),
           calls = c("mean", "by", "prop"))
chain_case("strat_formula_logit", "apistrat",
           list(cal_step("~stype + awards + api99", calfun = "logit", bounds = c(0.3, 3))),
           calls = c("mean", "total", "by"))
chain_case("strat_rake_formula", "apistrat",
           list(rake_step(list("sch.wide", "awards")), cal_step("~comp.imp*sch.wide + api99"),
                trim_step(lower = 10, upper = 50)),
           calls = c("mean", "total", "by"))
# --- non-convergence: R warns and keeps the last iterate ----------------------------
chain_case("clus1_rake_not_converged", "apiclus1",
           list(rake_step(list(c("stype", "sch.wide"), "awards", "comp.imp"), maxit = 1,
                          epsilon = 1e-12)),
           calls = c("mean", "by"), warns = "Raking did not converge after 1 iterations.")
# --- replicate designs (JK1 from the cluster sample), re-weighted at every step -----
chain_case("clus1_jk1_formula", "apiclus1", list(cal_step("~stype*sch.wide + api99")),
           replicate = "JK1", calls = c("mean", "total", "by"))
# (trimWeights.svyrep.design is broken in survey 4.1.1: no trimming on replicates here.)
chain_case("clus1_jk1_ps_cal", "apiclus1",
           list(ps_step("stype"), cal_step("~sch.wide + api99")),
           replicate = "JK1", calls = c("mean", "by"))
chain_case("clus1_jk1_rake_joint_cal", "apiclus1",
           list(rake_step(list(c("stype", "sch.wide"), "awards")), cal_step("~api99")),
           replicate = "JK1", calls = c("mean", "by"))

names_all <- sapply(CASES, `[[`, "name")
stopifnot(!anyDuplicated(names_all))
path <- file.path(OUT_DIR, "weighting_chain.json")
writeLines(toJSON(list(cases = CASES), auto_unbox = TRUE, null = "null", na = "null",
                  digits = NA, pretty = TRUE), path)
message(sprintf("%-45s %3d cases", path, length(CASES)))
