//! Brightpearl API simulator (see ../shared/reference/brightpearl-api.md).
