# A small JSON writer for the golden scripts whose files the C++ tests read
# (make_distributions_golden.R, make_chisq_sum_golden.R): numbers with 17
# significant digits (they round-trip exactly), Inf as the string "Inf", NA as
# null; obj() fields that are I(vector) become arrays.
num <- function(x) {
  if (is.na(x)) return("null")
  if (is.infinite(x)) return(if (x > 0) "\"Inf\"" else "\"-Inf\"")
  sprintf("%.17g", x)
}
str_json <- function(s) paste0("\"", gsub("\"", "\\\\\"", s), "\"")
vec <- function(v) paste0("[", paste(vapply(v, num, ""), collapse = ", "), "]")
obj <- function(...) {
  fields <- list(...)
  parts <- vapply(names(fields), function(k) {
    v <- fields[[k]]
    val <- if (inherits(v, "AsIs")) vec(unclass(v)) else if (is.character(v)) str_json(v)
           else if (is.logical(v)) tolower(as.character(v)) else num(v)
    paste0(str_json(k), ": ", val)
  }, "")
  paste0("{", paste(parts, collapse = ", "), "}")
}
arr <- function(items) paste0("[\n    ", paste(items, collapse = ",\n    "), "\n  ]")
