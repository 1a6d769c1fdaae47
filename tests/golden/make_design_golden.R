# Golden values for steppe's design core (cpp/src/design.cpp) against R's survey:
# weights that svydesign() derives from fpc when no weights are given (population
# sizes or sampling fractions; one and two stages; nest = TRUE), and the variance
# of a mean and a total under each lonely-PSU rule on a tiny design.
#
# Run from the repository root:   Rscript tests/golden/make_design_golden.R
# Writes tests/golden/design.json, read by tests/cpp/test_design.cpp. Each case
# carries its own columns (0-based codes in sorted level order; psu2 codes as given,
# R nests them in PSUs) so the C++ test needs no data files.
#
# Format:
#   fpc_weights: [{name, strata, psu, psu2, fpc, fpc2 (each [] when unused), nest,
#                  y, weights (R's weights(design)), mean, mean_se, total, total_se}]
#   lonely:      [{name, rule, strata, psu, weights, y, mean, mean_se, total, total_se}]
#                 (rule "fail": R stops, so the numbers are null)
# Numbers carry 17 significant digits; NA is null.

suppressPackageStartupMessages(library(survey))
options(warn = 1)

GOLDEN <- file.path("tests", "golden")
stopifnot(file.exists(file.path(GOLDEN, "make_design_golden.R")))  # run from the repo root
source(file.path(GOLDEN, "json_writer.R"))  # num, str_json, vec, obj, arr

data(api)
codes <- function(x) as.integer(factor(x)) - 1L  # 0-based, levels in sorted order
none <- I(numeric(0))

# One design's weights, mean and total of y, with R's SEs.
fpc_case <- function(name, design, y, strata = none, psu = none, psu2 = none, fpc = none,
                     fpc2 = none, nest = FALSE) {
  yf <- reformulate(y)
  m <- svymean(yf, design)
  t <- svytotal(yf, design)
  obj(name = name, strata = strata, psu = psu, psu2 = psu2, fpc = fpc, fpc2 = fpc2,
      nest = nest, y = I(design$variables[[y]]), weights = I(unname(weights(design))),
      mean = unname(coef(m)), mean_se = unname(SE(m)), total = unname(coef(t)),
      total_se = unname(SE(t)))
}

# Sampling fractions: sampled units / population, as R's as.fpc reads them.
strat_frac <- ave(rep(1, nrow(apistrat)), apistrat$stype, FUN = length) / apistrat$fpc
clus1_frac <- length(unique(apiclus1$dnum)) / apiclus1$fpc
clus2 <- apiclus2
clus2$m <- ave(rep(1, nrow(clus2)), clus2$dnum, FUN = length)  # schools sampled per district
clus2$frac1 <- length(unique(clus2$dnum)) / clus2$fpc1
clus2$frac2 <- clus2$m / clus2$fpc2
scd <- read.csv(file.path(GOLDEN, "data", "scd.csv"))

fpc_cases <- c(
  fpc_case("apistrat_popsize",
           svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat), "api00",
           strata = I(codes(apistrat$stype)), fpc = I(apistrat$fpc)),
  fpc_case("apistrat_fraction",
           svydesign(id = ~1, strata = ~stype, fpc = ~frac,
                     data = transform(apistrat, frac = strat_frac)), "api00",
           strata = I(codes(apistrat$stype)), fpc = I(strat_frac)),
  fpc_case("apiclus1_popsize", svydesign(id = ~dnum, fpc = ~fpc, data = apiclus1), "api00",
           psu = I(codes(apiclus1$dnum)), fpc = I(apiclus1$fpc)),
  fpc_case("apiclus1_fraction",
           svydesign(id = ~dnum, fpc = ~frac, data = transform(apiclus1, frac = clus1_frac)),
           "api00", psu = I(codes(apiclus1$dnum)), fpc = I(clus1_frac)),
  fpc_case("apiclus2_popsize",
           svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = clus2), "api00",
           psu = I(codes(clus2$dnum)), psu2 = I(codes(clus2$snum)), fpc = I(clus2$fpc1),
           fpc2 = I(clus2$fpc2)),
  fpc_case("apiclus2_fraction",
           svydesign(id = ~dnum + snum, fpc = ~frac1 + frac2, data = clus2), "api00",
           psu = I(codes(clus2$dnum)), psu2 = I(codes(clus2$snum)), fpc = I(clus2$frac1),
           fpc2 = I(clus2$frac2)),
  # PSU ids repeat across strata (1 and 2 in every ESA): nest = TRUE.
  fpc_case("scd_nest", svydesign(id = ~ambulance, strata = ~ESA, fpc = ~fpc5, nest = TRUE,
                                 data = scd), "arrests",
           strata = I(codes(scd$ESA)), psu = I(codes(scd$ambulance)), fpc = I(scd$fpc5),
           nest = TRUE),
  # No weights and no fpc: R assumes equal probability (weights 1).
  fpc_case("equal_probability",
           suppressWarnings(svydesign(id = ~ambulance, strata = ~ESA, nest = TRUE, data = scd)),
           "arrests", strata = I(codes(scd$ESA)), psu = I(codes(scd$ambulance)), nest = TRUE)
)

# A tiny design with a lonely stratum ("b": one PSU) between two ordinary ones.
tiny <- data.frame(
  stratum = c("a", "a", "a", "b", "b", "c", "c", "c", "c"),
  psu = c(1, 1, 2, 3, 3, 4, 5, 5, 6),
  w = c(2, 3, 1, 4, 2, 5, 1, 2, 3),
  y = c(1.5, 2, 4, 3, 7, 2.5, 6, 1, 3)
)
lonely_case <- function(rule) {
  old <- options(survey.lonely.psu = rule)
  on.exit(options(old))
  d <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = tiny)
  res <- tryCatch(list(m = svymean(~y, d), t = svytotal(~y, d)), error = function(e) NULL)
  if (is.null(res)) res <- list(m = NA, t = NA)
  val <- function(x, f) if (identical(x, NA)) NA_real_ else unname(f(x))
  obj(name = paste0("tiny_", rule), rule = rule, strata = I(codes(tiny$stratum)),
      psu = I(codes(tiny$psu)), weights = I(tiny$w), y = I(tiny$y),
      mean = val(res$m, coef), mean_se = val(res$m, SE), total = val(res$t, coef),
      total_se = val(res$t, SE))
}
lonely_cases <- vapply(c("fail", "remove", "certainty", "adjust", "average"), lonely_case, "")

json <- paste0(
  "{\n",
  "  \"generated_by\": ", str_json(paste("tests/golden/make_design_golden.R;",
                                         R.version.string, "; survey",
                                         as.character(packageVersion("survey")))), ",\n",
  "  \"fpc_weights\": ", arr(fpc_cases), ",\n",
  "  \"lonely\": ", arr(unname(lonely_cases)), "\n",
  "}\n")
out_file <- file.path(GOLDEN, "design.json")
writeLines(json, out_file, sep = "")
cat("wrote", out_file, ":", length(fpc_cases), "fpc designs,", length(lonely_cases),
    "lonely-PSU rules\n")
