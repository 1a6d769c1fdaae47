# The R side of tests/benchmarks/bench_replicates.py: time R survey's
# svrepdesign and svyby(~item, ~domain, svymean) on a design with 80 JK1
# replicate weights, and write the estimates and SEs for the cross-check.
#
# Usage: Rscript r_replicates.R <input.csv> <repweights.bin> <out_dir>
#
# input.csv holds w and the integer codes of item and domain (0-based, the pandas
# Categorical codes); factors are rebuilt here with levels 0..k-1 so both sides
# name cells by the same codes. repweights.bin holds the replicate weights as
# float64, column-major (rows x replicates, written by numpy in Fortran order),
# so R gets exactly the doubles steppe gets; they become columns rep1..repR.
#
# Writes <out_dir>/r_timings.json (seconds and peak-memory bytes per step) and
# <out_dir>/r_domain.csv (domain, level, estimate, se; %.17g). Peak memory of a
# step: /proc/self/clear_refs resets VmHWM, then VmHWM after the step minus VmRSS
# before it (Linux only; NA elsewhere), as in r_svyby.R. The process's overall
# peak is the running maximum of VmHWM ("process_peak_bytes").

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 3)
input <- args[[1]]
rep_bin <- args[[2]]
out_dir <- args[[3]]

# survey, data.table, jsonlite and the helpers shared by the R benchmarks
# (status_kb, reset_peak, measure, fmt, timings + record).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE)[1])), "r_common.R"))

read_inputs <- function() {
  d <- as.data.frame(fread(input, showProgress = FALSE))
  n <- nrow(d)
  size <- file.size(rep_bin) / 8
  stopifnot(size %% n == 0)
  reps <- matrix(readBin(rep_bin, "double", n = size, size = 8, endian = "little"), nrow = n)
  colnames(reps) <- paste0("rep", seq_len(ncol(reps)))
  cbind(d, as.data.frame(reps))
}

dat <- record("read_inputs", measure(read_inputs()))
n_rep <- sum(grepl("^rep[0-9]+$", names(dat)))
for (v in c("item", "domain")) {
  dat[[v]] <- factor(dat[[v]], levels = sort(unique(dat[[v]])))
}
item_levels <- levels(dat$item)

# JK1 with scale (R-1)/R, replicate columns are full analysis weights.
des <- record("svrepdesign", measure(
  svrepdesign(data = dat, weights = ~w, repweights = "rep[0-9]+", type = "JK1",
              scale = (n_rep - 1) / n_rep, combined.weights = TRUE)
))

by_domain <- record("svyby_domain", measure(svyby(~item, ~domain, des, svymean)))
# svyby names the SE columns se1..sek on replicate designs (se.item<level> on
# linearisation designs), so take estimates and SEs by position: k levels each.
est <- as.matrix(by_domain[, paste0("item", item_levels), drop = FALSE])
se <- as.matrix(SE(by_domain))
stopifnot(ncol(se) == length(item_levels))
keys <- as.character(by_domain$domain)
fwrite(
  data.frame(
    domain = rep(keys, times = length(item_levels)),
    level = rep(item_levels, each = length(keys)),
    estimate = fmt(as.vector(est)),
    se = fmt(as.vector(se))
  ),
  file.path(out_dir, "r_domain.csv")
)

reset_peak()
timings$process_peak_bytes <- process_peak_kb * 1024
timings$rows <- nrow(dat)
timings$replicates <- n_rep
timings$degf <- des$degf
timings$r_version <- R.version.string
timings$survey_version <- as.character(packageVersion("survey"))
writeLines(toJSON(timings, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "r_timings.json"))
