//! swarmnode: one binary that turns a freshly installed CentOS/RHEL-family host into a Docker Swarm
//! node. See README.md for usage and docs/architecture.md for the shape:
//!
//! - [`cli`]: the command line; [`commands`]: one file per command, saying what it runs;
//! - [`profile`]: the profile, checked once into typed settings;
//! - [`runner`]: a command is a list of steps, each observe → plan → apply;
//! - [`steps`]: one module per step; [`host`]: the system boundary, the only door to the host;
//! - [`report`]: what a run did, rendered once after the work; [`error`]: errors and exit codes.

pub mod broker;
pub mod check;
pub mod cli;
pub mod commands;
pub mod docs;
pub mod error;
pub mod host;
pub mod profile;
pub mod report;
pub mod runner;
pub mod steps;
pub mod vocab;

/// Runs one command; returns its exit code, or the error that decides it.
pub fn run(cli: &cli::Cli) -> error::Result<i32> {
    commands::run(cli)
}
