# Reference values for famtrial's separation rule in the conditional logit, from R's survival::clogit.
# Run from the repository root:  Rscript tests/reference/separation_reference.R
# Writes tests/reference/separation/*.csv. Needs r-cran-survival.
#
# The panel: 120 parents x 8-30 months, a treatment switched on half-way for half of the parents,
# a continuous covariate, and `bad`, a 0/1 covariate that is 1 only in positive months of every
# third parent (quasi-complete separation: its conditional ML estimate is +infinity).
# The rule (docs/methods.md, "Separation"): along the direction of `bad` the rows with bad = 1 are
# forced to y = 1; dropping them leaves `bad` constant (0), which is omitted, and every other
# coefficient is the clogit estimate on the remaining rows. R is fitted (1) on the full data, to
# record what it reports there, and (2) on the remaining rows (bad == 0), the reference famtrial must
# reproduce without being told which rows to drop.
suppressPackageStartupMessages(library(survival))
out <- "tests/reference/separation"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; survival %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("survival")))
set.seed(15)
G <- 120
sizes <- sample(8:30, G, replace = TRUE)
g <- rep(seq_len(G), sizes)
n <- length(g)
t <- unlist(lapply(sizes, seq_len))
treat <- as.numeric(g %% 2 == 0 & t > sizes[g] / 2)
x2 <- round(rnorm(n), 4)
a <- rnorm(G, -0.8, 1)[g]
y <- rbinom(n, 1, plogis(a + 0.6 * treat + 0.4 * x2))
bad <- as.numeric(y == 1 & g %% 3 == 0 & runif(n) < 0.6)
panel <- data.frame(g = g, y = y, treat = treat, x2 = x2, bad = bad)
write.csv(panel, file.path(out, "quasi_data.csv"), row.names = FALSE)

ctl <- coxph.control(eps = 1e-14, iter.max = 100)
# what R reports on the separated data, with the tight control used here and with R's defaults
record <- function(formula, data, control, file) {
  msgs <- character(0)
  fit <- withCallingHandlers(
    clogit(formula, data = data, method = "exact", control = control),
    warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  s <- summary(fit)$coefficients
  write.csv(data.frame(term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"], loglik = fit$loglik[2],
                       iterations = fit$iter, warning = paste(msgs, collapse = " | "), software = versions,
                       row.names = NULL),
            file.path(out, file), row.names = FALSE)
}
record(y ~ treat + x2 + bad + strata(g), panel, ctl, "quasi_full_r.csv")
record(y ~ treat + x2 + bad + strata(g), panel, coxph.control(), "quasi_full_r_default.csv")

rest <- panel[panel$bad == 0, ]
fit <- clogit(y ~ treat + x2 + strata(g), data = rest, method = "exact", control = ctl)
s <- summary(fit)$coefficients
k <- tapply(rest$y, rest$g, sum); m <- tapply(rest$y, rest$g, length)
write.csv(data.frame(term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"], loglik = fit$loglik[2],
                     loglik0 = fit$loglik[1], nobs = sum(m[k > 0 & k < m]), n_groups = sum(k > 0 & k < m),
                     dropped_rows = sum(panel$bad == 1), software = versions, row.names = NULL),
          file.path(out, "quasi_rest_results.csv"), row.names = FALSE)

# complete separation: `bad` is 1 in every positive month and 0 in every negative month
panel$sep <- panel$y
record(y ~ treat + sep + strata(g), panel, ctl, "complete_r.csv")
record(y ~ treat + sep + strata(g), panel, coxph.control(), "complete_r_default.csv")
cat("wrote", out, "\n")
