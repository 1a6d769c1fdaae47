# Golden values for Design.contrast: R survey's svycontrast on svyby(..., covmat=TRUE),
# i.e. linear contrasts of domain estimates with their full covariance.
# Run from the repository root (make golden). Writes tests/golden/contrast/contrast.json.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
read_data <- function(path) read.csv(path, stringsAsFactors = TRUE, na.strings = "",
                                     check.names = FALSE)
clus1 <- read_data("tests/golden/data/apiclus1.csv")
strat <- read_data("tests/golden/data/apistrat.csv")
poll <- read_data("python/steppe/datasets/data/kz_poll_simulated.csv")
clus2 <- read_data("tests/golden/data/apiclus2.csv")
d_c2 <- svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = clus2)
spec_c2 <- list(data = "apiclus2", weights = "pw", strata = NULL, psu = "dnum", fpc = "fpc1",
                psu2 = "snum", fpc2 = "fpc2")
d_c1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1)
d_st <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat)
d_poll <- svydesign(id = ~psu, strata = ~stratum, weights = ~weight, data = poll)
spec_c1 <- list(data = "apiclus1", weights = "pw", strata = NULL, psu = "dnum", fpc = "fpc")
spec_st <- list(data = "apistrat", weights = "pw", strata = "stype", psu = NULL, fpc = "fpc")
spec_poll <- list(data = "kz_poll_simulated", weights = "weight", strata = "stratum",
                  psu = "psu", fpc = NULL)

cases <- list()
# replicate: NULL, or the as.svrepdesign type (steppe: Design(...).to_replicate(type)).
# statistic "ratio": svyby(~variable, ~by, denominator = ~denominator, svyratio).
add <- function(name, spec, des, variable, by, contrasts, level = NULL, statistic = "mean",
                subset = NULL, denominator = NULL, replicate = NULL) {
  if (!is.null(replicate)) des <- as.svrepdesign(des, type = replicate)
  if (!is.null(subset)) des <- des[des$variables[[subset$column]] %in% subset$values, ]
  y <- if (is.null(level)) reformulate(paste0("`", variable, "`")) else
    as.formula(sprintf("~as.numeric(`%s` == \"%s\")", variable, level))
  byf <- reformulate(paste0("`", by, "`"))
  b <- if (statistic == "ratio") {
    svyby(y, byf, des, svyratio, denominator = reformulate(paste0("`", denominator, "`")),
          covmat = TRUE, na.rm = TRUE)
  } else {
    svyby(y, byf, des, if (statistic == "mean") svymean else svytotal, covmat = TRUE,
          na.rm = TRUE)
  }
  groups <- as.character(b[[by]])
  rows <- lapply(names(contrasts), function(cn) {
    spec <- contrasts[[cn]]
    if (is.character(spec)) {  # a ratio of two domains: nonlinear svycontrast
      r <- svycontrast(b, parse(text = sprintf("`%s` / `%s`", spec[1], spec[2]))[[1]])
      return(list(contrast = cn, estimate = as.numeric(coef(r)), se = as.numeric(SE(r))))
    }
    coef <- setNames(rep(0, length(groups)), groups)
    for (g in names(spec)) coef[g] <- spec[[g]]
    r <- svycontrast(b, coef)
    list(contrast = cn, estimate = as.numeric(coef(r)), se = as.numeric(SE(r)))
  })
  cases[[length(cases) + 1]] <<- list(name = name, design = spec, variable = variable, by = by,
                                      level = level, statistic = statistic, subset = subset,
                                      contrasts = contrasts, denominator = denominator,
                                      replicate = replicate, rows = rows)
}

add("apiclus1_api00_by_stype", spec_c1, d_c1, "api00", "stype",
    list(`E-H` = list(E = 1, H = -1), `E-M` = list(E = 1, M = -1),
         `2E-H-M` = list(E = 2, H = -1, M = -1), `E/H` = c("E", "H")))
add("apiclus1_schwide_yes_by_stype", spec_c1, d_c1, "sch.wide", "stype",
    list(`E-H` = list(E = 1, H = -1), `H-M` = list(H = 1, M = -1)), level = "Yes")
# (Missing values: survey 4.1.1's svyby(covmat = TRUE, na.rm = TRUE) fails with
#  "number of items to replace", so no golden case has them here.)
add("apistrat_total_enroll_by_awards", spec_st, d_st, "enroll", "awards",
    list(`Yes-No` = list(Yes = 1, No = -1)), statistic = "total")
add("poll_improved_youth_vs_60plus", spec_poll, d_poll, "attitude_to_russia", "age_group",
    list(`18-29 vs 60+` = list(`18-29` = 1, `60+` = -1), `60+ / 40-59` = c("60+", "40-59")),
    level = "improved",
    subset = list(column = "wave", values = I("2023-05")))
add("poll_russia_side_by_wave", spec_poll, d_poll, "side_supported", "wave",
    list(`2023-05 vs 2022-11` = list(`2023-05` = 1, `2022-11` = -1)), level = "Russia",
    subset = list(column = "wave", values = c("2022-11", "2023-05")))

# Ratio estimators by domain (svyratio): api00 / api99 compared across school types.
add("apiclus1_ratio_api00_api99_by_stype", spec_c1, d_c1, "api00", "stype",
    list(`E-H` = list(E = 1, H = -1), `E/M` = c("E", "M")), statistic = "ratio",
    denominator = "api99")
add("apistrat_ratio_api00_api99_by_awards", spec_st, d_st, "api00", "awards",
    list(`Yes-No` = list(Yes = 1, No = -1)), statistic = "ratio", denominator = "api99")
# Replicate designs: the covariance of the domain estimates comes from the replicates.
add("apiclus1_jk1_api00_by_stype", spec_c1, d_c1, "api00", "stype",
    list(`E-H` = list(E = 1, H = -1), `2E-H-M` = list(E = 2, H = -1, M = -1),
         `E/H` = c("E", "H")), replicate = "JK1")
add("apistrat_jkn_total_enroll_by_awards", spec_st, d_st, "enroll", "awards",
    list(`Yes-No` = list(Yes = 1, No = -1)), statistic = "total", replicate = "JKn")
add("apistrat_jkn_ratio_api00_api99_by_stype", spec_st, d_st, "api00", "stype",
    list(`E-H` = list(E = 1, H = -1), `M/H` = c("M", "H")), statistic = "ratio",
    denominator = "api99", replicate = "JKn")
add("poll_jkn_improved_youth_vs_60plus", spec_poll, d_poll, "attitude_to_russia",
    "age_group", list(`18-29 vs 60+` = list(`18-29` = 1, `60+` = -1),
                      `60+ / 40-59` = c("60+", "40-59")),
    level = "improved", subset = list(column = "wave", values = I("2023-05")),
    replicate = "JKn")

# Two stages with both fpcs (the second-stage term enters the covariance).
add("apiclus2_api00_by_stype", spec_c2, d_c2, "api00", "stype",
    list(`E-H` = list(E = 1, H = -1), `E/M` = c("E", "M")))
add("apiclus2_ratio_api00_api99_by_awards", spec_c2, d_c2, "api00", "awards",
    list(`Yes-No` = list(Yes = 1, No = -1)), statistic = "ratio", denominator = "api99")

dir.create("tests/golden/contrast", showWarnings = FALSE)
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/golden/contrast/contrast.json")
cat("tests/golden/contrast/contrast.json", length(cases), "cases\n")
