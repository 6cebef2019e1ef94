//! DSCO client (in progress).
