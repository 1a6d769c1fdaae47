# The R side of tests/benchmarks/bench_rake.py: time R survey's rake to three
# margins, then svymean on the raked design, and write the raked weights and the
# estimates for the correctness cross-check.
#
# Usage: Rscript r_rake.R <input.csv> <margins.csv> <out_dir>
#
# input.csv holds w, stratum, psu and the integer codes of item and of the margin
# columns (0-based, the pandas Categorical codes). margins.csv is long: variable,
# code, count. Factors are rebuilt here with the margins' codes as levels, so both
# sides name levels by the same codes.
#
# Writes to <out_dir>:
#   r_timings.json  seconds and peak-memory bytes per step, passes, convergence;
#   r_weights.bin   the raked weights, float64 in row order (writeBin);
#   r_svymean.csv   level, estimate, se of svymean(~item) on the raked design.
# Peak memory of a step: /proc/self/clear_refs resets VmHWM, then VmHWM after the
# step minus VmRSS before it (Linux only; NA elsewhere), as in r_svyby.R. The
# process's overall peak is the running maximum of VmHWM ("process_peak_bytes").
#
# rake() does not return its number of passes, so the calls to postStratify are
# counted with trace() (a counter increment, three per pass): passes = calls / 3.

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 3)
input <- args[[1]]
margins_csv <- args[[2]]
out_dir <- args[[3]]

# survey, data.table, jsonlite and the helpers shared by the R benchmarks
# (status_kb, reset_peak, measure, fmt, timings + record).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE)[1])), "r_common.R"))

margins <- fread(margins_csv, colClasses = c(variable = "character", code = "integer",
                                             count = "double"))
margin_names <- unique(margins$variable)

dat <- record("read_csv", measure(as.data.frame(fread(input, showProgress = FALSE))))
dat$item <- factor(dat$item, levels = sort(unique(dat$item)))
item_levels <- levels(dat$item)
population <- list()
for (v in margin_names) {
  m <- margins[margins$variable == v, ]
  dat[[v]] <- factor(dat[[v]], levels = m$code)
  pop <- data.frame(factor(m$code, levels = m$code), m$count)
  names(pop) <- c(v, "Freq")
  population[[v]] <- pop
}
sample_margins <- lapply(margin_names, function(v) as.formula(paste0("~", v)))

des <- record("svydesign", measure(
  svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dat)
))

counter <- new.env()
counter$calls <- 0
count_call <- function() counter$calls <- counter$calls + 1
invisible(suppressMessages(trace("postStratify", tracer = count_call,
                                 where = asNamespace("survey"), print = FALSE)))
converged <- TRUE
raked <- record("rake", measure(withCallingHandlers(
  rake(des, sample_margins, population, control = list(maxit = 10, epsilon = 1)),
  warning = function(w) {
    if (grepl("did not converge", conditionMessage(w))) converged <<- FALSE
  }
)))
invisible(suppressMessages(untrace("postStratify", where = asNamespace("survey"))))

est <- record("svymean", measure(svymean(~item, raked)))
fwrite(data.frame(level = item_levels, estimate = fmt(coef(est)), se = fmt(SE(est))),
       file.path(out_dir, "r_svymean.csv"))
writeBin(as.numeric(weights(raked)), file.path(out_dir, "r_weights.bin"), size = 8)

reset_peak()
timings$passes <- counter$calls / length(margin_names)
timings$converged <- converged
timings$process_peak_bytes <- process_peak_kb * 1024
timings$rows <- nrow(dat)
timings$r_version <- R.version.string
timings$survey_version <- as.character(packageVersion("survey"))
writeLines(toJSON(timings, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "r_timings.json"))
