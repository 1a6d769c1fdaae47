# Golden values for missing values: complete cases across the variables of one
# call (R's na.rm = TRUE: svymean / svytotal / svyratio subset the design to the
# rows with every variable present, keeping its PSU structure), domains by svyby
# (each domain's complete cases; rows with a missing by value dropped), and
# domains whose rows all miss a value (R's svyby prints 0 with SE 0 there;
# steppe reports n = 0 and NaN, so those rows are marked all_missing).
# Intervals: R's confint() default (normal quantiles, steppe's df=math.inf) and,
# for whole-sample cases, t with the complete-case subset's degf (steppe's df="design").
# Run from the repository root (make golden). Writes tests/golden/missing/missing.json.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
read_data <- function(path) read.csv(path, stringsAsFactors = TRUE, na.strings = "",
                                     check.names = FALSE)
strat <- read_data("tests/golden/data/apistrat.csv")
clus1 <- read_data("tests/golden/data/apiclus1.csv")
spec_st <- list(data = "apistrat", weights = "pw", strata = "stype", psu = NULL, fpc = "fpc")
spec_c1 <- list(data = "apiclus1", weights = "pw", strata = NULL, psu = "dnum", fpc = "fpc")
make_st <- function(data) svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
                                    data = data)
make_c1 <- function(data) svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = data)

cases <- list()
# set_na: list(column, where_column, where_value): column is set NA where
# where_column == where_value (an all-missing domain); by_na: rows (1-based) whose
# by value is set NA. replicate: as.svrepdesign type, or NULL.
add <- function(name, spec, make, data, statistic, variables, by = NULL, denominator = NULL,
                set_na = NULL, by_na = NULL, replicate = NULL) {
  if (!is.null(set_na)) data[[set_na$column]][data[[set_na$where]] == set_na$value] <- NA
  if (!is.null(by_na)) data[[by]][by_na] <- NA
  des <- make(data)
  if (!is.null(replicate)) des <- as.svrepdesign(des, type = replicate)
  f <- reformulate(paste0("`", variables, "`"))
  cols <- c(variables, denominator)
  complete <- complete.cases(data[, cols, drop = FALSE])
  fun <- switch(statistic, mean = svymean, total = svytotal, ratio = svyratio)
  extra <- if (statistic == "ratio") list(denominator = reformulate(denominator)) else list()
  rows <- list()
  if (is.null(by)) {
    est <- do.call(fun, c(list(f, des, na.rm = TRUE), extra))
    cf <- coef(est)
    se <- sqrt(diag(as.matrix(vcov(est))))
    ci <- confint(est)
    sub <- des[complete, ]
    ci_t <- confint(est, df = degf(sub))
    for (i in seq_along(cf)) {
      rows[[i]] <- list(by = NULL, coef = names(cf)[i], estimate = unname(cf[i]),
                        se = unname(se[i]), ci_low = unname(ci[i, 1]), ci_high = unname(ci[i, 2]),
                        ci_low_t = unname(ci_t[i, 1]), ci_high_t = unname(ci_t[i, 2]),
                        degf = degf(sub), n = sum(complete), n_missing = sum(!complete),
                        all_missing = FALSE)
    }
  } else {
    b <- do.call(svyby, c(list(f, reformulate(by), des, fun, na.rm = TRUE), extra))
    cf <- coef(b)
    se <- sqrt(diag(suppressWarnings(vcov(b))))  # svyby: only the diagonal is needed
    ci <- confint(b)
    for (i in seq_along(cf)) {
      key <- names(cf)[i]
      group <- sub(":.*$", "", key)
      coef_name <- if (grepl(":", key)) sub("^[^:]*:", "", key) else variables[1]
      in_group <- !is.na(data[[by]]) & as.character(data[[by]]) == group
      rows[[i]] <- list(by = group, coef = coef_name, estimate = unname(cf[i]),
                        se = unname(se[i]), ci_low = unname(ci[i, 1]), ci_high = unname(ci[i, 2]),
                        n = sum(complete & in_group), n_missing = sum(!complete & in_group),
                        all_missing = sum(complete & in_group) == 0)
    }
  }
  cases[[length(cases) + 1]] <<- list(
    name = name, design = spec, statistic = statistic, variables = I(variables), by = by,
    denominator = denominator, set_na = set_na, by_na = if (is.null(by_na)) NULL else I(by_na),
    replicate = replicate, by_missing = if (is.null(by)) 0 else sum(is.na(data[[by]])),
    rows = rows)
}

# apistrat: acs.k3 (K-3 class size) is missing for 103 schools, every H and M one.
add("apistrat_mean_acsk3_api00", spec_st, make_st, strat, "mean", c("acs.k3", "api00"))
add("apistrat_total_acsk3_api00", spec_st, make_st, strat, "total", c("acs.k3", "api00"))
add("apistrat_mean_awards_acsk3", spec_st, make_st, strat, "mean", c("awards", "acs.k3"))
add("apistrat_mean_by_awards", spec_st, make_st, strat, "mean", c("acs.k3", "api00"),
    by = "awards")
add("apistrat_total_by_awards", spec_st, make_st, strat, "total", c("acs.k3", "api00"),
    by = "awards")
# Every H and M school misses acs.k3: two all-missing domains.
add("apistrat_mean_by_stype_all_missing", spec_st, make_st, strat, "mean",
    c("acs.k3", "api00"), by = "stype")
add("apistrat_ratio_api00_acsk3", spec_st, make_st, strat, "ratio", "api00",
    denominator = "acs.k3")
add("apistrat_ratio_by_awards", spec_st, make_st, strat, "ratio", c("api00", "api99"),
    by = "awards", denominator = "acs.k3")
# A cluster design with one domain's values set missing.
add("apiclus1_mean_by_stype_M_missing", spec_c1, make_c1, clus1, "mean",
    c("api00", "api99"), by = "stype",
    set_na = list(column = "api00", where = "stype", value = "M"))
add("apiclus1_total_by_stype_M_missing", spec_c1, make_c1, clus1, "total",
    c("api00", "enroll"), by = "stype",
    set_na = list(column = "api00", where = "stype", value = "M"))
# Missing by values: svyby drops those rows.
add("apistrat_mean_by_schwide_missing", spec_st, make_st, strat, "mean", "api00",
    by = "sch.wide", by_na = c(1, 2, 3, 50, 120))
# A replicate design (JKn from the strata).
add("apistrat_jkn_mean_acsk3_api00", spec_st, make_st, strat, "mean", c("acs.k3", "api00"),
    replicate = "JKn")

dir.create("tests/golden/missing", showWarnings = FALSE)
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/golden/missing/missing.json")
cat("tests/golden/missing/missing.json", length(cases), "cases\n")
