//! The sandbox: stateful, in-process simulators of the Brightpearl and DSCO APIs, written from
//! `../shared/reference/*.md`, never from our clients. This module imports none of our client or
//! model types, so the simulators catch our clients' misreadings.

pub mod brightpearl;
pub mod common;
pub mod demo;
pub mod dsco;
