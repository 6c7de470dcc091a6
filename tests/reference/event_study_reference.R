# Reference values for famtrial's event-study terms i(month, arm, ref=), the CRV3 jackknife and two-way
# clustering (issue 29 B). Run from the repository root:  Rscript tests/reference/event_study_reference.R
# Needs r-cran-survival and r-cran-sandwich. Writes tests/reference/event_study/*.csv.
#
# * Event study: the interactions arm x 1[month = m] for every month but the reference 2016-09 are built
#   with relevel(): model.matrix(~ 0 + arm:relevel(factor(month), ref = "2016-09")) without the reference
#   column; fitted by survival::clogit(..., method = "exact") and by glm(binomial) (+ sandwich::vcovCL,
#   cluster = ~office, type = "HC0": Stata's G/(G-1)).
# * CRV3: an explicit leave-one-office-out loop of refits of the same model (glm and clogit), the jackknife
#   (G-1)/G sum (b_g - c)(b_g - c)' with c the replicate mean (Stata's vce(jackknife, cluster())) and c the
#   full-sample estimate (Stata's mse).
# * Two-way: sandwich::vcovCL(glm fit, cluster = ~ office + month, type = "HC0") and type = "HC1".
suppressPackageStartupMessages({library(survival); library(sandwich)})
out <- "tests/reference/event_study"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; survival %s; sandwich %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("survival")), as.character(packageVersion("sandwich")))
set.seed(29029)
n_office <- 16
per_office <- 15
G <- n_office * per_office
months <- format(seq(as.Date("2016-03-01"), by = "month", length.out = 14), "%Y-%m")
office <- rep(sprintf("o%02d", seq_len(n_office)), each = per_office)
arm <- rep(rbinom(n_office, 1, 0.5), each = per_office)
arm[office == "o01"] <- 1; arm[office == "o02"] <- 0
id <- rep(sprintf("p%03d", seq_len(G)), each = length(months))
month <- rep(months, G)
po <- rep(office, each = length(months)); pa <- rep(arm, each = length(months))
keep <- runif(length(id)) > 0.08  # an unbalanced panel
id <- id[keep]; month <- month[keep]; po <- po[keep]; pa <- pa[keep]
n <- length(id)
t <- match(month, months)
alpha <- rnorm(G, -0.8, 1.2)[match(id, sprintf("p%03d", seq_len(G)))]
effect <- ifelse(t >= 8, 0.15 * (t - 7), 0) * pa
x <- rnorm(n)
y <- rbinom(n, 1, plogis(alpha + 0.3 * sin(t) + effect + 0.4 * x))
panel <- data.frame(parent = id, office = po, month = month, arm = pa, x = x, y = y,
                    post = as.integer(t >= 8), treat = pa * as.integer(t >= 8))
write.csv(panel, file.path(out, "data.csv"), row.names = FALSE)
ctl <- coxph.control(eps = 1e-14, iter.max = 100)

ref <- "2016-09"
mm <- model.matrix(~ 0 + arm:relevel(factor(month), ref = ref), data = panel)
lev <- sub("^arm:relevel\\(factor\\(month\\), ref = ref\\)", "", colnames(mm))
mm <- mm[, lev != ref, drop = FALSE]
es_names <- paste0("month::", lev[lev != ref], ":arm")  # famtrial's (pyfixest's) names
colnames(mm) <- sprintf("es%02d", seq_len(ncol(mm)))
es <- cbind(panel, mm)
rhs <- paste(colnames(mm), collapse = " + ")

write_coef <- function(name, term, coef, se, extra = list()) {
  res <- data.frame(term = term, coef = unname(coef), se = unname(se), software = versions, row.names = NULL)
  for (k in names(extra)) res[[k]] <- extra[[k]]
  write.csv(res, file.path(out, paste0(name, ".csv")), row.names = FALSE)
}

# event study, conditional logit with month effects
fit <- clogit(as.formula(paste("y ~", rhs, "+ x + factor(month) + strata(parent)")), data = es,
              method = "exact", control = ctl)
b <- coef(fit)[seq_len(ncol(mm) + 1)]
write_coef("clogit_event_study", c(es_names, "x"), b, sqrt(diag(vcov(fit)))[seq_len(ncol(mm) + 1)])

# event study, logit with month and office dummies, office-clustered (HC0 = Stata's G/(G-1))
gfit <- glm(as.formula(paste("y ~ arm + ", rhs, "+ x + factor(month)")), data = es, family = binomial,
            control = glm.control(epsilon = 1e-14, maxit = 100))
V <- vcovCL(gfit, cluster = ~office, type = "HC0")
keep_terms <- c("arm", colnames(mm), "x")
write_coef("logit_event_study", c("arm", es_names, "x"), coef(gfit)[keep_terms], sqrt(diag(V))[keep_terms])

# CRV3 by explicit leave-one-office-out refits of the same model
jack <- function(fits, full) {
  reps <- do.call(rbind, fits)
  g <- nrow(reps)
  dm <- sweep(reps, 2, colMeans(reps)); de <- sweep(reps, 2, full)
  list(mean = (g - 1) / g * crossprod(dm), mse = (g - 1) / g * crossprod(de))
}
offices <- sort(unique(panel$office))
lf <- y ~ treat + arm + x + factor(month)
full <- glm(lf, data = panel, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
reps <- lapply(offices, function(o) coef(glm(lf, data = panel[panel$office != o, ], family = binomial,
                                             control = glm.control(epsilon = 1e-14, maxit = 100))))
J <- jack(reps, coef(full))
terms <- c("treat", "arm", "x")
write_coef("logit_crv3", terms, coef(full)[terms], sqrt(diag(J$mean))[terms],
           list(se_mse = sqrt(diag(J$mse))[terms], clusters = length(offices)))

cf <- y ~ treat + x + factor(month) + strata(parent)
cfull <- clogit(cf, data = panel, method = "exact", control = ctl)
creps <- lapply(offices, function(o) coef(clogit(cf, data = panel[panel$office != o, ], method = "exact",
                                                 control = ctl)))
CJ <- jack(creps, coef(cfull))
terms <- c("treat", "x")
write_coef("clogit_crv3", terms, coef(cfull)[terms], sqrt(diag(CJ$mean))[terms],
           list(se_mse = sqrt(diag(CJ$mse))[terms], clusters = length(offices)))

# two-way clustering: office and month
tf <- y ~ treat + arm + x
tfit <- glm(tf, data = panel, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
V0 <- vcovCL(tfit, cluster = ~ office + month, type = "HC0")
V1 <- vcovCL(tfit, cluster = ~ office + month, type = "HC1")
terms <- c("(Intercept)", "treat", "arm", "x")
write_coef("logit_two_way", c("Intercept", "treat", "arm", "x"), coef(tfit)[terms], sqrt(diag(V0))[terms],
           list(se_hc1 = sqrt(diag(V1))[terms]))
cat("wrote", out, "\n")
