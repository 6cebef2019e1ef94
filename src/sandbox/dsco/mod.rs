//! DSCO API v3 simulator (see ../shared/reference/dsco-api.md).
