# Libraries and helpers shared by the R benchmark drivers (r_svyby.R, r_rake.R, r_replicates.R),
# sourced from the driver's own folder.
#
# Peak memory of a step: /proc/self/clear_refs resets VmHWM, then VmHWM after the
# step minus VmRSS before it (Linux only; NA elsewhere). The reset also lowers the
# kernel's max RSS that getrusage and /usr/bin/time report, so the whole process's
# peak is tracked as the running maximum of VmHWM (process_peak_kb).

suppressPackageStartupMessages({
  library(survey)
  library(data.table)
  library(jsonlite)
})

status_kb <- function(field) {
  lines <- tryCatch(readLines("/proc/self/status"), error = function(e) character())
  hit <- grep(paste0("^", field, ":"), lines, value = TRUE)
  if (length(hit) == 0) return(NA_real_)
  as.numeric(strsplit(trimws(sub(".*:", "", hit)), " +")[[1]][1])
}

process_peak_kb <- 0

reset_peak <- function() {
  process_peak_kb <<- max(process_peak_kb, status_kb("VmHWM"), na.rm = TRUE)
  invisible(tryCatch(writeLines("5", "/proc/self/clear_refs"), error = function(e) NULL))
}

# Run expr once; return its value, elapsed seconds and peak RSS increase in bytes.
measure <- function(expr) {
  invisible(gc(full = TRUE))
  reset_peak()
  before <- status_kb("VmRSS")
  t <- system.time(value <- force(expr))
  peak <- status_kb("VmHWM")
  list(value = value, seconds = unname(t[["elapsed"]]), peak_bytes = (peak - before) * 1024)
}

fmt <- function(x) sprintf("%.17g", x)

# Step timings, written to r_timings.json by the driver.
timings <- list()
record <- function(name, m) {
  timings[[name]] <<- list(seconds = m$seconds, peak_bytes = m$peak_bytes)
  m$value
}
