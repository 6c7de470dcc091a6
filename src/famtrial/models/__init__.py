"""The estimators and their numerics: logit, conditional logit, LPM, covariances, post-estimation."""
