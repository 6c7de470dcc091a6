# Independent re-implementation of boottest's score bootstrap after ML (Roodman, MacKinnon, Nielsen
# and Webb 2019; boottest.mata, ML branch), written from the formula, not from famtrial:
#
#   b~      restricted ML fit (b_j = c) by glm / survival::clogit with offset(c * x_j)
#   u_i     = s_i(b~)' A[, j],  A = (-H(b~))^-1 the full model's inverse negative (observed) Hessian
#   S_g     = sum of u_i over cluster g;  pi_g = N_g / N (share of the estimation sample's rows)
#   t*(v)   = sum_g v_g S_g / sqrt(sum_g (v_g S_g - pi_g sum_h v_h S_h)^2),  t = t*(1, ..., 1)
#   p       = #{v in {-1, 1}^G : |t*(v)| > |t|} / 2^G   (all sign vectors; ties do not count)
#
# Run from the repository root:  Rscript tests/reference/boottest/score_bootstrap_reference.R
# Reads tests/reference/logit/data.csv and tests/reference/clogit/panel_data.csv (famtrial's own
# synthetic reference data) and, when present, boottest's nlsw88.dta (third-party, not committed:
# tests/reference/boottest/nlsw88.dta), whose probit example checks this script against the values
# boottest's unit-test log prints (z = 0.2980). Writes tests/reference/boottest/r_reference.csv.
# Needs r-cran-survival and (for nlsw88) r-cran-foreign.
suppressPackageStartupMessages(library(survival))
out <- "tests/reference/boottest"
versions <- sprintf("R %s; survival %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("survival")))
rows <- list()
add <- function(case, null, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, null = null, quantity = quantity, value = unname(value),
                                          row.names = NULL)
}

signs <- function(G) {  # all 2^G sign vectors, one per row
  as.matrix(expand.grid(rep(list(c(1, -1)), G)))
}

boottest_stat <- function(S, n_g) {
  pi <- n_g / sum(n_g)
  V <- signs(length(S))
  num <- drop(V %*% S)
  den <- sqrt(rowSums((sweep(V, 2, S, "*") - outer(num, pi)) ^ 2))
  t_obs <- sum(S) / sqrt(sum((S - pi * sum(S)) ^ 2))
  list(t = t_obs, p = mean(abs(num / den) > abs(t_obs) * (1 + 1e-9)), B = nrow(V))
}

record <- function(case, null, names, b, S, n_g) {
  r <- boottest_stat(S, n_g)
  for (k in seq_along(names)) add(case, null, paste0("restricted.", names[k]), b[k])
  add(case, null, "statistic", r$t)
  add(case, null, "pvalue", r$p)
  add(case, null, "n_draws", r$B)
}

# ---- logit: y ~ arm + rwc + base_y + age, clustered by cl (G = 15), H0: arm = c -------------------
d <- read.csv("tests/reference/logit/data.csv")
X <- cbind(Intercept = 1, arm = d$arm, rwc = d$rwc, base_y = d$base_y, age = d$age)
ctrl <- glm.control(epsilon = 1e-15, maxit = 100)
for (c0 in c(0, 0.5)) {
  fit <- glm(y ~ rwc + base_y + age + offset(c0 * arm), family = binomial, data = d, control = ctrl)
  b <- unname(c(coef(fit)[1], c0, coef(fit)[-1]))
  p <- plogis(drop(X %*% b))
  H <- -crossprod(X * (p * (1 - p)), X)
  u <- drop((X * (d$y - p)) %*% solve(-H)[, 2])
  S <- rowsum(u, d$cl)[, 1]
  n_g <- rowsum(rep(1, nrow(d)), d$cl)[, 1]
  record("logit", c0, colnames(X), b, S, n_g)
}

# ---- conditional logit: y ~ x1 + x2 + x3 + strata(g), clustered by cl (G = 12), H0: x1 = c ----------
# Per-group log-likelihood eta_y - log e_k(exp(eta)), e_k the elementary symmetric polynomial by the
# usual dynamic programme; its gradient carried alongside (forward mode); Hessian by central
# differences of the analytic total score.
cd <- read.csv("tests/reference/clogit/panel_data.csv")
cx <- as.matrix(cd[, c("x1", "x2", "x3")])
groups <- split(seq_len(nrow(cd)), cd$g)
group_score <- function(beta, idx) {
  x <- cx[idx, , drop = FALSE]
  y <- cd$y[idx]
  k <- sum(y)
  eta <- drop(x %*% beta)
  w <- exp(eta - max(eta))
  E <- c(1, rep(0, k))                       # E[m + 1] = e_m over the rows seen so far
  dE <- matrix(0, k + 1, ncol(x))
  for (i in seq_along(w)) {
    for (m in min(i, k):1) {
      dE[m + 1, ] <- dE[m + 1, ] + w[i] * (x[i, ] * E[m] + dE[m, ])
      E[m + 1] <- E[m + 1] + w[i] * E[m]
    }
  }
  colSums(x[y == 1, , drop = FALSE]) - dE[k + 1, ] / E[k + 1]
}
informative <- Filter(function(idx) { k <- sum(cd$y[idx]); k > 0 && k < length(idx) }, groups)
total_score <- function(beta) Reduce(`+`, lapply(informative, function(idx) group_score(beta, idx)))
for (c0 in c(0, 0.8, 1)) {
  fit <- clogit(y ~ x2 + x3 + offset(c0 * x1) + strata(g), data = cd, method = "exact",
                control = coxph.control(eps = 1e-11, toler.chol = 1e-13, iter.max = 100))
  b <- unname(c(c0, coef(fit)))
  h <- 1e-5
  H <- sapply(1:3, function(j) { e <- replace(numeric(3), j, h); (total_score(b + e) - total_score(b - e)) / (2 * h) })
  H <- (H + t(H)) / 2
  a <- solve(-H)[, 1]
  u <- sapply(informative, function(idx) sum(group_score(b, idx) * a))
  gcl <- sapply(informative, function(idx) cd$cl[idx[1]])
  S <- tapply(u, gcl, sum)
  n_g <- tapply(sapply(informative, length), gcl, sum)[names(S)]
  record("clogit", c0, c("x1", "x2", "x3"), b, S, n_g)
  add("clogit", c0, "restricted.max_abs_score_free", max(abs(total_score(b)[-1])))
}

# ---- probit on boottest's nlsw88 (only when the third-party data are present) ---------------------
dta <- file.path(out, "nlsw88.dta")
if (file.exists(dta)) {
  n88 <- foreign::read.dta(dta)
  n88 <- n88[complete.cases(n88[, c("c_city", "tenure", "wage", "ttl_exp", "collgrad", "industry")]), ]
  n88$industry <- as.integer(n88$industry)
  n88$collgrad <- as.integer(n88$collgrad) - (is.factor(n88$collgrad))  # factor (1 = first level) or 0/1
  Xp <- cbind(tenure = n88$tenure, wage = n88$wage, ttl_exp = n88$ttl_exp, collgrad = n88$collgrad, `_cons` = 1)
  yp <- if (is.factor(n88$c_city)) as.integer(n88$c_city) - 1 else n88$c_city
  fit <- glm(yp ~ Xp[, 2:4] + offset(0 * Xp[, 1]), family = binomial(link = "probit"), control = ctrl)
  b <- unname(c(0, coef(fit)[2:4], coef(fit)[1]))
  eta <- drop(Xp %*% b)
  q <- 2 * yp - 1
  lam <- q * exp(dnorm(q * eta, log = TRUE) - pnorm(q * eta, log.p = TRUE))
  H <- -crossprod(Xp * (lam * (lam + eta)), Xp)       # observed Hessian, as Stata's probit
  u <- drop((Xp * lam) %*% solve(-H)[, 1])
  S <- rowsum(u, n88$industry)[, 1]
  n_g <- rowsum(rep(1, nrow(n88)), n88$industry)[, 1]
  record("probit_nlsw88", 0, colnames(Xp), b, S, n_g)
  add("probit_nlsw88", 0, "restricted.llf", sum(pnorm(q * eta, log.p = TRUE)))
  add("probit_nlsw88", 0, "nobs", nrow(n88))
}

res <- do.call(rbind, rows)
res$software <- versions
write.csv(res, file.path(out, "r_reference.csv"), row.names = FALSE)
print(res[, 1:4], digits = 10)
