//! DSCO simulator tests: one per item of dsco-api.md §9, over plain HTTP.
