# Reference values for famtrial's conditional logit with categorical month effects, from R's
# survival::clogit(y ~ x + factor(month) + strata(id), method = "exact").
# Run from the repository root:  Rscript tests/reference/clogit_month_reference.R
# Converged tightly (eps = 1e-14). Writes tests/reference/clogit_month/*.csv. Needs r-cran-survival.
# factor(month) takes the first (lowest) level as the base, as Stata's i.month; terms are written
# as famtrial names them, month[YYYY-MM]; an aliased (NA) coefficient is written with coef NA.
suppressPackageStartupMessages(library(survival))
out <- "tests/reference/clogit_month"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; survival %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("survival")))

write_fit <- function(fit, name, data_rows) {
  b <- coef(fit)
  se <- rep(NA_real_, length(b))
  se[!is.na(b)] <- sqrt(diag(vcov(fit)))[!is.na(b)]
  term <- sub("^factor\\(month\\)(.*)$", "month[\\1]", names(b))
  res <- data.frame(term = term, coef = unname(b), se = se, loglik = fit$loglik[2],
                    loglik0 = fit$loglik[1], nobs = data_rows, software = versions, row.names = NULL)
  write.csv(res, file.path(out, paste0(name, "_results.csv")), row.names = FALSE)
}

# an unbalanced monthly panel: 400 parents, each observed over its own window of 12-30 of the 30
# months 2015-10 .. 2018-03 (so groups differ in length and in which months they cover), month
# effects with a seasonal shape, a treatment switching on at 2016-10 for 40% of parents, a binary
# and a continuous covariate; parents with all-0 / all-1 outcomes are dropped by both
set.seed(20161016)
G <- 400
months <- format(seq(as.Date("2015-10-01"), by = "month", length.out = 30), "%Y-%m")
len <- sample(12:30, G, replace = TRUE)
first <- sapply(len, function(l) sample.int(30 - l + 1, 1))
id <- rep(seq_len(G), len)
t <- unlist(mapply(function(f, l) f:(f + l - 1), first, len))
n <- length(id)
a <- rnorm(G, -1, 1.5)[id]
arm <- rbinom(G, 1, 0.4)[id]
treat <- arm * (t >= 13)
x2 <- rbinom(n, 1, 0.3)
x3 <- rnorm(n)
gamma <- 0.4 * sin(2 * pi * t / 12) + 0.02 * t
y <- rbinom(n, 1, plogis(a + 0.5 * treat + 0.8 * x2 - 0.3 * x3 + gamma))
panel <- data.frame(id = sprintf("p%03d", id), month = months[t], y = y, treat = treat, x2 = x2,
                    x3 = x3, trend = t, office = sprintf("o%02d", (id - 1) %% 12))
panel <- panel[sample.int(n), ]  # shuffled rows: the model must sort them
write.csv(panel, file.path(out, "data.csv"), row.names = FALSE)
ctl <- coxph.control(eps = 1e-14, iter.max = 100)

fit <- clogit(y ~ treat + x2 + x3 + factor(month) + strata(id), data = panel, method = "exact", control = ctl)
write_fit(fit, "month", nrow(panel))

# with a linear trend before the months: the trend lies in the span of the month dummies within
# parents, so R reports the last month NA (Stata marks it omitted)
fit <- clogit(y ~ treat + x2 + x3 + trend + factor(month) + strata(id), data = panel, method = "exact",
              control = ctl)
write_fit(fit, "trend", nrow(panel))
cat("wrote", out, "\n")
