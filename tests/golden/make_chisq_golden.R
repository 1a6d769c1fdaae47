# Golden values for Design.chisq: R survey's svychisq on R's api data and the
# simulated poll, every statistic steppe offers, including a table with zero cells.
# Run from the repository root (make golden). Writes tests/golden/chisq/chisq.json.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

read_data <- function(path) read.csv(path, stringsAsFactors = TRUE, na.strings = "",
                                     check.names = FALSE)
strat <- read_data("tests/golden/data/apistrat.csv")
clus1 <- read_data("tests/golden/data/apiclus1.csv")
poll <- read_data("python/steppe/datasets/data/kz_poll_simulated.csv")
clus2 <- read_data("tests/golden/data/apiclus2.csv")

designs <- list(
  apistrat = list(data = "apistrat", design = list(weights = "pw", strata = "stype", psu = NULL,
                                                   fpc = "fpc"),
                  make = function() svydesign(id = ~1, strata = ~stype, weights = ~pw,
                                              fpc = ~fpc, data = strat)),
  apiclus1 = list(data = "apiclus1", design = list(weights = "pw", strata = NULL, psu = "dnum",
                                                   fpc = "fpc"),
                  make = function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc,
                                              data = clus1)),
  # two stages with both fpcs: the covariance includes the second-stage term
  apiclus2 = list(data = "apiclus2",
                  design = list(weights = "pw", strata = NULL, psu = "dnum", fpc = "fpc1",
                                psu2 = "snum", fpc2 = "fpc2"),
                  make = function() svydesign(id = ~dnum + snum, weights = ~pw,
                                              fpc = ~fpc1 + fpc2, data = clus2)),
  poll = list(data = "kz_poll_simulated",
              design = list(weights = "weight", strata = "stratum", psu = "psu", fpc = NULL),
              make = function() svydesign(id = ~psu, strata = ~stratum, weights = ~weight,
                                          data = poll))
)

# statistic = "saddlepoint": survey's saddle() solves its root with uniroot(tol = 1e-8),
# so its p-value is good to ~1e-6 relative. p_value_precise reruns svychisq with
# saddle()'s tolerance set to 1e-300 (the same code, the root to full precision).
saddle_precise <- eval(parse(text = sub("tol = 1e-08", "tol = 1e-300",
                                        deparse(survey:::saddle), fixed = TRUE)))
environment(saddle_precise) <- asNamespace("survey")
precise_env <- list2env(list(saddle = saddle_precise), parent = asNamespace("survey"))
for (fn in c("pFsum", "pchisqsum")) {
  f <- get(fn, asNamespace("survey"))
  environment(f) <- precise_env
  assign(fn, f, envir = precise_env)
}
svychisq_precise <- function(formula, design, statistic) {
  f <- if (inherits(design, "svyrep.design")) survey:::svychisq.svyrep.design else
    survey:::svychisq.survey.design
  environment(f) <- precise_env
  f(formula, design, statistic = statistic)
}

cases <- list()
# replicate: NULL, or an as.svrepdesign type (steppe: Design(...).to_replicate(type)),
# built on the whole design before the subset.
add <- function(dname, row, col, subset = NULL, replicate = NULL) {
  spec <- designs[[dname]]
  des <- spec$make()
  if (!is.null(replicate)) des <- as.svrepdesign(des, type = replicate)
  if (!is.null(subset)) {
    des <- des[des$variables[[subset$column]] == subset$equals, ]
    # A subset keeps its factors' unused levels, and svychisq's svytable then has an
    # empty row whose expected count is 0, making X^2 (and "F", "Chisq", ...) NaN,
    # while its design-effect matrix already uses the levels present. steppe's table
    # has the levels present: R's answer after droplevels (no change where every
    # level occurs in the subset).
    for (v in c(row, col)) des$variables[[v]] <- droplevels(des$variables[[v]])
  }
  f <- as.formula(paste0("~`", row, "`+`", col, "`"))
  for (s in c("F", "Chisq", "Wald", "adjWald", "saddlepoint")) {
    r <- svychisq(f, des, statistic = s)
    par <- unname(r$parameter)
    precise <- if (s == "saddlepoint") svychisq_precise(f, des, s)$p.value else NULL
    cases[[length(cases) + 1]] <<- list(
      name = paste(dname, if (is.null(replicate)) "" else replicate, row, col, s,
                   if (is.null(subset)) "" else subset$equals, sep = "_"),
      data = spec$data, design = spec$design, replicate = replicate, row = row, col = col,
      subset = subset,
      statistic = s, value = as.numeric(r$statistic),
      ndf = if (is.null(par)) NULL else as.numeric(par[1]),
      ddf = if (s %in% c("Chisq", "saddlepoint")) NULL else as.numeric(par[2]),
      p_value = as.numeric(r$p.value), p_value_precise = precise)
  }
}

add("apistrat", "sch.wide", "stype")              # 2 x 3
add("apistrat", "api00_band", "stype")            # 4 x 3
add("apiclus1", "sch.wide", "stype")              # cluster sample, 15 PSUs
add("apiclus1", "stype", "avg.ed_band")           # zero cells (H and M have no "high"), NAs
add("poll", "attitude_to_russia", "ethnicity", list(column = "wave", equals = "2023-05"))
add("poll", "side_supported", "age_group", list(column = "wave", equals = "2022-11"))
add("apiclus2", "sch.wide", "stype")              # two-stage variance, 2 x 3
add("apiclus2", "awards", "both")
# a level absent from the subset (api00_band "800+" among sch.wide == "No")
add("apistrat", "api00_band", "stype", list(column = "sch.wide", equals = "No"))

# Replicate designs (svychisq.svyrep.design): the cell covariance from the replicates.
add("apistrat", "api00_band", "stype", replicate = "JKn")
add("apiclus1", "stype", "avg.ed_band", replicate = "JK1")  # zero cells
add("poll", "attitude_to_russia", "ethnicity", list(column = "wave", equals = "2023-05"),
    replicate = "JKn")

dir.create("tests/golden/chisq", showWarnings = FALSE)
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/golden/chisq/chisq.json")
cat("tests/golden/chisq/chisq.json", length(cases), "cases\n")
