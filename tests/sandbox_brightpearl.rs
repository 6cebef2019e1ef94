//! Brightpearl simulator tests: one per item of brightpearl-api.md §6, over plain HTTP.
