# Reference values for steppe::pfsum_saddlepoint, pfsum_exact and
# pchisqsum_saddlepoint: the
# distribution of sum_j a_j chi2_1 / (chi2_ddf / ddf) that svychisq's
# statistic = "lincom" / "saddlepoint" use (survey:::pFsum).
#
# Run from the repository root:
#   Rscript tests/golden/make_chisq_sum_golden.R
# Writes tests/golden/chisq_sum.json, read by tests/cpp/test_chisq_sum.cpp.
#
# For every case (x, a, ddf) and both tails:
#   saddle_r       survey:::pFsum(method = "saddlepoint") as shipped; its uniroot
#                  stops at tol = 1e-8, so agreement is only ~1e-6 relative.
#   saddle_precise the same code with saddle()'s uniroot tolerance replaced by
#                  1e-300, i.e. the saddlepoint root to full double precision.
#   exact          P(sum a_j chi2_1 - (x / ddf) chi2_floor(ddf) > 0), or
#                  P(sum a_j chi2_1 > x) for ddf = Inf, computed here
#                  independently of steppe's method: Imhof's (1961) integral on
#                  the real line for finite ddf, Ruben's (1962) chi-square
#                  mixture series for ddf = Inf. (R's own "integration" method
#                  needs CompQuadForm, which is not installed: pFsum then warns
#                  and uses the saddlepoint.)
#   chisqsum_saddle_r / chisqsum_saddle_precise
#                  survey:::pchisqsum(x, rep(1, k), a, method = "saddlepoint"),
#                  P(sum a_j chi2_1 <= x) with no denominator (svychisq on
#                  replicate designs), as shipped and with the precise root.
#   exact_upper_conditional  the upper tail again, by integrating Ruben's series
#                  over the chi2_floor(ddf) density (relatively accurate in far
#                  tails; floor(ddf) >= 3 only, else null).
# Numbers are written with 17 significant digits; Inf as the string "Inf",
# NA (R's uniroot failed) as null.

suppressMessages(library(survey))

out_file <- file.path("tests", "golden", "chisq_sum.json")

# ---------------------------------------------------------------- JSON writer
source(file.path("tests", "golden", "json_writer.R"))  # num, str_json, vec, obj, arr

# -------------------------------------------------- survey's saddlepoint, precise
saddle_src <- deparse(survey:::saddle)
patched <- sub("tol = 1e-08", "tol = 1e-300", saddle_src, fixed = TRUE)
stopifnot(sum(patched != saddle_src) == 1)
saddle_precise <- eval(parse(text = patched))
environment(saddle_precise) <- asNamespace("survey")
pFsum_precise <- survey:::pFsum
environment(pFsum_precise) <- list2env(list(saddle = saddle_precise),
                                       parent = asNamespace("survey"))

pchisqsum_precise <- survey:::pchisqsum
environment(pchisqsum_precise) <- environment(pFsum_precise)

# pchisqsum(method = "saddlepoint"): svychisq on replicate designs (no ddf).
chisqsum_or_na <- function(f, x, a, lower) {
  tryCatch(f(x, df = rep(1, length(a)), a = a, lower.tail = lower, method = "saddlepoint"),
           error = function(e) NA_real_)
}

pfsum_or_na <- function(f, x, a, ddf, lower) {
  tryCatch(f(x, df = rep(1, length(a)), a = a, ddf = ddf, lower.tail = lower,
             method = "saddlepoint"),
           error = function(e) NA_real_)
}

# ------------------------------------------------------- exact, independently
# Imhof (1961): P(Q > 0) = 1/2 + (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du for
# Q = sum a_j chi2_1 - cc chi2_m, theta = (sum atan(a_j u) - m atan(cc u)) / 2,
# rho = prod (1 + a_j^2 u^2)^(1/4) (1 + cc^2 u^2)^(m/4). With q = 0, theta is
# bounded, so after u = exp(s) the integrand is a smooth bump on the real line.
imhof_upper_minus_half <- function(a, cc, m) {
  a <- a[a != 0]
  g <- function(s) {
    u <- exp(s)
    theta <- 0.5 * (colSums(atan(outer(a, u))) - m * atan(cc * u))
    logrho <- 0.25 * (colSums(log1p(outer(a, u)^2)) + m * log1p((cc * u)^2))
    sin(theta) * exp(-logrho)
  }
  # Left: |g| <= (u / 2) sum h |lambda|. Right: |g| <= 1 / rho(u), which falls
  # like u^(-(k + m) / 2); step right until it is negligible.
  lo <- log(1e-18 / sum(abs(a), m * cc))
  hi <- log(1 / max(abs(a), cc))
  bound <- function(s) {
    u <- exp(s)
    exp(-0.25 * (sum(log1p((a * u)^2)) + m * log1p((cc * u)^2)))
  }
  while (bound(hi) > 1e-20) hi <- hi + 1
  breaks <- unique(c(seq(lo, hi, by = 0.5), hi))
  pieces <- mapply(function(l, r) {
    res <- integrate(g, l, r, rel.tol = 1e-12, abs.tol = 1e-17, subdivisions = 10000L,
                     stop.on.error = FALSE)
    # "roundoff error" means the tolerance is below the integrand's rounding
    # noise; the estimate is still good when the error estimate is tiny.
    stopifnot(res$abs.error < 1e-14)
    res$value
  }, head(breaks, -1), tail(breaks, -1))
  sum(pieces) / pi
}

# Ruben (1962): for a_j > 0 and beta <= min(a), sum a_j chi2_1 is the mixture
# sum_k c_k beta chi2_{n + 2k} with c_k >= 0 (Farebrother 1984's recursion).
ruben_mixture <- function(a) {
  a <- a[a > 0]
  n <- length(a)
  beta <- min(a)
  gam <- 1 - beta / a
  K <- 4000
  g <- vapply(1:K, function(k) 0.5 * sum(gam^k), 0)
  cc <- numeric(K + 1)
  cc[1] <- prod(sqrt(beta / a))
  for (k in 1:K) cc[k + 1] <- sum(g[k:1] * cc[1:k]) / k
  stopifnot(1 - sum(cc) < 1e-14)
  keep <- cc > 0
  list(beta = beta, weights = cc[keep], dfs = (n + 2 * (0:K))[keep])
}
ruben_tails <- function(x, a, mix = ruben_mixture(a)) {
  c(lower = sum(mix$weights * pchisq(x / mix$beta, mix$dfs)),
    upper = sum(mix$weights * pchisq(x / mix$beta, mix$dfs, lower.tail = FALSE)))
}

# A second reference for the upper tail with finite ddf, relatively accurate in
# far tails (Imhof's 1/2 + integral is only absolutely accurate): condition on
# the denominator, P = int dchisq(w, m) P(sum a_j chi2_1 > x w / ddf) dw.
conditional_upper <- function(x, a, ddf) {
  m <- floor(ddf)
  if (is.infinite(ddf) || m < 3) return(NA_real_)
  mix <- ruben_mixture(a)
  inner <- function(w) vapply(w, function(wi) ruben_tails(x * wi / ddf, a, mix)[["upper"]], 0)
  sd <- sqrt(2 * m)
  integrate(function(w) dchisq(w, m) * inner(w), max(0, m - 40 * sd), m + 40 * sd,
            rel.tol = 1e-13, subdivisions = 10000L)$value
}

exact_tails <- function(x, a, ddf) {
  if (is.infinite(ddf)) return(ruben_tails(x, a))
  m <- floor(ddf)
  d <- imhof_upper_minus_half(a, x / ddf, m)
  c(lower = 0.5 - d, upper = 0.5 + d)
}

# ------------------------------------------------------------------- cases
cases <- list(
  list(a = 2.3, ddf = 13.7, x = c(0.8, 5, 40)),
  list(a = c(1.5, 0.7), ddf = 10, x = c(0.5, 3, 25)),
  list(a = c(1.2, 0.9, 0.4), ddf = 150.2, x = c(1, 4, 30)),
  # x = E[sum a chi2_1]: root ~ 0, saddle() gives NA, pFsum keeps Satterthwaite.
  list(a = c(1.2, 0.9, 0.4), ddf = 10, x = c(2.5, 2.50001)),
  list(a = c(2, 1, 0.5, 0.25), ddf = 3000.5, x = c(2, 6, 40, 80)),
  list(a = c(1.3, 1.1, 0.8, 0.3, 0), ddf = 25, x = c(2, 8, 30)),
  list(a = c(1.7, 1.2, 1, 0.6, 0.3, 0.05), ddf = 48.3, x = c(3, 9, 45)),
  list(a = c(1.4, 0.6, -1e-17), ddf = 7.5, x = c(1.5, 6, 30)),
  list(a = c(1.3, 1.3, 1.3), ddf = 20, x = c(1, 5, 25)),
  list(a = c(0.02, 0.015, 0.01), ddf = 2.4, x = c(0.05, 0.3, 3)),
  list(a = c(5, 0.01), ddf = 1.6, x = c(2, 20, 200)),
  list(a = c(1.1, 0.95), ddf = 0.8, x = c(1, 4)),
  list(a = c(1.2, 0.9, 0.4), ddf = Inf, x = c(0.7, 3, 25)),
  list(a = c(1.7, 1.2, 1, 0.6, 0.3, 0.05), ddf = Inf, x = c(2, 9, 40)),
  list(a = c(1.3, 1.1, 0.8, 0.3, 0), ddf = Inf, x = c(4, 30)),
  list(a = 2.3, ddf = Inf, x = c(1, 60))
)

rows <- character(0)
for (cs in cases) {
  for (x in cs$x) {
    ex <- exact_tails(x, cs$a, cs$ddf)
    rows <- c(rows, obj(
      x = x, a = I(cs$a), ddf = cs$ddf,
      saddle_r_upper = pfsum_or_na(survey:::pFsum, x, cs$a, cs$ddf, FALSE),
      saddle_r_lower = pfsum_or_na(survey:::pFsum, x, cs$a, cs$ddf, TRUE),
      saddle_precise_upper = pfsum_or_na(pFsum_precise, x, cs$a, cs$ddf, FALSE),
      saddle_precise_lower = pfsum_or_na(pFsum_precise, x, cs$a, cs$ddf, TRUE),
      exact_upper = ex[["upper"]], exact_lower = ex[["lower"]],
      exact_upper_conditional = conditional_upper(x, cs$a, cs$ddf),
      chisqsum_saddle_r_upper = chisqsum_or_na(survey:::pchisqsum, x, cs$a, FALSE),
      chisqsum_saddle_r_lower = chisqsum_or_na(survey:::pchisqsum, x, cs$a, TRUE),
      chisqsum_saddle_precise_upper = chisqsum_or_na(pchisqsum_precise, x, cs$a, FALSE),
      chisqsum_saddle_precise_lower = chisqsum_or_na(pchisqsum_precise, x, cs$a, TRUE)))
  }
}

json <- paste0(
  "{\n",
  "  \"generated_by\": ", str_json(paste("tests/golden/make_chisq_sum_golden.R;",
                                         R.version.string, "; survey",
                                         as.character(packageVersion("survey")))), ",\n",
  "  \"pfsum\": ", arr(rows), "\n",
  "}\n")
writeLines(json, out_file, sep = "")
cat("wrote", out_file, ":", length(rows), "cases\n")
