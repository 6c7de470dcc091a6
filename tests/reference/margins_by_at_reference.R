# Reference values for famtrial's margins(by=, at=, contrasts of a multi-level category, comparison="ratio")
# after a logit, by hand in R: average probabilities from predict(type = "response") on counterfactual copies
# of the data, the delta method with the gradient by central differences and V = sandwich::vcovCL(fit,
# cluster = ~office, type = "HC0") (Stata's G/(G-1)). Run from the repository root:
#   Rscript tests/reference/margins_by_at_reference.R
# Needs r-cran-sandwich; reads tests/reference/event_study/data.csv, writes tests/reference/margins/by_at.csv.
suppressPackageStartupMessages(library(sandwich))
out <- "tests/reference/margins"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; sandwich %s", paste(R.version$major, R.version$minor, sep = "."),
                    as.character(packageVersion("sandwich")))
panel <- read.csv("tests/reference/event_study/data.csv")
panel$region <- factor(c("north", "south", "west")[(as.integer(sub("o", "", panel$office)) %% 3) + 1],
                       levels = c("north", "south", "west"))
fit <- glm(y ~ arm + x + region + post, data = panel, family = binomial,
           control = glm.control(epsilon = 1e-14, maxit = 100))
V <- vcovCL(fit, cluster = ~office, type = "HC0")
b0 <- coef(fit)
X <- function(d) model.matrix(~ arm + x + region + post, data = d)
prob <- function(b, d) plogis(drop(X(d) %*% b))
delta <- function(f) {  # estimate and delta-method SE of f(b)
  g <- sapply(seq_along(b0), function(j) {
    h <- 1e-6 * max(1, abs(b0[j])); e <- replace(numeric(length(b0)), j, h)
    (f(b0 + e) - f(b0 - e)) / (2 * h)
  })
  c(f(b0), sqrt(drop(t(g) %*% V %*% g)))
}
rows <- list()
add <- function(what, variable, key, est) rows[[length(rows) + 1]] <<-
  data.frame(what = what, variable = variable, key = key, estimate = est[1], se = est[2])
set_col <- function(d, col, value) {  # every row's col set to value (a factor keeps its levels)
  d[[col]] <- if (is.factor(d[[col]])) factor(rep(value, nrow(d)), levels = levels(d[[col]])) else value
  d
}
# AME of x (a derivative: p(1-p) b_x) by arm
for (a in c(0, 1)) {
  d <- panel[panel$arm == a, ]
  add("by_arm", "x", as.character(a), delta(function(b) { p <- prob(b, d); mean(p * (1 - p) * b[["x"]]) }))
}
# discrete change of arm at x = -1 and x = 1 (every row's x set)
for (v in c(-1, 1)) {
  d <- set_col(panel, "x", v)
  add("at_x", "arm", as.character(v), delta(function(b) mean(prob(b, set_col(d, "arm", 1))) -
                                                mean(prob(b, set_col(d, "arm", 0)))))
}
# contrasts of region against its base (north), differences and ratios
for (r in c("south", "west")) {
  add("contrast", "region", r, delta(function(b) mean(prob(b, set_col(panel, "region", r))) -
                                       mean(prob(b, set_col(panel, "region", "north")))))
  add("ratio", "region", r, delta(function(b) mean(prob(b, set_col(panel, "region", r))) /
                                    mean(prob(b, set_col(panel, "region", "north")))))
}
add("ratio", "arm", "1", delta(function(b) mean(prob(b, set_col(panel, "arm", 1))) /
                                 mean(prob(b, set_col(panel, "arm", 0)))))
# ratio of arm by region, at post = 1
for (r in c("north", "south", "west")) {
  d <- set_col(panel[panel$region == r, ], "post", 1)
  add("ratio_by_region_at_post", "arm", r, delta(function(b) mean(prob(b, set_col(d, "arm", 1))) /
                                                   mean(prob(b, set_col(d, "arm", 0)))))
}
res <- do.call(rbind, rows)
res$software <- versions
write.csv(res, file.path(out, "by_at.csv"), row.names = FALSE)
cat("wrote", out, "\n")
