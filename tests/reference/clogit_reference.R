# Reference values for famtrial's exact conditional logit, from R's survival::clogit.
# Run from the repository root:  Rscript tests/reference/clogit_reference.R
# Converged tightly (eps = 1e-14) so the stored values are exact to ~1e-10, not to R's default 1e-9
# relative change in the log-likelihood.
# Writes tests/reference/clogit/*.csv (inputs and results). Needs r-cran-survival.
suppressPackageStartupMessages(library(survival))
out <- "tests/reference/clogit"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; survival %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("survival")))

write_fit <- function(fit, name, data_rows) {
  s <- summary(fit)$coefficients
  res <- data.frame(term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"],
                    loglik = fit$loglik[2], loglik0 = fit$loglik[1], nobs = data_rows,
                    software = versions, row.names = NULL)
  write.csv(res, file.path(out, paste0(name, "_results.csv")), row.names = FALSE)
}

# 1. infert: matched case-control data shipped with R (strata of 1 case, 2 controls)
data(infert)
inf <- infert[, c("stratum", "case", "spontaneous", "induced")]
write.csv(inf, file.path(out, "infert_data.csv"), row.names = FALSE)
fit <- clogit(case ~ spontaneous + induced + strata(stratum), data = inf, method = "exact",
              control = coxph.control(eps = 1e-14, iter.max = 100))
write_fit(fit, "infert", nrow(inf))

# 2. an unbalanced panel: 60 groups of 30-45 rows, parent intercepts, 3 regressors
#    (one binary, one count, one continuous), several all-0 / all-1 groups (dropped by both)
set.seed(20161001)
G <- 60
sizes <- sample(30:45, G, replace = TRUE)
g <- rep(seq_len(G), sizes)
n <- length(g)
a <- rnorm(G, -0.5, 1.5)[g]
a[g %in% c(5, 17)] <- -12   # all zero outcomes
a[g %in% c(33)] <- 12       # all one outcomes
x1 <- rbinom(n, 1, 0.35)
x2 <- rpois(n, 2)
x3 <- rnorm(n)
eta <- a + 0.8 * x1 - 0.3 * x2 + 0.5 * x3
y <- rbinom(n, 1, plogis(eta))
panel <- data.frame(g = g, y = y, x1 = x1, x2 = x2, x3 = x3, cl = (g - 1) %/% 5)
write.csv(panel, file.path(out, "panel_data.csv"), row.names = FALSE)
fit <- clogit(y ~ x1 + x2 + x3 + strata(g), data = panel, method = "exact",
              control = coxph.control(eps = 1e-14, iter.max = 100))
write_fit(fit, "panel", nrow(panel))

# 3. a larger panel for the batched kernel: 1,200 parents of 10-60 months (so many groups share a
#    recursion depth, batches are full, partial and padded), 5 regressors including a trend,
#    outcome rates from 5% to 95% (groups with more ones than zeros are complemented), string
#    group labels and rows in shuffled order (the model must sort them)
set.seed(19)
G <- 1200
sizes <- sample(10:60, G, replace = TRUE)
g <- rep(seq_len(G), sizes)
n <- length(g)
a <- rnorm(G, 0, 2)[g]
t <- unlist(lapply(sizes, seq_len))
x1 <- as.numeric(t > sizes[g] / 2) * rbinom(G, 1, 0.5)[g]
x2 <- rbinom(n, 1, 0.3)
x3 <- rpois(n, 1.5)
x4 <- rnorm(n)
x5 <- t / 12
y <- rbinom(n, 1, plogis(a + 0.4 * x1 + 0.9 * x2 - 0.2 * x3 + 0.3 * x4 + 0.05 * x5))
large <- data.frame(g = sprintf("p%04d", g), y = y, x1 = x1, x2 = x2, x3 = x3, x4 = x4, x5 = x5,
                    cl = sprintf("office%02d", (g - 1) %/% 50))
large <- large[sample.int(n), ]
write.csv(large, file.path(out, "large_data.csv"), row.names = FALSE)
fit <- clogit(y ~ x1 + x2 + x3 + x4 + x5 + strata(g), data = large, method = "exact",
              control = coxph.control(eps = 1e-14, iter.max = 100))
write_fit(fit, "large", nrow(large))
cat("wrote", out, "\n")
