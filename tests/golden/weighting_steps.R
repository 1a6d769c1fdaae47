# Weighting steps for the golden scripts (make_golden.R, make_replicate_golden.R):
# each step is a list written to the golden JSON as it is, and applied to an R design
# by apply_weighting(); the tests apply the same step in steppe.
# Needs library(survey) loaded and bq() (backquote a column name) defined by the caller
# before apply_weighting() runs.

data(api, package = "survey")

# Population counts from R's own apipop (all 6194 California schools): records of
# the columns plus Freq, for the levels that occur.
pop_of <- function(...) {
  tab <- as.data.frame(xtabs(reformulate(c(...)), apipop))
  for (v in c(...)) tab[[v]] <- as.character(tab[[v]])
  tab[tab$Freq > 0, , drop = FALSE]
}

# A weighting step applied after svydesign (issue 3): post-stratification to a
# population table given as records of the columns plus Freq.
poststratify_step <- function(columns, population) {
  list(method = "poststratify", columns = columns, population = population)
}

# Raking to margins: populations is a list (one per margin) of records of the
# margin's column plus Freq; maxit / epsilon as R's rake control.
rake_step <- function(columns, populations, maxit = 10, epsilon = 1) {
  list(method = "rake", columns = columns, populations = populations,
       maxit = maxit, epsilon = epsilon)
}

# Calibration (R's calibrate) to targets: a list name -> records (column + Freq) for
# a factor, or a number for a numeric total; the model is ~ names (treatment coding).
calibrate_step <- function(targets, method = "linear", bounds = NULL) {
  list(method = "calibrate", targets = targets, calfun = method, bounds = bounds)
}

calibrate_population <- function(des, targets) {
  pop <- c()
  for (v in names(targets)) {
    t <- targets[[v]]
    if (is.numeric(t) && length(t) == 1) {
      pop[v] <- t
    } else {
      t <- as.data.frame(t)
      levs <- levels(factor(des$variables[[v]]))
      if (!("(Intercept)" %in% names(pop))) pop["(Intercept)"] <- sum(t$Freq)
      for (l in levs[-1]) pop[paste0(v, l)] <- t$Freq[t[[v]] == l]
    }
  }
  pop[c("(Intercept)", setdiff(names(pop), "(Intercept)"))]
}

trim_step <- function(lower = -Inf, upper = Inf, strict = FALSE) {
  list(method = "trim", lower = if (is.finite(lower)) lower else NULL,
       upper = if (is.finite(upper)) upper else NULL, strict = strict)
}

apply_weighting <- function(des, step) {
  switch(step$method,
    calibrate = calibrate(des, reformulate(bq(names(step$targets))),
                          calibrate_population(des, step$targets), calfun = step$calfun,
                          bounds = if (is.null(step$bounds)) c(-Inf, Inf) else step$bounds),
    trim = trimWeights(des, lower = if (is.null(step$lower)) -Inf else step$lower,
                       upper = if (is.null(step$upper)) Inf else step$upper,
                       strict = step$strict),
    poststratify = postStratify(des, reformulate(bq(step$columns)),
                                as.data.frame(step$population)),
    rake = rake(des, lapply(step$columns, function(v) reformulate(bq(v))),
                lapply(step$populations, as.data.frame),
                control = list(maxit = step$maxit, epsilon = step$epsilon)),
    stop("unknown weighting step ", step$method))
}

