# The exported R script's clogit, run on the data of a clogit whose Stata output is printed.
#
# Run from the repository root:  Rscript tests/reference/stata_clogit_reference.R [OUT_CSV]
#   OUT_CSV: where the numbers go (default tests/reference/stata_clogit/r_exported.csv).
# Needs R with survival and sandwich (the exported script's packages).
#
# The functions exact_scores() and fit_clogit() are not copied here: they are cut out of the R template
# that `famtrial export --to r` writes (src/famtrial/export/r.py, the text between "exact_scores <- function("
# and "for (spec in MODELS)") and evaluated as they are, so this is the exported code's twin. They are run on
# Stata's lowbirth2 (tests/reference/stata_clogit/lowbirth2.csv; README.md there) for the model whose Stata
# output is printed in tests/reference/stata_clogit/stata_printed.csv:
#   clogit low smoke, group(pairid) or
# Its numbers go to tests/reference/stata_clogit/r_exported.csv, which tests/export/test_stata_reference.py
# compares with Stata's. With cluster = pairid, fit_clogit() gives the cluster-robust covariance that the
# do-file's vce(cluster) asks for (Stata's vce(robust) for clogit clusters on the groups): its standard error
# is written too (smoke.se_cluster_pairid), though no Stata output of it was found to compare it with.

suppressPackageStartupMessages({
  library(survival)
  library(sandwich)
})

here <- "tests/reference"
args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1) args[[1]] else file.path(here, "stata_clogit", "r_exported.csv")
template <- paste(readLines("src/famtrial/export/r.py", warn = FALSE), collapse = "\n")
start <- regexpr("exact_scores <- function(", template, fixed = TRUE)
stop_at <- regexpr("\nfor (spec in MODELS)", template, fixed = TRUE)
if (start < 0 || stop_at < start) stop("exact_scores()/fit_clogit() not found in src/famtrial/export/r.py")
code <- substr(template, start, stop_at)
if (!grepl("fit_clogit <- function(", code, fixed = TRUE)) stop("fit_clogit() not found in the exported template")
eval(parse(text = code))

d <- read.csv(file.path(here, "stata_clogit", "lowbirth2.csv"))
X <- cbind(x1 = as.numeric(d$smoke))   # the exported script names its columns x1, x2, ...
y <- as.numeric(d$low)

m <- fit_clogit(X, y, d$pairid)
b <- unname(m$beta[m$used]); se <- sqrt(diag(m$V)); z <- qnorm(0.975)
ll <- m$fit$loglik   # at b = 0 and at the estimate
lr <- 2 * (ll[2] - ll[1])
informative <- tapply(y, d$pairid, function(v) sum(v) > 0 && sum(v) < length(v))
mc <- fit_clogit(X, y, d$pairid, cluster = d$pairid)

case_only <- sum(tapply(seq_len(nrow(d)), d$pairid, function(i) d$smoke[i][d$low[i] == 1] == 1 && d$smoke[i][d$low[i] == 0] == 0))
control_only <- sum(tapply(seq_len(nrow(d)), d$pairid, function(i) d$smoke[i][d$low[i] == 1] == 0 && d$smoke[i][d$low[i] == 0] == 1))

out <- data.frame(
  quantity = c("nobs", "lr_chi2", "p_lr", "loglik", "pseudo_r2", "smoke.or", "smoke.se", "smoke.z", "smoke.p",
               "smoke.ci_low", "smoke.ci_high", "discordant.case_only", "discordant.control_only",
               "smoke.b", "smoke.se_b", "smoke.se_cluster_pairid"),
  value = c(sum(table(d$pairid)[informative]), lr, pchisq(lr, 1, lower.tail = FALSE), ll[2], 1 - ll[2] / ll[1],
            exp(b), exp(b) * se, b / se, 2 * pnorm(-abs(b / se)), exp(b - z * se), exp(b + z * se),
            case_only, control_only, b, se, exp(b) * sqrt(diag(mc$V)))
)
out$value <- sprintf("%.12g", out$value)
writeLines(c(sprintf("# written by tests/reference/stata_clogit_reference.R with R %s.%s, survival %s",
                     R.version$major, R.version$minor, packageVersion("survival"))),
           out_file)
suppressWarnings(write.table(out, out_file, sep = ",", row.names = FALSE,
                             quote = FALSE, append = TRUE))
print(out)
