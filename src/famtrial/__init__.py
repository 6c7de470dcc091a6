"""famtrial: randomized trials with monthly panel data."""
