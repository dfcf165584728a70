//! The binary against fake roots (tier 2), in one test binary: each module is one area, all of
//! them share the fake root and its recording fake tools (common.rs).

mod architecture;
mod backup;
mod broker;
mod broker_step;
mod check;
mod cli;
mod common;
mod docs;
mod drain;
mod engine;
mod enrolment;
mod migrate;
mod mounts;
pub mod offline;
mod packaging;
mod plans;
mod refusals;
mod reprovision;
mod reset;
mod selinux;
mod storage;
mod swarm;
