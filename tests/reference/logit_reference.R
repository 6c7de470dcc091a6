# Reference values for famtrial's clustered logit, from R's glm and sandwich::vcovCL.
# Run from the repository root:  Rscript tests/reference/logit_reference.R
# Writes tests/reference/logit/{data,results}.csv. Needs r-cran-sandwich.
#
# Mapping checked here: Stata's logit, vce(cluster) factor G/(G-1) = vcovCL(type = "HC0", cadjust = TRUE);
# statsmodels' G/(G-1) (N-1)/(N-K) = vcovCL(type = "HC1", cadjust = TRUE).
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
fit <- glm(y ~ arm + rwc + base_y + age, family = binomial, data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
hc0 <- vcovCL(fit, cluster = ~cl, type = "HC0")
hc1 <- vcovCL(fit, cluster = ~cl, type = "HC1")
res <- data.frame(term = names(coef(fit)), coef = unname(coef(fit)),
                  se_model = sqrt(diag(vcov(fit))), se_hc0 = sqrt(diag(hc0)), se_hc1 = sqrt(diag(hc1)),
                  loglik = as.numeric(logLik(fit)), software = versions)
res$term[res$term == "(Intercept)"] <- "Intercept"
write.csv(res, file.path(out, "results.csv"), row.names = FALSE)
cat("wrote", out, "\n")
