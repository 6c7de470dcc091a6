# Reference values for famtrial's clustered logit and multiplicity adjustments, from R.
# Run from the repository root:  Rscript tests/reference/logit_reference.R
# Writes tests/reference/logit/{data,results,results_fe,mapping,padjust}.csv. Needs r-cran-sandwich.
#
# Cluster-robust conventions, checked numerically below (mapping.csv) against a hand-built sandwich
# B M B (B = vcov(fit), M = sum_g u_g u_g', u_g the cluster sums of estfun(fit)):
#   vcovCL(type = "HC0", cadjust = TRUE)   = G/(G-1)               B M B  (Stata logit, vce(cluster))
#   vcovCL(type = "HC1", cadjust = TRUE)   = G/(G-1) (N-1)/(N-K)   B M B  (statsmodels cov_type="cluster")
#   vcovCL(type = "HC0", cadjust = FALSE)  =                       B M B
# cadjust = TRUE (the default) is what multiplies by G/(G-1); type = "HC1" adds (N-1)/(N-K).
suppressPackageStartupMessages(library(sandwich))
out <- "tests/reference/logit"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; sandwich %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("sandwich")))
set.seed(20181001)
n <- 1500
G <- 15
cl <- sample(seq_len(G), n, replace = TRUE)
office_shift <- rnorm(G, 0, 0.4)[cl]
arm <- rbinom(n, 1, 0.4)
rwc <- rbinom(n, 1, 0.3)
base_y <- rbinom(n, 1, 0.2)
age <- rnorm(n, 40, 9)
eta <- -1.2 + 0.35 * arm + 0.6 * rwc + 1.5 * base_y - 0.02 * (age - 40) + office_shift
y <- rbinom(n, 1, plogis(eta))
d <- data.frame(y = y, arm = arm, rwc = rwc, base_y = base_y, age = age, cl = cl)
write.csv(d, file.path(out, "data.csv"), row.names = FALSE)

ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
tidy <- function(fit, file) {
  hc0 <- vcovCL(fit, cluster = ~cl, type = "HC0")
  hc1 <- vcovCL(fit, cluster = ~cl, type = "HC1")
  hc0_raw <- vcovCL(fit, cluster = ~cl, type = "HC0", cadjust = FALSE)
  res <- data.frame(term = names(coef(fit)), coef = unname(coef(fit)),
                    se_model = sqrt(diag(vcov(fit))), se_hc0 = sqrt(diag(hc0)), se_hc1 = sqrt(diag(hc1)),
                    se_hc0_nocadjust = sqrt(diag(hc0_raw)),
                    loglik = as.numeric(logLik(fit)), software = versions)
  res$term[res$term == "(Intercept)"] <- "Intercept"
  res$term <- sub("^factor\\(cl\\)", "cl_", res$term)
  write.csv(res, file.path(out, file), row.names = FALSE)
  list(hc0 = hc0, hc1 = hc1, hc0_raw = hc0_raw)
}

fit <- glm(y ~ arm + rwc + base_y + age, family = binomial, data = d, control = ctrl)
v <- tidy(fit, "results.csv")
# the same model with cluster dummies (famtrial: fixed_effects = "cl")
fit_fe <- glm(y ~ arm + rwc + base_y + age + factor(cl), family = binomial, data = d, control = ctrl)
invisible(tidy(fit_fe, "results_fe.csv"))

# numerical check of the factor mapping
B <- vcov(fit)
U <- rowsum(estfun(fit), d$cl)
BMB <- B %*% crossprod(U) %*% B
K <- length(coef(fit))
rel <- function(a, b) max(abs(a - b) / abs(b))
mapping <- data.frame(
  vcovcl = c("HC0, cadjust=TRUE", "HC1, cadjust=TRUE", "HC0, cadjust=FALSE"),
  factor_name = c("G/(G-1)", "G/(G-1)*(N-1)/(N-K)", "1"),
  factor = c(G / (G - 1), G / (G - 1) * (n - 1) / (n - K), 1),
  max_rel_diff = c(rel(v$hc0, G / (G - 1) * BMB), rel(v$hc1, G / (G - 1) * (n - 1) / (n - K) * BMB),
                   rel(v$hc0_raw, BMB)),
  G = G, N = n, K = K, software = versions)
write.csv(mapping, file.path(out, "mapping.csv"), row.names = FALSE)
print(mapping[, 1:4])
stopifnot(all(mapping$max_rel_diff < 1e-12))

# Holm and Benjamini-Hochberg adjusted p-values for 27 monthly p-values
p <- c(runif(20), runif(7, 0, 0.03))
write.csv(data.frame(p = p, holm = p.adjust(p, "holm"), bh = p.adjust(p, "BH"), software = versions),
          file.path(out, "padjust.csv"), row.names = FALSE)
cat("wrote", out, "\n")
