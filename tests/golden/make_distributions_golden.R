# Reference values for steppe's distribution functions and proportion
# confidence intervals, computed with R (stats) and R's survey package.
#
# Run from the repository root:
#   Rscript tests/golden/make_distributions_golden.R
# Writes tests/golden/distributions.json, read by tests/cpp/test_distributions.cpp
# and tests/cpp/test_interval.cpp.
#
# Numbers are written with 17 significant digits so they round-trip exactly.
# Infinite degrees of freedom are written as the string "Inf", NA/NaN as null.

suppressMessages(library(survey))

out_file <- file.path("tests", "golden", "distributions.json")

# ---------------------------------------------------------------- JSON writer
source(file.path("tests", "golden", "json_writer.R"))  # num, str_json, vec, obj, arr

# ------------------------------------------------------------ distributions
cases <- list()

probs <- c(1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.025, 0.1, 0.3, 0.4999,
           0.5, 0.5000001, 0.6, 0.9, 0.975, 0.9999999, 1 - 1e-10)
cases$qnorm <- unlist(lapply(probs, function(p) c(
  obj(p = p, lower = TRUE, value = qnorm(p)),
  obj(p = p, lower = FALSE, value = qnorm(p, lower.tail = FALSE)))))

xs <- c(-38, -37, -30, -20, -10, -5, -2, -1, -1e-8, 0, 0.5, 1.96, 5, 8.3, 10)
cases$pnorm <- unlist(lapply(xs, function(x) c(
  obj(x = x, lower = TRUE, value = pnorm(x)),
  obj(x = x, lower = FALSE, value = pnorm(x, lower.tail = FALSE)))))

dfs <- c(0.5, 1, 2, 3.5, 5, 10, 30, 100, 1000, 1e5, 1e6, Inf)
tprobs <- c(1e-10, 1e-5, 0.025, 0.05, 0.3, 0.5, 0.75, 0.975, 0.995, 0.9999999)
cases$qt <- unlist(lapply(dfs, function(df) unlist(lapply(tprobs, function(p) c(
  obj(p = p, df = df, lower = TRUE, value = qt(p, df)),
  obj(p = p, df = df, lower = FALSE, value = qt(p, df, lower.tail = FALSE)))))))

txs <- c(-40, -5, -2, -0.3, 0, 1e-6, 0.5, 1.96, 3, 10, 100)
cases$pt <- unlist(lapply(dfs, function(df) unlist(lapply(txs, function(x) c(
  obj(x = x, df = df, lower = TRUE, value = pt(x, df)),
  obj(x = x, df = df, lower = FALSE, value = pt(x, df, lower.tail = FALSE)))))))

shapes <- list(c(0.1, 0.2), c(0.5, 0.5), c(0.9, 3), c(1, 1), c(2, 5), c(10, 0.5),
               c(30, 40), c(1e5, 1e5), c(1e5, 0.5), c(5, 1e5), c(0.5, 1e5),
               c(2.5, 150), c(500, 3))
bprobs <- c(1e-10, 1e-5, 0.025, 0.5, 0.975, 0.9999999)
cases$qbeta <- unlist(lapply(shapes, function(s) unlist(lapply(bprobs, function(p) c(
  obj(p = p, a = s[1], b = s[2], lower = TRUE, value = qbeta(p, s[1], s[2])),
  obj(p = p, a = s[1], b = s[2], lower = FALSE,
      value = qbeta(p, s[1], s[2], lower.tail = FALSE)))))))

cases$pbeta <- unlist(lapply(shapes, function(s) {
  bx <- sort(unique(c(1e-10, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999,
                      qbeta(c(1e-8, 0.01, 0.5, 0.99), s[1], s[2]))))
  bx <- bx[bx > 0 & bx < 1]
  unlist(lapply(bx, function(x) c(
    obj(x = x, a = s[1], b = s[2], lower = TRUE, value = pbeta(x, s[1], s[2])),
    obj(x = x, a = s[1], b = s[2], lower = FALSE,
        value = pbeta(x, s[1], s[2], lower.tail = FALSE)))))
}))

cdfs <- c(0.5, 1, 2, 3.5, 10, 100, 1e4, 1e5)
cases$qchisq <- unlist(lapply(cdfs, function(df) unlist(lapply(bprobs, function(p) c(
  obj(p = p, df = df, lower = TRUE, value = qchisq(p, df)),
  obj(p = p, df = df, lower = FALSE, value = qchisq(p, df, lower.tail = FALSE)))))))
cases$pchisq <- unlist(lapply(cdfs, function(df) {
  cx <- c(1e-8, 0.01, 0.5, 1, 3.84, 10, 50, qchisq(c(1e-10, 0.3, 0.7, 1 - 1e-10), df))
  unlist(lapply(cx, function(x) c(
    obj(x = x, df = df, lower = TRUE, value = pchisq(x, df)),
    obj(x = x, df = df, lower = FALSE, value = pchisq(x, df, lower.tail = FALSE)))))
}))

fdfs <- list(c(1, 1), c(1, 10), c(3.5, 20), c(10, 1e4), c(2, Inf), c(1, 2.5), c(4, 45))
# R's qf forms (1/qbeta(.., lower = !lower) - 1) * df2/df1, which cancels in
# the lower tail (qf(1e-10, 1, 1) gives 0); the reference here is built from two
# qbeta calls, each accurate: F = (df2/df1) * x / (1 - x), x ~ Beta(df1/2, df2/2).
qf_ref <- function(p, d1, d2, lower) {
  if (is.infinite(d2)) return(qchisq(p, d1, lower.tail = lower) / d1)
  x <- qbeta(p, d1 / 2, d2 / 2, lower.tail = lower)
  y <- qbeta(p, d2 / 2, d1 / 2, lower.tail = !lower)
  (d2 / d1) * x / y
}
cases$qf <- unlist(lapply(fdfs, function(d) unlist(lapply(bprobs, function(p) c(
  obj(p = p, df1 = d[1], df2 = d[2], lower = TRUE, value = qf_ref(p, d[1], d[2], TRUE)),
  obj(p = p, df1 = d[1], df2 = d[2], lower = FALSE,
      value = qf_ref(p, d[1], d[2], FALSE)))))))
cases$pf <- unlist(lapply(fdfs, function(d) {
  fx <- c(1e-6, 0.1, 0.5, 1, 2, 3.84, 10, 100)
  unlist(lapply(fx, function(x) c(
    obj(x = x, df1 = d[1], df2 = d[2], lower = TRUE, value = pf(x, d[1], d[2])),
    obj(x = x, df1 = d[1], df2 = d[2], lower = FALSE,
        value = pf(x, d[1], d[2], lower.tail = FALSE)))))
}))

# ------------------------------------------------------------- svyciprop
data(api)
designs <- list(
  apistrat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat),
  apiclus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  apiclus2 = svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2))
designs$apiclus1_E <- subset(designs$apiclus1, stype == "E")
designs$apistrat_M <- subset(designs$apistrat, stype == "M")

props <- list(
  "api00 > 900" = quote(I(api00 > 900)),
  "api00 > 800" = quote(I(api00 > 800)),
  "stype == H" = quote(I(stype == "H")),
  "sch.wide == Yes" = quote(I(sch.wide == "Yes")),
  "api00 < 500" = quote(I(api00 < 500)),
  "awards == Yes" = quote(I(awards == "Yes")))

methods <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")
ci_cases <- character(0)
for (dname in names(designs)) {
  d <- designs[[dname]]
  for (pname in names(props)) {
    f <- eval(bquote(~ .(props[[pname]])))
    m <- svymean(eval(bquote(~ as.numeric(.(props[[pname]])))), d)
    p <- unname(coef(m)[1])
    v <- unname(vcov(m)[1, 1])
    if (p <= 0 || p >= 1) next  # edge cases are tested without R (R gives NaN/errors)
    for (level in c(0.95, 0.90)) {
      for (df_kind in c("design", "Inf")) {
        df <- if (df_kind == "design") degf(d) else Inf
        for (meth in methods) {
          if (meth == "beta" && df_kind == "Inf") next  # svyciprop's beta ignores df=
          # R can fail (e.g. the likelihood profile's spline interpolation);
          # such cases are recorded with null limits and skipped by the tests.
          lims <- tryCatch({
            ci <- suppressWarnings(svyciprop(f, d, method = meth, level = level, df = df))
            as.numeric(attr(ci, "ci"))
          }, error = function(e) c(NA_real_, NA_real_))
          # svyciprop's "logit" and "likelihood" go through glm, whose IRLS stops
          # at a relative deviance change of 1e-8: the fitted mean then differs
          # from p in about the 8th digit and the weights of the last iteration
          # (which enter naive.cov, hence the design effect lambda) in about the
          # 4th. The same R computation with glm run to convergence is recorded
          # too; steppe reproduces that one.
          conv <- c(NA_real_, NA_real_)
          if (meth %in% c("logit", "likelihood")) {
            conv <- tryCatch({
              g <- eval(bquote(svyglm(.(props[[pname]]) ~ 1, d, family = quasibinomial,
                                      control = glm.control(epsilon = 1e-15, maxit = 100))))
              cimethod <- if (meth == "logit") "Wald" else "likelihood"
              suppressMessages(suppressWarnings(as.numeric(
                plogis(confint(g, 1, level = level, method = cimethod, ddf = df)))))
            }, error = function(e) c(NA_real_, NA_real_))
          }
          ci_cases <- c(ci_cases, obj(
            design = dname, variable = pname, method = meth, level = level,
            p = p, var = v, df = df, n_rows = nrow(d), low = lims[1], high = lims[2],
            low_converged = conv[1], high_converged = conv[2]))
        }
      }
    }
  }
}

json <- paste0(
  "{\n",
  "  \"generated_by\": ", str_json(paste("tests/golden/make_distributions_golden.R;",
                                         R.version.string, "; survey",
                                         as.character(packageVersion("survey")))), ",\n",
  paste(vapply(names(cases), function(k) paste0("  ", str_json(k), ": ", arr(cases[[k]])), ""),
        collapse = ",\n"), ",\n",
  "  \"svyciprop\": ", arr(ci_cases), "\n",
  "}\n")
writeLines(json, out_file, sep = "")
cat("wrote", out_file, ":", sum(lengths(cases)), "distribution values,",
    length(ci_cases), "svyciprop intervals\n")
