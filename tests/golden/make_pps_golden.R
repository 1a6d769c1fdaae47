# Golden values for PPS sampling without replacement (R's svydesign(pps = ...)):
# Brewer's, Overton's and Hartley-Rao's approximations and the Horvitz-Thompson /
# Yates-Grundy forms with joint inclusion probabilities, on R's `election` data
# (election_pps: 40 counties drawn with probability proportional to votes, and
# election_jointprob, their joint inclusion probabilities), as ?svydesign's examples.
#
# Run from the repository root:   Rscript tests/golden/make_pps_golden.R   (or `make golden`)
#
# Writes
#   tests/golden/data/election_pps.csv        the sample (+ winner, size columns)
#   tests/golden/data/election_jointprob.csv  the 40 x 40 joint probabilities
#   tests/golden/data/apiclus2_pps.csv        R's apiclus2 with a PPS first stage (below)
#   tests/golden/pps/pps.json                 the cases, read by tests/python/test_pps.py
#
# Every number is computed on the CSVs as read back. Case format as make_golden.R's
# ({name, data, design, call, expect_error, rows: [{by, level, estimate, se, ci_low,
# ci_high, deff, df, n}]}); design = {fpc, strata, psu, psu2, fpc2, pps, psum, variance,
# joint, weighting}: pps is
# "brewer", "overton", "hartley-rao" or "joint" (joint = the CSV's name), psum R's
# HR(psum) (null: HR()). Domains are design[rows, ] as svyby (checked against svyby).
# CIs: confint(df = degf(domain)) for means, totals and ratios; svyciprop for
# proportions (logit rows also carry the closed form expit(logit p -/+ t se / (p (1-p))),
# accepted as an alternative, as make_golden.R's).
#
# Design effects: for pps = "brewer" (an ordinary svydesign) R's deff. R's svytotal on
# the other PPS designs (class "pps") leaves the factor 1/n out of the SRS variance and
# its svymean counts every row of the sample as n in a domain; steppe uses the
# svydesign formula for all, so deff there is written as var / vsrs with vsrs R's SRS
# variance from the same-strata Brewer design (identical estimates and weights). For
# whole-sample means the two formulas agree, which the script checks.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE, warn = 1,
        stringsAsFactors = FALSE)

GOLDEN <- file.path("tests", "golden")
stopifnot(file.exists(file.path(GOLDEN, "make_pps_golden.R")))  # run from the repo root
dir.create(file.path(GOLDEN, "pps"), showWarnings = FALSE)

data(election)
ep <- election_pps[, c("County", "Bush", "Kerry", "Nader", "votes", "p")]
ep$winner <- ifelse(ep$Bush > ep$Kerry, "Bush", "Kerry")
# Two strata (integer codes: R's overton2Dcheck and HRDcheck need numeric strata).
ep$size <- ifelse(ep$votes >= 100000, 1L, 2L)
DATA_CSV <- file.path(GOLDEN, "data", "election_pps.csv")
JOINT_CSV <- file.path(GOLDEN, "data", "election_jointprob.csv")
write.csv(ep, DATA_CSV, row.names = FALSE)
write.csv(election_jointprob, JOINT_CSV, row.names = FALSE)
ep <- read.csv(DATA_CSV, stringsAsFactors = TRUE)
jointprob <- unname(as.matrix(read.csv(JOINT_CSV)))
stopifnot(nrow(jointprob) == nrow(ep), ncol(jointprob) == nrow(ep))
POP_PSUM <- sum(election$p^2) / 40  # ?svydesign's HR(sum(election$p^2) / 40)

spec <- function(pps, variance = "HT", strata = NULL, psum = NULL, weighting = NULL,
                 fpc = "p", psu = NULL, psu2 = NULL, fpc2 = NULL) {
  list(fpc = fpc, strata = strata, psu = psu, psu2 = psu2, fpc2 = fpc2, pps = pps,
       psum = psum, variance = variance,
       joint = if (pps == "joint") "election_jointprob" else NULL, weighting = weighting)
}

# Two stages (Brewer only, as R): apiclus2's 40 districts given inclusion probabilities
# proportional to their number of schools in apipop (40 x share, at most 1), schools
# within a district at the sampled fraction m / fpc2.
data(api)
dsize <- table(apipop$dnum)
c2 <- apiclus2[, c("dnum", "snum", "stype", "api00", "api99", "fpc2")]
c2$p1 <- pmin(1, 40 * as.vector(dsize[as.character(c2$dnum)]) / sum(dsize))
c2$frac2 <- ave(rep(1, nrow(c2)), c2$dnum, FUN = length) / c2$fpc2
C2_CSV <- file.path(GOLDEN, "data", "apiclus2_pps.csv")
write.csv(c2, C2_CSV, row.names = FALSE)
c2 <- read.csv(C2_CSV, stringsAsFactors = TRUE)
DATA <- list(election_pps = ep, apiclus2_pps = c2)

# Weighting steps (the format of weighting_steps.R, which the test applies as the
# other goldens' do): Brewer designs are ordinary svydesign designs, so R weights them.
bq <- function(v) paste0("`", v, "`")
source(file.path(GOLDEN, "weighting_steps.R"))
POP_WINNER <- data.frame(winner = c("Bush", "Kerry"),
                         Freq = as.vector(table(election$Bush > election$Kerry)[c("TRUE", "FALSE")]))
POP_VOTES <- sum(election$votes)

build <- function(s, data = ep) {
  strata <- if (is.null(s$strata)) NULL else reformulate(s$strata)
  ids <- if (is.null(s$psu)) ~1 else reformulate(c(s$psu, s$psu2))
  fpc <- reformulate(c(s$fpc, s$fpc2))
  pps <- switch(s$pps,
                brewer = "brewer", overton = "overton",
                "hartley-rao" = if (is.null(s$psum)) HR() else HR(s$psum),
                joint = ppsmat(jointprob))
  des <- svydesign(id = ids, strata = strata, fpc = fpc, data = data, pps = pps,
                   variance = s$variance)
  for (step in s$weighting) des <- apply_weighting(des, step)
  des
}

# The design whose SRS variance gives the deff (see the header): Brewer's own.
brewer_twin <- function(s, data) {
  if (s$pps == "brewer") return(build(s, data))
  build(spec("brewer", strata = s$strata, weighting = s$weighting), data)
}

call_spec <- function(stat, variable, denominator = NULL, by = NULL, subset = NULL,
                      ci = NULL, level = 0.95, df = "design") {
  list(stat = stat, variable = variable, denominator = denominator,
       by = if (is.null(by)) NULL else I(by), subset = subset, ci = ci, level = level,
       df = df)
}

row <- function(level, estimate, se, ci, deff) {
  list(level = if (is.null(level)) NA_character_ else level, estimate = unname(estimate),
       se = unname(se), ci_low = unname(ci[1]), ci_high = unname(ci[2]), deff = unname(deff))
}

diag_or <- function(x) if (is.matrix(x)) diag(x) else as.vector(x)

# svymean / svytotal of a numeric variable or every level of a factor; deff from the
# Brewer twin's SRS variance (see the header).
stat_rows <- function(fun, var, dd, tw, dfv, level) {
  f <- reformulate(var)
  m <- fun(f, dd, deff = TRUE)
  mt <- fun(f, tw, deff = TRUE)
  stopifnot(all(abs(coef(m) - coef(mt)) <= 1e-12 * abs(coef(m))))
  vsrs <- diag_or(vcov(mt)) / diag_or(deff(mt))
  de <- diag_or(vcov(m)) / vsrs
  ci <- confint(m, df = dfv, level = level)
  levs <- if (is.factor(dd$variables[[var]])) levels(dd$variables[[var]]) else NULL
  lapply(seq_along(coef(m)), function(i) {
    row(if (is.null(levs)) NULL else levs[i], coef(m)[i], SE(m)[i], ci[i, ], de[i])
  })
}

prop_rows <- function(var, dd, tw, dfv, level, ci_method) {
  rows <- stat_rows(svymean, var, dd, tw, dfv, level)
  levs <- levels(dd$variables[[var]])
  lapply(seq_along(levs), function(i) {
    r <- rows[[i]]
    f <- as.formula(sprintf("~I(%s == \"%s\")", var, levs[i]))
    cp <- svyciprop(f, dd, method = ci_method, level = level, df = dfv)
    r$ci_low <- unname(attr(cp, "ci")[1])
    r$ci_high <- unname(attr(cp, "ci")[2])
    if (ci_method == "logit") {
      q <- qt(1 - (1 - level) / 2, dfv)
      cf <- plogis(qlogis(r$estimate) + c(-1, 1) * q * r$se / (r$estimate * (1 - r$estimate)))
      r$ci_low_exact <- cf[1]
      r$ci_high_exact <- cf[2]
    }
    r
  })
}

ratio_rows <- function(num, den, dd, tw, dfv, level) {
  r <- svyratio(reformulate(num), reformulate(den), dd)
  rt <- svyratio(reformulate(num), reformulate(den), tw, deff = TRUE)
  vsrs <- rt$var[1, 1] / attr(rt, "deff")[1, 1]
  list(row(NULL, coef(r), SE(r), confint(r, df = dfv, level = level)[1, ],
           r$var[1, 1] / vsrs))
}

subset_rows <- function(sub, data) {
  if (is.null(sub)) return(rep(TRUE, nrow(data)))
  x <- data[[sub$column]]
  x == sub$equals
}

# design[rows, ] as svyby does it: R registers `[.pps` only inside its namespace.
domain <- function(des, rows) {
  if (inherits(des, "pps")) {
    return(suppressWarnings(get("[.pps", asNamespace("survey"))(des, rows, )))  # lonely-PSU note
  }
  des[rows, ]
}

compute_rows <- function(des, tw, cl, data) {
  in_sub <- subset_rows(cl$subset, data)
  doms <- if (is.null(cl$by)) {
    list(list(by = setNames(list(), character(0)), rows = in_sub))
  } else {
    b <- as.character(cl$by)
    lapply(sort(unique(as.character(data[[b]][in_sub]))), function(v) {
      list(by = setNames(list(v), b), rows = in_sub & as.character(data[[b]]) == v)
    })
  }
  out <- list()
  for (dom in doms) {
    dd <- domain(des, dom$rows)
    td <- tw[dom$rows, ]
    dfv <- degf(dd)
    rows <- switch(cl$stat,
      mean = stat_rows(svymean, cl$variable, dd, td, dfv, cl$level),
      total = stat_rows(svytotal, cl$variable, dd, td, dfv, cl$level),
      proportion = prop_rows(cl$variable, dd, td, dfv, cl$level, cl$ci),
      ratio = ratio_rows(cl$variable, cl$denominator, dd, td, dfv, cl$level))
    for (r in rows) out[[length(out) + 1]] <- c(list(by = dom$by), r,
                                                list(df = dfv, n = sum(dom$rows)))
  }
  out
}

# svyby agrees with the domain loop (estimate and SE).
check_svyby <- function(des, cl, rows) {
  if (is.null(cl$by) || !cl$stat %in% c("mean", "total")) return(invisible())
  fun <- if (cl$stat == "total") svytotal else svymean
  b <- suppressWarnings(svyby(reformulate(cl$variable), reformulate(as.character(cl$by)),
                              des, fun))
  for (r in rows) {
    i <- match(r$by[[1]], as.character(b[[as.character(cl$by)]]))
    stopifnot(abs(coef(b)[i] - r$estimate) <= 1e-12 * abs(r$estimate),
              abs(SE(b)[i] - r$se) <= 1e-12 * r$se)
  }
  invisible()
}

CASES <- list()
make_case <- function(name, s, cl, dataset = "election_pps") {
  data <- DATA[[dataset]]
  des <- build(s, data)
  tw <- brewer_twin(s, data)
  rows <- compute_rows(des, tw, cl, data)
  check_svyby(des, cl, rows)
  case <- list(name = name, data = dataset, design = s, call = cl,
               expect_error = NULL, rows = rows)
  if (identical(cl$ci, "logit")) {
    case$alt_fields <- list(ci_low = "ci_low_exact", ci_high = "ci_high_exact")
  }
  CASES[[length(CASES) + 1]] <<- case
}

DESIGNS <- list(
  brewer = spec("brewer"),
  overton = spec("overton"),
  hr = spec("hartley-rao"),
  hr_psum = spec("hartley-rao", psum = POP_PSUM),
  ht_joint = spec("joint"),
  yg_joint = spec("joint", variance = "YG"),
  yg_overton = spec("overton", variance = "YG"),
  yg_hr = spec("hartley-rao", variance = "YG"),
  brewer_strat = spec("brewer", strata = "size"),
  overton_strat = spec("overton", strata = "size"),
  hr_strat = spec("hartley-rao", strata = "size"),
  yg_hr_strat = spec("hartley-rao", variance = "YG", strata = "size")
)

WEIGHTED <- list(
  brewer_post = spec("brewer", weighting = list(poststratify_step("winner", POP_WINNER))),
  brewer_cal = spec("brewer", strata = "size", weighting = list(
    calibrate_step(list(winner = POP_WINNER, votes = POP_VOTES))))
)

for (dn in names(DESIGNS)) {
  s <- DESIGNS[[dn]]
  make_case(paste0(dn, "_total_bush"), s, call_spec("total", "Bush"))
  make_case(paste0(dn, "_total_kerry"), s, call_spec("total", "Kerry"))
  make_case(paste0(dn, "_mean_bush"), s, call_spec("mean", "Bush"))
  make_case(paste0(dn, "_mean_kerry"), s, call_spec("mean", "Kerry"))
  make_case(paste0(dn, "_mean_winner"), s, call_spec("mean", "winner"))
  make_case(paste0(dn, "_total_winner"), s, call_spec("total", "winner"))
  make_case(paste0(dn, "_ratio_bush_votes"), s, call_spec("ratio", "Bush", "votes"))
  make_case(paste0(dn, "_mean_bush_by_winner"), s, call_spec("mean", "Bush", by = "winner"))
  make_case(paste0(dn, "_total_kerry_by_winner"), s,
            call_spec("total", "Kerry", by = "winner"))
  make_case(paste0(dn, "_total_kerry_subset"), s,
            call_spec("total", "Kerry", subset = list(column = "size", equals = 1L)))
  make_case(paste0(dn, "_prop_winner_mean"), s, call_spec("proportion", "winner", ci = "mean"))
  make_case(paste0(dn, "_prop_winner_logit"), s,
            call_spec("proportion", "winner", ci = "logit", level = 0.9))
}

for (dn in names(WEIGHTED)) {
  s <- WEIGHTED[[dn]]
  make_case(paste0(dn, "_total_bush"), s, call_spec("total", "Bush"))
  make_case(paste0(dn, "_mean_kerry"), s, call_spec("mean", "Kerry"))
  make_case(paste0(dn, "_ratio_bush_votes"), s, call_spec("ratio", "Bush", "votes"))
  make_case(paste0(dn, "_total_kerry_by_size"), s, call_spec("total", "Kerry", by = "size"))
}

TWO_STAGE <- spec("brewer", fpc = "p1", psu = "dnum", psu2 = "snum", fpc2 = "frac2")
make_case("brewer_2stage_mean_api00", TWO_STAGE, call_spec("mean", "api00"), "apiclus2_pps")
make_case("brewer_2stage_total_api99", TWO_STAGE, call_spec("total", "api99"), "apiclus2_pps")
make_case("brewer_2stage_mean_api00_by_stype", TWO_STAGE,
          call_spec("mean", "api00", by = "stype"), "apiclus2_pps")
make_case("brewer_2stage_ratio", TWO_STAGE, call_spec("ratio", "api00", "api99"), "apiclus2_pps")
make_case("brewer_2stage_prop_stype", TWO_STAGE, call_spec("proportion", "stype", ci = "beta"),
          "apiclus2_pps")

# Whole-sample means: R's svymean on a "pps" design gives the same deff as the
# svydesign formula used above.
for (dn in c("overton", "hr", "ht_joint", "yg_joint")) {
  m <- svymean(~Bush + Kerry, build(DESIGNS[[dn]]), deff = TRUE)
  got <- unlist(lapply(CASES[sapply(CASES, function(cs) cs$name %in%
                                      paste0(dn, c("_mean_bush", "_mean_kerry")))],
                       function(cs) cs$rows[[1]]$deff))
  stopifnot(max(abs(got - diag_or(deff(m))) / diag_or(deff(m))) < 1e-12)
}

path <- file.path(GOLDEN, "pps", "pps.json")
writeLines(toJSON(CASES, auto_unbox = TRUE, null = "null", na = "null", digits = NA,
                  pretty = TRUE), path)
message(sprintf("%-40s %3d cases", path, length(CASES)))
