# Golden files for steppe's replicate-weight construction (cpp/src/replicate_weights.cpp,
# cpp/src/hadamard.cpp) against R's `survey` package: the replicate analysis weights of
# as.svrepdesign() and the Hadamard matrices of hadamard().
#
# Run from the repository root:   Rscript tests/golden/make_replicate_weights_golden.R
# (reads the CSVs that make_golden.R writes: apiclus1, apistrat, apisrs, scd, scd_lonely).
#
# Writes tests/golden/replicate_weights/<name>.json, read by tests/cpp/test_replicate_weights.cpp:
#   design:  the svydesign as the core's Design takes it: weights (R's 1 / prob, the
#            weights R multiplies), 0-based stratum codes with their labels
#            (as.character of the stratum column; null without strata), 0-based PSU codes
#            (null when each row is its own PSU), the stage-1 population size per row
#            (R's fpc$popsize; null without an FPC) and lonely_psu.
#   options: the as.svrepdesign call (type, null for "auto"; rho = fay.rho; mse).
#   type, rho, scale, rscales, mse: R's svyrep.design fields.
#   rows, replicates, weights: weights(rdesign, "analysis"), column-major (rows x replicates).
# and tests/golden/replicate_weights/hadamard.json: {"matrices": [{n, size, path, rows}]}
#   with rows the 0/1 entries of survey::hadamard(n) as one string per row, for n covering
#   every way R builds one (stored 4 x 4 and 16 x 16, the 4 x 4 doubled, Paley from a prime,
#   Paley doubled, Paley by R's recursive paley(nceil + 3)); R's stored 28 x 28 / 36 x 36
#   matrices are not reproduced (replicate/replicate.json lists the n that use them).
#
# Designs are small (the JSON holds every weight); rows are shuffled where that checks
# that PSUs and strata are taken in order of first appearance, as R's unique().
# Bootstrap replicates are drawn with R's RNG and cannot be reproduced: the C++ test
# checks the bootstrap by its properties instead.

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE, warn = 1,
        stringsAsFactors = FALSE)

GOLDEN <- file.path("tests", "golden")
stopifnot(file.exists(file.path(GOLDEN, "make_replicate_weights_golden.R")))  # repo root
OUT <- file.path(GOLDEN, "replicate_weights")
dir.create(OUT, showWarnings = FALSE)
source(file.path(GOLDEN, "json_writer.R"))  # num, str_json, vec

load_data <- function(name) {
  read.csv(file.path(GOLDEN, "data", paste0(name, ".csv")), stringsAsFactors = TRUE,
           na.strings = "", check.names = FALSE)
}

# JSON text from already-rendered values.
jobj <- function(...) {
  f <- list(...)
  paste0("{", paste(sprintf("%s: %s", vapply(names(f), str_json, ""), unlist(f)),
                    collapse = ",\n "), "}")
}
jstrs <- function(v) paste0("[", paste(vapply(as.character(v), str_json, ""), collapse = ", "), "]")
jbool <- function(x) if (isTRUE(x)) "true" else "false"
jnull_or <- function(x, f) if (is.null(x)) "null" else f(x)

codes0 <- function(x) as.integer(factor(as.character(x))) - 1L
labels_of <- function(x) levels(factor(as.character(x)))

# One golden case: R's as.svrepdesign on svydesign(ids, strata, fpc, weights, data).
write_case <- function(name, data, psu = NULL, strata = NULL, fpc = NULL, weights,
                       type = NULL, rho = 0, mse = FALSE, lonely = "fail") {
  old <- options(survey.lonely.psu = lonely)
  on.exit(options(old))
  ids <- if (is.null(psu)) ~1 else reformulate(psu)
  d <- svydesign(ids = ids, strata = if (is.null(strata)) NULL else reformulate(strata),
                 fpc = if (is.null(fpc)) NULL else reformulate(fpc),
                 weights = reformulate(weights), data = data, nest = TRUE)
  r <- withCallingHandlers(
    as.svrepdesign(d, type = if (is.null(type)) "auto" else type, fay.rho = rho, mse = mse),
    warning = function(w) {
      # BRR and Fay drop the FPC, as documented
      if (grepl("Finite population correction dropped", conditionMessage(w)))
        invokeRestart("muffleWarning")
    })
  aw <- weights(r, "analysis")
  design <- jobj(
    weights = vec(1 / d$prob),
    strata = jnull_or(strata, function(s) vec(codes0(data[[s]]))),
    stratum_labels = jnull_or(strata, function(s) jstrs(labels_of(data[[s]]))),
    psu = jnull_or(psu, function(p) vec(codes0(interaction(data[[p]],
      if (is.null(strata)) 1 else data[[strata]], drop = TRUE)))),
    fpc = if (is.null(fpc)) "null" else vec(d$fpc$popsize[, 1]),
    lonely_psu = str_json(lonely))
  opts <- jobj(type = jnull_or(type, str_json), rho = num(rho), mse = jbool(mse))
  txt <- jobj(
    name = str_json(name), design = design, options = opts,
    type = str_json(r$type), rho = num(r$rho), scale = num(r$scale),
    rscales = vec(r$rscales), mse = jbool(r$mse),
    rows = num(nrow(aw)), replicates = num(ncol(aw)), weights = vec(as.vector(aw)))
  writeLines(txt, file.path(OUT, paste0(name, ".json")))
  message(sprintf("%s: %s, %d rows x %d replicates", name, r$type, nrow(aw), ncol(aw)))
}

shuffled <- function(data, seed) {
  set.seed(seed)
  data[sample(nrow(data)), , drop = FALSE]
}

# JK1: apiclus1 (15 districts, FPC); each row its own PSU (25 schools of apisrs, mse).
clus1 <- load_data("apiclus1")
write_case("jk1_apiclus1", clus1, psu = "dnum", fpc = "fpc", weights = "pw", type = "JK1")
six <- droplevels(clus1[clus1$dnum %in% sort(unique(clus1$dnum))[1:6], ])
write_case("auto_clus1_six_districts_nofpc", shuffled(six, 1), psu = "dnum", weights = "pw")
srs <- load_data("apisrs")[1:25, ]
write_case("jk1_apisrs_rows_mse", srs, weights = "pw", type = "JK1", mse = TRUE)

# JKn: 6 / 5 / 4 schools of apistrat's three strata, shuffled, with the FPC.
strat <- load_data("apistrat")
small <- do.call(rbind, lapply(split(strat, strat$stype), function(s) head(s, 2 + nrow(s) %/% 25)))
small_strat <- shuffled(small, 2)
write_case("jkn_apistrat", small_strat, strata = "stype", fpc = "fpc", weights = "pw",
           type = "JKn")
write_case("auto_apistrat", small_strat, strata = "stype", weights = "pw")
# Lonely PSUs (scd_lonely: ESA 3 has one ambulance station).
lonely <- load_data("scd_lonely")
for (rule in c("adjust", "average", "remove", "certainty")) {
  write_case(paste0("jkn_scd_lonely_", rule), lonely, psu = "ambulance", strata = "ESA",
             weights = "w", type = "JKn", lonely = rule)
}
# A stratum sampled exhaustively (N = n): no replicates for it (survey.drop.replicates).
exhaustive <- data.frame(s = c(2, 1, 1, 2, 2, 3, 3), p = c(1, 2, 3, 4, 5, 6, 7),
                         w = c(1, 1, 1, 1, 1, 2.5, 2.5), N = c(10, 2, 2, 10, 10, 5, 5))
write_case("jkn_exhaustive_stratum", exhaustive, psu = "p", strata = "s", fpc = "N",
           weights = "w", type = "JKn")

# BRR and Fay: scd's 3 ESA x 2 ambulance pairs (the FPC is dropped).
scd <- load_data("scd")
write_case("brr_scd", scd, psu = "ambulance", strata = "ESA", fpc = "fpc5", weights = "w",
           type = "BRR")
write_case("fay_scd", scd, psu = "ambulance", strata = "ESA", weights = "w", type = "Fay",
           rho = 0.3)
write_case("brr_rho_scd", scd, psu = "ambulance", strata = "ESA", weights = "w", type = "BRR",
           rho = 0.3)
# Strata of 6 and 4 PSUs are split into pairs, then the 2-PSU stratum (6 pairs: the 4 x 4
# matrix doubled).
take <- c(E = 6, H = 2, M = 4)
pairs <- do.call(rbind, lapply(split(strat, strat$stype), function(s) head(s, take[[as.character(s$stype[1])]])))
pairs <- shuffled(pairs, 3)
write_case("brr_split_apistrat", pairs, strata = "stype", weights = "pw", type = "BRR")
write_case("fay_split_apistrat", pairs, strata = "stype", weights = "pw", type = "Fay", rho = 0.5)
# 23 strata labelled 1..23 (sorted as text, "1" < "10" < "2"), PSUs of one or two rows:
# 23 pairs take a 12 x 12 Paley matrix doubled.
set.seed(4)
many <- data.frame(stratum = rep(1:23, each = 2), psu = 1:46)
many <- many[rep(1:46, times = 1 + (1:46 %% 3 == 0)), ]
many$w <- round(runif(nrow(many), 1, 10), 3)
many <- shuffled(many, 5)
write_case("brr_23_strata", many, psu = "psu", strata = "stratum", weights = "w", type = "BRR")

# Hadamard matrices.
had_path <- function(n) {
  sz <- survey:::hadamard.sizes
  m <- n - n %% 4
  pre <- which(m < sz & m + 4 >= sz)
  if (length(pre)) return(sprintf("stored %d", sz[min(pre)]))
  sizes <- sz * 2^pmax(0, ceiling(log((n + 1) / sz, 2)))
  b <- which.min(sizes - n)
  if (sizes[b] - n > 4 && !is.null(survey:::paley(n, sizes[b]))) return("paley")
  sprintf("stored %d doubled", sz[b])
}
mats <- vapply(c(1, 3, 5, 8, 12, 16, 20, 29, 36, 40, 60, 88, 124), function(n) {
  H <- hadamard(n)
  jobj(n = num(n), size = num(nrow(H)), path = str_json(had_path(n)),
       rows = jstrs(apply(H, 1, paste, collapse = "")))
}, "")
writeLines(paste0("{\"matrices\": [\n", paste(mats, collapse = ",\n"), "\n]}"),
           file.path(OUT, "hadamard.json"))
message("hadamard.json: ", length(mats), " matrices")
