# Reference values for famtrial's post-estimation (Wald tests, average marginal effects) and weights.
# Run from the repository root:  Rscript tests/reference/ecosystem_reference.R
# Needs r-cran-sandwich, r-cran-car, r-cran-survey, r-cran-survival.
# Writes tests/reference/ecosystem/*.csv. Inputs: tests/reference/logit/data.csv and
# tests/reference/clogit/{panel,infert}_data.csv (written by the other reference scripts) plus the
# weights generated here (stored in the CSVs below).
#
# Conventions:
# - Cluster-robust covariance of a logit: sandwich::vcovCL(fit, cluster = ~cl, type = "HC0")
#   (factor G/(G-1), Stata's logit, vce(cluster cl)).
# - Average marginal effects: marginaleffects is not packaged for Debian, so the AMEs are computed
#   by hand: the derivative AME by central differences of predict(type = "response") in the data,
#   step 1e-4 (|x| + 1) (as marginaleffects::avg_slopes does), the discrete AME by predicting with
#   the 0/1 variable set to 1 and 0 (avg_comparisons); the delta-method SE is sqrt(J V J') with the Jacobian J of the AME
#   with respect to the coefficients taken by central finite differences (not the analytic formula
#   famtrial uses).
# - Wald tests: car::linearHypothesis(fit, hyp, vcov. = V, test = "Chisq").
# - fweights: the fit on the expanded data (each row repeated w times) is the reference.
# - pweights: survey::svyglm(design = svydesign(ids = ~cl, weights = ~w)) (cluster) and
#   svydesign(ids = ~1, weights = ~w) (robust).
# - Conditional logit, fweights: survival::clogit(method = "exact") on the expanded data, each copy of a
#   group its own stratum. pweights: survival::coxph on infert (one case per stratum, so the exact
#   conditional likelihood equals the partial likelihood for every ties method) with weights and
#   cluster(); coxph's robust variance has no G/(G-1), which is applied here.
suppressPackageStartupMessages({library(sandwich); library(car); library(survey); library(survival)})
out <- "tests/reference/ecosystem"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; sandwich %s; car %s; survey %s; survival %s",
                    paste(R.version$major, R.version$minor, sep = "."),
                    packageVersion("sandwich"), packageVersion("car"), packageVersion("survey"),
                    packageVersion("survival"))
ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
d <- read.csv("tests/reference/logit/data.csv")
G <- length(unique(d$cl))

# ---- 1. AMEs with cluster-robust delta-method SEs ------------------------------------------------
ame_fun <- function(fit, data, var, kind) {
  function(b) {
    f2 <- fit
    f2$coefficients <- b
    if (kind == "discrete") {
      d1 <- data; d1[[var]] <- 1
      d0 <- data; d0[[var]] <- 0
      mean(predict(f2, newdata = d1, type = "response") - predict(f2, newdata = d0, type = "response"))
    } else {
      h <- 1e-4 * (abs(data[[var]]) + 1)
      dp <- data; dp[[var]] <- dp[[var]] + h
      dm <- data; dm[[var]] <- dm[[var]] - h
      mean((predict(f2, newdata = dp, type = "response") - predict(f2, newdata = dm, type = "response")) / (2 * h))
    }
  }
}
jacobian <- function(f, b, eps = 1e-6) {
  sapply(seq_along(b), function(j) {
    e <- rep(0, length(b)); e[j] <- eps * max(1, abs(b[j]))
    (f(b + e) - f(b - e)) / (2 * e[j])
  })
}
ame_rows <- function(fit, data, V, spec, model) {
  do.call(rbind, lapply(seq_len(nrow(spec)), function(i) {
    f <- ame_fun(fit, data, spec$variable[i], spec$kind[i])
    J <- jacobian(f, coef(fit))
    data.frame(model = model, variable = spec$variable[i], kind = spec$kind[i], ame = f(coef(fit)),
               se = sqrt(drop(J %*% V %*% J)))
  }))
}
fit1 <- glm(y ~ arm + rwc + base_y + age, family = binomial, data = d, control = ctrl)
V1 <- vcovCL(fit1, cluster = ~cl, type = "HC0")
spec1 <- data.frame(variable = c("arm", "arm", "rwc", "age"), kind = c("discrete", "derivative", "discrete",
                                                                         "derivative"))
fit2 <- glm(y ~ arm * age + I(age^2), family = binomial, data = d, control = ctrl)
V2 <- vcovCL(fit2, cluster = ~cl, type = "HC0")
spec2 <- data.frame(variable = c("arm", "age"), kind = c("discrete", "derivative"))
ames <- rbind(ame_rows(fit1, d, V1, spec1, "main"), ame_rows(fit2, d, V2, spec2, "interaction"))
ames$software <- versions
write.csv(ames, file.path(out, "ames.csv"), row.names = FALSE)

# ---- 2. Wald tests with the cluster-robust covariance --------------------------------------------
wald <- function(hyp, label) {
  lh <- linearHypothesis(fit1, hyp, vcov. = V1, test = "Chisq")
  data.frame(label = label, df = lh$Df[2], chisq = lh$Chisq[2], p = lh[["Pr(>Chisq)"]][2])
}
walds <- rbind(wald("arm = rwc", "arm = rwc"),
               wald(c("arm = rwc", "base_y = 2*rwc"), "arm = rwc, base_y = 2*rwc"),
               wald(c("arm = 0.3", "age = 0"), "arm = 0.3, age = 0"))
walds$software <- versions
write.csv(walds, file.path(out, "wald.csv"), row.names = FALSE)

# ---- 3. weighted logit ---------------------------------------------------------------------------
set.seed(20161010)
d$fw <- sample(1:4, nrow(d), replace = TRUE)
d$pw <- round(runif(nrow(d), 0.5, 3), 6)
write.csv(d[, c("fw", "pw")], file.path(out, "logit_weights.csv"), row.names = FALSE)
form <- y ~ arm + rwc + base_y + age
e <- d[rep(seq_len(nrow(d)), d$fw), ]
e$rowid <- seq_len(nrow(e))
fe <- glm(form, family = binomial, data = e, control = ctrl)
fw_glm <- glm(form, family = binomial, data = d, weights = fw, control = ctrl)
stopifnot(max(abs(coef(fe) - coef(fw_glm))) < 1e-10)
wl <- data.frame(term = names(coef(fe)), fweight_coef = coef(fe),
                 fweight_se_model = sqrt(diag(vcov(fw_glm))),
                 fweight_se_cluster = sqrt(diag(vcovCL(fe, cluster = ~cl, type = "HC0"))),
                 fweight_se_robust = sqrt(diag(vcovCL(fe, cluster = ~rowid, type = "HC0"))),
                 fweight_loglik = as.numeric(logLik(fe)), row.names = NULL)
sv_cl <- svyglm(form, design = svydesign(ids = ~cl, weights = ~pw, data = d), family = quasibinomial(),
                control = ctrl)
sv_rob <- svyglm(form, design = svydesign(ids = ~1, weights = ~pw, data = d), family = quasibinomial(),
                 control = ctrl)
wl$pweight_coef <- coef(sv_cl)
wl$pweight_se_cluster <- sqrt(diag(vcov(sv_cl)))
wl$pweight_se_robust <- sqrt(diag(vcov(sv_rob)))
# the pweighted AME of arm (discrete) with the svyglm cluster covariance
fpw <- glm(form, family = quasibinomial, data = d, weights = pw, control = ctrl)
f_pw <- function(b) {
  f2 <- fpw; f2$coefficients <- b
  d1 <- d; d1$arm <- 1; d0 <- d; d0$arm <- 0
  weighted.mean(predict(f2, newdata = d1, type = "response") - predict(f2, newdata = d0, type = "response"), d$pw)
}
J <- jacobian(f_pw, coef(sv_cl))
wl$pweight_ame_arm <- f_pw(coef(sv_cl))
wl$pweight_ame_arm_se <- sqrt(drop(J %*% vcov(sv_cl) %*% J))
wl$term[wl$term == "(Intercept)"] <- "Intercept"
wl$software <- versions
write.csv(wl, file.path(out, "logit_weighted.csv"), row.names = FALSE)

# ---- 4. weighted conditional logit ---------------------------------------------------------------
p <- read.csv("tests/reference/clogit/panel_data.csv")
set.seed(20170301)
gw <- sample(1:3, length(unique(p$g)), replace = TRUE)
names(gw) <- sort(unique(p$g))
p$fw <- gw[as.character(p$g)]
write.csv(data.frame(g = as.integer(names(gw)), fw = gw), file.path(out, "clogit_group_weights.csv"), row.names = FALSE)
# each copy of a group is its own stratum
pe <- do.call(rbind, lapply(split(p, p$g), function(s)
  do.call(rbind, lapply(seq_len(s$fw[1]), function(k) transform(s, stratum = paste(s$g[1], k))))))
cf <- clogit(y ~ x1 + x2 + x3 + strata(stratum), data = pe, method = "exact",
             control = coxph.control(eps = 1e-14, iter.max = 100))
s <- summary(cf)$coefficients
cw <- data.frame(term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"], loglik = cf$loglik[2],
                 nobs = nrow(pe), row.names = NULL)
# pweights on infert (one case per stratum), cluster = stratum groups of 5
inf <- read.csv("tests/reference/clogit/infert_data.csv")
set.seed(20170302)
sw <- round(runif(length(unique(inf$stratum)), 0.5, 2.5), 6)
inf$pw <- sw[inf$stratum]
inf$cl <- (inf$stratum - 1) %/% 5
write.csv(inf[, c("pw", "cl")], file.path(out, "infert_weights.csv"), row.names = FALSE)
cp <- coxph(Surv(rep(1, nrow(inf)), case) ~ spontaneous + induced + strata(stratum) + cluster(cl), data = inf,
            weights = pw, method = "breslow", control = coxph.control(eps = 1e-14, iter.max = 100))
Gi <- length(unique(inf$cl))
cpw <- data.frame(term = names(coef(cp)), coef = coef(cp), se_cluster = sqrt(diag(vcov(cp)) * Gi / (Gi - 1)),
                  row.names = NULL)
write.csv(cbind(cw, software = versions), file.path(out, "clogit_fweight.csv"), row.names = FALSE)
write.csv(cbind(cpw, software = versions), file.path(out, "clogit_pweight.csv"), row.names = FALSE)
cat("wrote", out, "\n")
