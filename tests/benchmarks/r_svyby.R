# The R side of tests/benchmarks/bench_domains.py: time R survey's svyby on the
# benchmark data and write its estimates and SEs for the correctness cross-check.
#
# Usage: Rscript r_svyby.R <input.csv> <out_dir>
#
# The CSV holds w, stratum, psu and the integer codes of item, domain, age_group
# and region (0-based, the pandas Categorical codes); factors are rebuilt here
# with levels 0..k-1 so both sides name cells by the same codes.
#
# Writes <out_dir>/r_timings.json (seconds and peak-memory bytes per step) and
# <out_dir>/r_<name>.csv (long format: by columns, level, estimate, se; %.17g).
# Peak memory of a step: /proc/self/clear_refs resets VmHWM, then VmHWM after the
# step minus VmRSS before it (Linux only; NA elsewhere). The reset also lowers the
# kernel's max RSS that getrusage and /usr/bin/time report, so the whole process's
# peak is tracked here as the running maximum of VmHWM ("process_peak_bytes").

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 2)
input <- args[[1]]
out_dir <- args[[2]]

# survey, data.table, jsonlite and the helpers shared by the R benchmarks
# (status_kb, reset_peak, measure, fmt, timings + record).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE)[1])), "r_common.R"))

# svyby result of svymean on a factor -> long data frame (by..., level, estimate, se).
long_by <- function(res, by_names, levels) {
  est <- as.matrix(res[, paste0("item", levels), drop = FALSE])
  se <- as.matrix(res[, paste0("se.item", levels), drop = FALSE])
  keys <- as.data.frame(res[, by_names, drop = FALSE])
  out <- keys[rep(seq_len(nrow(keys)), times = length(levels)), , drop = FALSE]
  out$level <- rep(levels, each = nrow(keys))
  out$estimate <- fmt(as.vector(est))
  out$se <- fmt(as.vector(se))
  out
}


dat <- record("read_csv", measure(as.data.frame(fread(input, showProgress = FALSE))))
for (v in c("item", "domain", "age_group", "region")) {
  dat[[v]] <- factor(dat[[v]], levels = sort(unique(dat[[v]])))
}
item_levels <- levels(dat$item)

des <- record("svydesign", measure(
  svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dat)
))

whole <- record("svymean", measure(svymean(~item, des)))
fwrite(data.frame(level = item_levels, estimate = fmt(coef(whole)), se = fmt(SE(whole))),
       file.path(out_dir, "r_whole.csv"))

by_domain <- record("svyby_domain", measure(svyby(~item, ~domain, des, svymean)))
fwrite(long_by(by_domain, "domain", item_levels), file.path(out_dir, "r_domain.csv"))

by_age_region <- record("svyby_age_region", measure(
  svyby(~item, ~age_group + region, des, svymean)
))
fwrite(long_by(by_age_region, c("age_group", "region"), item_levels),
       file.path(out_dir, "r_age_region.csv"))

reset_peak()
timings$process_peak_bytes <- process_peak_kb * 1024
timings$rows <- nrow(dat)
timings$r_version <- R.version.string
timings$survey_version <- as.character(packageVersion("survey"))
writeLines(toJSON(timings, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "r_timings.json"))
